"""Which local command plays the part of which container image.

Locally there is no image to pull: the project's own images map to the modules they would run
(``python -m executor.io_sidecar`` ...), and anything else must be named in an override table,
because guessing a command for a user's image would run the wrong thing silently. An image
nobody mapped makes its pod ``Failed`` with reason ``ImageNotRunnable`` and a message saying
how to map it.

Override tables are JSON objects ``{pattern: command}``. A pattern is matched (fnmatch) against
the full reference and against the repository without tag or digest, so ``acme/udf`` matches
``acme/udf:1.2``. A command is a list of arguments, or ``{"command": [...], "env": {...},
"cwd": "...", "readyWhenLogged": "..."}`` (then the container is Ready only once its log has
that line); ``{python}`` in an argument is the runtime's own interpreter. Overrides win over
the built-in entries, later tables over earlier ones.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

#: The environment variable naming an override table: a JSON file's path, or the JSON itself.
IMAGES_ENV = "INVOKER_LOCAL_IMAGES"
REPO_ROOT = Path(__file__).resolve().parents[2]
_UDF_HOST = ["{python}", "-m", "executor.udf_host"]
#: A local readiness probe: the line the io sidecar logs once it consumes and can produce
#: (executor/io_sidecar.py, ``run_runtime``; run with ``-m``, its logger is ``__main__``). Until
#: it is logged the pod is not Ready, so a pod stuck before it (say, on a missing output topic)
#: never shows Ready.
IO_READY_LINE = " INFO __main__: running "
READY_LINES = {"invoker/io-sidecar": IO_READY_LINE}
BUILTIN: dict[str, list[str]] = {
    "invoker/io-sidecar": ["{python}", "-m", "executor.io_sidecar"],
    "invoker/state-sidecar": ["{python}", "-m", "executor.state_sidecar"],
    "invoker/executor-word-count": [*_UDF_HOST, "executor.samples.word_count:udf"],
    "invoker/executor-sum": [*_UDF_HOST, "executor.samples.sum:udf"],
}


class ImageNotRunnableError(LookupError):
    """No local command is known for an image."""


class ImageMapError(ValueError):
    """An override table is not a JSON object of patterns to commands."""


@dataclass(frozen=True)
class ImageCommand:
    """What to run for one image: arguments, extra environment and working directory."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path = REPO_ROOT
    #: Not ready until its log has this line (``readyWhenLogged`` in a table); None: once it runs.
    ready_line: str | None = None


def repository(image: str) -> str:
    """``registry/name`` without ``:tag`` or ``@digest`` (a ``:`` before the last ``/`` is a port)."""
    name = image.split("@", 1)[0]
    colon = name.rfind(":")
    return name[:colon] if colon > name.rfind("/") else name


@dataclass(frozen=True)
class ImageMap:
    """Ordered patterns → commands; the first match wins."""

    entries: tuple[tuple[str, ImageCommand], ...]

    def resolve(self, image: str) -> ImageCommand:
        repo = repository(image)
        for pattern, command in self.entries:
            if fnmatchcase(image, pattern) or fnmatchcase(repo, pattern):
                return command
        raise ImageNotRunnableError(
            f"no local command for image {image!r}: the local backend runs only the project's images "
            f"and those mapped in {IMAGES_ENV} (a JSON file or object of pattern → command)"
        )

    def with_overrides(self, table: Mapping[str, Any], where: str = "override") -> ImageMap:
        parsed = tuple(
            (pattern, _command(value, f"{where}[{pattern!r}]")) for pattern, value in table.items()
        )
        return ImageMap(parsed + self.entries)


def builtin_map() -> ImageMap:
    """The project's own images; a registry prefix (``ghcr.io/x/invoker/io-sidecar``) matches too."""
    entries: list[tuple[str, ImageCommand]] = []
    for repo, argv in BUILTIN.items():
        command = _command({"command": argv, "readyWhenLogged": READY_LINES.get(repo)}, repo)
        entries += [(repo, command), (f"*/{repo}", command)]
    return ImageMap(tuple(entries))


def load_image_map(sources: Sequence[str]) -> ImageMap:
    """The built-in map overridden by each source in turn (a JSON file's path or inline JSON)."""
    images = builtin_map()
    for source in sources:
        if source.strip():
            images = images.with_overrides(_load_table(source), _describe(source))
    return images


def _load_table(source: str) -> Mapping[str, Any]:
    where = _describe(source)
    try:
        text = source if _inline(source) else Path(source).read_text()
        table = json.loads(text)
    except OSError as exc:
        raise ImageMapError(f"{where}: cannot read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ImageMapError(f"{where}: not JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(table, dict):
        raise ImageMapError(f"{where}: expected a JSON object of image pattern → command")
    return table


def _inline(source: str) -> bool:
    return source.lstrip()[:1] in ("{", "[")


def _describe(source: str) -> str:
    return "inline image map" if _inline(source) else f"image map {source}"


def _command(value: Any, where: str) -> ImageCommand:
    spec = value if isinstance(value, dict) else {"command": value}
    argv, env, cwd = spec.get("command"), spec.get("env", {}), spec.get("cwd")
    ready_line = spec.get("readyWhenLogged")
    if ready_line is not None and not (isinstance(ready_line, str) and ready_line):
        raise ImageMapError(f"{where}: readyWhenLogged must be a non-empty string, got {ready_line!r}")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ImageMapError(f"{where}: command must be a non-empty list of strings, got {argv!r}")
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ImageMapError(f"{where}: env must be an object of strings, got {env!r}")
    if cwd is not None and not isinstance(cwd, str):
        raise ImageMapError(f"{where}: cwd must be a string, got {cwd!r}")
    resolved = tuple(arg.replace("{python}", sys.executable) for arg in argv)
    return ImageCommand(resolved, dict(env), Path(cwd) if cwd else REPO_ROOT, ready_line)
