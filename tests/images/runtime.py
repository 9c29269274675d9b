"""Runs the images `./dev images` built with a real OCI runtime, daemonless: the OCI archive is
unpacked by umoci into a runtime bundle and started by runc, as containerd would on a node.

Each container gets the chart's container security: a read-only root filesystem, an empty
tmpfs on /tmp (the chart's emptyDir), no capabilities, no new privileges, the image's own user,
and a network namespace of its own holding only loopback. Nothing it serves is reachable from
outside that namespace; the tests speak to it by entering the namespace (`nsenter --net`) or
through Unix sockets in a bind-mounted directory, like the pod's shared emptyDir.

An unpacked image is kept under `$INVOKER_CACHE/images/rootfs/NAME-KEY` (keyed like the archive,
so a rebuilt image is unpacked again) and shared read-only by every container of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("INVOKER_CACHE", Path.home() / ".cache" / "invoker"))
IMAGES_DIR = CACHE / "images"
MANIFEST = IMAGES_DIR / "images.json"
#: Where a container sees the bind-mounted directories (inside its /tmp tmpfs, so runc creates
#: the mount points there and never in the shared, read-only root filesystem).
SOCKET_DIR = "/tmp/invoker/sockets"
CONFIG_DIR = "/tmp/invoker/config"


class ImagesMissingError(RuntimeError):
    """The images, their manifest or the tools that run them are not there."""


def current_images() -> dict[str, dict[str, str]]:
    """name -> {ref, archive} of the images the repository's current sources build, as
    scripts/services/images.sh computes them (the same keys, so there is one definition)."""
    script = (
        "set -euo pipefail; source scripts/lib.sh; source scripts/services/images.sh; "
        "for n in $(_images_names); do "
        'printf "%s\\t%s\\t%s\\n" "$n" "$(images_ref $n)" "$(images_archive $n)"; done'
    )
    out = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return {
        name: {"ref": ref, "archive": archive}
        for name, ref, archive in (line.split("\t") for line in out.splitlines())
    }


def read_archive(archive: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(index.json, image config) of a single-image OCI archive."""
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))
        (descriptor,) = index["manifests"]
        manifest = json.load(tar.extractfile(_blob(descriptor["digest"])))
        config = json.load(tar.extractfile(_blob(manifest["config"]["digest"])))
    return index, config


def _blob(digest: str) -> str:
    algorithm, hexdigest = digest.split(":")
    return f"blobs/{algorithm}/{hexdigest}"


def unpacked(name: str, ref: str, archive: Path) -> Path:
    """The runtime bundle (config.json + rootfs) of an archive, unpacked once per key."""
    key = archive.name.removesuffix(".oci.tar").removeprefix(f"{name}-")
    base = IMAGES_DIR / "rootfs"
    bundle = base / f"{name}-{key}"
    if (bundle / "config.json").is_file():
        return bundle
    base.mkdir(parents=True, exist_ok=True)
    stage = base / f".{name}-{key}.{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "layout").mkdir(parents=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(stage / "layout", filter="tar")
        _run(["umoci", "unpack", "--image", f"{stage / 'layout'}:{ref}", str(stage / "bundle")], 600)
        (stage / "bundle").rename(bundle)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    for old in base.glob(f"{name}-*"):
        if old != bundle and old.name.removeprefix(f"{name}-").isalnum():
            shutil.rmtree(old, ignore_errors=True)
    return bundle


def runc(state_root: Path, *args: str) -> subprocess.CompletedProcess:
    """runc with the tests' own state directory (never the node's containerd's)."""
    return subprocess.run(["runc", "--root", str(state_root), *args], capture_output=True, text=True)


def _run(argv: list[str], timeout: float) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


@dataclass
class Exited:
    """A container that ran to its end."""

    code: int
    stdout: str
    stderr: str


@dataclass
class Container:
    """A container running in the background; `stop()` sends SIGTERM and waits for its exit."""

    id: str
    state_root: Path
    process: subprocess.Popen
    logs: Path
    exit_code: int | None = field(default=None)

    @property
    def pid(self) -> int:
        state = json.loads(_run(["runc", "--root", str(self.state_root), "state", self.id], 30))
        return int(state["pid"])

    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return (self.logs / "stdout").read_text() + (self.logs / "stderr").read_text()

    def in_netns(self, code: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Runs Python `code` (this interpreter, not the image's) in the container's network namespace."""
        return subprocess.run(
            ["nsenter", f"--net=/proc/{self.pid}/ns/net", sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code once the container's process has ended."""
        if self.running():
            runc(self.state_root, "kill", self.id, "TERM")
        try:
            self.exit_code = self.process.wait(timeout=timeout)
        finally:
            self.remove()
        return self.exit_code

    def remove(self) -> None:
        if self.running():
            runc(self.state_root, "kill", self.id, "KILL")
            self.process.wait(timeout=30)
        runc(self.state_root, "delete", "--force", self.id)


class Runtime:
    """Makes a bundle per container over the shared unpacked root filesystem and runs it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.state_root = workdir / "runc"
        self.state_root.mkdir(parents=True, exist_ok=True)

    def _bundle(
        self,
        image: Path,
        args: list[str] | None,
        env: dict[str, str],
        binds: dict[str, Path],
    ) -> tuple[str, Path]:
        cid = f"invoker-test-{uuid.uuid4().hex[:12]}"
        bundle = self.workdir / cid
        bundle.mkdir()
        config = json.loads((image / "config.json").read_text())
        config["root"] = {"path": str((image / "rootfs").resolve()), "readonly": True}
        process = config["process"]
        process["terminal"] = False
        process["noNewPrivileges"] = True
        process["capabilities"] = {kind: [] for kind in process.get("capabilities", {})}
        if args is not None:
            process["args"] = args
        process["env"] = [*process["env"], *(f"{k}={v}" for k, v in env.items())]
        tmpfs = {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}
        config["mounts"].append({**tmpfs, "options": ["nosuid", "nodev", "mode=1777"]})
        for destination, source in binds.items():
            bind = {"destination": destination, "type": "bind", "source": str(source)}
            config["mounts"].append({**bind, "options": ["rbind", "rw"]})
        (bundle / "config.json").write_text(json.dumps(config))
        return cid, bundle

    def run(
        self,
        image: Path,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        binds: dict[str, Path] | None = None,
        timeout: float = 120,
    ) -> Exited:
        """Runs a container to its end."""
        cid, bundle = self._bundle(image, args, env or {}, binds or {})
        try:
            result = subprocess.run(
                ["runc", "--root", str(self.state_root), "run", "--bundle", str(bundle), cid],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        finally:
            runc(self.state_root, "delete", "--force", cid)
        return Exited(result.returncode, result.stdout, result.stderr)

    def start(
        self,
        image: Path,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        binds: dict[str, Path] | None = None,
    ) -> Container:
        """Starts a container in the background and returns once runc reports it running."""
        cid, bundle = self._bundle(image, args, env or {}, binds or {})
        with open(bundle / "stdout", "w") as out, open(bundle / "stderr", "w") as err:
            process = subprocess.Popen(
                ["runc", "--root", str(self.state_root), "run", "--bundle", str(bundle), cid],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        container = Container(cid, self.state_root, process, bundle)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not container.running():
                raise RuntimeError(f"container {cid} exited at once: {container.output()}")
            state = runc(self.state_root, "state", cid)
            if state.returncode == 0 and json.loads(state.stdout)["status"] == "running":
                return container
            time.sleep(0.05)
        container.remove()
        raise RuntimeError(f"container {cid} did not start within 30 s: {container.output()}")
