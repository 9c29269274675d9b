"""Which version of the pod's config runs when two sources report it: the API and the mounted file.

Both carry the same ConfigMap: the API watch within milliseconds of a write, the mounted file
after the kubelet's next sync. So the file mostly reports versions the pod already runs, or
older ones, and must never undo what the API delivered. The rules, pure and tested without a
cluster (tests/executor/test_config_arbiter.py):

- **The assignment epoch orders versions.** A version whose epoch is lower than the running
  one's is never applied, whichever source brings it (the state store refuses claims from
  older epochs for the same reason); a higher epoch is applied whichever source brings it.
- **At an equal epoch** (a ``main.json`` change that moved no partition) the API's versions
  arrive in the ConfigMap's own order and are applied. A file version is applied only if the
  API has not already delivered it (then it is old news: the file lags the API) and only
  while the API watch is not in sync (an outage, or no service account): while it is, the
  API is ahead of the kubelet by construction and the file adds nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from executor.config import MainConfig, PodConfig

API, FILE = "api", "file"
#: Versions of one epoch remembered from the API, to recognise the file catching up with them.
API_HISTORY = 64


@dataclass(frozen=True)
class Snapshot:
    """One consistent version of the pod's configuration."""

    main: MainConfig
    pod: PodConfig
    version: str
    changed_at: float  # wall-clock time the version was written (file) or received (API)
    source: str = FILE

    @property
    def content(self) -> tuple[MainConfig, PodConfig]:
        return self.main, self.pod


class Verdict(enum.Enum):
    APPLY = "apply"  # becomes the running version
    UNCHANGED = "unchanged"  # says what the running version says
    STALE = "stale"  # an older epoch than the running one: never applied
    BEHIND = "behind"  # same epoch, but the API has already delivered it or something newer


class Arbiter:
    """Holds the running version and judges each version a source offers."""

    def __init__(self) -> None:
        self.current: Snapshot | None = None
        self._api_seen: list[tuple[MainConfig, PodConfig]] = []  # at the running epoch, in order
        self._file_at = -1  # index in _api_seen of the last file version found there

    def offer(self, candidate: Snapshot, api_in_sync: bool) -> Verdict:
        """Judges ``candidate`` and makes it the running version when the verdict is APPLY."""
        current = self.current
        if current is not None and candidate.pod.epoch < current.pod.epoch:
            return Verdict.STALE
        if current is None or candidate.pod.epoch > current.pod.epoch:
            self._api_seen, self._file_at = [], -1
            verdict = Verdict.APPLY
        elif candidate.source == API:
            verdict = Verdict.UNCHANGED if candidate.content == current.content else Verdict.APPLY
        else:
            verdict = self._judge_file(candidate, current, api_in_sync)
        if candidate.source == API:
            self._remember(candidate)
        if verdict is Verdict.APPLY:
            self.current = candidate
        return verdict

    def _judge_file(self, candidate: Snapshot, current: Snapshot, api_in_sync: bool) -> Verdict:
        seen_at = self._find(candidate.content)
        if seen_at is not None:  # the kubelet caught up with a version the API delivered
            self._file_at = seen_at
            return Verdict.UNCHANGED if candidate.content == current.content else Verdict.BEHIND
        if candidate.content == current.content:
            return Verdict.UNCHANGED
        return Verdict.BEHIND if api_in_sync else Verdict.APPLY

    def _find(self, content: tuple[MainConfig, PodConfig]) -> int | None:
        """Where the API delivered ``content`` after the file's last match: the file's versions
        come in the ConfigMap's order too, so a version matched before is never matched again."""
        for index in range(self._file_at + 1, len(self._api_seen)):
            if self._api_seen[index] == content:
                return index
        return None

    def _remember(self, candidate: Snapshot) -> None:
        if self._api_seen and self._api_seen[-1] == candidate.content:
            return
        self._api_seen.append(candidate.content)
        if len(self._api_seen) > API_HISTORY:
            del self._api_seen[0]
            self._file_at = max(-1, self._file_at - 1)
