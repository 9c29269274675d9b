"""The roles: groups created by migration, holding the permissions roles.py names."""

import importlib

import pytest
from django.contrib.auth.models import Group

from topology_editor import roles

roles_migration = importlib.import_module("topology_editor.migrations.0002_roles")


def _codenames(group: str) -> set[str]:
    return set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role_group_holds_exactly_its_permissions(db, role):
    assert _codenames(role) == set(roles.ROLE_PERMISSIONS[role])


def test_the_migration_and_the_module_agree(db):
    assert {role: set(perms) for role, perms in roles_migration.ROLES.items()} == {
        role: set(perms) for role, perms in roles.ROLE_PERMISSIONS.items()
    }


def test_each_role_includes_the_one_below(db):
    assert _codenames("viewer") < _codenames("editor") < _codenames("operator")
    assert _codenames("operator") - _codenames("editor") == {"rebalance_deployment", "rollback_deployment"}


def test_the_personas_have_what_their_role_says(personas, db):
    assert personas.viewer.has_perm(roles.VIEW)
    assert not personas.viewer.has_perm(roles.CHANGE)
    assert personas.editor.has_perm(roles.CHANGE)
    assert not personas.editor.has_perm(roles.ROLLBACK)
    assert personas.operator.has_perms([roles.REBALANCE, roles.ROLLBACK])
    assert not personas.outsider.has_perm(roles.VIEW)
    assert personas.owner.has_perms([roles.REBALANCE, roles.ROLLBACK, roles.DELETE])
