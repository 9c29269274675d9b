"""`python manage.py ensure_topics NAME`: creates the Kafka topics a deployment reads and writes.

A topic's partition count is the entity's `inputPartitions` when given, else one more than the
highest partition its pods own; an output topic that no entity reads gets the count of the
entity that writes it. Existing topics are left as they are.
"""

from django.core.management.base import BaseCommand, CommandError
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from orchestrator.spec import DeploymentSpec, EntitySpec
from topology_editor.models import Deployment
from topology_editor.spec_rows import spec_from_rows


def partition_count(entity: EntitySpec) -> int:
    owned = [p for pod in entity.pods for p in pod.partitions]
    return entity.input_partitions or (max(owned) + 1 if owned else 1)


def wanted_topics(spec: DeploymentSpec) -> dict[tuple[str, str], int]:
    """(bootstrap servers, topic) → partitions."""
    topics: dict[tuple[str, str], int] = {}
    for entity in spec.entities:
        topics[(entity.io_address, entity.input_topic)] = partition_count(entity)
    for entity in spec.entities:
        topics.setdefault((entity.io_address, entity.output_topic), partition_count(entity))
    return topics


class Command(BaseCommand):
    help = "Create the input and output topics of a deployment's entities when they are missing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--replication-factor", type=int, default=1, help="for new topics (default 1)")

    def handle(self, *args, name: str, replication_factor: int, **options) -> None:
        self.replication_factor = replication_factor
        deployment = Deployment.objects.filter(name=name).first()
        if deployment is None:
            raise CommandError(f"no deployment named {name!r}")
        for (bootstrap, topic), partitions in wanted_topics(spec_from_rows(deployment)).items():
            self.stdout.write(self._ensure(bootstrap, topic, partitions))

    def _ensure(self, bootstrap: str, topic: str, partitions: int) -> str:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="invoker-ensure-topics")
        except KafkaError as exc:
            raise CommandError(f"Kafka at {bootstrap} is not reachable: {exc}") from exc
        try:
            new = NewTopic(topic, num_partitions=partitions, replication_factor=self.replication_factor)
            admin.create_topics([new])
            return f"created topic {topic} ({partitions} partitions) at {bootstrap}"
        except TopicAlreadyExistsError:
            return f"topic {topic} exists at {bootstrap}"
        finally:
            admin.close()
