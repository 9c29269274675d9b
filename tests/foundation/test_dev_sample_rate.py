"""The sample's feeder rate (`INVOKER_SAMPLE_LINES_PER_SECOND`, scripts/dev/app.sh): the feeder
runs at the rate asked for, 20 lines/s by default, and a rate that is not a positive number stops
`./dev up` before any process starts, naming the setting and the value."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def app(script: str, rate: str | None, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "INVOKER_SAMPLE_LINES_PER_SECOND"}
    if rate is not None:
        env["INVOKER_SAMPLE_LINES_PER_SECOND"] = rate
    prelude = f"source scripts/lib.sh; source scripts/dev/app.sh; APP_DIR={tmp_path}/app; "
    return subprocess.run(
        ["bash", "-c", prelude + script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(("rate", "expected"), [(None, "--rate 20"), ("5.5", "--rate 5.5")])
def test_the_feeder_runs_at_the_rate_asked_for(rate: str | None, expected: str, tmp_path: Path) -> None:
    done = app("app_command feeder", rate, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(expected)


@pytest.mark.parametrize("rate", ["abc", "0", "0.0", "-5", "1e3", " 20"])
def test_a_rate_that_is_not_a_positive_number_stops_up_before_anything_starts(
    rate: str, tmp_path: Path
) -> None:
    done = app("app_start_one() { echo STARTED; }; app_start", rate, tmp_path)
    assert done.returncode != 0
    message = f"INVOKER_SAMPLE_LINES_PER_SECOND must be a positive number of lines per second, not '{rate}'"
    assert message in done.stderr
    assert "STARTED" not in done.stdout
    assert not (tmp_path / "app").exists()
