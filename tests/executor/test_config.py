"""Config files and the kubelet-style watcher: consistent snapshots, atomic swaps, bad input."""

import json
import os

import pytest

from executor.config import ConfigError, parse_main, parse_pod
from executor.config_watcher import ConfigWatcher
from podcontract.volume import ConfigMapDir

MAIN = {
    "deployment": "sample",
    "entity": "word-count",
    "bootstrapServers": "127.0.0.1:9092",
    "inputTopic": "lines",
    "outputTopic": "words",
    "outputPartitions": None,
    "stateBackend": {"kind": "redis", "url": "redis://127.0.0.1:16379/0"},
}


def pod(partitions, epoch, name="wc-0"):
    return {"pod": name, "partitions": partitions, "epoch": epoch}


def test_main_json_parses_into_typed_fields():
    main = parse_main(MAIN)
    assert (main.entity, main.output_partitions, main.state_url) == (
        "word-count",
        None,
        MAIN["stateBackend"]["url"],
    )
    assert main.transactional_id(3) == "invoker.sample.word-count.lines.3"


def test_partitions_may_be_strings_as_in_the_custom_resource():
    assert parse_pod(pod(["0", 2], 4), "wc-0.json").partitions == frozenset({0, 2})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"inputTopic": 5}, "main.json.inputTopic"),
        ({"outputPartitions": 0}, "outputPartitions"),
        ({"stateBackend": {"kind": "memcached"}}, "stateBackend.kind"),
    ],
)
def test_a_bad_main_json_names_the_field(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_main({**MAIN, **change})


@pytest.mark.parametrize("bad", [pod(["x"], 1), pod([-1], 1), pod([1], True), {"pod": "wc-0", "epoch": 1}])
def test_a_bad_pod_json_is_rejected(bad):
    with pytest.raises(ConfigError):
        parse_pod(bad, "wc-0.json")


def test_the_watcher_reports_each_swap_once(tmp_path):
    cm = ConfigMapDir(tmp_path)
    cm.write({"main.json": MAIN, "wc-0.json": pod([0, 1], 1)})
    watcher = ConfigWatcher(tmp_path, "wc-0")
    assert watcher.load().pod.partitions == {0, 1}
    assert watcher.poll() is None
    cm.write({"main.json": MAIN, "wc-0.json": pod([2], 2)})
    snapshot = watcher.poll()
    assert (snapshot.pod.partitions, snapshot.pod.epoch) == ({2}, 2)
    assert watcher.poll() is None
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("..2")]) == 1  # old versions removed


def test_an_invalid_version_is_ignored_and_the_last_valid_one_kept(tmp_path):
    cm = ConfigMapDir(tmp_path)
    cm.write({"main.json": MAIN, "wc-0.json": pod([0], 1)})
    watcher = ConfigWatcher(tmp_path, "wc-0")
    watcher.load()
    cm.write({"main.json": "{not json", "wc-0.json": pod([1], 2)})
    assert watcher.poll() is None
    assert watcher.current.pod.partitions == {0}
    cm.write({"main.json": MAIN, "wc-0.json": pod([1], 3)})
    assert watcher.poll().pod.epoch == 3


def test_a_pod_removed_from_the_config_owns_nothing(tmp_path):
    cm = ConfigMapDir(tmp_path)
    cm.write({"main.json": MAIN, "wc-0.json": pod([0], 1), "wc-1.json": pod([1], 1, "wc-1")})
    watcher = ConfigWatcher(tmp_path, "wc-1")
    watcher.load()
    cm.write({"main.json": MAIN, "wc-0.json": pod([0, 1], 2)})
    assert watcher.poll().pod.partitions == frozenset()
    assert not (tmp_path / "wc-1.json").exists()


def test_files_are_read_through_one_version_even_while_it_is_replaced(tmp_path):
    cm = ConfigMapDir(tmp_path)
    cm.write({"main.json": MAIN, "wc-0.json": pod([0], 1)})
    watcher = ConfigWatcher(tmp_path, "wc-0")
    for epoch in range(2, 40):
        cm.write({"main.json": {**MAIN, "outputTopic": f"r{epoch}"}, "wc-0.json": pod([epoch % 6], epoch)})
        snapshot = watcher.poll()
        assert snapshot.main.output_topic == f"r{snapshot.pod.epoch}"


def test_a_plain_directory_works_for_development(tmp_path):
    (tmp_path / "main.json").write_text(json.dumps(MAIN))
    (tmp_path / "wc-0.json").write_text(json.dumps(pod([0], 1)))
    watcher = ConfigWatcher(tmp_path, "wc-0")
    assert watcher.load().pod.epoch == 1
    (tmp_path / "wc-0.json").write_text(json.dumps(pod([0, 1], 22)))
    os.utime(tmp_path / "wc-0.json", ns=(1, 1))
    assert watcher.poll().pod.epoch == 22


def test_tuning_reads_milliseconds_and_rejects_nonsense():
    from executor.env import EnvError, PodEnv, Tuning

    assert Tuning.from_environ({"INVOKER_BATCH_MAX_MS": "20"}).batch_max_seconds == 0.02
    lingering = Tuning.from_environ({"INVOKER_BATCH_LINGER_MS": "500", "INVOKER_BATCH_MIN_RECORDS": "0"})
    assert (lingering.batch_linger_seconds, lingering.batch_min_records) == (0.5, 0)
    with pytest.raises(EnvError, match="INVOKER_BATCH_LINGER_MS"):
        Tuning.from_environ({"INVOKER_BATCH_LINGER_MS": "-1"})
    with pytest.raises(EnvError, match="INVOKER_HANDOFF_GRACE_MS"):
        Tuning.from_environ({"INVOKER_HANDOFF_GRACE_MS": "soon"})
    with pytest.raises(EnvError, match="POD_NAME"):
        PodEnv.from_environ({"INVOKER_CONFIG_DIR": "/c", "INVOKER_SOCKET_DIR": "/s"})
