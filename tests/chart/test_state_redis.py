"""The executors' state cache in the chart: its own Redis when asked, else REDIS_URL, and never
anything but what the app and the executor pods are told (INVOKER_STATE_REDIS_URL)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from tests.chart.conftest import NAMESPACE, by_kind, one
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


def test_without_a_state_redis_the_state_cache_is_redis_url(helm) -> None:
    docs = helm.template(None)
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
