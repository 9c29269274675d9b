"""Brute force is slowed: failed sign-ins lock the account and, at a higher count, the address
(django-axes, counted in the real Redis), wrong API tokens count against their address, and each
user's API requests are rate-limited. Every refusal is a 429 with Retry-After."""

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
LOGIN_FORMS = ["/accounts/login/", "/admin/login/", "/api/auth/login/"]
ATTACKER, OTHER = "203.0.113.7", "198.51.100.9"
PROXY = "10.1.2.3"  # an ingress controller's pod address


@pytest.fixture(autouse=True)
def _fast_hashing(settings) -> None:
    """Each failed sign-in hashes a password; the default hasher takes about a second here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def accounts(db, redis_url, django_user_model):
    """Two staff viewers (the admin's form lets only staff in); their password is ``<name>-pw-1``."""
    from django.contrib.auth.models import Group

    users = [
        django_user_model.objects.create_user(name, password=f"{name}-pw-1", is_staff=True)
        for name in ("alice", "bob")
    ]
    for user in users:
        user.groups.set([Group.objects.get(name="viewer")])
    return users


def sign_in(path: str, username: str, password: str, address: str = ATTACKER):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


@pytest.mark.parametrize("path", LOGIN_FORMS)
def test_thirty_wrong_passwords_are_refused_with_429_after_the_accounts_limit(
    settings, accounts, path
) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    answers = [sign_in(path, "alice", f"guess-{i}") for i in range(30)]

    assert [a.status_code for a in answers[: limit - 1]] == [200] * (limit - 1), (
        "a wrong password is a form error"
    )
    assert {a.status_code for a in answers[limit - 1 :]} == {429}
    locked = answers[-1]
    assert "Too many attempts" in locked.content.decode()
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    # The account is locked from every address, even with its right password...
    assert sign_in(path, "alice", "alice-pw-1", address=OTHER).status_code == 429
    # ...while another account still signs in, from the very same address.
    assert sign_in(path, "bob", "bob-pw-1").status_code == 302


def test_failures_over_many_accounts_lock_the_address(settings, accounts) -> None:
    settings.INVOKER_LOGIN_FAILURES_PER_ADDRESS = 12
    answers = [sign_in("/accounts/login/", f"user-{i}", "guess") for i in range(12)]
    assert [a.status_code for a in answers] == [200] * 11 + [429]
    assert sign_in("/accounts/login/", "bob", "bob-pw-1").status_code == 429, "the address is locked"
    assert sign_in("/accounts/login/", "bob", "bob-pw-1", address=OTHER).status_code == 302


def test_behind_a_proxy_each_forwarded_client_is_counted_on_its_own(settings, accounts) -> None:
    """With the chart's ingress setting every request comes from the ingress's address; the
    client is the address the ingress appended to X-Forwarded-For, not what the client wrote."""
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    settings.AXES_IPWARE_PROXY_COUNT = 0
    settings.INVOKER_LOGIN_FAILURES_PER_ADDRESS = 12

    def via_proxy(username: str, password: str, forwarded_for: str):
        client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
        return client.post("/accounts/login/", {"username": username, "password": password})

    answers = [via_proxy(f"user-{i}", "guess", ATTACKER) for i in range(12)]
    assert [a.status_code for a in answers] == [200] * 11 + [429]
    assert via_proxy("bob", "bob-pw-1", ATTACKER).status_code == 429, "the attacker's address is locked"
    assert via_proxy("bob", "bob-pw-1", f"{OTHER}, {ATTACKER}").status_code == 429, (
        "a forged entry is ignored"
    )
    assert via_proxy("bob", "bob-pw-1", OTHER).status_code == 302, "another client behind the same proxy"


def test_the_client_address_source_comes_from_the_environment() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(','.join(s.AXES_IPWARE_META_PRECEDENCE_ORDER), s.AXES_IPWARE_PROXY_COUNT)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "invoker_web.settings"}
    env.pop("AXES_IPWARE_META_PRECEDENCE_ORDER", None)
    env.pop("AXES_IPWARE_PROXY_COUNT", None)
    run = functools.partial(
        subprocess.run, [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run(env=env).stdout.split() == ["REMOTE_ADDR", "None"], "locally: the connecting address"
    proxied = {**env, "AXES_IPWARE_META_PRECEDENCE_ORDER": "HTTP_X_FORWARDED_FOR,REMOTE_ADDR"}
    done = run(env={**proxied, "AXES_IPWARE_PROXY_COUNT": "1"})
    assert done.stdout.split() == ["HTTP_X_FORWARDED_FOR,REMOTE_ADDR", "1"], done.stderr
    assert "AXES_IPWARE_PROXY_COUNT must be set" in run(env=proxied).stderr
    assert (
        "AXES_IPWARE_PROXY_COUNT must be 0 or more"
        in run(env={**proxied, "AXES_IPWARE_PROXY_COUNT": "-1"}).stderr
    )


def test_the_lockout_ends_after_the_cool_off(settings, accounts) -> None:
    from datetime import timedelta

    settings.AXES_COOLOFF_TIME, settings.AXES_FAILURE_LIMIT = timedelta(seconds=1), 2
    for i in range(2):
        sign_in("/accounts/login/", "alice", f"guess-{i}")
    assert sign_in("/accounts/login/", "alice", "alice-pw-1").status_code == 429
    time.sleep(1.5)
    assert sign_in("/accounts/login/", "alice", "alice-pw-1").status_code == 302


def test_wrong_tokens_lock_their_address_with_the_apis_error_body(settings, accounts) -> None:
    from rest_framework.authtoken.models import Token

    settings.INVOKER_LOGIN_FAILURES_PER_ADDRESS = 8
    valid = Token.objects.create(user=accounts[1]).key
    attacker = Client(REMOTE_ADDR=ATTACKER)
    answers = [attacker.get("/api/deployments/", HTTP_AUTHORIZATION=f"Token wrong{i}") for i in range(12)]

    assert [a.status_code for a in answers[:7]] == [401] * 7
    assert {a.status_code for a in answers[7:]} == {429}
    assert answers[-1].json()["error"]["code"] == "throttled"
    assert int(answers[-1]["Retry-After"]) > 0
    assert attacker.get("/api/deployments/", HTTP_AUTHORIZATION=f"Token {valid}").status_code == 429
    elsewhere = Client(REMOTE_ADDR=OTHER).get("/api/deployments/", HTTP_AUTHORIZATION=f"Token {valid}")
    assert elsewhere.status_code != 429


def test_each_users_api_requests_are_rate_limited(settings, accounts) -> None:
    from rest_framework.authtoken.models import Token

    settings.INVOKER_API_RATE_PER_USER = "5/minute"
    alice, bob = (Token.objects.create(user=user).key for user in accounts)
    client = Client(REMOTE_ADDR=ATTACKER)
    answers = [client.get("/api/deployments/", HTTP_AUTHORIZATION=f"Token {alice}") for _ in range(7)]

    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    body = answers[-1].json()
    assert body["error"]["code"] == "throttled"
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
    assert client.get("/api/deployments/", HTTP_AUTHORIZATION=f"Token {bob}").status_code == 200, "per user"


def test_counts_are_shared_by_every_process_through_redis(settings, accounts) -> None:
    """Failures recorded by another process (as another web worker would) lock this one's form."""
    code = (
        "import django; django.setup()\n"
        "from django.contrib.auth.signals import user_login_failed\n"
        "from django.test import RequestFactory\n"
        f"request = RequestFactory().post('/accounts/login/', REMOTE_ADDR={OTHER!r})\n"
        "for _ in range(%d):\n"
        "    user_login_failed.send('other-process', credentials={'username': 'alice'}, request=request)\n"
    ) % settings.AXES_FAILURE_LIMIT
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "invoker_web.settings",
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert sign_in("/accounts/login/", "alice", "alice-pw-1").status_code == 429


def test_the_limits_come_from_the_environment() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.INVOKER_LOGIN_FAILURES_PER_ADDRESS, "
        "int(s.AXES_COOLOFF_TIME.total_seconds()), s.INVOKER_API_RATE_PER_USER)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "invoker_web.settings",
        "INVOKER_LOGIN_FAILURES_PER_ACCOUNT": "4",
        "INVOKER_LOGIN_FAILURES_PER_ADDRESS": "40",
        "INVOKER_LOGIN_LOCKOUT_MINUTES": "2",
        "INVOKER_API_RATE_PER_USER": "100/second",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["4", "40", "120", "100/second"], done.stderr
    bad = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "INVOKER_API_RATE_PER_USER": "lots"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "INVOKER_API_RATE_PER_USER must be like '1200/minute'" in bad.stderr
