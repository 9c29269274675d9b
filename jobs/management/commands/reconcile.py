"""`python manage.py reconcile NAME [--dry-run]`: one reconcile in the foreground.

With --dry-run it prints the changes the pass would make, each update down to the field
(``ConfigMap word-count-demo.splitter: splitter-0.json partitions [0,1] -> [0,1,2]``), and
writes nothing anywhere (no object, no status, no reconcile-run row).
"""

from django.core.management.base import BaseCommand, CommandError

from jobs.backends import get_backend
from jobs.preview import describe_plan
from jobs.runs import run_reconcile
from topology_editor.models import Deployment


class Command(BaseCommand):
    help = "Reconcile one deployment now; --dry-run prints the difference and writes nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, name: str, dry_run: bool, **options) -> None:
        if not Deployment.objects.filter(name=name).exists():
            raise CommandError(f"no deployment named {name!r}")
        backend = get_backend()
        result = run_reconcile(name, backend, trigger="manage.py reconcile", dry_run=dry_run)
        observed = backend.observe(name) if dry_run else None  # a dry run wrote nothing: still live
        for line in describe_plan(result, observed):
            self.stdout.write(line)
        if not result.changes and not result.held:
            self.stdout.write("nothing to change")
        if result.error:
            raise CommandError(f"reconcile failed: {result.error}")
        verb = "would apply" if dry_run else "applied"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} {len(result.changes)} change(s); {result.writes} API writes; "
                               f"state {result.status.get('state', 'unchanged')}")
        )  # fmt: skip
