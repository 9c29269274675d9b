"""The pod's watch of its own ConfigMap, against the real kube-apiserver and its real RBAC.

Each test gets a namespace where the orchestrator's own backend applies the example's
ConfigMaps and each entity's ServiceAccount, Role and RoleBinding (as a reconcile would), and a
client authenticated as the splitter's ServiceAccount with a token from the TokenRequest API:
exactly what the kubelet mounts into a pod. The watch then runs out of cluster, as that account.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from executor.config_watcher import ConfigWatcher
from executor.configmap_watch import ConfigMapWatch
from orchestrator import load_manifest_yaml, move_partition, parse_deployment
from orchestrator.reconciler.convert import ConvertContext, OwnerRef, entity_access, entity_config_map
from orchestrator.reconciler.kube import KubernetesBackend, load_api_client
from orchestrator.reconciler.reconcile import Target, reconcile
from orchestrator.spec.model import DeploymentSpec
from podcontract.volume import ConfigMapDir
from tests.polling import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "word-count.yaml"
NAME = "word-count-demo"
SPLITTER, TOTALS = f"{NAME}.splitter", f"{NAME}.totals"
STATE_URL = "redis://127.0.0.1:16379/9"
#: How soon a pod must hear of a change through the API (the kubelet's file takes up to ~90 s).
WITHIN = 1.0


class Namespace:
    """A namespace on the real cluster, the orchestrator's backend for it, and the admin's clients."""

    def __init__(self, kubeconfig: str) -> None:
        self.api = load_api_client(kubeconfig)
        self.name = f"cmw-{uuid.uuid4().hex[:8]}"
        self.core = client.CoreV1Api(self.api)
        self.core.create_namespace({"metadata": {"name": self.name}})
        self.backend = KubernetesBackend(self.api, self.name)
        self.spec = parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))

    def context(self, epoch: int, owner: OwnerRef | None = None) -> ConvertContext:
        return ConvertContext(
            namespace=self.name,
            revision=f"r{epoch}",
            state_url=STATE_URL,
            epochs={"splitter": epoch},
            owner=owner,
        )

    def splitter_config(self, spec: DeploymentSpec, epoch: int) -> dict[str, str]:
        """The splitter's ConfigMap data as convert makes it for ``spec`` at ``epoch``."""
        return dict(entity_config_map(spec, splitter(spec), self.context(epoch))["data"])

    def publish(self, spec: DeploymentSpec, epoch: int) -> dict[str, str]:
        """Writes the splitter's ConfigMap as a reconcile does (server-side apply); returns its data."""
        self.backend.apply(entity_config_map(spec, splitter(spec), self.context(epoch)))
        return self.splitter_config(spec, epoch)

    def grant_access(self) -> None:
        """Every entity's ConfigMap and access objects, applied by the orchestrator's backend."""
        for entity in self.spec.entities:
            self.backend.apply(entity_config_map(self.spec, entity, self.context(7)))
            for manifest in entity_access(self.spec, entity, self.context(7)):
                self.backend.apply(manifest)

    def client_as(self, account: str) -> client.ApiClient:
        """A client holding a fresh token of ``account``, as the kubelet would mount it."""
        request = {"spec": {"expirationSeconds": 3600}}
        token = self.core.create_namespaced_service_account_token(account, self.name, request).status.token
        admin = self.api.configuration
        configuration = client.Configuration()
        configuration.host = admin.host
        configuration.ssl_ca_cert = admin.ssl_ca_cert
        configuration.verify_ssl = admin.verify_ssl
        configuration.api_key = {"authorization": f"Bearer {token}"}
        return client.ApiClient(configuration)

    def delete(self) -> None:
        self.core.delete_namespace(self.name)


@pytest.fixture
def ns(kube_cluster) -> Iterator[Namespace]:
    namespace = Namespace(kube_cluster.kubeconfig)
    namespace.grant_access()
    yield namespace
    namespace.delete()


@pytest.fixture
def as_splitter(ns: Namespace) -> client.CoreV1Api:
    return client.CoreV1Api(ns.client_as(SPLITTER))


@pytest.fixture
def watches() -> Iterator[Callable[..., ConfigMapWatch]]:
    """Starts ConfigMapWatches and stops them after the test."""
    started: list[ConfigMapWatch] = []

    def start(api: Any, namespace: str, name: str = SPLITTER, **kwargs: Any) -> ConfigMapWatch:
        watch = ConfigMapWatch(lambda: api, namespace, name, max_backoff=0.5, **kwargs).start()
        started.append(watch)
        return watch

    yield start
    for watch in started:
        watch.stop(timeout=1)


def splitter(spec: DeploymentSpec) -> Any:
    entity = spec.entity("splitter")
    assert entity is not None
    return entity


def with_brokers(spec: DeploymentSpec, brokers: str) -> DeploymentSpec:
    """``spec`` with the splitter reading another broker: a main.json change at the same epoch."""
    entities = tuple(replace(e, io_address=brokers) if e.name == "splitter" else e for e in spec.entities)
    return replace(spec, entities=entities)


def epoch_of(data: dict[str, str], pod: str = "splitter-0") -> int:
    return json.loads(data[f"{pod}.json"])["epoch"]


def moved(spec: DeploymentSpec, times: int) -> DeploymentSpec:
    """The example with partition 1 moved back and forth ``times`` times."""
    return move_partition(spec, "splitter", 1, "splitter-1" if times % 2 else "splitter-0")


def kubelet_dir(tmp_path: Path, data: dict[str, str]) -> ConfigMapDir:
    files = ConfigMapDir(tmp_path / "config")
    files.write(data)
    return files


# --- (a) the orchestrator creates the access, owned by the root --------------------------------
def test_a_reconcile_creates_each_entitys_account_role_and_binding_owned_by_the_root(kube_cluster) -> None:
    namespace = Namespace(kube_cluster.kubeconfig)
    try:
        result = reconcile(Target(namespace.spec, "r1", 1, STATE_URL), namespace.backend)
        assert not result.error, result.error
        observed = namespace.backend.observe(NAME)
        root_uid = observed.root["metadata"]["uid"]
        for kind in ("ServiceAccount", "Role", "RoleBinding"):
            assert sorted(observed.objects[kind]) == [SPLITTER, TOTALS]
            for live in observed.objects[kind].values():
                assert [ref["uid"] for ref in live["metadata"]["ownerReferences"]] == [root_uid]
                assert live["metadata"]["labels"]["app.kubernetes.io/instance"] == NAME
        assert observed.objects["Role"][SPLITTER]["rules"] == [
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [SPLITTER], "verbs": ["watch"]}
        ]
        again = reconcile(Target(namespace.spec, "r1", 1, STATE_URL), namespace.backend)
        assert not [c for c in again.changes if c.kind in ("ServiceAccount", "Role", "RoleBinding")]
        pods = namespace.backend.apps.list_namespaced_deployment(namespace.name).items
        assert {d.spec.template.spec.service_account_name for d in pods} == {SPLITTER, TOTALS}
    finally:
        namespace.delete()


# --- (b) the watch, as the pod's own account ---------------------------------------------------
def test_the_pods_account_hears_of_each_change_of_its_config_map_within_a_second(
    ns, as_splitter, watches
) -> None:
    watch = watches(as_splitter, ns.name)
    wait_until(lambda: watch.in_sync and watch.latest(), 10, "the watch to deliver the current ConfigMap")
    assert epoch_of(dict(watch.latest().data)) == 7
    delays = []
    for epoch in range(8, 13):
        spec = moved(ns.spec, epoch)
        written = time.monotonic()
        ns.publish(spec, epoch)
        wait_until(
            lambda e=epoch: epoch_of(dict(watch.latest().data)) == e,
            WITHIN,
            f"epoch {epoch} via the API",
            0.005,
        )
        delays.append(time.monotonic() - written)
    assert max(delays) < WITHIN, delays


def _watch(api: client.CoreV1Api, namespace: str, **selector: str) -> Any:
    return api.list_namespaced_config_map(
        namespace, watch=True, timeout_seconds=1, _preload_content=False, **selector
    )


REFUSED: dict[str, Callable[[client.CoreV1Api, str], Any]] = {
    "get its own ConfigMap": lambda api, ns: api.read_namespaced_config_map(SPLITTER, ns),
    "list its own ConfigMap": lambda api, ns: api.list_namespaced_config_map(
        ns, field_selector=f"metadata.name={SPLITTER}"
    ),
    "patch its own ConfigMap": lambda api, ns: api.patch_namespaced_config_map(SPLITTER, ns, {"data": {}}),
    "get another ConfigMap": lambda api, ns: api.read_namespaced_config_map(TOTALS, ns),
    "watch another ConfigMap": lambda api, ns: _watch(api, ns, field_selector=f"metadata.name={TOTALS}"),
    "watch every ConfigMap": lambda api, ns: _watch(api, ns),
    "list Secrets": lambda api, ns: api.list_namespaced_secret(ns),
    "list pods": lambda api, ns: api.list_namespaced_pod(ns),
}


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_the_pods_account_may_do_nothing_else(ns, as_splitter, what) -> None:
    with pytest.raises(ApiException) as refused:
        REFUSED[what](as_splitter, ns.name)
    assert refused.value.status == 403, f"{what}: {refused.value.status} {refused.value.reason}"


def test_a_watch_of_another_entitys_config_map_is_refused_and_never_in_sync(ns, as_splitter, watches) -> None:
    other = watches(as_splitter, ns.name, TOTALS)
    own = watches(as_splitter, ns.name)
    wait_until(lambda: own.latest(), 10, "the watch of the own ConfigMap")
    assert not other.in_sync
    assert other.latest() is None


def test_a_resource_version_too_old_to_resume_from_starts_again_from_the_current_object(
    ns, as_splitter, watches, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="executor.configmap_watch")
    watch = watches(as_splitter, ns.name, resource_version="1")
    wait_until(lambda: watch.latest(), 10, "the watch to recover from 410 Gone")
    assert epoch_of(dict(watch.latest().data)) == 7
    assert any("GoneError" in r.getMessage() for r in caplog.records)


# --- cutting the pod off the API server ---------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpProxy:
    """Forwards a loopback port to the API server; stopping it cuts every connection at once,
    as a network outage between the pod and the API server would."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        for sock in [self._listener, *self._sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._sockets, self._listener = [], None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                downstream, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [downstream, upstream]
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def through(proxy: TcpProxy, api: client.CoreV1Api) -> client.CoreV1Api:
    configuration = copy.deepcopy(api.api_client.configuration)
    configuration.host = f"https://127.0.0.1:{proxy.port}"
    return client.CoreV1Api(client.ApiClient(configuration))


@pytest.fixture
def proxy(as_splitter: client.CoreV1Api) -> Iterator[TcpProxy]:
    host, port = as_splitter.api_client.configuration.host.removeprefix("https://").split(":")
    running = TcpProxy((host, int(port))).start()
    yield running
    running.stop()


# --- (c) epoch fencing across the two sources --------------------------------------------------
def test_an_older_epoch_from_the_file_after_a_newer_one_from_the_api_is_ignored(
    ns, as_splitter, proxy, watches, tmp_path
) -> None:
    files = kubelet_dir(tmp_path, ns.publish(ns.spec, 7))
    watcher = ConfigWatcher(files.path, "splitter-0", api=watches(through(proxy, as_splitter), ns.name))
    assert watcher.load().pod.epoch == 7
    wait_until(lambda: watcher.api.in_sync, 10, "the watch to connect")
    newer = ns.publish(moved(ns.spec, 1), 8)  # partition 1 leaves splitter-0
    snapshot = wait_until(watcher.poll, WITHIN, "epoch 8 from the API", 0.01)
    assert (snapshot.source, snapshot.pod.epoch, snapshot.pod.partitions) == ("api", 8, {0})
    # The kubelet is late: it now delivers epoch-7 versions (different ones, to be sure they
    # are new to the watcher), first while the API watch is in sync, then during an outage.
    for stolen in ("[0,1,5]", "[0,1,4]"):
        if stolen == "[0,1,4]":
            proxy.stop()
            wait_until(lambda: not watcher.api.in_sync, 10, "the watch to notice the outage")
        pod_file = f'{{"pod":"splitter-0","partitions":{stolen},"epoch":7}}'
        files.write(ns.splitter_config(ns.spec, 7) | {"splitter-0.json": pod_file})
        assert watcher.poll() is None
        assert (watcher.current.pod.epoch, watcher.current.pod.partitions) == (8, {0})
    files.write(newer)  # and catches up: nothing new
    assert watcher.poll() is None
    assert watcher.current.source == "api"


def test_a_newer_epoch_from_the_file_wins_even_while_the_api_is_in_sync(
    ns, as_splitter, watches, tmp_path
) -> None:
    files = kubelet_dir(tmp_path, ns.publish(ns.spec, 7))
    watcher = ConfigWatcher(files.path, "splitter-0", api=watches(as_splitter, ns.name))
    watcher.load()
    wait_until(lambda: watcher.api.in_sync and watcher.api.latest(), 10, "the watch to connect")
    watcher.poll()
    files.write(ns.splitter_config(moved(ns.spec, 1), 9))
    assert (watcher.poll().source, watcher.current.pod.epoch) == ("file", 9)


# --- (d) the mounted file as the fallback ------------------------------------------------------
def unreachable_api(port: int) -> client.CoreV1Api:
    configuration = client.Configuration()
    configuration.host = f"https://127.0.0.1:{port}"
    configuration.verify_ssl = False
    return client.CoreV1Api(client.ApiClient(configuration))


def test_with_the_api_unreachable_the_file_still_applies_every_change(ns, watches, tmp_path) -> None:
    files = kubelet_dir(tmp_path, ns.publish(ns.spec, 7))
    watch = watches(unreachable_api(free_port()), ns.name)
    watcher = ConfigWatcher(files.path, "splitter-0", api=watch)
    assert watcher.load().pod.epoch == 7
    files.write(ns.splitter_config(moved(ns.spec, 1), 8))
    assert (watcher.poll().pod.epoch, watcher.current.pod.partitions) == (8, {0})
    files.write(ns.splitter_config(with_brokers(moved(ns.spec, 1), "127.0.0.1:19092"), 8))
    snapshot = watcher.poll()
    assert (snapshot.source, snapshot.main.bootstrap_servers) == ("file", "127.0.0.1:19092")
    assert not watch.in_sync
    assert watch.latest() is None


def test_an_outage_hands_over_to_the_file_and_the_api_takes_over_again(
    ns, as_splitter, proxy, watches, tmp_path
) -> None:
    files = kubelet_dir(tmp_path, ns.publish(ns.spec, 7))
    watcher = ConfigWatcher(files.path, "splitter-0", api=watches(through(proxy, as_splitter), ns.name))
    watcher.load()
    wait_until(lambda: watcher.api.in_sync and watcher.api.latest(), 10, "the watch through the proxy")
    proxy.stop()
    wait_until(lambda: not watcher.api.in_sync, 10, "the watch to notice the outage")
    # During the outage the ConfigMap changes (same epoch: other brokers) and the kubelet delivers it.
    files.write(ns.publish(with_brokers(ns.spec, "127.0.0.1:19092"), 7))
    snapshot = wait_until(watcher.poll, 5, "the file's version during the outage")
    assert (snapshot.source, snapshot.main.bootstrap_servers) == ("file", "127.0.0.1:19092")
    proxy.start()  # the API is back: a fresh watch starts from the current object
    wait_until(lambda: watcher.api.in_sync, 15, "the watch to reconnect")
    ns.publish(moved(ns.spec, 1), 8)
    snapshot = wait_until(watcher.poll, WITHIN + 1, "epoch 8 from the API after the outage", 0.01)
    assert (snapshot.source, snapshot.pod.epoch) == ("api", 8)
