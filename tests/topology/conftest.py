"""Personas, API clients and the example topology for the dashboard's tests.

The personas are created once per test session (like ``setUpTestData``): an owner
(superuser), an editor, an operator, a viewer (one role group each) and an outsider (signed in,
no role). Tests must not change them.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orchestrator import load_manifest_yaml
from topology_editor import reconcile_hook, services
from topology_editor.models import Deployment, Interface

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "examples" / "word-count.yaml"
EXAMPLE_NAME = "word-count-demo"
PERSONAS = ("owner", "editor", "operator", "viewer", "outsider")


@dataclass(frozen=True)
class Personas:
    owner: User
    editor: User
    operator: User
    viewer: User
    outsider: User

    def __getitem__(self, name: str) -> User:
        return getattr(self, name)


def _persona(name: str) -> User:
    user, _ = User.objects.get_or_create(username=name)
    user.is_staff = name != "outsider"  # the outsider is signed in, with no role and no admin access
    user.set_password(f"{name}-password")
    user.is_superuser = name == "owner"
    user.save()
    if name in ("editor", "operator", "viewer"):
        user.groups.set([Group.objects.get(name=name)])
    Token.objects.get_or_create(user=user)
    return user


@pytest.fixture(scope="session")
def personas(django_db_setup: None, django_db_blocker: Any) -> Personas:
    with django_db_blocker.unblock():
        return Personas(*(_persona(name) for name in PERSONAS))


@pytest.fixture
def api(db: None, personas: Personas) -> Callable[[str | None], APIClient]:
    """``api("editor")``: a client authenticated by the persona's token; ``api(None)``: anonymous."""

    def client(persona: str | None) -> APIClient:
        result = APIClient()
        if persona is not None:
            # A fresh user object per client, so that permission caches never leak between tests.
            token = Token.objects.select_related("user").get(user__username=persona)
            result.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return result

    return client


def example_manifest() -> dict[str, Any]:
    """A fresh copy of the project's word-count example, as loaded from YAML."""
    return load_manifest_yaml(EXAMPLE_PATH.read_text())


@pytest.fixture
def example(db: None) -> Deployment:
    """The word-count example, imported as it ships (one revision, version 1)."""
    change = services.import_manifest(example_manifest(), actor=None, interface=Interface.CLI)
    return change.deployment


@pytest.fixture
def reconciles() -> Iterator[mock.MagicMock]:
    """Records the reconcile requests of committed changes (on_commit callbacks run at once)."""
    with mock.patch.object(reconcile_hook, "request_reconcile") as spy:
        yield spy
