"""The live instance's state, recorded before `./dev test` and compared after it.

`./dev up` runs one instance per machine: its processes' pid files are in `$INVOKER_RUN/app`, its
database is the clone's `data/db.sqlite3`, and its local runtime runs the pods of the objects in
`data/local-runtime` (or wherever the running runtime's `--state-dir` points). The test suite must
change none of it, so `./dev test` takes a snapshot first and checks it afterwards; the check
fails naming every difference. What is compared is what a test could have changed, not what the
instance changes by itself: the app processes and whether each runs, the deployments and their
spec version (`resource_version`), the desired objects (content without `status` and
`resourceVersion`, which the instance's own reconciles rewrite) and the set of pods. Pod pids
are not compared: the runtime restarts a crashed pod under a new pid.

It imports nothing from the project (no Django) and opens the database read-only.

    python scripts/dev/live_guard.py snapshot --root ROOT --run RUN > before.json
    python scripts/dev/live_guard.py check before.json --root ROOT --run RUN
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SECTIONS = {
    "processes": "app process",
    "deployments": "deployment",
    "objects": "object",
    "pods": "pod",
}
#: Object fields the live instance rewrites on its own (its reconciles' status writes).
VOLATILE_METADATA = ("resourceVersion",)


# --- Where the live instance keeps its state --------------------------------------------------
def pid_state(pidfile: Path) -> str:
    """``running`` or ``crashed`` (a pid file whose process is gone), as ./dev status says."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return "crashed"
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "crashed"
    return "crashed" if state == "Z" else "running"


def _process(pidfile: Path) -> tuple[list[str], Path, dict[str, str]] | None:
    """(argv, cwd, environment) of a pid file's running process, or None."""
    if pid_state(pidfile) != "running":
        return None
    proc = Path(f"/proc/{pidfile.read_text().strip()}")
    try:
        argv = proc.joinpath("cmdline").read_bytes().decode(errors="replace").split("\0")
        cwd = Path(os.readlink(proc / "cwd"))
        raw = proc.joinpath("environ").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    environ = dict(item.split("=", 1) for item in raw if "=" in item)
    return argv, cwd, environ


def _option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _sqlite_path(url: str) -> Path | None:
    return Path(url.split("sqlite:///", 1)[1]) if url.startswith("sqlite:///") else None


def places(root: Path, run: Path) -> dict[str, list[str]]:
    """The state directories and databases of a live instance: the clone's defaults, and those
    of the instance whose processes run (which may be another clone's)."""
    state_dirs = {root / "data" / "local-runtime"}
    databases = {root / "data" / "db.sqlite3"}
    unchecked: set[str] = set()
    app = run / "app"
    runtime = _process(app / "runtime.pid")
    if runtime:
        argv, cwd, _ = runtime
        state_dir = _option(argv, "--state-dir")
        if state_dir:
            state_dirs.add(cwd / state_dir)
    web = _process(app / "web.pid")
    if web:
        _, cwd, environ = web
        url = environ.get("DATABASE_URL", "")
        data_dir = Path(environ.get("INVOKER_DATA_DIR", cwd / "data"))
        if not url:
            databases.add(cwd / data_dir / "db.sqlite3")
        elif _sqlite_path(url):
            databases.add(_sqlite_path(url))
        else:
            unchecked.add(f"the live database is not SQLite ({url.split('@')[-1]}): its deployments")
    return {
        "state_dirs": sorted(str(p) for p in state_dirs),
        "databases": sorted(str(p) for p in databases),
        "unchecked": sorted(unchecked),
    }


# --- What is there ------------------------------------------------------------------------------
def object_hash(obj: dict[str, Any]) -> str:
    """A hash of what a reconcile wants: the object without its status and resource version."""
    kept = {key: value for key, value in obj.items() if key != "status"}
    kept["metadata"] = {
        key: value for key, value in obj.get("metadata", {}).items() if key not in VOLATILE_METADATA
    }
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


def _json_files(directory: Path) -> Iterable[Path]:
    if directory.is_dir():
        yield from sorted(p for p in directory.rglob("*.json") if not p.name.startswith("."))


def objects(state_dir: Path) -> dict[str, str]:
    """``STATE:namespace/Kind/name`` -> content hash, for every desired object."""
    found = {}
    base = state_dir / "objects"
    for path in _json_files(base):
        try:  # whole files only (the store writes with os.replace); one may go while listed
            found[f"{state_dir}:{path.relative_to(base).with_suffix('')}"] = object_hash(
                json.loads(path.read_text())
            )
        except FileNotFoundError:
            continue
    return found


def pods(state_dir: Path) -> dict[str, str]:
    """``STATE:namespace/Deployment`` of every pod the runtime reports (names, not pids)."""
    base = state_dir / "pods"
    return {f"{state_dir}:{path.relative_to(base).with_suffix('')}": "" for path in _json_files(base)}


def deployments(database: Path) -> dict[str, str]:
    """``DB:name`` -> spec version, read-only; an unmigrated or missing database has none."""
    if not database.is_file():
        return {}
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT name, resource_version FROM topology_editor_deployment").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return {}
        raise
    finally:
        conn.close()
    return {f"{database}:{name}": f"resourceVersion {version}" for name, version in rows}


def processes(run: Path) -> dict[str, str]:
    """App process name -> running | crashed, from `$INVOKER_RUN/app/*.pid`."""
    return {pidfile.stem: pid_state(pidfile) for pidfile in sorted((run / "app").glob("*.pid"))}


def snapshot(root: Path, run: Path, extra: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Everything the suite must leave as it is; ``extra`` adds the places of an earlier snapshot."""
    where = places(root, run)
    for key in ("state_dirs", "databases", "unchecked"):
        where[key] = sorted(set(where[key]) | set((extra or {}).get(key, [])))
    state = {
        "places": where,
        "processes": processes(run),
        "deployments": {},
        "objects": {},
        "pods": {},
    }
    for database in where["databases"]:
        state["deployments"].update(deployments(Path(database)))
    for state_dir in where["state_dirs"]:
        state["objects"].update(objects(Path(state_dir)))
        state["pods"].update(pods(Path(state_dir)))
    return state


# --- Comparing ----------------------------------------------------------------------------------
def is_live(state: dict[str, Any]) -> bool:
    running = any(value == "running" for value in state["processes"].values())
    return running or any(state[section] for section in ("deployments", "objects", "pods"))


def describe(state: dict[str, Any]) -> str:
    if not is_live(state):
        return "no live instance (" + ", ".join(state["places"]["state_dirs"]) + " empty, no app process)"
    counts = ", ".join(f"{len(state[s])} {label}(s)" for s, label in SECTIONS.items())
    return f"live instance: {counts}"


def _was(value: str, prefix: str = "") -> str:
    return f" ({prefix}{value})" if value else ""


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Every difference, one line each, naming the section and the item."""
    changes = []
    for section, label in SECTIONS.items():
        old, new = before.get(section, {}), after.get(section, {})
        changes += [f"{label} appeared: {key}{_was(new[key])}" for key in sorted(new.keys() - old.keys())]
        changes += [
            f"{label} disappeared: {key}{_was(old[key], 'was ')}" for key in sorted(old.keys() - new.keys())
        ]
        changes += [
            f"{label} changed: {key} ({old[key]} -> {new[key]})"
            for key in sorted(old.keys() & new.keys())
            if old[key] != new[key]
        ]
    return changes


# --- Command line -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="live_guard.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["snapshot", "check"])
    parser.add_argument("before", nargs="?", type=Path, help="check: the snapshot taken before")
    parser.add_argument("--root", type=Path, required=True, help="the clone (INVOKER_ROOT)")
    parser.add_argument("--run", type=Path, required=True, help="the run directory (INVOKER_RUN)")
    args = parser.parse_args(argv)
    if args.action == "snapshot":
        state = snapshot(args.root, args.run)
        print(json.dumps(state, indent=1, sort_keys=True))
        print(f"live guard: {describe(state)}", file=sys.stderr)
        return 0
    if args.before is None:
        parser.error("check needs the snapshot taken before")
    before = json.loads(args.before.read_text())
    after = snapshot(args.root, args.run, extra=before["places"])
    for item in after["places"]["unchecked"]:
        print(f"live guard: not checked: {item}", file=sys.stderr)
    changes = compare(before, after)
    if changes:
        print("live guard: the test suite changed the live instance:", file=sys.stderr)
        for change in changes:
            print(f"  {change}", file=sys.stderr)
        return 1
    print(f"live guard: unchanged; {describe(after)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
