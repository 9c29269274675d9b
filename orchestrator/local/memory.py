"""Whether a topology fits this machine's memory, checked before the local backend starts it.

Every local pod is three Python processes (the UDF host, the I/O sidecar and the state sidecar),
about 90 MB of resident memory together (measured: issue 12). A topology of a few hundred pods
would otherwise start until the machine swaps or the kernel's OOM killer picks processes, the
control plane's among them; refusing it up front leaves what runs untouched and says why.

``MemAvailable`` (``/proc/meminfo``) is the kernel's estimate of what new processes can use
without swapping; pods already running are part of what it has taken away, so only the pods a
change adds are counted against it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Resident memory of one local pod's three processes (measured ≈ 90 MB), rounded up.
POD_MEMORY_BYTES = 96 * 1024 * 1024
MEMINFO = Path("/proc/meminfo")
_MIB = 1024 * 1024


def available_memory(meminfo: Path = MEMINFO) -> int | None:
    """``MemAvailable`` in bytes, or ``None`` where the kernel does not report it (not Linux)."""
    try:
        lines = meminfo.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name == "MemAvailable":
            amount, _, unit = value.strip().partition(" ")
            return int(amount) * (1024 if unit == "kB" else 1)
    return None


def pod_count(root: dict[str, Any]) -> int:
    """The pods an InvokerDeployment's (validated, canonical) spec asks for."""
    entities = root.get("spec", {}).get("statefulEntities", [])
    return sum(len(entity.get("pods", [])) for entity in entities)


def memory_problem(new_pods: int, available: int | None, pod_memory: int = POD_MEMORY_BYTES) -> str | None:
    """Why ``new_pods`` more pods cannot be started, or ``None`` when they fit (or the machine
    does not say how much memory it has)."""
    needed = new_pods * pod_memory
    if available is None or needed <= available:
        return None
    return (
        f"the topology needs {new_pods} more local pods of about {pod_memory // _MIB} MiB each "
        f"({needed // _MIB} MiB), but this machine has {available // _MIB} MiB available "
        "(MemAvailable); nothing was started: give it fewer pods, or run it on Kubernetes"
    )
