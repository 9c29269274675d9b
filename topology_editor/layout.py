"""The editor's node positions: the manifest's ``invoker.io/layout`` annotation (issue 14).

An annotation, not a spec field, so the spec's contract does not change: the operator never reads
it and changing it makes no revision. The text is kept as it came once checked (a JSON object of
entity name to ``[x, y]``); the API answers it back in ``metadata.annotations`` and export keeps it,
so positions survive a reload, an export and an import."""

import json
from typing import Any

from orchestrator import SpecError

LAYOUT_ANNOTATION = "invoker.io/layout"
#: Room for the positions of a few thousand entities; more is not a layout.
MAX_LAYOUT_CHARS = 256 * 1024
_PATH = f"metadata.annotations[{LAYOUT_ANNOTATION!r}]"


def layout_of(manifest: object) -> str | None:
    """The checked layout annotation of ``manifest``: None when it has none (the kept layout
    stays: the admin and API clients that do not know it do not erase it), "" to clear it;
    :class:`SpecError` naming the annotation when it is not a JSON object of name to ``[x, y]``."""
    metadata = manifest.get("metadata") if isinstance(manifest, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    text = annotations.get(LAYOUT_ANNOTATION) if isinstance(annotations, dict) else None
    if text is None or text == "":
        return text
    if not isinstance(text, str) or len(text) > MAX_LAYOUT_CHARS:
        raise SpecError.single(
            _PATH, f"must be a JSON text of at most {MAX_LAYOUT_CHARS} characters", "invalid"
        )
    try:
        positions = json.loads(text)
    except ValueError as error:
        raise SpecError.single(_PATH, f"is not JSON: {error}", "invalid") from None
    if not isinstance(positions, dict) or not all(_is_point(at) for at in positions.values()):
        message = 'must map each entity name to its position [x, y], e.g. {"splitter": [16, 16]}'
        raise SpecError.single(_PATH, message, "invalid")
    return text


def _is_point(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def with_layout(manifest: dict[str, Any], layout: str) -> dict[str, Any]:
    """``manifest`` with the layout annotation added to its metadata (unchanged without one)."""
    if layout:
        metadata = manifest.setdefault("metadata", {})
        metadata["annotations"] = {**metadata.get("annotations", {}), LAYOUT_ANNOTATION: layout}
    return manifest
