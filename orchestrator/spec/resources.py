"""A pod's resource requests and limits: the Kubernetes shape, quantities that parse, and
requests that fit within their limits (the API server would reject the pod otherwise, long
after the user pressed save)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from orchestrator.spec import value_checks
from orchestrator.spec.fields import Report, describe, join, present, quantity_text
from orchestrator.spec.model import RESOURCE_NAMES, RESOURCE_SECTIONS

Amounts = dict[str, tuple[str, Decimal]]


def check_resources(value: object, path: str, report: Report) -> None:
    """Records every problem of a ``resources:`` block found at ``path``."""
    resources = report.mapping(value, path, RESOURCE_SECTIONS)
    if resources is None:
        return
    amounts = {
        section: _check_section(resources[section], join(path, section), report)
        for section in RESOURCE_SECTIONS
        if present(resources, section)
    }
    _check_requests_within_limits(amounts.get("requests", {}), amounts.get("limits", {}), path, report)


def _check_section(value: object, path: str, report: Report) -> Amounts:
    section = report.mapping(value, path, RESOURCE_NAMES)
    if section is None:
        return {}
    amounts: Amounts = {}
    for name in RESOURCE_NAMES:
        if present(section, name):
            amount = _check_quantity(section[name], join(path, name), report)
            if amount is not None:
                amounts[name] = amount
    return amounts


def _check_quantity(raw: object, path: str, report: Report) -> tuple[str, Decimal] | None:
    text = quantity_text(raw)
    if text is None:
        report.add(path, f"must be a quantity such as 250m or 64Mi, got {describe(raw)}", "invalid_type")
        return None
    value, message = value_checks.quantity(text)
    if value is None:
        report.add(path, message or "invalid quantity", "invalid_value")
        return None
    return text, value


def _check_requests_within_limits(requests: Amounts, limits: Amounts, path: str, report: Report) -> None:
    for name, (text, value) in requests.items():
        if name in limits and value > limits[name][1]:
            report.add(
                join(join(path, "requests"), name),
                f"request {text} is greater than the limit {limits[name][0]}",
                "exceeds_limit",
            )


def build_resources(value: Mapping[str, Mapping[str, object]] | None) -> dict[str, dict[str, str]]:
    """The validated block as ``{"requests": {...}, "limits": {...}}`` of quantity strings,
    without empty sections, so that equal resources compare equal."""
    built: dict[str, dict[str, str]] = {}
    for section in RESOURCE_SECTIONS:
        amounts = (value or {}).get(section) or {}
        texts = {name: quantity_text(raw) for name, raw in amounts.items() if raw is not None}
        if texts:
            built[section] = {name: text for name, text in texts.items() if text is not None}
    return built


def normalised_resources(resources: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Resources with each quantity replaced by its exact value (``500m`` and ``0.5`` → ``0.5``,
    ``1Gi`` and ``1024Mi`` → ``1073741824``), for comparing specs by meaning, not notation."""
    return {
        section: {name: _exact(text) for name, text in amounts.items()}
        for section, amounts in resources.items()
    }


def _exact(text: str) -> str:
    value, _ = value_checks.quantity(text)
    return format(value.normalize(), "f") if value is not None else text
