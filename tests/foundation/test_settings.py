"""Settings come from the environment; unsafe production settings stop start-up by name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-enough-4f9c2e7a1b",
    "ALLOWED_HOSTS": "invoker.example.com",
    "DATABASE_URL": "sqlite:////tmp/invoker-settings-test.sqlite3",
}


def run_django(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_it_refuses_to_start_without_a_required_production_setting(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = run_django(["check"], env)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_it_reads_the_secret_key_from_a_mounted_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(PRODUCTION["SECRET_KEY"] + "\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"} | {"SECRET_KEY_FILE": str(secret)}
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stderr


def test_production_settings_pass_the_deployment_checklist() -> None:
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_rejects_an_unknown_backend_by_name() -> None:
    result = run_django(["check"], {"INVOKER_BACKEND": "docker"})
    assert result.returncode != 0
    assert "INVOKER_BACKEND must be 'local' or 'kubernetes'" in result.stderr


def test_a_database_url_switches_the_engine() -> None:
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    env = {"DATABASE_URL": "postgres://u:p@127.0.0.1:1/x", "DJANGO_SETTINGS_MODULE": "invoker_web.settings"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "django.db.backends.postgresql", result.stderr
