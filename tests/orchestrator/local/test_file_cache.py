"""The local backend's cache: files are read again only when they change."""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator import parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.local.store import FileCache, write_json
from orchestrator.reconciler.reconcile import Target, reconcile
from tests.orchestrator.local.helpers import manifest


def age(path: Path, seconds: float = 5.0) -> None:
    """Moves a file's (or directory's) modification time back, as if written a while ago."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


def test_an_unchanged_file_is_read_once(tmp_path: Path) -> None:
    cache, path = FileCache(), tmp_path / "a.json"
    write_json(path, {"v": 1})
    age(path)
    assert [cache.read(path), cache.read(path), cache.read(path)] == [{"v": 1}] * 3
    assert cache.reads == 1


def test_a_rewrite_is_seen_even_with_the_same_size_and_timestamp(tmp_path: Path) -> None:
    cache, path = FileCache(), tmp_path / "a.json"
    write_json(path, {"v": 1})
    assert cache.read(path) == {"v": 1}
    mtime = path.stat().st_mtime_ns
    write_json(path, {"v": 2})  # same size; force the very same modification time
    os.utime(path, ns=(mtime, mtime))
    assert cache.read(path) == {"v": 2}


def test_an_in_place_rewrite_with_the_same_size_and_timestamp_is_seen(tmp_path: Path) -> None:
    """Same inode, size and modification time: the change time still differs. (Two writes in
    one clock tick could share even that; FileCache re-checks such recent entries, which no
    test can force deterministically.)"""
    cache, path = FileCache(), tmp_path / "a.json"
    path.write_text('{"v": 1}')
    assert cache.read(path) == {"v": 1}
    st = path.stat()
    path.write_text('{"v": 2}')  # in place: the inode stays
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.read(path) == {"v": 2}


def test_a_listing_follows_files_added_and_removed(tmp_path: Path) -> None:
    cache = FileCache()
    write_json(tmp_path / "a.json", {"n": "a"})
    assert cache.listing(tmp_path) == [{"n": "a"}]
    write_json(tmp_path / "b.json", {"n": "b"})
    assert cache.listing(tmp_path) == [{"n": "a"}, {"n": "b"}]
    (tmp_path / "a.json").unlink()
    assert cache.listing(tmp_path) == [{"n": "b"}]
    for path in (tmp_path / "b.json", tmp_path):
        age(path)  # (this changes their stat: the next listing reads them once more)
    assert cache.listing(tmp_path) == [{"n": "b"}]
    reads = cache.reads
    assert cache.listing(tmp_path) == [{"n": "b"}]  # an unchanged directory: not even a stat per file
    assert cache.listing(tmp_path) == [{"n": "b"}]
    assert cache.reads == reads


def test_a_no_op_pass_reads_no_file(state_dir: Path) -> None:
    backend = LocalBackend(state_dir)
    target = Target(parse_deployment(manifest(pods={"e-0": [0], "e-1": [1]})), "rev-1", 1, "redis://r/0")
    assert reconcile(target, backend).writes > 0
    for path in state_dir.rglob("*"):
        age(path)  # as a moment later: nothing is racy any more
    reconcile(target, backend)  # reads back what the first pass wrote
    again = reconcile(target, backend)
    assert (again.reads, again.writes, again.changes) == (0, 0, [])
