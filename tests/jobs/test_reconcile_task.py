"""The reconcile task: queued by every change, coalesced, one at a time, recorded, retried."""

import json
import uuid

import pytest
import redis
from celery.exceptions import Retry
from django.conf import settings

from invoker_web.celery import RECONCILE_QUEUE, app
from jobs import coalesce
from jobs.runs import run_reconcile
from jobs.tasks import backoff_seconds, reconcile_deployment, request_reconcile
from orchestrator.reconciler.kube import KubernetesBackend, load_api_client
from topology_editor import services
from topology_editor.models import Deployment, Interface, ReconcileRun


def queued_reconciles(name: str) -> list[dict]:
    """Reconcile messages for ``name`` waiting in the real broker's reconcile queue."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    messages = [json.loads(m) for m in broker.lrange(RECONCILE_QUEUE, 0, -1)]
    return [
        m for m in messages if m["headers"]["task"] == "jobs.reconcile" and name in m["headers"]["argsrepr"]
    ]


def test_a_burst_of_requests_queues_one_reconcile_at_once(redis_url: str) -> None:
    name = f"burst-{uuid.uuid4().hex[:6]}"
    assert [request_reconcile(name, f"save {i}") for i in range(5)] == [True, False, False, False, False]
    (queued,) = queued_reconciles(name)
    assert queued["headers"]["eta"] is None, "the first request must not wait (no debounce)"


def test_reconciles_have_their_own_queue_and_collection_stays_off_it() -> None:
    def queue_of(task: str) -> str:
        return app.amqp.router.route({}, task)["queue"].name

    assert queue_of("jobs.reconcile") == RECONCILE_QUEUE
    assert queue_of("jobs.collect_metrics") != RECONCILE_QUEUE
    assert queue_of("jobs.resync_all") != RECONCILE_QUEUE


def test_a_committed_change_through_the_services_queues_a_reconcile(
    deployment: Deployment, django_capture_on_commit_callbacks
) -> None:
    coalesce.clear(deployment.name)
    before = len(queued_reconciles(deployment.name))
    with django_capture_on_commit_callbacks(execute=True):
        services.move_partition(
            deployment.name, "splitter", 0, "splitter-1", actor=None, interface=Interface.CLI
        )
    assert len(queued_reconciles(deployment.name)) == before + 1


@pytest.mark.usefixtures("local_backend")
def test_the_task_applies_the_spec_records_the_run_and_the_status(deployment: Deployment) -> None:
    outcome = reconcile_deployment.apply(args=[deployment.name, "test"]).get()
    assert outcome == "changed"
    run = ReconcileRun.objects.get(deployment=deployment)
    assert (run.result, run.trigger, run.error) == ("success", "test", "")
    assert run.api_writes > 0
    assert run.duration_ms is not None
    deployment.refresh_from_db()
    assert deployment.state == "Pending"  # no runtime runs the pods in this test
    assert deployment.next_revision == deployment.revisions.get().name
    again = reconcile_deployment.apply(args=[deployment.name, "test"]).get()
    assert again == "noop"
    assert ReconcileRun.objects.filter(deployment=deployment).latest("started_at").api_writes == 0


@pytest.mark.usefixtures("local_backend")
def test_a_task_that_finds_the_deployment_busy_leaves_its_pass_to_the_holder(deployment: Deployment) -> None:
    coalesce.clear(deployment.name)
    assert coalesce.begin(deployment.name, "holder").started
    try:
        with pytest.raises(Retry):  # a direct call raises what the worker would schedule
            reconcile_deployment(deployment.name, "test")
        assert not ReconcileRun.objects.filter(deployment=deployment).exists()
        assert coalesce.finish(deployment.name, "holder") == 1, "the holder runs one more pass for it"
    finally:
        coalesce.release(deployment.name, "holder")
    # The retry sees that a pass started after it looked: it was served and runs nothing.
    assert reconcile_deployment.apply(args=[deployment.name], kwargs={"passes_seen": 1}).get() == "coalesced"
    assert not ReconcileRun.objects.filter(deployment=deployment).exists()


@pytest.mark.usefixtures("local_backend")
def test_deleting_a_deployment_removes_what_it_ran(deployment: Deployment) -> None:
    from jobs.backends import get_backend

    reconcile_deployment.apply(args=[deployment.name, "create"]).get()
    assert get_backend().observe(deployment.name).objects["Deployment"]
    services.delete_deployment(deployment.name, actor=None, interface=Interface.CLI)
    assert reconcile_deployment.apply(args=[deployment.name, "delete"]).get() == "deleted"
    observed = get_backend().observe(deployment.name)
    assert observed.root is None
    assert not any(observed.objects.values())


def test_an_unreachable_cluster_is_recorded_as_degraded_with_the_reason(
    deployment: Deployment, tmp_path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    backend = KubernetesBackend(load_api_client(str(kubeconfig)), "default")
    try:
        result = run_reconcile(deployment.name, backend, trigger="test")
    finally:
        backend.close()
    assert result.error
    assert not result.permanent
    deployment.refresh_from_db()
    assert deployment.state == "Degraded"
    assert "unreachable" in deployment.last_error
    assert ReconcileRun.objects.get(deployment=deployment).result == "error"


@pytest.mark.parametrize(("retries", "seconds"), [(0, 1), (1, 2), (3, 8), (6, 60), (100, 60)])
def test_retries_back_off_exponentially_up_to_a_minute(retries: int, seconds: int) -> None:
    assert backoff_seconds(retries) == seconds


def test_a_new_worker_process_starts_its_watch_cache_before_any_task(settings, kube_cluster) -> None:
    from jobs.backends import get_backend, reset_backend
    from jobs.tasks import warm_backend

    settings.INVOKER_BACKEND, settings.INVOKER_KUBECONFIG = "kubernetes", kube_cluster.kubeconfig
    reset_backend()
    try:
        warm_backend()  # what Celery's worker_process_init runs in each new worker process
        cache = get_backend()._cache
        assert cache is not None, "the watch cache was not started"
        assert cache.wait_synced(30) == [], "its initial lists did not complete"
    finally:
        reset_backend()
