"""Which version runs when the API watch and the mounted file both report the ConfigMap: pure
rules, no cluster (the same rules against the real API server: tests/integration/test_configmap_watch.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from executor.config import MainConfig, PodConfig
from executor.config_arbiter import API, API_HISTORY, FILE, Arbiter, Snapshot, Verdict

IN_SYNC, OUT_OF_SYNC = True, False


def version(epoch: int, brokers: str = "k:9092", source: str = API, partitions=(0,)) -> Snapshot:
    main = MainConfig("d", "e", brokers, "in", "out", None, "redis://r/0")
    pod = PodConfig("e-0", frozenset(partitions), epoch)
    return Snapshot(main, pod, f"{source}:{epoch}:{brokers}", 0.0, source)


def running(arbiter: Arbiter) -> tuple[int, str]:
    assert arbiter.current is not None
    return arbiter.current.pod.epoch, arbiter.current.main.bootstrap_servers


@pytest.mark.parametrize("api_in_sync", [IN_SYNC, OUT_OF_SYNC])
@pytest.mark.parametrize(("newer_from", "older_from"), [(API, FILE), (FILE, API), (API, API), (FILE, FILE)])
def test_an_older_epoch_is_never_applied_whichever_source_brings_it(newer_from, older_from, api_in_sync):
    arbiter = Arbiter()
    assert arbiter.offer(version(5, source=older_from), api_in_sync) is Verdict.APPLY
    assert arbiter.offer(version(6, partitions=(1,), source=newer_from), api_in_sync) is Verdict.APPLY
    assert arbiter.offer(version(5, "new:9092", source=older_from), api_in_sync) is Verdict.STALE
    assert arbiter.current.pod == PodConfig("e-0", frozenset({1}), 6)


@pytest.mark.parametrize("source", [API, FILE])
@pytest.mark.parametrize("api_in_sync", [IN_SYNC, OUT_OF_SYNC])
def test_a_newer_epoch_wins_whichever_source_brings_it(source, api_in_sync):
    arbiter = Arbiter()
    arbiter.offer(version(5), api_in_sync)
    assert arbiter.offer(version(6, source=source), api_in_sync) is Verdict.APPLY
    assert running(arbiter) == (6, "k:9092")


def test_the_file_catching_up_with_what_the_api_delivered_changes_nothing():
    arbiter = Arbiter()
    arbiter.offer(version(5, "a", FILE), IN_SYNC)
    for brokers in ("a", "b", "c"):
        arbiter.offer(version(5, brokers, API), IN_SYNC)
    # The API goes away; the kubelet then delivers the versions the API already did.
    assert arbiter.offer(version(5, "b", FILE), OUT_OF_SYNC) is Verdict.BEHIND
    assert arbiter.offer(version(5, "c", FILE), OUT_OF_SYNC) is Verdict.UNCHANGED
    assert running(arbiter) == (5, "c")


def test_at_an_equal_epoch_the_file_is_ignored_while_the_api_is_in_sync():
    arbiter = Arbiter()
    arbiter.offer(version(5, "a", API), IN_SYNC)
    assert arbiter.offer(version(5, "z", FILE), IN_SYNC) is Verdict.BEHIND
    assert running(arbiter) == (5, "a")


def test_at_an_equal_epoch_the_file_is_the_fallback_while_the_api_is_not_in_sync():
    arbiter = Arbiter()
    arbiter.offer(version(5, "a", API), IN_SYNC)
    assert arbiter.offer(version(5, "b", FILE), OUT_OF_SYNC) is Verdict.APPLY
    assert running(arbiter) == (5, "b")


def test_at_an_equal_epoch_the_api_delivers_in_the_config_maps_own_order():
    arbiter = Arbiter()
    arbiter.offer(version(5, "a", FILE), OUT_OF_SYNC)
    assert arbiter.offer(version(5, "b", API), IN_SYNC) is Verdict.APPLY
    assert arbiter.offer(version(5, "b", API), IN_SYNC) is Verdict.UNCHANGED
    assert running(arbiter) == (5, "b")


def test_a_revert_reaches_the_pod_through_the_file_when_the_api_died_half_way():
    arbiter = Arbiter()
    for brokers in ("a", "b"):
        arbiter.offer(version(5, brokers, API), IN_SYNC)
    for brokers, expected in (("a", Verdict.BEHIND), ("b", Verdict.UNCHANGED), ("a", Verdict.APPLY)):
        assert arbiter.offer(version(5, brokers, FILE), OUT_OF_SYNC) is expected
    assert running(arbiter) == (5, "a")


def test_the_api_history_is_bounded_and_still_recognises_recent_versions():
    arbiter = Arbiter()
    for i in range(API_HISTORY * 2):
        arbiter.offer(version(5, f"b{i}", API), IN_SYNC)
    assert arbiter.offer(version(5, f"b{API_HISTORY * 2 - 2}", FILE), OUT_OF_SYNC) is Verdict.BEHIND
    assert len(arbiter._api_seen) == API_HISTORY


# --- a model of the two sources over random histories ------------------------------------------
# The ConfigMap goes through versions (epochs never decrease, as the orchestrator guarantees).
# The API delivers them in order while in sync, and after an outage starts again from the
# current one; the kubelet delivers an in-order subsequence, late. Whatever the interleaving:
# the running epoch never goes down, and the pod ends on the last version once the API is back.
histories = st.lists(st.tuples(st.integers(0, 2), st.sampled_from("abc")), min_size=1, max_size=12)


@given(
    history=histories,
    file_picks=st.lists(st.booleans(), min_size=12, max_size=12),
    api_up=st.lists(st.booleans(), min_size=12, max_size=12),
    file_lag=st.integers(0, 4),
)
def test_the_running_epoch_never_goes_down_and_the_last_version_wins(history, file_picks, api_up, file_lag):
    versions, epoch = [], 1
    for step, brokers in history:
        epoch += step
        versions.append((epoch, brokers))
    arbiter, epochs = Arbiter(), []
    file_seen = -1
    for now in range(len(versions) + file_lag + 1):
        # The API delivers the version current at `now` while it is up.
        if api_up[min(now, 11)] and now < len(versions):
            arbiter.offer(version(*versions[now], API), IN_SYNC)
        # The kubelet delivers some version from `file_lag` steps ago, never going backwards.
        late = min(now - file_lag, len(versions) - 1)
        if late > file_seen and file_picks[min(now, 11)]:
            file_seen = late
            arbiter.offer(version(*versions[late], FILE), api_up[min(now, 11)])
        if arbiter.current is not None:
            epochs.append(arbiter.current.pod.epoch)
    assert epochs == sorted(epochs)
    # Finally the API is back in sync and delivers the current version, as a fresh watch does.
    arbiter.offer(version(*versions[-1], API), IN_SYNC)
    assert running(arbiter) == versions[-1]
