"""Checks of single string values: names, images, topics, addresses, quantities.

Each check returns ``None`` for a valid value or a message saying why it is not, so that the
validator can record the message against the field's path and carry on. The grammars are the
ones Kubernetes, the container registries and Kafka themselves enforce, cited where they are
written down, so that a spec accepted here is not rejected later by a cluster or a broker.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from decimal import Decimal

from kubernetes.utils.quantity import parse_quantity

Check = Callable[[str], "str | None"]

_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_RE = re.compile(_DNS_LABEL)
_DNS_SUBDOMAIN_RE = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
# k8s.io/apimachinery/pkg/util/validation: IsValidLabelValue.
_LABEL_VALUE_RE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
# Kafka's org.apache.kafka.common.internals.Topic: legal characters and length.
_TOPIC_RE = re.compile(r"[a-zA-Z0-9._-]+")
MAX_TOPIC_LENGTH = 249
_HOST_LABEL = r"[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
_IPV4_LIKE_RE = re.compile(r"[0-9.]+")
# k8s.io/apimachinery/pkg/api/resource/quantity.go: <signedNumber><suffix>, where the suffix is
# a binary SI suffix, a decimal SI suffix (n, u, m, k, M, G, T, P, E) or a decimal exponent.
# Checked before parse_quantity, which would also accept Decimal's " 1", "1_000" and "NaN".
_QUANTITY_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")

# Kubernetes keeps quantities as int64 scaled values, down to nano units.
_LARGEST_QUANTITY = Decimal(2**63 - 1)
_SMALLEST_QUANTITY = Decimal("1e-9")

_DNS_LABEL_RULE = "lower case letters, digits and '-', starting and ending with a letter or digit"


def quoted(text: str, limit: int = 60) -> str:
    """``text`` quoted for a message, shortened: error messages echo user input, which may be
    megabytes long."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def dns_label(max_length: int) -> Check:
    """A check for DNS-1123 labels (RFC 1123) of at most ``max_length`` characters."""

    def check(value: str) -> str | None:
        if len(value) > max_length:
            return f"{quoted(value)} is {len(value)} characters long; at most {max_length} are allowed"
        if not _DNS_LABEL_RE.fullmatch(value):
            return f"{quoted(value)} is not a valid name: use {_DNS_LABEL_RULE}"
        return None

    return check


def dns_subdomain(value: str) -> str | None:
    """DNS-1123 subdomains (dot-separated labels, at most 253 characters): Secret names."""
    if len(value) > 253:
        return f"{quoted(value)} is {len(value)} characters long; at most 253 are allowed"
    if not _DNS_SUBDOMAIN_RE.fullmatch(value):
        return f"{quoted(value)} is not a valid name: use dot-separated {_DNS_LABEL_RULE}"
    return None


def label_value(value: str) -> str | None:
    """Kubernetes label values, so that ``version`` can label the workloads."""
    if len(value) > 63:
        return f"{quoted(value)} is {len(value)} characters long; at most 63 are allowed"
    if not _LABEL_VALUE_RE.fullmatch(value):
        rule = "letters, digits, '-', '_' or '.', and start and end with a letter or digit"
        return f"{quoted(value)} must be {rule}"
    return None


def kafka_topic(value: str) -> str | None:
    """Kafka's own topic rule: legal characters, at most 249 of them, not ``.`` or ``..``."""
    if value in (".", ".."):
        return f"{quoted(value)} is not allowed as a topic name"
    if len(value) > MAX_TOPIC_LENGTH:
        return f"topic name is {len(value)} characters long; at most {MAX_TOPIC_LENGTH} are allowed"
    if not _TOPIC_RE.fullmatch(value):
        return f"{quoted(value)} is not a valid topic name: use letters, digits, '.', '_' and '-'"
    return None


def bootstrap_servers(value: str) -> str | None:
    """Kafka bootstrap servers: ``host:port[,host:port...]`` with no spaces."""
    for address in value.split(","):
        if not _is_host_port(address):
            return f"{quoted(address)} is not host:port (expected host:port[,host:port...])"
    return None


def _is_host_port(address: str) -> bool:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        return False
    if host.startswith("[") and host.endswith("]"):
        return _is_ip(host[1:-1], ipaddress.IPv6Address)
    if _IPV4_LIKE_RE.fullmatch(host):
        return _is_ip(host, ipaddress.IPv4Address)
    return len(host) <= 253 and bool(_HOST_RE.fullmatch(host))


def _is_ip(text: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def quantity(text: str) -> tuple[Decimal | None, str | None]:
    """The value of a Kubernetes resource quantity such as ``250m`` or ``1Gi``, or why not.

    The arithmetic is the Kubernetes client's ``parse_quantity``; negative amounts are
    rejected because no resource can be requested in them, and amounts outside what
    Kubernetes can store (int64, nano precision) because they are typos, not requests.
    Short texts are remembered: 2,000 pods repeat the same few quantities, each read several
    times per change (validation, revision hashing), and ``parse_quantity`` costs microseconds.
    """
    return _remembered_quantity(text) if len(text) <= _REMEMBERED_LENGTH else _quantity(text)


_REMEMBERED_LENGTH = 40  # longer texts are not kept, so the cache stays small whatever is uploaded


@functools.lru_cache(maxsize=1024)
def _remembered_quantity(text: str) -> tuple[Decimal | None, str | None]:
    return _quantity(text)


def _quantity(text: str) -> tuple[Decimal | None, str | None]:
    if not _QUANTITY_RE.fullmatch(text):
        return None, f"{quoted(text)} is not a valid quantity (e.g. 250m, 0.5, 64Mi, 1G)"
    try:
        value = parse_quantity(text)
    except ValueError:  # an exponent beyond what Decimal holds, such as 1e9999999999999999999999
        return None, _out_of_decimal_range(text)
    if value < 0:
        return None, f"{quoted(text)} must not be negative"
    if value > _LARGEST_QUANTITY:
        return None, f"{quoted(text)} is too large"
    if 0 < value < _SMALLEST_QUANTITY:
        return None, f"{quoted(text)} is smaller than the smallest unit, 1n"
    return value + 0, None  # + 0 turns -0 into 0


def _out_of_decimal_range(text: str) -> str:
    if text.startswith("-"):
        return f"{quoted(text)} must not be negative"
    if "e-" in text.lower():
        return f"{quoted(text)} is smaller than the smallest unit, 1n"
    return f"{quoted(text)} is too large"


def one_of(choices: tuple[str, ...]) -> Check:
    """A check that the value is one of ``choices`` (case-sensitive, like Kubernetes)."""

    def check(value: str) -> str | None:
        if value in choices:
            return None
        return f"{quoted(value)} is not one of {', '.join(choices)}"

    return check
