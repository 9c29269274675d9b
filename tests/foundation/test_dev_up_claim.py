"""`./dev up` in a second clone while another clone's app runs stops at once, naming the other
clone, and changes nothing (scripts/dev/app.sh: app_claim). The run directory, the port and the
topics are the machine's, but the database and the pods' state are each clone's own, so going on
would wait two minutes for pods that the other clone's runtime never starts."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def claim(app_dir: Path, root: str) -> subprocess.CompletedProcess[str]:
    script = (
        f"source scripts/lib.sh; source scripts/dev/app.sh; APP_DIR={app_dir}; INVOKER_ROOT={root}; app_claim"
    )
    return subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30)


@pytest.fixture
def running_web(tmp_path: Path):
    """The web process of a clone at /clones/first, running (a real process, its pid recorded)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (tmp_path / "web.pid").write_text(str(process.pid))
    (tmp_path / "root").write_text("/clones/first\n")
    yield tmp_path
    process.kill()
    process.wait()


def test_a_second_clone_is_refused_while_the_first_runs_and_nothing_changes(running_web: Path) -> None:
    result = claim(running_web, "/clones/second")
    assert result.returncode != 0
    assert "already up from another clone (/clones/first)" in result.stderr
    assert "./dev down there first" in result.stderr
    assert (running_web / "root").read_text() == "/clones/first\n"


def test_the_same_clone_and_a_stopped_clone_may_go_on(running_web: Path) -> None:
    assert claim(running_web, "/clones/first").returncode == 0
    (running_web / "web.pid").unlink()  # the first clone went down
    result = claim(running_web, "/clones/second")
    assert result.returncode == 0, result.stderr
    assert (running_web / "root").read_text() == "/clones/second\n"
