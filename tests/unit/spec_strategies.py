"""Hypothesis strategies for valid InvokerDeployment manifests, written the many ways a user
may write them: partitions as ints or strings in any order, quantities as numbers or in any
unit, optional fields present, absent or null."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
# Plain text strategies with their edges fixed up: much faster to generate than from_regex.
LABEL = st.text(_LOWER + "-", min_size=1, max_size=16).map(
    lambda s: f"{s[0]}{s[1:-1]}{s[-1]}".strip("-") or "a"
)
TOPIC = st.text(_LOWER + "ABCXYZ._-", min_size=1, max_size=30).filter(lambda topic: topic not in (".", ".."))
IMAGE = st.one_of(
    st.sampled_from(["busybox", "invoker/executor-sum:0.1", "ghcr.io/acme/wc:1.2.3", "localhost:5000/a/b_c"]),
    st.builds(
        lambda registry, path, tag: f"{registry}{path}{tag}",
        st.sampled_from(["", "registry.example.com/", "10.0.0.1:5000/", "[::1]/"]),
        st.from_regex(r"\A[a-z0-9]{1,8}([._-][a-z0-9]{1,8}){0,2}(/[a-z0-9]{1,8}(__[a-z0-9]{1,8})?){0,3}\Z"),
        st.one_of(st.just(""), st.from_regex(r"\A:[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z")),
    ),
)
ADDRESS = st.sampled_from(["127.0.0.1:9092", "kafka:9092", "k-0.k:9092,k-1.k:9093", "[::1]:9092"])


def _cpu_notations(millicores: int) -> st.SearchStrategy[Any]:
    """Equivalent spellings of one CPU amount."""
    cores = Decimal(millicores) / 1000
    spellings: list[Any] = [f"{millicores}m", str(cores)]
    if millicores % 1000 == 0:
        spellings += [millicores // 1000, f"{millicores // 1000}"]
    return st.sampled_from(spellings)


def _memory_notations(mebibytes: int) -> st.SearchStrategy[Any]:
    """Equivalent spellings of one memory amount."""
    spellings: list[Any] = [
        f"{mebibytes}Mi",
        f"{mebibytes * 1024}Ki",
        str(mebibytes * 2**20),
        mebibytes * 2**20,
    ]
    if mebibytes % 1024 == 0:
        spellings.append(f"{mebibytes // 1024}Gi")
    return st.sampled_from(spellings)


@st.composite
def resources(draw: st.DrawFn) -> dict[str, Any]:
    """A resources block whose requests never exceed its limits."""
    block: dict[str, Any] = {}
    for name, upper, notations in [("cpu", 4000, _cpu_notations), ("memory", 4096, _memory_notations)]:
        if not draw(st.booleans()):
            continue
        request = draw(st.integers(1, upper))
        if draw(st.booleans()):
            block.setdefault("requests", {})[name] = draw(notations(request))
        if draw(st.booleans()):
            block.setdefault("limits", {})[name] = draw(notations(draw(st.integers(request, upper * 2))))
    return block


def _partition(draw: st.DrawFn, partition: int) -> int | str:
    return draw(st.sampled_from([partition, str(partition)]))


@st.composite
def entity(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """An entity whose partitions are each owned by exactly one pod."""
    pod_count = draw(st.integers(0, 4))
    known = pod_count > 0 and draw(st.booleans())
    total = draw(st.integers(1, 12)) if known else 0
    pool = (
        list(range(total))
        if known
        else draw(st.lists(st.integers(0, 60), unique=True, max_size=12 * (pod_count > 0)))
    )
    owners = draw(st.lists(st.integers(0, max(pod_count - 1, 0)), min_size=len(pool), max_size=len(pool)))
    pods = [{"name": f"{name}-{j}", "partitions": []} for j in range(pod_count)]
    for partition, owner in zip(pool, owners, strict=True):
        pods[owner]["partitions"].append(_partition(draw, partition))
    for pod in pods:
        pod["partitions"] = draw(st.permutations(pod["partitions"]))
        if draw(st.booleans()):
            pod["resources"] = draw(resources())
    topics = draw(st.lists(TOPIC, min_size=2, max_size=2, unique=True))
    result = {
        "name": name,
        "executorImage": draw(IMAGE),
        "ioAddress": draw(ADDRESS),
        "inputTopic": topics[0],
        "outputTopic": topics[1],
        "pods": pods,
    }
    _maybe(draw, result, "ioImage", IMAGE)
    _maybe(draw, result, "stateImage", IMAGE)
    if known:
        result["inputPartitions"] = total
    return result


def _maybe(draw: st.DrawFn, target: dict[str, Any], key: str, values: st.SearchStrategy[Any]) -> None:
    """Sometimes sets ``key``, sometimes to null (which means "not set")."""
    choice = draw(st.sampled_from(["absent", "null", "set"]))
    if choice != "absent":
        target[key] = None if choice == "null" else draw(values)


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid manifest; entity names are unique, so pod names (``<entity>-<n>``) are too."""
    names = draw(st.lists(LABEL, max_size=4, unique=True))
    # Inputs are chosen per entity; two readers of one topic must agree on its size.
    entities = [draw(entity(name)) for name in names]
    _drop_conflicting_counts(entities)
    spec: dict[str, Any] = {"statefulEntities": entities}
    _maybe(draw, spec, "version", st.sampled_from(["v1", "2.0.1", "release_7"]))
    _maybe(draw, spec, "imagePullPolicy", st.sampled_from(["Always", "IfNotPresent", "Never"]))
    _maybe(draw, spec, "historyLimit", st.integers(1, 100))
    secrets = st.lists(LABEL, unique=True, max_size=3).map(lambda names: [{"name": n} for n in names])
    _maybe(draw, spec, "imagePullSecrets", secrets)
    return {
        "apiVersion": "invokeroperator.invoker.io/v1alpha1",
        "kind": "InvokerDeployment",
        "metadata": {"name": draw(LABEL)},
        "spec": spec,
    }


def _drop_conflicting_counts(entities: list[dict[str, Any]]) -> None:
    """Gives a reader its own topic when it disagrees with an earlier one on the count."""
    counts: dict[str, int] = {}
    for item in entities:
        count = item.get("inputPartitions")
        if count is not None and counts.setdefault(item["inputTopic"], count) != count:
            item["inputTopic"] = f"{item['inputTopic']}-{item['name']}"
            counts[item["inputTopic"]] = count
            if item["inputTopic"] == item["outputTopic"]:
                item["outputTopic"] += "x"
