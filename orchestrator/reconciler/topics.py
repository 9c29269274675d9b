"""Topics as reconciled resources, like Strimzi's KafkaTopic: each entity's input and output topic
exists with the partition count the spec declares, or the deployment says why not.

Why here and not in the pods: a pod that finds its output topic missing can only loop on the
error, while the deployment looks Ready. The reconcile pass creates what is missing before any
pod is started, grows a topic that is too small (``create_partitions``), and never shrinks one
(Kafka cannot, and deleting data is not the orchestrator's to decide): a topic larger than
declared is reported. Everything comes back as a plain :class:`TopicsReport`, which the update
phase turns into a ``TopicsReady`` condition.

The partition count of a topic:

- an entity's input topic: its ``inputPartitions`` when declared (then exact: grown when
  smaller, reported when larger), else one more than the highest partition its pods own (a
  minimum: grown when smaller, since those partitions must exist);
- an output topic that another entity of the deployment reads on the same broker: that
  entity's input count, as above — the downstream entity declares it;
- an output topic nothing in the deployment reads (a sink): created with the writer's own count
  when missing, otherwise left as it is — other systems may read it, and the io sidecar routes
  over whatever count it has.

A broker that cannot be reached is retried briefly (tenacity) with bounded timeouts, so an
outage costs a pass a few seconds, not minutes; it is then reported as ``BrokerUnavailable``
and :meth:`TopicsReport.raise_when_unreachable` stops the pass before anything else is applied
(the caller retries with back-off). Nothing here imports Django.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import KafkaError, RetriableError, for_code
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from orchestrator.reconciler.backend import RetryableError
from orchestrator.spec.model import DeploymentSpec, EntitySpec

log = logging.getLogger(__name__)
#: How a wanted count is enforced: ``exact`` (declared), ``at_least`` (inferred from the pods),
#: ``create`` (a sink's count, used only to create it).
EXACT, AT_LEAST, CREATE = "exact", "at_least", "create"
#: Condition reasons, stable CamelCase words; the first of a report's problems names it.
READY_REASON = "TopicsReconciled"
BROKER_UNAVAILABLE = "BrokerUnavailable"
TOPIC_MISSING = "TopicMissing"
PARTITION_MISMATCH = "PartitionCountMismatch"
TOPIC_ERROR = "TopicError"
_REASON_ORDER = (BROKER_UNAVAILABLE, TOPIC_MISSING, PARTITION_MISMATCH, TOPIC_ERROR)
#: Kafka's "unknown topic or partition": what describing a missing topic answers.
_UNKNOWN_TOPIC = 3
_TOPIC_EXISTS = 36
#: -1 asks the broker for its ``default.replication.factor`` (KIP-464), right for one broker
#: in development and for a cluster in production alike.
BROKER_DEFAULT_REPLICATION = -1
#: Bounds on one pass's wait for a broker: each attempt gives up bootstrapping after
#: ``BOOTSTRAP_TIMEOUT_MS``, requests after ``REQUEST_TIMEOUT_MS``.
BOOTSTRAP_TIMEOUT_MS = 1500
REQUEST_TIMEOUT_MS = 5000
ATTEMPTS = 2


@dataclass(frozen=True)
class TopicWant:
    """One topic a deployment needs: where, what, how many partitions and how strictly."""

    bootstrap: str
    topic: str
    partitions: int
    policy: str
    role: str  # "input topic" / "output topic", for messages people read


@dataclass(frozen=True)
class TopicResult:
    """What the pass found and did for one topic. ``partitions`` is the count it has now (None:
    it does not exist or could not be read); ``action`` is ``created``, ``grown``, ``ok``,
    ``oversized``, ``failed`` or ``unreachable``."""

    want: TopicWant
    partitions: int | None
    action: str
    reason: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class TopicsReport:
    """Every wanted topic's result, and the condition they add up to."""

    results: tuple[TopicResult, ...] = ()

    @property
    def ready(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def broker_unavailable(self) -> bool:
        return any(result.reason == BROKER_UNAVAILABLE for result in self.results)

    @property
    def reason(self) -> str:
        reasons = {result.reason for result in self.results}
        return next((reason for reason in _REASON_ORDER if reason in reasons), READY_REASON)

    @property
    def message(self) -> str:
        problems = _unique(result.message for result in self.results if not result.ok)
        if problems:
            return "; ".join(problems)
        # What this pass created or grew is in the results, not here: the message of a pass that
        # changes nothing must be the same as the last one's, or the status would be rewritten.
        return f"{len(self.results)} topic(s) have their declared partitions"

    def condition(self) -> dict[str, str]:
        """The ``TopicsReady`` condition, without its transition time (the update phase keeps it)."""
        status = "True" if self.ready else "False"
        return {"type": "TopicsReady", "status": status, "reason": self.reason, "message": self.message}

    def raise_when_unreachable(self) -> None:
        """Stops the pass before anything is applied when a broker did not answer."""
        if self.broker_unavailable:
            raise BrokerUnavailableError(self.message)


class BrokerUnavailableError(RetryableError):
    """A deployment's broker did not answer: the pass applies nothing and is retried."""


def wanted_topics(spec: DeploymentSpec) -> list[TopicWant]:
    """Every topic ``spec`` reads or writes, with its count (see the module docstring)."""
    wants: dict[tuple[str, str], TopicWant] = {}
    for entity in spec.entities:
        key = (entity.io_address, entity.input_topic)
        count, policy = input_count(entity)
        known = wants.get(key)
        if known is None or _stricter(count, policy, known):
            wants[key] = TopicWant(entity.io_address, entity.input_topic, count, policy, "input topic")
    for entity in spec.entities:
        key = (entity.io_address, entity.output_topic)
        if key in wants:  # read downstream: the reader's count, named as what this entity writes
            known = wants[key]
            wants[key] = TopicWant(
                known.bootstrap, known.topic, known.partitions, known.policy, "output topic"
            )
        else:
            count, _ = input_count(entity)
            wants[key] = TopicWant(entity.io_address, entity.output_topic, count, CREATE, "output topic")
    return list(wants.values())


def output_partitions(spec: DeploymentSpec, report: TopicsReport | None = None) -> dict[str, int]:
    """Each entity's output partition count, for its pods' ``main.json`` (``outputPartitions``):
    the io sidecar creates a missing output topic with it and routes over at most that many.

    An output topic another entity reads gets the reader's count (the partitions it owns); a sink
    gets the count this pass found it has (``report``), else its creation count, so the pods
    route over all of an existing sink's partitions as before."""
    wants = {(want.bootstrap, want.topic): want for want in wanted_topics(spec)}
    found = {} if report is None else {(r.want.bootstrap, r.want.topic): r.partitions for r in report.results}
    counts: dict[str, int] = {}
    for entity in spec.entities:
        key = (entity.io_address, entity.output_topic)
        want, actual = wants[key], found.get(key)
        counts[entity.name] = actual if want.policy == CREATE and actual else want.partitions
    return counts


def input_count(entity: EntitySpec) -> tuple[int, str]:
    """The entity's input partition count and how strictly it holds."""
    if entity.input_partitions:
        return entity.input_partitions, EXACT
    owned = [partition for pod in entity.pods for partition in pod.partitions]
    return (max(owned) + 1 if owned else 1), AT_LEAST


def _stricter(count: int, policy: str, known: TopicWant) -> bool:
    """Two readers of one topic: a declared count wins (validation makes declared ones agree),
    else the larger inferred minimum."""
    if policy != known.policy:
        return policy == EXACT
    return count > known.partitions


def reconcile_topics(
    spec: DeploymentSpec,
    replication_factor: int = BROKER_DEFAULT_REPLICATION,
    attempts: int = ATTEMPTS,
) -> TopicsReport:
    """Creates and grows ``spec``'s topics on their brokers; never raises for a broker."""
    results: list[TopicResult] = []
    by_broker: dict[str, list[TopicWant]] = {}
    for want in wanted_topics(spec):
        by_broker.setdefault(want.bootstrap, []).append(want)
    for bootstrap, wants in by_broker.items():
        results.extend(reconcile_broker(bootstrap, wants, replication_factor, attempts))
    for result in results:
        if result.action in ("created", "grown"):
            log.info(
                "%s %s %s at %s: %d partitions",
                result.action,
                result.want.role,
                result.want.topic,
                result.want.bootstrap,
                result.partitions,
            )
    return TopicsReport(tuple(results))


def reconcile_broker(
    bootstrap: str, wants: list[TopicWant], replication_factor: int, attempts: int = ATTEMPTS
) -> list[TopicResult]:
    """One broker's topics, retried as a whole while the broker does not answer (every step is
    idempotent: creating an existing topic or growing to the current count changes nothing)."""
    attempt = retry(
        retry=retry_if_exception_type(RetriableError),  # timeouts and lost connections among them
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait_exponential(multiplier=0.2, max=1.0),
        reraise=True,
    )(_reconcile_broker_once)
    try:
        return attempt(bootstrap, wants, replication_factor)
    except KafkaError as exc:
        message = f"Kafka at {bootstrap} is not reachable: {exc}"
        return [TopicResult(want, None, "unreachable", BROKER_UNAVAILABLE, message) for want in wants]


def _reconcile_broker_once(
    bootstrap: str, wants: list[TopicWant], replication_factor: int
) -> list[TopicResult]:
    with admin_client(bootstrap) as admin:
        before = describe(admin, [want.topic for want in wants])
        create_errors, raced = _create_missing(admin, wants, before, replication_factor)
        if raced:  # someone else created them meanwhile: grow or report them as they are
            before = {**before, **describe(admin, raced)}
        grow_errors = _grow_small(admin, wants, before)
    errors = {**create_errors, **grow_errors}
    return [_result(want, before, _after(want, before, errors), errors) for want in wants]


def _after(want: TopicWant, before: dict[str, Any], errors: dict[str, str]) -> int | str | None:
    """The topic's count after this pass. A create or grow the controller answered without an
    error is done; describing right after it may still show the brokers' older metadata."""
    was = before.get(want.topic)
    if want.topic in errors:
        return was
    if was is None or _too_small(want, was):
        return want.partitions
    return was


_CLIENTS: dict[str, KafkaAdminClient] = {}
_CLIENTS_LOCK = threading.Lock()


@contextmanager
def admin_client(bootstrap: str) -> Iterator[KafkaAdminClient]:
    """An admin client with bounded timeouts, kept per bootstrap address between passes:
    connecting costs tens of milliseconds, a describe on an open connection about one. A client
    that failed is closed and dropped, so the next attempt connects afresh. One pass at a time in
    a process uses the clients (the reconciler runs one pass at a time anyway)."""
    with _CLIENTS_LOCK:
        admin = _CLIENTS.get(bootstrap)
        if admin is None:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap,
                client_id="invoker-orchestrator-topics",
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
            )
            _CLIENTS[bootstrap] = admin
        try:
            yield admin
        except BaseException:
            _CLIENTS.pop(bootstrap, None)
            admin.close()
            raise


def describe(admin: KafkaAdminClient, topics: Iterable[str]) -> dict[str, int | str | None]:
    """topic → its partition count, None when it does not exist, or an error message."""
    found: dict[str, int | str | None] = {}
    for entry in admin.describe_topics(sorted(set(topics))):
        code = entry.get("error_code", 0)
        if code == 0:
            found[entry["name"]] = len(entry.get("partitions") or [])
        elif code == _UNKNOWN_TOPIC:
            found[entry["name"]] = None
        else:
            error = for_code(code)
            if issubclass(error, RetriableError):
                raise error(f"describing topic {entry['name']!r}")
            found[entry["name"]] = f"{error.__name__}: {error.description}"
    return found


def _create_missing(
    admin: KafkaAdminClient, wants: list[TopicWant], before: dict[str, Any], replication_factor: int
) -> tuple[dict[str, str], list[str]]:
    """Creates the missing topics: (topic → error, the topics that existed after all)."""
    new = [NewTopic(w.topic, w.partitions, replication_factor) for w in wants if before.get(w.topic) is None]
    if not new:
        return {}, []
    entries = admin.create_topics(new, raise_errors=False)["topics"]
    errors = {
        entry["name"]: entry.get("error_message") or for_code(entry["error_code"]).__name__
        for entry in entries
        if entry["error_code"] not in (0, _TOPIC_EXISTS)
    }
    return errors, [entry["name"] for entry in entries if entry["error_code"] == _TOPIC_EXISTS]


def _grow_small(admin: KafkaAdminClient, wants: list[TopicWant], before: dict[str, Any]) -> dict[str, str]:
    grow = {w.topic: NewPartitions(w.partitions) for w in wants if _too_small(w, before.get(w.topic))}
    if not grow:
        return {}
    response = admin.create_partitions(grow, raise_errors=False)
    return {
        result.name: result.error_message or for_code(result.error_code).__name__
        for result in response.results
        if result.error_code != 0
    }


def _too_small(want: TopicWant, actual: int | str | None) -> bool:
    return isinstance(actual, int) and want.policy != CREATE and actual < want.partitions


def _result(
    want: TopicWant, before: dict[str, Any], now: int | str | None, errors: dict[str, str]
) -> TopicResult:
    was, error = before.get(want.topic), errors.get(want.topic)
    name = f"{want.role} {want.topic!r}"
    if isinstance(now, str):
        return TopicResult(want, None, "failed", TOPIC_ERROR, f"{name} cannot be read: {now}")
    if now is None:
        detail = f": {error}" if error else ""
        return TopicResult(want, None, "failed", TOPIC_MISSING, f"{name} does not exist{detail}")
    if now < want.partitions and want.policy != CREATE:
        detail = f" (growing it failed: {error})" if error else ""
        message = f"{name} has {now} partitions, {want.partitions} declared{detail}"
        return TopicResult(want, now, "failed", PARTITION_MISMATCH, message)
    if now > want.partitions and want.policy == EXACT:
        message = f"{name} has {now} partitions, {want.partitions} declared; a topic is never shrunk"
        return TopicResult(want, now, "oversized", PARTITION_MISMATCH, message)
    action = "created" if was is None else "grown" if isinstance(was, int) and was < now else "ok"
    return TopicResult(want, now, action)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
