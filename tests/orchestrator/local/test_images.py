"""The image map: the project's images run their modules; anything else must be mapped."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from orchestrator.local.images import (
    ImageMapError,
    ImageNotRunnableError,
    builtin_map,
    load_image_map,
    repository,
)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("invoker/io-sidecar:0.1", ("-m", "executor.io_sidecar")),
        ("invoker/state-sidecar:0.1", ("-m", "executor.state_sidecar")),
        ("invoker/executor-word-count:0.1", ("-m", "executor.udf_host", "executor.samples.word_count:udf")),
        ("invoker/executor-sum", ("-m", "executor.udf_host", "executor.samples.sum:udf")),
        (
            "ghcr.io/acme/invoker/executor-sum:2@sha256:" + "a" * 64,
            ("-m", "executor.udf_host", "executor.samples.sum:udf"),
        ),
    ],
)
def test_the_projects_images_run_their_modules_with_this_interpreter(image: str, expected: tuple) -> None:
    command = builtin_map().resolve(image)
    assert command.argv == (sys.executable, *expected)


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        ("a/b:1", "a/b"),
        ("registry:5000/a/b", "registry:5000/a/b"),
        ("registry:5000/a/b:2", "registry:5000/a/b"),
        ("a/b@sha256:" + "0" * 64, "a/b"),
        ("b", "b"),
    ],
)
def test_the_repository_drops_tag_and_digest_but_not_a_registry_port(image: str, repo: str) -> None:
    assert repository(image) == repo


def test_an_unknown_image_is_not_runnable_and_the_error_says_how_to_map_it() -> None:
    with pytest.raises(ImageNotRunnableError, match=r"'acme/udf:1'.*INVOKER_LOCAL_IMAGES"):
        builtin_map().resolve("acme/udf:1")


def test_an_override_file_maps_users_images_and_wins_over_the_built_in_entries(tmp_path: Path) -> None:
    table = {
        "acme/udf": {"command": ["{python}", "-m", "acme.host"], "env": {"A": "1"}, "cwd": "/srv"},
        "invoker/io-sidecar:dev": ["/usr/local/bin/my-io"],
    }
    (tmp_path / "images.json").write_text(json.dumps(table))
    images = load_image_map(["", str(tmp_path / "images.json")])
    user = images.resolve("acme/udf:1.2")
    assert (user.argv, dict(user.env), str(user.cwd)) == (
        (sys.executable, "-m", "acme.host"),
        {"A": "1"},
        "/srv",
    )
    assert images.resolve("invoker/io-sidecar:dev").argv == ("/usr/local/bin/my-io",)
    assert images.resolve("invoker/io-sidecar:0.1").argv[1:] == ("-m", "executor.io_sidecar")


def test_a_later_table_wins_over_an_earlier_one() -> None:
    images = load_image_map(['{"acme/*": ["first"]}', '{"acme/udf": ["second"]}'])
    assert images.resolve("acme/udf:1").argv == ("second",)
    assert images.resolve("acme/other:1").argv == ("first",)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[1]", "expected a JSON object"),
        ("{", "not JSON"),
        ('{"a": []}', "non-empty list of strings"),
        ('{"a": {"command": ["x"], "env": {"A": 1}}}', "env must be an object of strings"),
        ("/nonexistent/images.json", "cannot read"),
    ],
)
def test_a_bad_table_is_refused_with_a_clear_message(source: str, message: str) -> None:
    with pytest.raises(ImageMapError, match=message):
        load_image_map([source])
