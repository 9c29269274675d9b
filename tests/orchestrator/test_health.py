"""Health with reasons (orchestrator.reconciler.health and the update phase): pure, no server.

A deployment that cannot process — failing pods, partitions no pod owns — is never Ready and
says why; summaries count pods per phase and name the top reasons, never every pod."""

from __future__ import annotations

from orchestrator.reconciler import health
from orchestrator.reconciler.backend import Observed, PodState
from orchestrator.reconciler.kube import _pod_state
from orchestrator.reconciler.status import DEGRADED, READY, Outcome, derive_status
from orchestrator.reconciler.topics import EXACT, TopicResult, TopicsReport, TopicWant
from orchestrator.spec.model import DeploymentSpec, EntitySpec, PodSpec

SPEC = DeploymentSpec(
    "demo",
    (
        EntitySpec(
            "e",
            "img:1",
            "b:9092",
            "in",
            "out",
            (PodSpec("e-0", (0,)), PodSpec("e-1", (1,))),
        ),
    ),
)


def _pod(
    n: int, phase: str = "Running", ready: bool = True, reason: str | None = None, message: str = ""
) -> PodState:
    return PodState(
        f"demo-e-{n}-x", f"uid-{n}", "e", f"e-{n}", phase, ready, 0, None, reason, message or None
    )


def _topics(input_partitions: int) -> TopicsReport:
    return TopicsReport(
        (
            TopicResult(TopicWant("b:9092", "in", 2, "at_least", "input topic"), input_partitions, "ok"),
            TopicResult(TopicWant("b:9092", "out", 2, EXACT, "output topic"), 2, "ok"),
        )
    )


def _status(pods: list[PodState], topics: TopicsReport | None = None) -> dict:
    observed = Observed(root={}, pods=pods)
    return derive_status(SPEC, "rev-1", observed, Outcome(topics=topics), {"currentRevision": "rev-1"})


def test_healthy_pods_on_a_fully_owned_topic_are_ready_with_the_usual_two_conditions() -> None:
    status = _status([_pod(0), _pod(1)], _topics(2))
    assert status["state"] == READY
    assert [c["type"] for c in status["conditions"]] == ["Ready", "TopicsReady"]
    assert status["components"]["podPhases"] == {"Running": 2}
    assert status["components"]["entities"]["e"]["state"] == "Ready"


def test_a_crash_looping_pod_is_never_ready_and_the_reason_is_counted_not_listed_by_name() -> None:
    crash = "container io exited with code 1: KafkaError: output topic 'out' does not exist"
    pods = [_pod(0), _pod(1, "CrashLoop", False, "CrashLoopBackOff", crash)]
    status = _status(pods, _topics(2))
    assert status["state"] == DEGRADED
    ready = status["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "PodsFailing")
    assert ready["message"] == f"1/2 pods failing: CrashLoopBackOff: {crash} (1 pod)"
    assert "demo-e-1-x" not in ready["message"]
    healthy = next(c for c in status["conditions"] if c["type"] == "PodsHealthy")
    assert (healthy["status"], healthy["reason"]) == ("False", "PodsFailing")
    assert status["components"]["podPhases"] == {"CrashLoop": 1, "Running": 1}
    assert status["components"]["topReasons"] == [
        {"phase": "CrashLoop", "reason": "CrashLoopBackOff", "message": crash, "pods": 1}
    ]
    entity = status["components"]["entities"]["e"]
    assert (entity["state"], entity["reason"]) == ("Degraded", "PodsFailing")


def test_three_hundred_failing_pods_make_one_reason_line() -> None:
    pods = [
        _pod(n, "Failed", False, "ImageNotRunnable", "no command for invoker/executor:0.1")
        for n in range(300)
    ]
    message = health.failing_message(pods)
    assert message == "300/300 pods failing: ImageNotRunnable: no command for invoker/executor:0.1 (300 pods)"
    assert health.phase_counts(pods) == {"Failed": 300}


def test_top_reasons_are_the_most_common_first_and_bounded() -> None:
    pods = [_pod(n, "Pending", False, f"R{n % 5}") for n in range(50)] + [
        _pod(100 + n, "Failed", False, "R9") for n in range(20)
    ]
    reasons = health.top_reasons(pods)
    assert len(reasons) == health.TOP_REASONS
    assert reasons[0] == {"phase": "Failed", "reason": "R9", "message": "", "pods": 20}


def test_partitions_no_pod_owns_keep_the_deployment_from_ready() -> None:
    status = _status([_pod(0), _pod(1)], _topics(5))  # the topic has 5, the pods own 0 and 1
    assert status["state"] == DEGRADED
    ready = status["conditions"][0]
    assert ready["reason"] == "PartitionsUnassigned"
    assert ready["message"] == "e: partition(s) 2-4 of input topic 'in' have no pod"
    assigned = next(c for c in status["conditions"] if c["type"] == "PartitionsAssigned")
    assert assigned["status"] == "False"
    assert status["components"]["unassignedPartitions"] == {"e": [2, 3, 4]}
    assert status["components"]["entities"]["e"]["reason"] == "PartitionsUnassigned"


def test_ranges_compress_partition_lists() -> None:
    assert health.ranges([5, 0, 1, 2, 7, 8]) == "0-2, 5, 7-8"


def _kube_pod(status: dict) -> dict:
    metadata = {"name": "p", "uid": "u", "labels": {"invoker.io/entity": "e", "invoker.io/pod": "e-0"}}
    return {"metadata": metadata, "status": status}


def test_kubernetes_crash_loop_back_off_is_crash_loop_with_the_last_exit() -> None:
    status = {
        "phase": "Running",
        "containerStatuses": [
            {"name": "io", "restartCount": 0, "state": {"running": {}}},
            {
                "name": "udf",
                "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
                "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}},
            },
        ],
    }
    pod = _pod_state(_kube_pod(status))
    assert (pod.phase, pod.reason, pod.restarts) == ("CrashLoop", "CrashLoopBackOff", 7)
    assert pod.message == "container udf exited with code 2: Error"


def test_kubernetes_image_pull_failure_is_failed_with_the_message() -> None:
    waiting = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nope:1"'}
    status = {"phase": "Pending", "containerStatuses": [{"name": "udf", "state": {"waiting": waiting}}]}
    pod = _pod_state(_kube_pod(status))
    assert (pod.phase, pod.reason) == ("Failed", "ImagePullBackOff")
    assert pod.message == 'udf: Back-off pulling image "nope:1"'


def test_a_kubernetes_pod_still_creating_is_pending_with_its_reason() -> None:
    status = {
        "phase": "Pending",
        "containerStatuses": [{"name": "udf", "state": {"waiting": {"reason": "ContainerCreating"}}}],
    }
    assert health.kube_pod_health(status) == ("Pending", "ContainerCreating", None)
