"""YAML in and out of the API: the import body and the export, through the orchestrator's
safe, size-limited loader and its stable dumper."""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

from orchestrator import dump_manifest_yaml, load_manifest_yaml
from orchestrator.spec.manifest_yaml import MAX_MANIFEST_BYTES, document_shape_problem


class PayloadTooLarge(APIException):
    """A body with more than a manifest may hold; the API answers it as 413 ``too_large``.
    (Parsers load with DRF's settings, before :mod:`topology_editor.api.errors` can be imported.)"""

    status_code = 413
    default_code = "too_large"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing what no manifest looks like before any code walks it:
    nesting deeper than :data:`orchestrator.spec.manifest_yaml.MAX_DEPTH` (1,000 ``[`` raised a
    ``RecursionError`` in the decoder, a 500; a few hundred would raise one later, in code
    that walks the body recursively) is a 400 ``malformed_request``, more values than a
    manifest may expand to a 413 ``too_large``."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply") from None
        problem = document_shape_problem(data)
        if problem is None:
            return data
        message, code = problem
        if code == "too_large":
            raise PayloadTooLarge(message)
        raise ParseError(f"JSON parse error - {message}")


class YAMLParser(BaseParser):
    """A manifest as YAML; reads at most one byte past the limit, so an oversized body is
    refused (413) without being read whole. Raises :class:`orchestrator.SpecError`."""

    media_type = "application/yaml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return load_manifest_yaml(stream.read(MAX_MANIFEST_BYTES + 1) if stream is not None else b"")


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"


class LegacyYAMLParser(YAMLParser):
    media_type = "application/x-yaml"


YAML_PARSERS = [YAMLParser, TextYAMLParser, LegacyYAMLParser]


class MergePatchParser(JSONParser):
    """``application/merge-patch+json`` (RFC 7386), for PATCH."""

    media_type = "application/merge-patch+json"


class YAMLRenderer(BaseRenderer):
    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        return dump_manifest_yaml(data).encode("utf-8")
