"""Splits the suite into shards that `./dev test` runs side by side, each a plain serial pytest run.

Most of the suite's wall time is spent waiting: on pods to start, on a broker, on a browser page,
on the test cluster. Two runs side by side use that time, where one serial run leaves a core idle.
A shard is a whole pytest run of its own (its own session fixtures, Redis databases and state
directory, set by `./dev test`), not an xdist worker: pytest-xdist's grouping does not work with
this pytest (pytest-dev/pytest-xdist#1386), and the suite's session fixtures assume one process.

``--shard cluster`` runs the test files listed in :data:`CLUSTER`, ``--shard rest`` every other
one; each shard keeps what it does not run out of its run (reported as deselected). Every file
that uses the test cluster is in ``cluster``, so the tests that take its API server away
(`tests/integration/test_kubernetes_backend.py`) never run beside another test of the cluster;
a test that uses the cluster's fixture from a file not listed stops either shard at collection.
The executor's end-to-end files are there too, to even the two shards' wall times (measured: the
README, "The test suite").
"""

from __future__ import annotations

import pytest

#: The test files (or directories, ending in "/") of the ``cluster`` shard, relative to the root.
CLUSTER = (
    # The test cluster: these must stay together (see the module docstring).
    "tests/integration/",
    "tests/chart/test_install.py",
    "tests/chart/test_logs_rbac.py",
    "tests/jobs/test_reconcile_task.py",
    "tests/orchestrator/test_kube_logs.py",
    "tests/images/",
    # Balance (the two shards' times measured beside the live sample, 7 Dec 2026): the executor's
    # tests on the real broker (its end-to-end files are the slowest), the sample's down and up,
    # the URL access matrix.
    "tests/executor/",
    "tests/orchestrator/local/test_down_up.py",
    "tests/topology/test_url_access.py",
)
SHARDS = ("cluster", "rest")
#: The fixture of the test cluster: a test that uses it in the ``rest`` shard stops the run.
CLUSTER_FIXTURE = "kube_cluster"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shard",
        choices=SHARDS,
        default=None,
        help="run one shard of the suite: 'cluster' (the files in tests/shards.py's CLUSTER) or 'rest'",
    )


def in_cluster_shard(nodeid: str) -> bool:
    """Whether the test ``nodeid`` (a path relative to the root, then ``::``) is in ``cluster``."""
    path = nodeid.split("::", 1)[0]
    return any(path.startswith(entry) if entry.endswith("/") else path == entry for entry in CLUSTER)


def is_stray(item: pytest.Item) -> bool:
    """A test of the cluster outside its shard: it could run while another takes the API server away."""
    return CLUSTER_FIXTURE in getattr(item, "fixturenames", ()) and not in_cluster_shard(item.nodeid)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = config.getoption("shard")
    if shard is None:
        return
    keep, drop = [], []
    for item in items:
        (keep if in_cluster_shard(item.nodeid) == (shard == "cluster") else drop).append(item)
    strays = sorted({item.nodeid.split("::")[0] for item in keep + drop if is_stray(item)})
    if strays:
        raise pytest.UsageError(
            f"{', '.join(strays)}: uses the test cluster ({CLUSTER_FIXTURE}) but is not in the cluster "
            "shard; add it to CLUSTER in tests/shards.py"
        )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
