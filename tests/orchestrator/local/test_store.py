"""The state directory: whole-file writes, names that cannot escape it, and the change token."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.local.store import StateDir, StateDirError, read_json, template_hash, write_json


def test_a_write_replaces_the_whole_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.json"
    write_json(target, {"n": 1})
    write_json(target, {"n": 2})
    assert read_json(target) == {"n": 2}
    assert [p.name for p in target.parent.iterdir()] == ["b.json"]


def test_reading_a_missing_file_is_none_and_a_broken_one_names_it(tmp_path: Path) -> None:
    assert read_json(tmp_path / "absent.json") is None
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(StateDirError, match=r"broken\.json: not JSON"):
        read_json(tmp_path / "broken.json")


@pytest.mark.parametrize("name", ["../escape", "a/b", "UPPER", "", "-leading"])
def test_it_refuses_names_that_are_not_kubernetes_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(StateDirError, match="not a valid Kubernetes object name"):
        StateDir(tmp_path).object_path("default", "ConfigMap", name)


def test_it_refuses_kinds_that_are_not_kinds(tmp_path: Path) -> None:
    with pytest.raises(StateDirError, match="not a valid Kubernetes kind"):
        StateDir(tmp_path).object_path("default", "../x", "name")


def test_every_object_write_and_removal_moves_the_change_token(tmp_path: Path) -> None:
    store = StateDir(tmp_path)
    obj = {"kind": "ConfigMap", "metadata": {"name": "cm"}}
    tokens = [store.change_token()]
    store.write_object("default", obj)
    tokens.append(store.change_token())
    store.write_object("default", obj)
    tokens.append(store.change_token())
    store.remove_object("default", "ConfigMap", "cm")
    tokens.append(store.change_token())
    assert len(set(tokens)) == 4
    assert store.list_objects("default", "ConfigMap") == []


def test_socket_directories_stay_short_enough_for_unix_sockets(tmp_path: Path) -> None:
    deep = StateDir(tmp_path / ("x" * 120))
    socket = deep.socket_dir("0f" * 16) / "state.sock"
    assert len(str(socket)) < 107


def test_the_template_hash_ignores_key_order_and_sees_any_change() -> None:
    assert template_hash({"a": 1, "b": [1, 2]}) == template_hash({"b": [1, 2], "a": 1})
    assert template_hash({"a": 1}) != template_hash({"a": 2})
