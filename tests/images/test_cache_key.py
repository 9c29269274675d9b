"""The image cache key of scripts/services/images.sh: it must change with everything an image is
built from and with nothing else, or `./dev images` would ship stale images or rebuild for
nothing. Pure logic (bash and files, no build), on a copy of the parts of the repository the
io sidecar's image is made of.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.chart.test_dockerfiles import DOCKERFILES, instructions
from tests.images.runtime import ROOT

SCRIPTS = f"source {ROOT}/scripts/lib.sh; source {ROOT}/scripts/services/images.sh"


def bash(root: Path, cache: Path, script: str) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cache),
        "INVOKER_ROOT": str(root),
        "INVOKER_CACHE": str(cache),
    }
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail; {SCRIPTS}; {script}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "executor" / "docker").mkdir(parents=True)
    for relative in (".dockerignore", "requirements.txt", "executor/docker/io.Dockerfile", "README.md"):
        shutil.copy(ROOT / relative, root / relative)
    for package in ("executor", "podcontract"):
        (root / package).mkdir(exist_ok=True)
        for source in (ROOT / package).glob("*.py"):
            shutil.copy(source, root / package / source.name)
    return root


def io_ref(tree: Path, tmp_path: Path, extra: str = "") -> str:
    return bash(tree, tmp_path / "cache", f"{extra} images_ref io-sidecar")


def test_the_key_follows_what_the_image_is_built_from(tree, tmp_path) -> None:
    first = io_ref(tree, tmp_path)
    assert first.startswith("localhost/invoker/io-sidecar:")
    assert io_ref(tree, tmp_path) == first, "the key must be deterministic"

    # Not built from: files the Dockerfile does not COPY, bytecode .dockerignore drops.
    (tree / "README.md").write_text("changed")
    (tree / "executor" / "__pycache__").mkdir()
    (tree / "executor" / "__pycache__" / "env.cpython-311.pyc").write_bytes(b"\0")
    assert io_ref(tree, tmp_path) == first

    seen = {first}
    for path, change in [
        ("executor/env.py", "# a change to a copied source\n"),
        ("executor/new_module.py", "X = 1\n"),
        ("podcontract/files.py", "# a change to the pod contract\n"),
        ("requirements.txt", "# a new pin\n"),
        ("executor/docker/io.Dockerfile", "# a change to the Dockerfile\n"),
        (".dockerignore", "something\n"),
    ]:
        with open(tree / path, "a") as file:
            file.write(change)
        ref = io_ref(tree, tmp_path)
        assert ref not in seen, f"changing {path} must change the key"
        seen.add(ref)

    # The base's recipe is part of every image's key.
    other_base = io_ref(tree, tmp_path, "IMAGES_BASE_PACKAGES=python3,python3-venv,curl;")
    assert other_base not in seen


def test_the_udf_targets_and_images_have_keys_of_their_own(tmp_path) -> None:
    refs = bash(ROOT, tmp_path / "cache", "for n in $(_images_names); do images_ref $n; done").split()
    assert refs[0] == "localhost/invoker/python:3.11-bookworm"
    tags = [ref.rsplit(":", 1)[1] for ref in refs[1:]]
    assert len(set(tags)) == len(tags) == 5


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=[p.name for p in DOCKERFILES])
def test_the_key_reads_exactly_the_copy_sources(dockerfile, tmp_path) -> None:
    """The script's COPY parser agrees with the Dockerfile checks' (tests/chart)."""
    expected = [
        source
        for keyword, arguments in instructions(dockerfile)
        if keyword in ("COPY", "ADD") and "--from=" not in arguments
        for source in [p for p in shlex.split(arguments) if not p.startswith("--")][:-1]
    ]
    relative = dockerfile.relative_to(ROOT)
    listed = bash(ROOT, tmp_path / "cache", f"_images_copy_sources {relative}").splitlines()
    assert listed == expected
    assert "requirements.txt" in listed
