"""The suite's two shards (tests/shards.py): together they run every test once, and every test of
the test cluster runs in the same one, never beside another (some take its API server away)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.shards import CLUSTER

ROOT = Path(__file__).resolve().parents[2]
PICKED = ["tests/images/test_cache_key.py", "tests/unit/test_placement.py", "tests/chart/test_rbac.py"]


def collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 5), done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_the_two_shards_split_the_tests_between_them() -> None:
    everything = collected(*PICKED)
    cluster, rest = collected("--shard", "cluster", *PICKED), collected("--shard", "rest", *PICKED)
    assert cluster
    assert rest
    assert sorted(cluster + rest) == sorted(everything)
    assert all(test.startswith("tests/images/") for test in cluster)
    assert not any(test.startswith("tests/images/") for test in rest)


def test_a_test_of_the_cluster_outside_its_shard_stops_either_shard(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef kube_cluster():\n    return 1\n"
    )
    (tmp_path / "test_stray.py").write_text(
        "def test_uses(kube_cluster):\n    pass\n\ndef test_not():\n    pass\n"
    )
    for shard in ("cluster", "rest"):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.shards", "--shard", shard,
             "--collect-only", "-q", str(tmp_path)],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 4, done.stdout + done.stderr
        assert (
            "test_stray.py: uses the test cluster (kube_cluster) but is not in the cluster shard"
            in done.stderr
        )


def test_every_entry_of_the_cluster_shard_exists() -> None:
    assert [entry for entry in CLUSTER if not (ROOT / entry).exists()] == []
