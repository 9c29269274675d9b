"""The executors' state store is kept apart from the control plane's Redis by default (issue 12,
item 11): without INVOKER_STATE_REDIS_URL the settings name the state Redis `./dev` runs, never
REDIS_URL, whatever REDIS_URL is; a given INVOKER_STATE_REDIS_URL is used as given."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATE_DEFAULT = "redis://127.0.0.1:16381/0"
OURS = {"INVOKER_STATE_REDIS_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}


def _urls(env: dict[str, str]) -> tuple[str, str]:
    """``(INVOKER_STATE_REDIS_URL, REDIS_URL)`` as the settings read them from exactly ``env``."""
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.INVOKER_STATE_REDIS_URL, settings.REDIS_URL, sep='|')"
    )
    base = {k: v for k, v in os.environ.items() if k not in OURS}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "invoker_web.settings",
            "DEBUG": "1",
            "SECRET_KEY": "k" * 50,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    state, control = result.stdout.strip().split("|")
    return state, control


@pytest.mark.parametrize("redis_url", ["redis://127.0.0.1:16379/0", "redis://redis.example:6379/3"])
def test_without_a_state_url_the_state_store_is_not_redis_url(redis_url: str) -> None:
    state, control = _urls({"REDIS_URL": redis_url})
    assert control == redis_url
    assert state == STATE_DEFAULT


def test_without_either_url_the_two_defaults_differ() -> None:
    state, control = _urls({})
    assert state == STATE_DEFAULT
    assert control != state


def test_a_given_state_url_is_used_as_given() -> None:
    url = "redis://state.example:6380/2"
    assert _urls({"REDIS_URL": "redis://redis.example:6379/0", "INVOKER_STATE_REDIS_URL": url})[0] == url
