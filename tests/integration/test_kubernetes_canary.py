"""A canary on the Kubernetes backend against the real kube-apiserver (issue 16, item 5): only
the chosen pod's Deployment runs the new image and only its pod is replaced; the promotion's
rolled-out test passes for it from what the API reports; abort returns it."""

from __future__ import annotations

from jobs.canary import rolled_out
from orchestrator.planning.canary import abort_canary, start_canary
from orchestrator.reconciler.convert import workload_name
from tests.integration import test_kubernetes_backend as kube_tests
from tests.integration.test_kubernetes_backend import NAME

NEW = "invoker/executor-word-count:0.2"
#: A namespace of its own and the parsed example, as the backend's own tests use them.
harness = kube_tests.harness
example = kube_tests.example


def udf_images(h) -> dict[str, str]:
    return {
        d.metadata.labels["invoker.io/pod"]: d.spec.template.spec.containers[0].image
        for d in h.apps.list_namespaced_deployment(h.namespace).items
    }


def test_a_canary_replaces_only_its_pod_and_abort_returns_it(harness, example) -> None:
    harness.converge(harness.target(example))
    before = harness.pods()
    old = example.entity("splitter").executor_image

    canaried = start_canary(example, "splitter", ["splitter-1"], NEW)
    harness.converge(harness.target(canaried), timeout=180)

    after = harness.pods()
    assert after["splitter-1"] != before["splitter-1"]
    assert {p: after[p] for p in ("splitter-0", "splitter-2", "totals-0")} == {
        p: before[p] for p in ("splitter-0", "splitter-2", "totals-0")
    }
    assert udf_images(harness)["splitter-1"] == NEW
    assert udf_images(harness)["splitter-0"] == old
    observed = harness.backend.observe(NAME)
    assert rolled_out(observed.get("Deployment", workload_name(NAME, "splitter-1")), NEW)
    assert not rolled_out(observed.get("Deployment", workload_name(NAME, "splitter-0")), NEW)

    harness.converge(harness.target(abort_canary(canaried, "splitter")), timeout=180)
    assert set(udf_images(harness).values()) == {old, example.entity("totals").executor_image}
    assert harness.pods()["splitter-0"] == before["splitter-0"]
