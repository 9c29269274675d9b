"""Settings come from the environment; unsafe production settings stop start-up by name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.views.debug import SafeExceptionReporterFilter

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-enough-4f9c2e7a1b",
    "ALLOWED_HOSTS": "invoker.example.com",
    "DATABASE_URL": "sqlite:////tmp/invoker-settings-test.sqlite3",
}


def run_django(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The test run's own development settings stay out: each test says what it starts with.
    ours = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "INVOKER_TEST_PASSWORD_HASHER"}
    base = {k: v for k, v in os.environ.items() if k not in ours}
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
    result = run_django(["check"], PRODUCTION | {"INVOKER_BACKEND": "docker"})
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


def settings_value(expression: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    # The test run's own development settings stay out: each test says what it starts with.
    ours = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "INVOKER_TEST_PASSWORD_HASHER"}
    base = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "invoker_web.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_is_off_unless_the_environment_turns_it_on() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "DEBUG"}
    result = settings_value("settings.DEBUG", env)
    assert result.stdout.strip() == "False", result.stderr


def test_there_is_no_default_key_even_with_debug_on() -> None:
    result = settings_value("settings.SECRET_KEY", {"DEBUG": "1"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set, even with DEBUG on" in result.stderr
    assert "django-insecure" not in (ROOT / "invoker_web" / "settings.py").read_text()


def test_dev_turns_debug_on_with_its_own_development_key() -> None:
    """`./dev`'s app_env is the one place that sets DEBUG and the development key."""
    script = (
        "source scripts/lib.sh; source scripts/dev/python.sh; source scripts/dev/app.sh; app_env; "
        'exec python -c "import django; django.setup(); from django.conf import settings; '
        'print(settings.DEBUG, settings.SECRET_KEY)"'
    )
    # The test run's own development settings stay out: each test says what it starts with.
    ours = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "INVOKER_TEST_PASSWORD_HASHER"}
    base = {k: v for k, v in os.environ.items() if k not in ours}
    env = {**base, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["True", "django-insecure-local-development-only"], result.stderr


def test_the_image_runs_with_debug_off() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    env_lines = dockerfile.split("\nENV ", 2)[2].split("\n# ", 1)[0]
    assert "DEBUG=false" in env_lines
    assert "SECRET_KEY" not in env_lines


def _password(name: str) -> str:
    return f"{name}-password"


def _debug_page(request_factory) -> str:
    from django.views.debug import ExceptionReporter

    # The page also prints its frames' source lines: the secrets are built, never written out.
    broker = f"redis://:{_password('broker')}@127.0.0.1:16379/3"  # noqa: F841 - a local it prints
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        request = request_factory.get("/", HTTP_X_SERVICE=f"amqp://u:{_password('header')}@mq.invalid/")
        return ExceptionReporter(request, type(exc), exc, exc.__traceback__).get_traceback_html()


def test_the_debug_page_masks_the_passwords_of_urls(settings, rf) -> None:
    settings.DEBUG = True
    settings.REDIS_URL = "redis://:redis-password@127.0.0.1:16379/0"
    settings.CELERY_BROKER_URL = "redis://user:celery-password@127.0.0.1:16379/1"
    settings.EXTRA_SERVICE_URL = "https://bot:extra-password@example.invalid/hook?token=query-secret"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": "redis://:channels-password@127.0.0.1:16379/0"}]},
        }
    }
    html = _debug_page(rf)
    assert "RuntimeError" in html, "not the debug page"
    for secret in (
        "redis-password",
        "celery-password",
        "extra-password",
        "query-secret",
        "channels-password",
    ):
        assert secret not in html, f"{secret} is shown"
    assert "broker-password" not in html, "a frame's local variable is shown"
    assert "header-password" not in html, "the request's META is shown"
    stars = SafeExceptionReporterFilter.cleansed_substitute
    assert f"redis://:{stars}@127.0.0.1:16379/0" in html, "the rest of the URL stays readable"


def test_the_tests_fast_password_hasher_is_refused_in_production() -> None:
    result = run_django(["check"], PRODUCTION | {"INVOKER_TEST_PASSWORD_HASHER": "1"})
    assert result.returncode != 0
    assert "INVOKER_TEST_PASSWORD_HASHER stores passwords unsafely (MD5)" in result.stderr
    assert run_django(["check"], PRODUCTION | {"INVOKER_TEST_PASSWORD_HASHER": "0"}).returncode == 0
