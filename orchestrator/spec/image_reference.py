"""Container image references, checked with the grammar registries and container runtimes use.

This is a transcription of the reference grammar of github.com/distribution/reference
(``regexp.go`` and ``reference.go``, the package Docker, containerd and the kubelet's CRI
runtimes parse image names with)::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain '/'] remote-name
    domain           := host [':' port-number]
    host             := domain-name | "[" IPv6address "]"
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*   ; separator: [_.] | __ | -+
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" /[0-9a-fA-F]{32,}/

plus the checks ``reference.Parse`` adds after the match: a repository path of at most 255
characters, and a digest whose algorithm is a registered one with an encoding of the right
length (go-digest). No maintained Python package was a better fit: ``docker-image-py`` has a
single maintainer, releases years apart and pulls in the third-party ``regex`` engine.
"""

from __future__ import annotations

import re

from orchestrator.spec.value_checks import quoted

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_AND_PORT = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

# re.ASCII: Go's \w is [0-9A-Za-z_], Python's would also match non-ASCII letters.
_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_ANCHORED_NAME_RE = re.compile(rf"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})", re.ASCII)

MAX_PATH_LENGTH = 255
#: Bounds the regular expression's work; far above the longest real reference.
MAX_REFERENCE_LENGTH = 1024
#: go-digest's registered algorithms and the length of their lowercase hex encodings.
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+")
_FORMAT_HINT = "expected [registry[:port]/]name[:tag][@digest], e.g. ghcr.io/acme/word-count:1.2"


def image_reference(value: str) -> str | None:
    """``None`` if ``value`` is a valid image reference, else why it is not."""
    if not value:
        return "an image reference must not be empty"
    if len(value) > MAX_REFERENCE_LENGTH:
        return f"image reference is {len(value)} characters long; at most {MAX_REFERENCE_LENGTH} are allowed"
    match = _REFERENCE_RE.fullmatch(value)
    if match is None:
        return _mismatch_reason(value)
    name, _tag, digest = match.groups()
    return _path_problem(value, name) or (_digest_problem(value, digest) if digest else None)


def _mismatch_reason(value: str) -> str:
    lowered = value.lower()
    if lowered != value and _REFERENCE_RE.fullmatch(lowered):
        return f"{quoted(value)} is not a valid image reference: the repository name must be lowercase"
    return f"{quoted(value)} is not a valid image reference ({_FORMAT_HINT})"


def _path_problem(value: str, name: str) -> str | None:
    match = _ANCHORED_NAME_RE.fullmatch(name)
    path = match.group(2) if match else name
    if len(path) > MAX_PATH_LENGTH:
        return f"{quoted(value)} is not a valid image reference: the repository name is over 255 characters"
    return None


def _digest_problem(value: str, digest: str) -> str | None:
    algorithm, _, encoded = digest.partition(":")
    length = _DIGEST_LENGTHS.get(algorithm)
    if length is None:
        supported = "sha256, sha384 or sha512"
        return f"{quoted(value)} has an unsupported digest algorithm {quoted(algorithm)} (use {supported})"
    if len(encoded) != length or not _LOWER_HEX_RE.fullmatch(encoded):
        return (
            f"{quoted(value)} has a malformed {algorithm} digest: expected {length} lowercase hex characters"
        )
    return None
