"""Watches the pod's own ConfigMap through the Kubernetes API, so a move arrives in milliseconds.

The kubelet copies a changed ConfigMap into the pod's mounted files only on its next sync of
the pod (up to a minute or more by default), which is why a partition move used to wait for it.
A watch on the API server hears of the change as soon as it is written. It runs in a daemon
thread and only hands over the latest version it received (``latest()`` never blocks), so the
data path is never held up by the API; the mounted file remains the fallback whenever the API
is unreachable or the pod has no service account (the local backend).

The pod may do exactly one thing: ``watch`` its own ConfigMap, by name (see the Role made by
``orchestrator/reconciler/convert.py``). The watch is a list-watch with the field selector
``metadata.name=<name>``, which the API server authorizes against ``resourceNames``:

- the first watch, and every watch after an error or ``410 Gone``, carries no resourceVersion
  and so begins with the current object (an ``ADDED`` event): a re-get without ``get``, and no
  backlog of old versions after an outage;
- a watch the server ended normally (its ``timeoutSeconds``) resumes from the last
  resourceVersion seen, bookmarks included, so nothing between two watches is missed;
- errors are retried with exponential back-off and jitter (tenacity), forever, until stopped.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tenacity

log = logging.getLogger(__name__)
TOKEN_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
#: How long the server keeps one watch open; a stalled connection is noticed after READ_TIMEOUT.
SERVER_TIMEOUT_SECONDS = 45
READ_TIMEOUT_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 3.0
MAX_BACKOFF_SECONDS = 10.0


@dataclass(frozen=True)
class ApiVersion:
    """One version of the ConfigMap as the API server sent it."""

    data: Mapping[str, str]
    resource_version: str
    received_at: float  # wall-clock time the watch event arrived


class GoneError(Exception):
    """The resourceVersion to resume from is too old (410 Gone): start again from the current object."""


class ConfigMapWatch:
    """A background watch of one named ConfigMap; ``latest()`` is its newest version."""

    def __init__(
        self,
        api_factory: Callable[[], Any],
        namespace: str,
        name: str,
        server_timeout: int = SERVER_TIMEOUT_SECONDS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        resource_version: str | None = None,
    ) -> None:
        """``api_factory`` returns a ``kubernetes.client.CoreV1Api``; it is called in the watch
        thread, so importing and configuring the client never delays the caller.
        ``resource_version``: where the first watch resumes (None: from the current object)."""
        self.namespace, self.name = namespace, name
        self._api_factory = api_factory
        self._server_timeout = server_timeout
        self._max_backoff = max_backoff
        self._latest: ApiVersion | None = None  # replaced whole: readers need no lock
        #: Set whenever a new version arrives, so a loop waiting on Kafka can stop waiting and
        #: act on it at once; whoever acts on ``latest()`` clears it first.
        self.changed = threading.Event()
        self._resume_from = resource_version
        self._in_sync = threading.Event()
        self._last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ConfigMapWatch:
        self._thread = threading.Thread(target=self._run, name=f"watch-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the thread after its current read (at most READ_TIMEOUT; it is a daemon anyway)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def latest(self) -> ApiVersion | None:
        """The newest version received, or None before the first; never blocks."""
        return self._latest

    @property
    def in_sync(self) -> bool:
        """True while a watch is connected: every change is then delivered as it happens."""
        return self._in_sync.is_set()

    # --- the watch thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            api = self._retrying()(self._api_factory)
        except tenacity.RetryError:
            return
        while not self._stop.is_set():
            try:
                self._retrying()(self._watch_once, api)
            except tenacity.RetryError:
                return  # stopped

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Exception),
            wait=tenacity.wait_exponential_jitter(multiplier=0.1, max=self._max_backoff, jitter=0.2),
            stop=tenacity.stop_when_event_set(self._stop),
            sleep=self._stop.wait,
            before_sleep=self._on_error,
        )

    def _on_error(self, state: tenacity.RetryCallState) -> None:
        self._in_sync.clear()
        self._resume_from = None  # after an outage, start again from the current object
        exc = state.outcome.exception() if state.outcome else None
        error = f"{type(exc).__name__}: {exc}"
        quiet = isinstance(exc, GoneError) or error == self._last_error  # one warning per outage
        self._last_error = error
        log.log(
            logging.INFO if quiet else logging.WARNING,
            "watch of ConfigMap %s/%s failed (%s); the mounted file stays in use, retrying in %.1fs",
            self.namespace, self.name, error, state.upcoming_sleep,
        )  # fmt: skip

    def _watch_once(self, api: Any) -> None:
        """One watch request; returns when the server ends it, raises on any failure."""
        from kubernetes.watch.watch import iter_resp_lines

        kwargs: dict[str, Any] = {"resource_version": self._resume_from} if self._resume_from else {}
        response = api.list_namespaced_config_map(
            self.namespace,
            field_selector=f"metadata.name={self.name}",
            watch=True,
            allow_watch_bookmarks=True,
            timeout_seconds=self._server_timeout,
            _preload_content=False,
            _request_timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
            **kwargs,
        )
        try:
            self._in_sync.set()  # connected: from here on every change is streamed to us
            self._last_error = ""
            for line in iter_resp_lines(response):
                if self._stop.is_set():
                    return
                if line:
                    self._handle(json.loads(line))
        finally:
            self._in_sync.clear()  # until the next watch is connected
            response.close()
            response.release_conn()

    def _handle(self, event: dict[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise GoneError(obj.get("message", "resourceVersion too old"))
            raise RuntimeError(f"watch error {obj.get('code')}: {obj.get('message')}")
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self._resume_from = version
        if kind in ("ADDED", "MODIFIED"):
            self._latest = ApiVersion(dict(obj.get("data") or {}), version or "", time.time())
            self.changed.set()
        elif kind == "DELETED":
            log.warning("ConfigMap %s/%s was deleted; keeping the last version", self.namespace, self.name)


def in_cluster_api() -> Any:
    """A CoreV1Api authenticated by the pod's mounted service-account token (refreshed as the
    kubelet rotates it)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_incluster_config(client_configuration=configuration)
    return client.CoreV1Api(client.ApiClient(configuration))


def from_environ(
    environ: Mapping[str, str] = os.environ, token_file: Path = TOKEN_FILE
) -> ConfigMapWatch | None:
    """The pod's watch when it can have one: it knows its ConfigMap and namespace
    (INVOKER_CONFIG_MAP, POD_NAMESPACE), runs in a cluster (KUBERNETES_SERVICE_HOST) and has a
    token mounted. Otherwise None, and the mounted file is the only source."""
    name, namespace = environ.get("INVOKER_CONFIG_MAP", ""), environ.get("POD_NAMESPACE", "")
    missing = [
        what
        for what, present in (
            ("INVOKER_CONFIG_MAP", name),
            ("POD_NAMESPACE", namespace),
            ("KUBERNETES_SERVICE_HOST", environ.get("KUBERNETES_SERVICE_HOST")),
            (str(token_file), token_file.exists()),
        )
        if not present
    ]
    if missing:
        log.info(
            "not watching the ConfigMap through the API (no %s): the mounted file only", ", ".join(missing)
        )
        return None
    if importlib.util.find_spec("kubernetes") is None:
        log.warning("the kubernetes package is not installed: reading the config from the mounted file only")
        return None
    return ConfigMapWatch(in_cluster_api, namespace, name)
