"""The autoscaler's decision: scale out on lag that keeps growing, scale in under the floor,
hysteresis between the two, the cooldown and the bounds."""

from orchestrator.planning.autoscale import (
    BOUNDS,
    COOLDOWN,
    HOLD,
    NO_DATA,
    SCALE_IN,
    SCALE_OUT,
    Policy,
    Sample,
    decide,
)

POLICY = Policy(
    min_pods=1,
    max_pods=6,
    target_records_per_pod=1000,
    scale_out_after_seconds=20,
    utilisation_floor=0.3,
    scale_in_after_seconds=30,
    cooldown_seconds=60,
    max_step=2,
)


def series(rate: float, lags: list[float], step: float = 5.0) -> list[Sample]:
    """Samples ``step`` s apart consuming ``rate`` records/s with the given lags."""
    return [Sample(i * step, lag, rate * i * step) for i, lag in enumerate(lags)]


def test_lag_growing_for_longer_than_the_threshold_scales_out_to_the_needed_pods():
    samples = series(1500, [0, 500, 1000, 1500, 2000, 2500])  # 25 s of growth at 100/s
    decision = decide(POLICY, 1, samples, now=25, last_change=None)
    assert (decision.rule, decision.pods) == (SCALE_OUT, 2)
    assert "lag grew for 25 s" in decision.reason
    decision = decide(POLICY, 2, series(4000, [0, 5000, 10000, 15000, 20000]), now=20, last_change=None)
    assert (decision.rule, decision.pods) == (SCALE_OUT, 4)  # needs 5, one step is at most 2


def test_a_short_spike_of_lag_changes_nothing():
    samples = series(1500, [0, 0, 0, 0, 500, 1000])  # growing for 10 s only
    assert decide(POLICY, 1, samples, now=25, last_change=None).rule == HOLD
    samples = series(1500, [0, 500, 2000, 800, 1300, 1800])  # higher 15 s ago: rising for 10 s only
    assert decide(POLICY, 1, samples, now=25, last_change=None).rule == HOLD
    samples = series(1500, [900] * 6)  # a steady backlog is not growth
    assert decide(POLICY, 1, samples, now=25, last_change=None).rule == HOLD


def test_a_sawtooth_lag_that_trends_up_is_growth():
    samples = series(1500, [0, 600, 300, 1100, 700, 1600])  # commits per batch: dips, but rising
    assert decide(POLICY, 1, samples, now=25, last_change=None).rule == SCALE_OUT


def test_pods_under_the_floor_for_long_enough_scale_in_with_hysteresis():
    samples = series(1000, [0] * 8)  # 35 s at 1000/s over 4 pods: 25% each
    decision = decide(POLICY, 4, samples, now=35, last_change=None)
    assert decision.rule == SCALE_IN
    # 1000/s on 1 pod would be 100%: it keeps 2 (50%, under the 75% ceiling), so the next
    # sample does not scale out again
    assert decision.pods == 2
    assert decide(POLICY, 2, samples, now=35, last_change=None).rule == HOLD  # 50% is above the floor


def test_a_short_lull_changes_nothing():
    samples = [Sample(0, 0, 0), Sample(5, 0, 20000), Sample(10, 0, 20500), Sample(15, 0, 21000)]
    assert decide(POLICY, 4, samples, now=15, last_change=None).rule == HOLD


def test_the_cooldown_holds_even_growing_lag():
    samples = series(1500, [0, 500, 1000, 1500, 2000, 2500])
    decision = decide(POLICY, 1, samples, now=100, last_change=70)
    assert (decision.rule, decision.pods) == (COOLDOWN, 1)
    assert decide(POLICY, 1, samples, now=100, last_change=30).rule == SCALE_OUT


def test_the_bounds_win_and_are_never_crossed():
    assert decide(POLICY, 9, [], now=0, last_change=0) == decide(POLICY, 9, [], now=0, last_change=None)
    assert (decide(POLICY, 9, [], now=0, last_change=None).pods, decide(POLICY, 9, [], 0, None).rule) == (
        7,
        BOUNDS,
    )
    big = series(100_000, [0, 10_000, 20_000, 30_000, 40_000, 50_000])
    assert decide(POLICY, 5, big, now=25, last_change=None).pods == 6  # max_pods
    idle = series(0, [0] * 10)
    assert decide(POLICY, 1, idle, now=45, last_change=None).pods == 1  # min_pods


def test_fewer_than_two_samples_is_no_data():
    assert decide(POLICY, 2, series(10, [0]), now=0, last_change=None).rule == NO_DATA


def test_bad_policies_name_the_field():
    assert Policy().problems() == []
    bad = Policy(min_pods=0, max_pods=-1, target_records_per_pod=0, utilisation_floor=0.9, max_step=0)
    assert [field for field, _ in bad.problems()] == [
        "min_pods",
        "max_pods",
        "target_records_per_pod",
        "utilisation_floor",
        "max_step",
    ]
