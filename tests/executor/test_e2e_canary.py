"""End to end on the real broker: a canary of a new UDF image promoted while producing (issue 16,
item 5).

Which pod runs which image at each step comes from the planner (``orchestrator.planning.canary``);
each step replaces that one pod the way its workload's Recreate strategy does (all three
containers stopped, then started on the new image), and the next step waits until it consumes
its partitions again (what ``jobs.promote_canary`` waits for). Partitions never move. The totals
must stay exact, and the pods a step does not touch must not restart.
"""

import pytest

from orchestrator import parse_deployment
from orchestrator.planning.canary import canary_of, promote_step, start_canary
from tests.executor.harness import LineProducer, make_lines, reassign_and_wait, split, wait_for_exact_totals
from tests.localpod import LocalEntity, PodProcesses, free_port
from tests.polling import wait_until

pytestmark = pytest.mark.slow
RATE = 2000  # lines per second
NEW = "invoker/executor-word-count:0.2"
#: What each image runs here: the new tag of the sample is the same code, as a canary of a
#: rebuilt image would be.
UDFS = {
    "invoker/executor-word-count:0.1": "executor.samples.word_count:udf",
    NEW: "executor.samples.word_count:udf",
}


def spec_of(assignment: dict[str, list[int]]):
    pods = [{"name": name, "partitions": partitions} for name, partitions in assignment.items()]
    entity = {
        "name": "splitter", "executorImage": "invoker/executor-word-count:0.1", "ioAddress": "127.0.0.1:9092",
        "inputTopic": "lines", "outputTopic": "words", "pods": pods,
    }  # fmt: skip
    manifest = {"apiVersion": "invokeroperator.invoker.io/v1alpha1", "kind": "InvokerDeployment"}
    return parse_deployment(
        {**manifest, "metadata": {"name": "demo"}, "spec": {"statefulEntities": [entity]}}
    )


def replace_pod(entity: LocalEntity, name: str, image: str, partitions: list[int]) -> None:
    """What the workload's Recreate does for a new image: the old pod stops, the new one starts."""
    entity.pods.pop(name).stop()
    pod = PodProcesses(
        name, UDFS[image], entity.config.path, entity.work_dir, free_port(), dict(entity.extra_env)
    )
    pod.start()
    entity.pods[name] = pod

    def owns_all() -> bool:
        try:
            samples = pod.metrics()
        except OSError:
            return False
        owned = {
            int(dict(labels)["partition"])
            for (m, labels), v in samples.items()
            if m == "invoker_partition_owned" and v == 1
        }
        return owned == set(partitions)

    wait_until(owns_all, 90, f"{name} consuming {partitions} on {image}", interval=0.2)


def test_a_canary_promoted_pod_by_pod_keeps_totals_exact(topology):
    topo = topology()
    topo.summer.assign(split(6, 1, "summer"))
    assignment = split(6, 3, "splitter")
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.start(make_lines(120_000, seed=11), per_second=RATE)
    try:
        reassign_and_wait(topo.counter, assignment)
        spec = start_canary(spec_of(assignment), "splitter", ["splitter-1"], NEW)
        steps = ["splitter-1"]
        replace_pod(topo.counter, "splitter-1", NEW, assignment["splitter-1"])
        while canary_of(spec.entity("splitter")) is not None:
            pids = {name: pod.pids() for name, pod in topo.counter.pods.items()}
            spec, promoted = promote_step(spec, "splitter")
            if promoted is None:
                break  # the image becomes the entity's: every pod already runs it, nothing restarts
            replace_pod(topo.counter, promoted, NEW, assignment[promoted])
            steps.append(promoted)
            for name, pod in topo.counter.pods.items():
                assert name == promoted or pod.pids() == pids[name], f"{name} restarted"
        assert steps == ["splitter-1", "splitter-0", "splitter-2"]
        assert spec.entity("splitter").executor_image == NEW
    finally:
        producer.stop()
    wait_for_exact_totals(topo)
    assert not [pod.name for pod in topo.pods() if pod.crashed()]
