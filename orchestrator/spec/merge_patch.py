"""JSON merge patch (RFC 7386), as the Kubernetes API server applies status and spec patches."""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """Objects merge key by key, ``null`` removes a key, anything else replaces (copied, so the
    result never shares structure with the patch)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
