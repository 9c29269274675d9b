"""A watch cache of the objects the orchestrator owns: list once, then follow a watch.

This is what controller-runtime's informers do, with the official client's
``kubernetes.watch.Watch``: per kind, one list (in pages) and then one watch resumed from the
last ``resourceVersion`` seen, in a background thread of the worker process. A reconcile pass
reads from here and makes no read of its own; its writes put the objects the API server
returned straight back in (``store``), so the next pass sees them even before their watch events
arrive. An object is replaced only by a newer version of itself (resource versions compare as
integers, which is what the API server hands out in practice), so a late event never undoes a
write.

Recovery: a broken watch (the API server restarted, a network blip) reconnects with back-off
and resumes from its resourceVersion; ``410 Gone`` (that version is too old) lists again. A
fresh process (a worker restart) starts with an initial list. While a watch cannot reconnect
the cache says so (``problem``), and the backend refuses to reconcile from it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import tenacity
import urllib3
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

#: The watch's own server-side timeout; it is then resumed from where it was (cheap).
WATCH_SECONDS = 240
#: Objects per page of a list: bounds the size of one response at 500 deployments x 10 pods.
PAGE_SIZE = 500
CONNECT_TIMEOUT = 3.0
#: Reconnect back-off after a failure: doubles from the first to the last.
BACKOFF = (0.1, 1.0)

Transform = Callable[[dict[str, Any]], dict[str, Any]]


def strip_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """``managedFields`` is the largest part of most objects and nothing the orchestrator reads."""
    obj.get("metadata", {}).pop("managedFields", None)
    return obj


def newer_or_same(incoming: str | None, stored: str | None) -> bool:
    """Whether an object at ``incoming`` resourceVersion may replace the one at ``stored``."""
    if not stored or not incoming or not incoming.isdigit() or not stored.isdigit():
        return True
    return int(incoming) >= int(stored)


@dataclass(frozen=True)
class Source:
    """Where one kind is listed and watched: a ``list_*`` call of the client and its arguments."""

    kind: str
    list_call: Callable[..., Any]
    args: tuple[Any, ...]
    index_label: str | None = None
    transform: Transform = strip_managed_fields


@dataclass
class Stats:
    """What one informer has done since it started: tests and the benchmark read these."""

    lists: int = 0
    watches: int = 0
    events: int = 0
    gone: int = 0
    failures: int = 0


@dataclass
class Informer:
    """One kind: its objects by name (and by the value of one label), kept current by a thread."""

    source: Source
    label_selector: str
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Any]] = {}
        self._index: dict[str, dict[str, dict[str, Any]]] = {}
        self._resource_version: str | None = None
        self._synced = threading.Event()
        self._stopping = threading.Event()
        self._problem: str | None = None
        self._response: Any = None
        self._thread: threading.Thread | None = None

    # --- reads (any thread) -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.source.kind

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    @property
    def problem(self) -> str | None:
        """Why the watch is not connected right now, or None while it is."""
        return self._problem

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    def get(self, name: str) -> dict[str, Any] | None:
        return self._items.get(name)

    def indexed(self, value: str) -> dict[str, dict[str, Any]]:
        """A snapshot of the objects whose index label has ``value``, by name."""
        with self._lock:
            return dict(self._index.get(value, {}))

    def names(self) -> list[str]:
        with self._lock:
            return list(self._items)

    # --- writes through the cache (the pass that wrote them) ----------------------------------
    def store(self, obj: dict[str, Any]) -> None:
        """Puts an object the API server returned in, unless a newer version is already here."""
        obj = self.source.transform(obj)
        with self._lock:
            self._put(obj)

    def remove(self, name: str) -> None:
        with self._lock:
            self._drop(name)

    def _put(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        current = self._items.get(name)
        if current is not None:
            if not newer_or_same(_version(obj), _version(current)):
                return
            self._unindex(current)
        self._items[name] = obj
        value = self._index_value(obj)
        if value is not None:
            self._index.setdefault(value, {})[name] = obj

    def _drop(self, name: str, version: str | None = None) -> None:
        current = self._items.get(name)
        if current is None or (version is not None and not newer_or_same(version, _version(current))):
            return
        del self._items[name]
        self._unindex(current)

    def _unindex(self, obj: dict[str, Any]) -> None:
        value = self._index_value(obj)
        if value is not None:
            group = self._index.get(value, {})
            group.pop(obj["metadata"]["name"], None)
            if not group:
                self._index.pop(value, None)

    def _index_value(self, obj: dict[str, Any]) -> str | None:
        if self.source.index_label is None:
            return None
        return (obj["metadata"].get("labels") or {}).get(self.source.index_label)

    # --- the thread ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"watch-{self.kind}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reconnect(self) -> None:
        """Breaks the current watch (it resumes from its resourceVersion); tests use it."""
        self._interrupt()

    def forget_version(self, version: str) -> None:
        """Makes the next resume start from ``version`` (tests use an expired one to see a 410)."""
        self._resource_version = version

    def _interrupt(self) -> None:
        response = self._response
        if response is not None:
            try:
                response.shutdown()
            except Exception:  # already closed or never opened: nothing to interrupt
                log.debug("interrupting the %s watch", self.kind, exc_info=True)

    def _run(self) -> None:
        """Lists then watches until stopped. A failure is retried with a back-off that doubles
        from BACKOFF[0] to BACKOFF[1] (tenacity); a watch that ends normally starts a fresh one
        at once, so the back-off only grows across consecutive failures."""
        while not self._stopping.is_set():
            try:
                self._retrying()(self._cycle)
            except tenacity.RetryError:  # stopped while failing
                return

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Exception),
            wait=tenacity.wait_exponential(multiplier=BACKOFF[0], min=BACKOFF[0], max=BACKOFF[1]),
            stop=tenacity.stop_when_event_set(self._stopping),
            sleep=self._stopping.wait,
            before_sleep=self._failed,
        )

    def _cycle(self) -> None:
        try:
            if self._resource_version is None:
                self._relist()
            self._watch()
        except ApiException as exc:
            if exc.status != 410:
                raise
            self.stats.gone += 1  # the version we resume from is gone: list again
            self._resource_version = None
        except (ValueError, AttributeError, urllib3.exceptions.HTTPError, OSError):
            # ValueError/AttributeError: a read on a response stop() shut down from its thread.
            if not self._stopping.is_set():
                raise

    def _failed(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApiException):
            reason = f"{exc.status} {exc.reason}"
        elif isinstance(exc, (urllib3.exceptions.HTTPError, OSError, ValueError, AttributeError)):
            reason = str(exc) or type(exc).__name__
        else:  # never let the thread die: a dead watch is a stale cache
            log.error("the %s watch failed unexpectedly", self.kind, exc_info=exc)
            reason = f"{type(exc).__name__}: {exc}"
        self.stats.failures += 1
        self._problem = f"watch of {self.kind} objects: {reason}"
        log.warning("%s; again in %.1fs", self._problem, state.upcoming_sleep)

    def _relist(self) -> None:
        """Lists every object in pages; swaps the new set in whole, keeping objects a write stored
        meanwhile (newer than the list)."""
        items: dict[str, dict[str, Any]] = {}
        token, version = None, None
        while True:
            self.stats.lists += 1
            kwargs: dict[str, Any] = {"label_selector": self.label_selector, "limit": PAGE_SIZE}
            if token:
                kwargs["_continue"] = token
            page = self._list_page(kwargs)
            for obj in page.get("items") or []:
                obj = self.source.transform(obj)
                items[obj["metadata"]["name"]] = obj
            metadata = page.get("metadata") or {}
            version, token = metadata.get("resourceVersion"), metadata.get("continue")
            if not token:
                break
        with self._lock:
            for name, current in self._items.items():
                if name not in items and not newer_or_same(version, _version(current)):
                    items[name] = current
            self._items, self._index = {}, {}
            for obj in items.values():
                self._put(obj)
        self._resource_version = version
        self._problem = None
        self._synced.set()

    def _list_page(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        response = self.source.list_call(
            *self.source.args, _preload_content=False, _request_timeout=(CONNECT_TIMEOUT, 60), **kwargs
        )
        return json.loads(response.data)

    def _watch(self) -> None:
        stream = watch.Watch().stream(
            self._opened,
            *self.source.args,
            label_selector=self.label_selector,
            resource_version=self._resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _request_timeout=(CONNECT_TIMEOUT, WATCH_SECONDS + 30),
        )
        try:
            for event in stream:
                self._apply_event(event)
                if self._stopping.is_set():
                    return
        finally:
            self._response = None

    def _opened(self, *args: Any, **kwargs: Any) -> Any:
        """The list call that opens the watch: once it returns, the watch is connected.

        ``Watch`` reads the model class to build from the docstring of the call it is given; this
        one names none, so events stay the API's plain JSON (building the client's models for
        thousands of pods would cost more than the watch). Not ``deserialize=False``: with it the
        client fails on the very ``410 Gone`` event this cache relies on."""
        self.stats.watches += 1
        response = self.source.list_call(*args, **kwargs)
        self._response = response
        self._problem = None
        return response

    def _apply_event(self, event: dict[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        version = _version(obj)
        self.stats.events += 1
        if kind in ("ADDED", "MODIFIED"):
            self.store(obj)
        elif kind == "DELETED":
            with self._lock:
                self._drop(obj["metadata"]["name"], version)
        if version:
            self._resource_version = version


def _version(obj: dict[str, Any]) -> str | None:
    return (obj.get("metadata") or {}).get("resourceVersion")


class WatchCache:
    """Informers for every source, started together; the whole is synced when each is."""

    def __init__(self, sources: Iterable[Source], label_selector: str) -> None:
        self.informers = {source.kind: Informer(source, label_selector) for source in sources}

    def start(self) -> WatchCache:
        for informer in self.informers.values():
            informer.start()
        return self

    def stop(self) -> None:
        for informer in self.informers.values():
            informer.stop()

    def __getitem__(self, kind: str) -> Informer:
        return self.informers[kind]

    def wait_synced(self, timeout: float) -> list[str]:
        """Waits for every initial list; returns the kinds still not synced, after ``timeout`` or
        as soon as each of them has failed once (an unreachable server answers at once)."""
        deadline = time.monotonic() + timeout
        while True:
            pending = [informer for informer in self.informers.values() if not informer.synced]
            if not pending or time.monotonic() > deadline or all(i.problem for i in pending):
                return [informer.kind for informer in pending]
            pending[0].wait_synced(min(0.05, max(0.0, deadline - time.monotonic())))

    def problems(self) -> list[str]:
        return [informer.problem for informer in self.informers.values() if informer.problem]

    @property
    def synced(self) -> bool:
        return all(informer.synced for informer in self.informers.values())

    def list_calls(self) -> int:
        return sum(informer.stats.lists for informer in self.informers.values())
