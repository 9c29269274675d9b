"""Canarying a UDF image on chosen pods (orchestrator.planning.canary) and the per-pod image
override it rests on: parsed, written back only when set (so no existing revision changes),
and given to that pod's UDF container alone."""

from pathlib import Path

import pytest

from orchestrator import load_manifest_yaml, parse_deployment, revision_name, to_manifest
from orchestrator.planning.canary import abort_canary, canary_of, promote_step, start_canary
from orchestrator.reconciler.convert import ConvertContext, convert
from orchestrator.spec.model import SpecError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "word-count.yaml"
NEW = "invoker/executor-word-count:canary"


@pytest.fixture
def spec():
    return parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))


def images(spec) -> dict[str, str]:
    """The UDF image each splitter pod's workload runs."""
    ctx = ConvertContext(namespace="ns", revision="r", state_url="redis://r:6379/0")
    return {
        m["metadata"]["labels"]["invoker.io/pod"]: m["spec"]["template"]["spec"]["containers"][0]["image"]
        for m in convert(spec, ctx)
        if m["kind"] == "Deployment" and m["metadata"]["labels"]["invoker.io/entity"] == "splitter"
    }


def test_a_spec_without_overrides_keeps_its_manifest_and_revision(spec):
    manifest = to_manifest(spec)
    assert all("executorImage" not in pod for e in manifest["spec"]["statefulEntities"] for pod in e["pods"])
    assert parse_deployment(manifest) == spec


def test_a_canary_runs_the_new_image_on_the_chosen_pods_only(spec):
    current = spec.entity("splitter").executor_image

    canaried = start_canary(spec, "splitter", ["splitter-1"], NEW)

    assert images(canaried) == {"splitter-0": current, "splitter-1": NEW, "splitter-2": current}
    canary = canary_of(canaried.entity("splitter"))
    assert (canary.image, canary.canary_pods) == (NEW, ("splitter-1",))
    assert canary.stable_pods == ("splitter-0", "splitter-2")
    assert [p.partitions for p in canaried.entity("splitter").pods] == [(0, 1), (2, 3), (4, 5)]
    manifest = to_manifest(canaried)
    assert manifest["spec"]["statefulEntities"][0]["pods"][1]["executorImage"] == NEW
    assert parse_deployment(manifest) == canaried
    assert revision_name(canaried) != revision_name(spec)


def test_promotion_goes_one_pod_at_a_time_then_makes_the_image_the_entitys(spec):
    step = start_canary(spec, "splitter", ["splitter-1"], NEW)
    promoted = []
    for _ in range(3):
        step, pod = promote_step(step, "splitter")
        promoted.append(pod)
    assert promoted == ["splitter-0", "splitter-2", None]
    splitter = step.entity("splitter")
    assert splitter.executor_image == NEW
    assert {p.executor_image for p in splitter.pods} == {None}
    assert canary_of(splitter) is None
    assert set(images(step).values()) == {NEW}


def test_abort_returns_every_pod_to_the_current_image(spec):
    aborted = abort_canary(start_canary(spec, "splitter", ["splitter-0", "splitter-2"], NEW), "splitter")
    assert aborted == spec


@pytest.mark.parametrize(
    ("pods", "image", "path", "code"),
    [
        (["nope"], NEW, "pods", "not_found"),
        ([], NEW, "pods", "conflict"),
        (["splitter-0", "splitter-1", "splitter-2"], NEW, "pods", "conflict"),
        (["splitter-0"], "invoker/executor-word-count:0.1", "image", "invalid_value"),
    ],
)
def test_a_bad_canary_is_refused_naming_the_field(spec, pods, image, path, code):
    if image != NEW:
        image = spec.entity("splitter").executor_image
    with pytest.raises(SpecError) as raised:
        start_canary(spec, "splitter", pods, image)
    assert [(e.path, e.code) for e in raised.value.errors] == [(path, code)]


def test_a_second_canary_of_another_image_waits_for_the_first(spec):
    running = start_canary(spec, "splitter", ["splitter-0"], NEW)
    with pytest.raises(SpecError, match="promote or abort it first"):
        start_canary(running, "splitter", ["splitter-1"], "invoker/executor-word-count:other")


@pytest.mark.parametrize("edit", [promote_step, abort_canary])
def test_promoting_or_aborting_without_a_canary_is_refused(spec, edit):
    with pytest.raises(SpecError, match="no canary runs on entity 'splitter'"):
        edit(spec, "splitter")
