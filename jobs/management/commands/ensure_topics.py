"""`python manage.py ensure_topics NAME`: reconciles a deployment's Kafka topics now.

Every reconcile pass does the same (`orchestrator.reconciler.topics`): topics are created with their declared
partition counts, grown when smaller, never shrunk. The command is for doing it at once from a
shell or a script (`./dev up` runs it after importing the sample) and says what it found; it
exits non-zero, naming every problem, when a topic is missing or mis-sized or a broker does not
answer.
"""

from django.core.management.base import BaseCommand, CommandError

from orchestrator.reconciler.topics import BROKER_DEFAULT_REPLICATION, TopicResult, reconcile_topics
from topology_editor.models import Deployment
from topology_editor.spec_rows import spec_from_rows


def describe(result: TopicResult) -> str:
    want = result.want
    if result.action == "created":
        return f"created topic {want.topic} ({result.partitions} partitions) at {want.bootstrap}"
    if result.action == "grown":
        return f"grew topic {want.topic} to {result.partitions} partitions at {want.bootstrap}"
    if result.ok:
        return f"topic {want.topic} exists at {want.bootstrap} ({result.partitions} partitions)"
    return result.message


class Command(BaseCommand):
    help = "Create or grow the input and output topics of a deployment's entities (never shrinks one)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--replication-factor",
            type=int,
            default=BROKER_DEFAULT_REPLICATION,
            help="for new topics (default: the broker's default.replication.factor)",
        )

    def handle(self, *args, name: str, replication_factor: int, **options) -> None:
        deployment = Deployment.objects.filter(name=name).first()
        if deployment is None:
            raise CommandError(f"no deployment named {name!r}")
        report = reconcile_topics(spec_from_rows(deployment), replication_factor=replication_factor)
        for result in report.results:
            if result.ok:
                self.stdout.write(describe(result))
        if not report.ready:
            raise CommandError(f"{report.reason}: {report.message}")
