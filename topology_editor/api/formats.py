"""YAML in and out of the API: the import body and the export, through the orchestrator's
safe, size-limited loader and its stable dumper."""

from typing import Any

from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import BaseRenderer

from orchestrator import dump_manifest_yaml, load_manifest_yaml
from orchestrator.manifest_yaml import MAX_MANIFEST_BYTES


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
