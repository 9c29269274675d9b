"""``manage.py export_topology NAME``: the saved spec of a deployment as custom-resource YAML
on standard output, in the form ``import_topology`` reads back unchanged."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orchestrator import dump_manifest_yaml, to_manifest
from topology_editor.models import Deployment
from topology_editor.spec_rows import spec_from_rows


class Command(BaseCommand):
    help = "Print a deployment's spec as an InvokerDeployment YAML manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the deployment's name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        deployment = Deployment.objects.filter(name=name).first()
        if deployment is None:
            known = ", ".join(Deployment.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"no deployment named {name!r} (deployments: {known})")
        self.stdout.write(dump_manifest_yaml(to_manifest(spec_from_rows(deployment))), ending="")
