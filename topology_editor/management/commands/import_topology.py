"""``manage.py import_topology FILE``: creates or updates the deployment a custom-resource YAML
manifest describes, through the same service as the API, and prints the resulting revision.

``FILE`` may be ``-`` for standard input. A rejected manifest prints every problem with its
field path (or the line and column of a YAML error) and changes nothing.
"""

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from orchestrator import SpecError, load_manifest_yaml
from orchestrator.spec.manifest_yaml import MAX_MANIFEST_BYTES
from topology_editor import services
from topology_editor.models import Interface


class Command(BaseCommand):
    help = "Create or update a deployment from an InvokerDeployment YAML manifest; prints the revision."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the manifest, or - for standard input")
        parser.add_argument("--user", help="the username the audit trail records (default: none, 'CLI')")

    def handle(self, *args: Any, file: str, user: str | None, **options: Any) -> None:
        actor = _user(user) if user else None
        try:
            change = services.import_manifest(
                load_manifest_yaml(_read(file)), actor=actor, interface=Interface.CLI
            )
        except SpecError as error:
            problems = "\n".join(f"  {problem}" for problem in error.errors)
            raise CommandError(f"{file}: the manifest was rejected, nothing changed:\n{problems}") from None
        except services.ServiceError as error:
            raise CommandError(f"{file}: {error.message}") from None
        verb = "created" if change.created else "updated" if change.changed else "unchanged"
        revision = change.revision
        self.stdout.write(f"{change.deployment.name}: {verb}, revision {revision.name} (#{revision.number})")


def _read(file: str) -> bytes:
    """At most one byte more than a manifest may have, so an oversized file is refused unread."""
    if file == "-":
        return sys.stdin.buffer.read(MAX_MANIFEST_BYTES + 1)
    try:
        with open(file, "rb") as stream:
            return stream.read(MAX_MANIFEST_BYTES + 1)
    except OSError as error:
        raise CommandError(f"{file}: {error.strerror}") from None


def _user(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--user: no user named {username!r}")
    return user
