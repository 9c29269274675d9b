"""The two config files a pod is given, parsed into frozen values.

The shapes, their JSON and their validation are the pod contract's (``podcontract.files``),
shared with the orchestrator that writes them; this module keeps the executor's names for them.
"""

from __future__ import annotations

from typing import Any

from podcontract.files import ConfigError, MainConfig, PodConfig, decode_json, read_json

__all__ = ["ConfigError", "MainConfig", "PodConfig", "decode_json", "parse_main", "parse_pod", "read_json"]


def parse_main(data: Any, where: str = "main.json") -> MainConfig:
    """Validates and converts the decoded `main.json`."""
    return MainConfig.parse(data, where)


def parse_pod(data: Any, where: str) -> PodConfig:
    """Validates and converts the decoded `<pod>.json`; partitions may be strings, as in the CR."""
    return PodConfig.parse(data, where)
