"""The local backend: the orchestrator's manifests run as local processes (what ``up`` uses).

``LocalBackend`` (backend.py) writes desired objects into a state directory; the long-running
runtime (runtime.py, ``python -m orchestrator.local.runtime --state-dir DIR``) runs their pods
and reports their status through the same directory (layout in store.py).
"""

from orchestrator.local.backend import LocalBackend

__all__ = ["LocalBackend"]
