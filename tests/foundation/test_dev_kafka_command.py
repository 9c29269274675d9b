"""The broker's command line (scripts/services/kafka.sh) names no path inside the clone: the node's
broker is restarted whenever its command line changes (scripts/services/node.sh), so a path of
the clone in it restarted the broker each time `./dev` ran from another clone of the same code,
and a deleted clone would leave a running broker's logging config missing."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kafka(script: str, run_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INVOKER_RUN": str(run_dir)}
    prelude = 'source scripts/lib.sh; source scripts/services/kafka.sh; mkdir -p "$KAFKA_DIR"; '
    return subprocess.run(
        ["bash", "-c", prelude + script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )


def test_the_broker_command_line_names_the_run_directory_not_the_clone(tmp_path: Path) -> None:
    done = kafka('_kafka_write_config; _kafka_jvm; printf "%s\\n" "${KAFKA_JVM[@]}"', tmp_path)
    assert done.returncode == 0, done.stderr
    command = done.stdout.splitlines()
    assert f"-Dlog4j2.configurationFile={tmp_path}/kafka/log4j2.properties" in command
    assert not [arg for arg in command if str(ROOT) in arg]
    copied = (tmp_path / "kafka" / "log4j2.properties").read_text()
    assert copied == (ROOT / "scripts" / "kafka" / "log4j2.properties").read_text()
