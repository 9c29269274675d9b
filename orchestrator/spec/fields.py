"""Reading untrusted manifest values field by field, recording every problem with its path.

A :class:`Report` never raises: each reader returns the value when it is usable and ``None``
when it is not (after recording why), so that validation visits the whole document and the
user sees all of its problems at once rather than one per attempt.

It lists at most :data:`MAX_REPORTED_ERRORS` problems and only counts the rest: a body of
100,000 unknown keys took 8.4 s (a spelling suggestion each) and answered 16.7 MB of errors.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any, NamedTuple

from orchestrator.spec import value_checks
from orchestrator.spec.model import MAX_PARTITION_ID, FieldError
from orchestrator.spec.value_checks import quoted

#: Problems one report lists; more are counted in a last ``too_many_errors`` entry.
MAX_REPORTED_ERRORS = 100
TOO_MANY_ERRORS = "too_many_errors"
_PLAIN_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_DECIMAL_RE = re.compile(r"0|[1-9][0-9]{0,18}")  # bounded: int() refuses over 4,300 digits
_DIGITS_RE = re.compile(r"[0-9]+")


def join(path: str, key: object) -> str:
    """``spec`` + ``historyLimit`` → ``spec.historyLimit``; odd keys are quoted: ``spec['a b']``."""
    if isinstance(key, str) and len(key) <= 60 and _PLAIN_KEY_RE.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{quoted(key) if isinstance(key, str) else describe(key)}]"


def at(path: str, index: int) -> str:
    """``spec.statefulEntities`` + 1 → ``spec.statefulEntities[1]``."""
    return f"{path}[{index}]"


def describe(value: object) -> str:
    """A short, YAML-flavoured rendering of a wrong value for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"a {type(value).__name__}"


def items(value: object) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The mapping items of a list with their indices; anything else yields nothing.

    For cross-field checks, which look only at the parts that are well-formed (the
    structural checks report the rest).
    """
    if isinstance(value, list):
        yield from ((i, item) for i, item in enumerate(value) if isinstance(item, Mapping))


class Problem(NamedTuple):
    """Why a value was refused, for readers that cannot record it themselves."""

    message: str
    code: str


def plain_partition_ids(values: list[Any]) -> bool:
    """Whether ``values`` is non-empty and every item is an int :func:`partition_value` takes as
    it is; checked in C, so that a pod's 100,000 partitions need no walk item by item."""
    return (
        bool(values)
        and set(map(type, values)) == {int}
        and min(values) >= 0
        and max(values) <= MAX_PARTITION_ID
    )


def partition_value(value: object) -> int | Problem:
    """A partition id from an int or a decimal string (``"0"``, ``"12"``; not ``"01"``, ``"+1"``).

    Leading zeros are refused because ``"1"`` and ``"01"`` would silently be one partition.
    """
    if type(value) is int and 0 <= value <= MAX_PARTITION_ID:  # the common case, first: lists are long
        return value
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        return _partition_type_problem(value)
    if number < 0:
        return Problem(f"must not be negative, got {describe(number)}", "invalid_value")
    if number > MAX_PARTITION_ID:
        return _too_large_partition(number)
    return number


def _partition_type_problem(value: object) -> Problem:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return Problem(f"{quoted(value)} has a leading zero; write {int(value)}", "invalid_value")
    if isinstance(value, str) and _DIGITS_RE.fullmatch(value):
        return _too_large_partition(value)
    message = f"must be a non-negative integer or a string of digits, got {describe(value)}"
    return Problem(message, "invalid_type")


def _too_large_partition(value: int | str) -> Problem:
    message = f"must be at most {MAX_PARTITION_ID} (Kafka's largest partition id), got {describe(value)}"
    return Problem(message, "out_of_range")


def present(mapping: Mapping[str, Any], key: str) -> bool:
    """Whether ``key`` is given: like Kubernetes, an explicit ``null`` means "not set"."""
    return mapping.get(key) is not None


def quantity_text(value: object) -> str | None:
    """A quantity as text: YAML may give ``cpu: 1`` or ``cpu: 0.5`` as numbers."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return None


class Report:
    """Collects :class:`FieldError` s while typed readers walk a manifest."""

    def __init__(self, max_errors: int = MAX_REPORTED_ERRORS) -> None:
        self.errors: list[FieldError] = []
        self.omitted = 0
        self.max_errors = max_errors

    @property
    def found(self) -> int:
        """Problems found so far, listed or not."""
        return len(self.errors) + self.omitted

    @property
    def full(self) -> bool:
        """Whether further problems are only counted (so need no message)."""
        return len(self.errors) >= self.max_errors

    def add(self, path: str, message: str, code: str) -> None:
        if self.full:
            self.omitted += 1
        else:
            self.errors.append(FieldError(path, message, code))

    def omitted_entry(self) -> list[FieldError]:
        """The last entry of a full report: how many problems it does not list."""
        if not self.omitted:
            return []
        message = f"{self.omitted} more problems were found; only the first {self.max_errors} are listed"
        return [FieldError("", message, TOO_MANY_ERRORS)]

    def mapping(
        self, value: object, path: str, allowed: Collection[str], required: Collection[str] = ()
    ) -> Mapping[str, Any] | None:
        """``value`` if it is a mapping; reports unknown and missing fields either way."""
        if not isinstance(value, Mapping):
            self.add(path, f"must be a mapping, got {describe(value)}", "invalid_type")
            return None
        unknown = [key for key in value if key not in allowed]
        room = max(0, self.max_errors - len(self.errors))  # past it, unknown keys are only counted
        for key in unknown[:room]:
            self.add(join(path, key), _unknown_field_message(key, allowed), "unknown_field")
        self.omitted += len(unknown[room:])
        for key in required:
            if not present(value, key):
                self.add(join(path, key), "required field is missing", "required")
        return value

    def list(self, mapping: Mapping[str, Any], key: str, path: str) -> list[Any] | None:
        """``mapping[key]`` if present and a list."""
        if not present(mapping, key):
            return None
        value = mapping[key]
        if not isinstance(value, list):
            self.add(join(path, key), f"must be a list, got {describe(value)}", "invalid_type")
            return None
        return value

    def string(
        self, mapping: Mapping[str, Any], key: str, path: str, check: value_checks.Check | None = None
    ) -> str | None:
        """``mapping[key]`` if present, a string and accepted by ``check``."""
        if not present(mapping, key):
            return None
        value = mapping[key]
        if not isinstance(value, str):
            hint = " (quote it in YAML)" if isinstance(value, bool | int | float) else ""
            self.add(join(path, key), f"must be a string, got {describe(value)}{hint}", "invalid_type")
            return None
        return self.checked(value, join(path, key), check)

    def checked(self, value: str, path: str, check: value_checks.Check | None) -> str | None:
        """``value`` if ``check`` accepts it; otherwise reports the check's reason."""
        message = check(value) if check else None
        if message is None:
            return value
        self.add(path, message, "invalid_value")
        return None

    def integer(self, mapping: Mapping[str, Any], key: str, path: str, low: int, high: int) -> int | None:
        """``mapping[key]`` if present and an integer in ``[low, high]`` (booleans are not)."""
        if not present(mapping, key):
            return None
        value = mapping[key]
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(join(path, key), f"must be an integer, got {describe(value)}", "invalid_type")
            return None
        if not low <= value <= high:
            self.add(
                join(path, key), f"must be between {low} and {high}, got {describe(value)}", "out_of_range"
            )
            return None
        return value


def _unknown_field_message(key: object, allowed: Collection[str]) -> str:
    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.75)
    if close:
        return f"unknown field (did you mean {close[0]!r}?)"
    if len(allowed) <= 10:
        return f"unknown field (expected one of: {', '.join(allowed)})"
    return "unknown field"
