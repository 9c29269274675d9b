"""The executors' state cache in the chart: its own Redis by default (never REDIS_URL unless
stateUrl says so), and never anything but what the app and the executor pods are told
(INVOKER_STATE_REDIS_URL)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from tests.chart.conftest import CHART, NAMESPACE, by_kind, one
from tests.chart.test_render import SCHEMA_VERSION, app_containers, env_of

BUNDLED = "redis.stateBundled.enabled=true"


def state_urls(docs: list[dict[str, Any]]) -> set[Any]:
    return {env_of(c)["INVOKER_STATE_REDIS_URL"].get("value") for c in app_containers(docs).values()}


def test_a_bundled_state_redis_is_a_second_redis_without_persistence(helm) -> None:
    docs = helm.template(None, BUNDLED)
    redis = one(docs, "Deployment", "-state-redis")
    service = one(docs, "Service", "-state-redis")
    assert service["spec"]["selector"] == redis["spec"]["selector"]["matchLabels"]
    assert redis["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "state-redis"
    (container,) = redis["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["redis-server", "--save", "", "--appendonly", "no", "--dir", "/data"]
    assert state_urls(docs) == {f"redis://{service['metadata']['name']}.{NAMESPACE}.svc:6379/0"}
    for doc in (redis, service):
        kubernetes_validate.validate(doc, SCHEMA_VERSION, strict=True)
    # The control plane's Redis is untouched: still the one the app was given.
    assert {env_of(c)["REDIS_URL"]["value"] for c in app_containers(docs).values()} == {
        "redis://redis:6379/0"
    }


def test_by_default_the_state_cache_is_a_bundled_redis_apart_from_redis_url(helm) -> None:
    docs = helm.template(None)
    service = one(docs, "Service", "-state-redis")
    one(docs, "Deployment", "-state-redis")
    assert state_urls(docs) == {f"redis://{service['metadata']['name']}.{NAMESPACE}.svc:6379/0"}
    for container in app_containers(docs).values():
        env = env_of(container)
        assert env["INVOKER_STATE_REDIS_URL"]["value"] != env["REDIS_URL"]["value"]
        assert "REDIS_URL" not in env["INVOKER_STATE_REDIS_URL"]["value"]


def test_turning_the_state_redis_off_without_a_state_url_is_refused_by_name(helm) -> None:
    failed = helm.run(
        "template", "invoker", str(CHART), "--set", "redis.stateBundled.enabled=false", check=False
    )
    assert failed.returncode != 0
    assert "redis.stateUrl is required when redis.stateBundled.enabled is false" in failed.stderr


def test_sharing_redis_url_is_a_choice_spelled_out(helm) -> None:
    docs = helm.template(None, "redis.stateBundled.enabled=false", "redis.stateUrl=$(REDIS_URL)")
    assert not [d for d in by_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-state-redis")]
    assert state_urls(docs) == {"$(REDIS_URL)"}
    for container in app_containers(docs).values():
        names = [item["name"] for item in container["env"]]
        # Kubernetes expands $(REDIS_URL) only from a variable defined earlier in the list.
        assert names.index("REDIS_URL") < names.index("INVOKER_STATE_REDIS_URL")


def test_a_state_url_wins_over_the_bundled_state_redis(helm) -> None:
    docs = helm.template(None, BUNDLED, "redis.stateUrl=redis://state.example:6379/3")
    assert not [d for d in by_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-state-redis")]
    assert state_urls(docs) == {"redis://state.example:6379/3"}
