"""The roles: groups created by migration, holding the permissions roles.py names."""

import importlib
from typing import Any

import pytest
from django.contrib.auth.models import Group

from tests.topology.conftest import EXAMPLE_NAME, EXAMPLE_PATH, example_manifest
from tests.topology.helpers import deployment_url, error, manifest_with
from topology_editor import roles, services
from topology_editor.models import Deployment, Interface, Revision
from topology_editor.spec_rows import spec_from_rows

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


# --- Rolling back by saving an earlier spec again ------------------------------------------------
# The rule (README, "Roles"): a change whose resulting spec is a stored revision other than the
# desired one is a rollback, whatever the request was called, and needs the operator role.

URL = deployment_url(EXAMPLE_NAME)


@pytest.fixture
def changed(example) -> Revision:
    """The example after one edit (historyLimit 5 -> 9): revision #1 is now an earlier spec."""
    services.update_deployment(
        EXAMPLE_NAME, manifest_with(example_manifest(), historyLimit=9), actor=None, interface=Interface.CLI
    )
    return example.revisions.get(number=1)


def _unchanged(revisions: int = 2, version: int = 2) -> None:
    deployment = Deployment.objects.get()
    assert (deployment.revisions.count(), deployment.resource_version) == (revisions, version)
    assert spec_from_rows(deployment).history_limit == 9


def _earlier_spec_writes(client, first: Revision) -> dict[str, Any]:
    return {
        "put": client.put(URL, first.manifest, format="json"),
        "patch": client.patch(URL, {"spec": {"historyLimit": 5}}, format="json"),
        "import": client.generic(
            "POST", "/api/deployments/import/", EXAMPLE_PATH.read_bytes(), content_type="application/yaml"
        ),
    }


def test_an_editor_cannot_roll_back_by_writing_an_earlier_spec_again(api, changed) -> None:
    for how, response in _earlier_spec_writes(api("editor"), changed).items():
        status, code, _ = error(response)
        assert (status, code) == (403, "permission_denied"), how
        message = response.json()["error"]["message"]
        assert changed.name in message, how
        assert "rollback" in message, how
        assert "operator" in message, how
        _unchanged()


def test_an_operator_may_roll_back_by_writing_an_earlier_spec_again(api, changed) -> None:
    response = api("operator").put(URL, changed.manifest, format="json")
    assert response.status_code == 200, response.json()
    assert Deployment.objects.get().revisions.order_by("-number").first().name == changed.name


def test_an_editor_may_write_the_desired_spec_or_a_new_one(api, changed) -> None:
    client = api("editor")
    current = client.get(URL).json()
    assert client.put(URL, current, format="json").status_code == 200, "the desired spec is no rollback"
    response = client.patch(URL, {"spec": {"historyLimit": 6}}, format="json")
    assert response.status_code == 200, response.json()


def test_the_admin_refuses_an_editor_the_same_rollback(changed, personas) -> None:
    with pytest.raises(services.RoleError):
        services.update_deployment(
            EXAMPLE_NAME, example_manifest(), actor=personas.editor, interface=Interface.ADMIN
        )
    _unchanged()


def test_system_callers_may_restore_an_earlier_spec(changed) -> None:
    change = services.update_deployment(EXAMPLE_NAME, example_manifest(), actor=None, interface=Interface.CLI)
    assert change.revision.name == changed.name


# --- The README's table says what the code does -------------------------------------------------

ROOT = EXAMPLE_PATH.parents[1]


def _readme_roles_table() -> dict[str, set[str]]:
    """README's "Roles" table: each row's first words, and the roles it says yes to."""
    section = (ROOT / "README.md").read_text().split("### Roles", 1)[1].split("\n#", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip(" `") for cell in rows[0]]
    assert header[2:] == list(roles.ROLES), header
    return {
        row[0].strip(): {header[i] for i, cell in enumerate(row) if cell.strip() == "yes"} for row in rows[1:]
    }


def _holders(codename: str) -> set[str]:
    return {role for role, codenames in roles.ROLE_PERMISSIONS.items() if codename in codenames}


def test_the_readmes_role_table_matches_the_groups() -> None:
    table = _readme_roles_table()

    def row(start: str) -> set[str]:
        (match,) = [who for what, who in table.items() if what.startswith(start)]
        return match - {"no role (signed in)"}

    assert row("read deployments") == _holders("view_deployment")
    assert row("create, change") == _holders("change_deployment") == _holders("delete_deployment")
    assert row("rebalance") == _holders("rebalance_deployment")
    assert row("roll back") == _holders("rollback_deployment")
