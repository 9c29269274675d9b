"""The suite's two shards (tests/shards.py): together they run every test once, and every test of
the test cluster runs in the same one, never beside another (some take its API server away).

The hook runs here on stand-in items (a node id and fixture names are all it reads); `./dev test`
runs it on the real suite, where a stray test of the cluster stops the run at collection."""

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import shards

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Item:
    nodeid: str
    fixturenames: tuple[str, ...] = ()


@dataclass
class Config:
    shard: str | None
    deselected: list[Item] = field(default_factory=list)

    def getoption(self, name: str) -> str | None:
        assert name == "shard"
        return self.shard

    @property
    def hook(self) -> "Config":
        return self

    def pytest_deselected(self, items: list[Item]) -> None:
        self.deselected.extend(items)


SUITE = [
    Item("tests/integration/test_real_node.py::test_a", ("kube_cluster",)),
    Item("tests/chart/test_install.py::test_b", ("kube_cluster",)),
    Item("tests/chart/test_render.py::test_c"),
    Item("tests/executor/test_e2e_exact.py::test_d[1]"),
    Item("tests/unit/test_placement.py::test_e"),
    Item("tests/integration_extra.py::test_f"),
]


def select(shard: str | None, items: list[Item]) -> tuple[list[str], list[str]]:
    config, kept = Config(shard), list(items)
    shards.pytest_collection_modifyitems(config, kept)
    return [item.nodeid for item in kept], [item.nodeid for item in config.deselected]


def test_the_two_shards_split_the_tests_between_them_and_say_what_they_leave_out() -> None:
    cluster, left_by_cluster = select("cluster", SUITE)
    rest, left_by_rest = select("rest", SUITE)
    assert cluster == [item.nodeid for item in SUITE[:2] + SUITE[3:4]]
    assert rest == [item.nodeid for item in SUITE[2:3] + SUITE[4:]]
    assert left_by_cluster == rest
    assert left_by_rest == cluster


def test_without_a_shard_every_test_runs() -> None:
    assert select(None, SUITE) == ([item.nodeid for item in SUITE], [])


@pytest.mark.parametrize("shard", shards.SHARDS)
def test_a_test_of_the_cluster_outside_its_shard_stops_either_shard(shard: str) -> None:
    stray = Item("tests/jobs/test_collector.py::test_g", ("db", "kube_cluster"))
    message = re.escape("tests/jobs/test_collector.py: uses the test cluster (kube_cluster)")
    with pytest.raises(pytest.UsageError, match=message):
        select(shard, [*SUITE, stray])


def test_every_entry_of_the_cluster_shard_exists() -> None:
    assert [entry for entry in shards.CLUSTER if not (ROOT / entry).exists()] == []
