#!/usr/bin/env python3
"""Packs a directory into a single-layer OCI image archive that `ctr images import` accepts.

Why: there is no registry and no Docker daemon here, and the node's two tiny images (the pause
sandbox and the busybox test image) are one static binary each; a builder would be heavier than
the image. Only the standard library is used, because scripts/services/node.sh runs this before
the project's virtualenv exists. The archive is reproducible: same files in, same digest out
(owners root, mtimes zero, entries sorted), so the cache key can be the digest itself.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"


def _tar_info(path: Path, arcname: str) -> tarfile.TarInfo:
    """A TarInfo with everything that varies between machines (owner, time) zeroed."""
    info = tarfile.TarInfo(arcname)
    st = path.lstat()
    info.mode = st.st_mode & 0o7777
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    if path.is_symlink():
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
    elif path.is_dir():
        info.type = tarfile.DIRTYPE
    elif path.is_file():
        info.size = st.st_size
    else:
        raise SystemExit(f"oci_image: {path} is neither a file, a directory nor a symlink")
    return info


def layer_tar(rootfs: Path) -> bytes:
    """The rootfs as an uncompressed tar, entries sorted so the bytes are reproducible."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(rootfs.rglob("*")):
            info = _tar_info(path, path.relative_to(rootfs).as_posix())
            if info.isfile():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    return buf.getvalue()


def _blob(blobs: dict[str, bytes], data: bytes, media_type: str) -> dict:
    """Stores DATA under its digest and returns its OCI descriptor."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def image_archive(rootfs: Path, name: str, entrypoint: list[str], cmd: list[str], user: str) -> bytes:
    """The OCI image layout (oci-layout, index.json, blobs/) of ROOTFS as a tar, named NAME."""
    blobs: dict[str, bytes] = {}
    layer = layer_tar(rootfs)
    layer_desc = _blob(blobs, layer, LAYER_MEDIA_TYPE)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint, "Cmd": cmd or None, "User": user, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
    }
    config_desc = _blob(blobs, json.dumps(config, sort_keys=True).encode(), CONFIG_MEDIA_TYPE)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config_desc,
        "layers": [layer_desc],
    }
    manifest_desc = _blob(blobs, json.dumps(manifest, sort_keys=True).encode(), MANIFEST_MEDIA_TYPE)
    # containerd's importer names the image from io.containerd.image.name.
    manifest_desc["annotations"] = {
        "io.containerd.image.name": name,
        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1],
    }
    manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
    index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": [manifest_desc]}
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": json.dumps(index).encode()}
    files.update({f"blobs/sha256/{d.split(':', 1)[1]}": data for d, data in blobs.items()})
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for arcname in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(arcname)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for arcname, data in sorted(files.items()):
            info = tarfile.TarInfo(arcname)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rootfs", type=Path, required=True, help="directory that becomes /")
    parser.add_argument("--name", required=True, help="image reference, e.g. localhost/invoker/pause:3.10")
    parser.add_argument("--entrypoint", action="append", default=[], help="repeat for each word")
    parser.add_argument("--cmd", action="append", default=[], help="repeat for each word")
    parser.add_argument("--user", default="0:0")
    parser.add_argument("--out", type=Path, required=True, help="archive to write (replaced atomically)")
    args = parser.parse_args(argv)
    if not args.rootfs.is_dir():
        parser.error(f"--rootfs {args.rootfs} is not a directory")
    if ":" not in args.name.rsplit("/", 1)[-1]:
        parser.error(f"--name {args.name} needs a tag: an untagged image means :latest, which kubelet pulls")
    data = image_archive(args.rootfs, args.name, args.entrypoint, args.cmd, args.user)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
