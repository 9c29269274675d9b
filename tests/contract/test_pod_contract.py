"""The pod contract (``podcontract``) is one agreement: what convert writes is what the executor
reads, field for field, and nothing is written that nobody reads.

The round trip goes through the real parts: convert's ConfigMap, materialised the way the
kubelet mounts it, read by the executor's own config watcher; the environment convert gives a
container is the one the executor's ``PodEnv`` accepts. Pure logic: no server is needed.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from executor.config_watcher import ConfigWatcher
from executor.env import PodEnv
from orchestrator import load_manifest_yaml, parse_deployment
from orchestrator.reconciler.convert import ConvertContext, convert
from orchestrator.reconciler.topics import output_partitions
from orchestrator.spec.model import DeploymentSpec
from podcontract import env as names
from podcontract.files import MAIN_FILE, ConfigError, MainConfig, PodConfig, pod_file
from podcontract.volume import ConfigMapDir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "word-count.yaml"
STATE_URL = "redis://127.0.0.1:16379/6"


@pytest.fixture
def spec() -> DeploymentSpec:
    return parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))


def config_maps(spec: DeploymentSpec, outputs: dict[str, int] | None = None) -> dict[str, dict[str, str]]:
    """Each entity's ConfigMap data, as convert makes it, by entity."""
    ctx = ConvertContext("team-a", "r1", STATE_URL, {"splitter": 4, "totals": 2}, None, outputs or {})
    return {
        m["metadata"]["labels"]["invoker.io/entity"]: m["data"]
        for m in convert(spec, ctx)
        if m["kind"] == "ConfigMap"
    }


def test_what_convert_writes_the_executor_reads_through_a_mounted_config_map(spec, tmp_path) -> None:
    outputs = output_partitions(spec)
    for entity in spec.entities:
        data = config_maps(spec, outputs)[entity.name]
        mount = tmp_path / entity.name
        ConfigMapDir(mount).write(data)
        for pod in entity.pods:
            snapshot = ConfigWatcher(mount, pod.name, api=None).load()
            assert snapshot.main == MainConfig(
                deployment=spec.name,
                entity=entity.name,
                bootstrap_servers=entity.io_address,
                input_topic=entity.input_topic,
                output_topic=entity.output_topic,
                output_partitions=outputs[entity.name],
                state_url=STATE_URL,
            )
            assert snapshot.pod == PodConfig(
                pod.name, frozenset(pod.partitions), 4 if entity.name == "splitter" else 2
            )


def test_the_output_partitions_are_written_the_readers_count_or_the_sinks_own(spec) -> None:
    """``words`` is what totals reads (its pods own 0-5: 6 partitions); ``counts`` is a sink,
    created with totals' own input count (6)."""
    assert output_partitions(spec) == {"splitter": 6, "totals": 6}
    mains = {
        entity: json.loads(data[MAIN_FILE])
        for entity, data in config_maps(spec, output_partitions(spec)).items()
    }
    assert {entity: main["outputPartitions"] for entity, main in mains.items()} == {
        "splitter": 6,
        "totals": 6,
    }


class Recording(dict):
    """A decoded JSON object that remembers which keys the parser looked up."""

    def __init__(self, data: dict[str, Any], read: set[str], prefix: str = "") -> None:
        super().__init__(
            {k: Recording(v, read, f"{prefix}{k}.") if isinstance(v, dict) else v for k, v in data.items()}
        )
        self.read, self.prefix = read, prefix

    def __getitem__(self, key: str) -> Any:
        self.read.add(self.prefix + key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(self.prefix + key)
        return super().get(key, default)


def keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    found = set()
    for key, value in data.items():
        found.add(prefix + key)
        if isinstance(value, dict):
            found |= keys(value, f"{prefix}{key}.")
    return found


@pytest.mark.parametrize("entity", ["splitter", "totals"])
def test_every_key_convert_writes_is_read_by_the_parser(spec, entity) -> None:
    data = config_maps(spec, output_partitions(spec))[entity]
    for name, text in data.items():
        written, read = json.loads(text), set()
        if name == MAIN_FILE:
            MainConfig.parse(Recording(written, read))
        else:
            PodConfig.parse(Recording(written, read), name)
        assert keys(written) - read == set(), (name, keys(written) - read)


def executor_attributes() -> set[str]:
    """Every ``x.name`` the executor's own modules use."""
    used = set()
    for path in (ROOT / "executor").glob("*.py"):
        used |= {
            node.attr for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Attribute)
        }
    return used


@pytest.mark.parametrize("shape", [MainConfig, PodConfig])
def test_every_field_of_the_contract_is_used_by_the_executor(shape) -> None:
    unused = {f.name for f in dataclasses.fields(shape)} - executor_attributes()
    assert unused == set(), f"{shape.__name__} fields the executor never reads: {sorted(unused)}"


def test_the_shapes_survive_their_own_json() -> None:
    main = MainConfig("d", "e", "k:9092", "in", "out", 3, "redis://r/0")
    assert MainConfig.parse(json.loads(main.to_json())) == main
    assert MainConfig.parse(json.loads(dataclasses.replace(main, output_partitions=None).to_json())) == (
        dataclasses.replace(main, output_partitions=None)
    )
    pod = PodConfig("e-0", frozenset({5, 0, 12}), 9)
    assert PodConfig.parse(json.loads(pod.to_json()), pod_file("e-0")) == pod
    assert pod.to_json() == json.dumps(
        {"epoch": 9, "partitions": [0, 5, 12], "pod": "e-0"}, separators=(",", ":")
    )


MAIN = json.loads(MainConfig("d", "e", "k:9092", "in", "out", None, "redis://r/0").to_json())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "main.json: expected an object"),
        ({k: v for k, v in MAIN.items() if k != "entity"}, "main.json: missing field 'entity'"),
        ({**MAIN, "inputTopic": 5}, "main.json.inputTopic: expected <class 'str'>, got 5"),
        (
            {**MAIN, "stateBackend": {"kind": "memcached"}},
            "main.json.stateBackend.kind: only 'redis' is supported",
        ),
        ({**MAIN, "stateBackend": {"kind": "redis"}}, "main.json.stateBackend: missing field 'url'"),
        (
            {**MAIN, "outputPartitions": True},
            "main.json.outputPartitions: expected a positive integer or null",
        ),
    ],
)
def test_a_bad_main_json_is_refused_naming_the_file_and_field(data, message) -> None:
    with pytest.raises(ConfigError) as refused:
        MainConfig.parse(data)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("x", "p.json: expected an object"),
        ({"pod": "p", "epoch": 1}, "p.json: missing field 'partitions'"),
        ({"pod": "p", "epoch": 1, "partitions": ["x"]}, "p.json.partitions: expected integers, got ['x']"),
        ({"pod": "p", "epoch": 1, "partitions": [-1]}, "p.json.partitions: negative partition in [-1]"),
        ({"pod": "p", "epoch": True, "partitions": [1]}, "p.json.epoch: expected <class 'int'>, got True"),
    ],
)
def test_a_bad_pod_json_is_refused_naming_the_file_and_field(data, message) -> None:
    with pytest.raises(ConfigError) as refused:
        PodConfig.parse(data, "p.json")
    assert str(refused.value).startswith(message)


def test_the_environment_convert_gives_a_container_is_what_the_executor_reads(spec) -> None:
    ctx = ConvertContext("team-a", "r1", STATE_URL)
    workload = next(m for m in convert(spec, ctx) if m["kind"] == "Deployment")
    containers = workload["spec"]["template"]["spec"]["containers"]
    for container in containers:
        given = {item["name"]: item.get("value", "<downward API>") for item in container["env"]}
        env = PodEnv.from_environ(given)
        assert (str(env.config_dir), str(env.socket_dir), env.metrics_port) == (
            names.CONFIG_DIR,
            names.SOCKET_DIR,
            names.METRICS_PORT,
        )
        assert {env.udf_socket.name, env.state_socket.name} == {names.UDF_SOCKET, names.STATE_SOCKET}
        assert {names.CONFIG_MAP_ENV, names.POD_NAMESPACE} <= set(given)
    io = next(c for c in containers if c["name"] == "io")
    assert io["ports"][0]["containerPort"] == names.METRICS_PORT


def test_every_variable_docs_executor_md_lists_is_a_name_of_the_contract() -> None:
    text = (ROOT / "docs" / "executor.md").read_text()
    section = text.split("## Environment and configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", section, re.MULTILINE))
    defined = {value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)}
    assert {"POD_NAME", "INVOKER_UDF_RETRIES"} <= documented, section
    assert documented - defined == set(), "documented but not in podcontract.env"


def test_every_variable_convert_gives_a_container_is_read_by_the_executor(spec) -> None:
    sources = "\n".join(path.read_text() for path in (ROOT / "executor").glob("*.py"))
    constants = {value: key for key, value in vars(names).items() if key.isupper() and isinstance(value, str)}
    workload = next(
        m for m in convert(spec, ConvertContext("team-a", "r1", STATE_URL)) if m["kind"] == "Deployment"
    )
    for container in workload["spec"]["template"]["spec"]["containers"]:
        for item in container["env"]:
            assert item["name"] in constants, f"{item['name']} is not a name of podcontract.env"
            read = f"names.{constants[item['name']]}" in sources or f'"{item["name"]}"' in sources
            assert read, f"the executor never reads {item['name']}, which convert sets"
