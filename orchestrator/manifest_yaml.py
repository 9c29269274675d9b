"""YAML import and export of InvokerDeployment manifests.

Loading uses PyYAML's safe loader only (no arbitrary Python objects), with the hardening an
upload endpoint needs: the size is checked before parsing, exactly one document is accepted,
duplicate keys are refused (PyYAML would silently keep the last one, so a second ``pods:``
would erase the first, as kubectl's strict decoding also refuses), and a document whose
aliases expand into more values than any real manifest has is refused, so that a small
"billion laughs" upload cannot make later processing walk billions of values.

The pure-Python loader is used on purpose, not libyaml's ``CSafeLoader``: the C composer
recurses without Python's recursion limit and crashes the process (SIGSEGV) on an upload of
100,000 nested ``[``; the Python one raises ``RecursionError``, reported below. It is slow:
about 100 KB per second on the 2-core development machine, so a 1 MiB upload of 145,000
partition numbers holds a worker for some 13 s (``benchmarks/hostile_input.py``). That is
bounded by :data:`MAX_MANIFEST_BYTES` and needs the editor role, but it is over the API's 1 s
goal. libyaml's event parser does not recurse and would check the depth first, but loading
with libyaml measured only about 4 times faster here: the Python-side resolving and
constructing of each scalar dominates, so a real fix also needs a lower count of values.

Merge keys (``<<: *base``) are refused outright, naming their line: kubectl's strict decoding
does not support them in manifests either, and PyYAML's merging copies every merged key once
per use, so seven levels of ``<<: [*prev, *prev, ...]`` (470 bytes) cost it 16 s and 235 MB
before any later check could count anything.

Numbers are read the way JSON writes them, not YAML 1.1's way: ``-?(0|[1-9][0-9]*)`` is an
int, and a float needs a plain decimal too. YAML 1.1 would read ``010`` as 8, ``0x10`` as 16,
``1_000`` as 1000, ``1:30`` as 90 and ``+5`` as 5; here they stay the strings they look like,
which validation then refuses where a number belongs (a partition must be a plain decimal).

Every failure is a :class:`SpecError` at path ``yaml`` whose message names the 1-based line
and column.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from orchestrator.fields import describe
from orchestrator.spec import SpecError

MAX_MANIFEST_BYTES = 1024 * 1024
#: Values (scalars, lists and mappings, counting each alias use) a loaded manifest may have;
#: a 1 MiB manifest of partition lists has fewer than 400,000.
MAX_EXPANDED_VALUES = 1_000_000
#: Levels of nested lists and mappings; a manifest has about 8 (15 with ``managedFields``).
#: Deeper documents are refused before code that walks them recursively can overflow the stack.
MAX_DEPTH = 64
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_PLAIN_INT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_PLAIN_FLOAT_RE = re.compile(
    r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)\Z"
    r"|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z"
)


class _StrictSafeLoader(yaml.SafeLoader):
    """The safe loader, refusing duplicate keys and merge keys, reading numbers as JSON does."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        _reject_merge_keys(node)  # before SafeConstructor flattens (copies) them
        _reject_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)


_StrictSafeLoader.add_implicit_resolver(_INT_TAG, _PLAIN_INT_RE, list("-0123456789"))
_StrictSafeLoader.add_implicit_resolver(_FLOAT_TAG, _PLAIN_FLOAT_RE, list("-+.0123456789"))


def _reject_merge_keys(node: yaml.MappingNode) -> None:
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            problem = "merge keys (<<) are not supported in manifests; write the fields out"
            raise ConstructorError(None, None, problem, key_node.start_mark)


def _reject_duplicate_keys(node: yaml.MappingNode) -> None:
    seen: dict[tuple[str, str], yaml.Mark] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        key = (key_node.tag, key_node.value)
        if key in seen:
            problem = f"found duplicate key {key_node.value!r} (first defined on line {seen[key].line + 1})"
            raise ConstructorError(
                "while constructing a mapping", node.start_mark, problem, key_node.start_mark
            )
        seen[key] = key_node.start_mark


def load_manifest_yaml(text: str | bytes, max_bytes: int = MAX_MANIFEST_BYTES) -> dict[str, Any]:
    """The single mapping in ``text``; it still has to pass :func:`parse_deployment`."""
    size = len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else len(text)
    if size > max_bytes:
        raise SpecError.single(
            "yaml", f"the document is {size} bytes; at most {max_bytes} are allowed", "too_large"
        )
    documents = _load_documents(text)
    if len(documents) != 1:
        found = "no document" if not documents else f"{len(documents)} documents"
        raise SpecError.single(
            "yaml", f"expected one InvokerDeployment document, found {found}", "yaml_syntax"
        )
    document = documents[0]
    if not isinstance(document, dict):
        message = f"the document must be a mapping (an InvokerDeployment manifest), got {describe(document)}"
        raise SpecError.single("yaml", message, "invalid_type")
    problem = document_shape_problem(document)
    if problem is not None:
        raise SpecError.single("yaml", *problem)
    return document


def _load_documents(text: str | bytes) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_StrictSafeLoader))  # a SafeLoader: plain data only
    except yaml.MarkedYAMLError as error:
        raise SpecError.single("yaml", _marked_message(error), "yaml_syntax") from None
    except yaml.reader.ReaderError as error:
        line, column = _line_and_column(text, error.position)
        message = f"line {line}, column {column}: unreadable character ({error.reason})"
        raise SpecError.single("yaml", message, "yaml_syntax") from None
    except yaml.YAMLError as error:
        raise SpecError.single("yaml", f"not valid YAML: {error}", "yaml_syntax") from None
    except RecursionError:
        raise SpecError.single("yaml", "the document is nested too deeply", "yaml_syntax") from None
    except ValueError as error:  # e.g. int() refusing a number of more than 4,300 digits
        raise SpecError.single("yaml", f"unreadable value: {error}", "yaml_syntax") from None


def _marked_message(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "invalid YAML"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    context = ""
    if error.context and error.problem and error.context_mark:
        context = f" ({error.context} starting on line {error.context_mark.line + 1})"
    return f"{where}{problem}{context}"


def _line_and_column(text: str | bytes, position: int) -> tuple[int, int]:
    before = text[:position]
    if isinstance(before, bytes):
        before = before.decode("utf-8", "replace")
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def document_shape_problem(
    document: object, max_values: int = MAX_EXPANDED_VALUES, max_depth: int = MAX_DEPTH
) -> tuple[str, str] | None:
    """``(message, code)`` when a loaded document (YAML or JSON) has more values than any real
    manifest, counting every use of an aliased value, or deeper nesting; ``None`` when it is fine.

    Walks level by level without recursion (lists extended in C: 100,000 values take a few
    milliseconds) and stops as soon as a limit is passed, before expanding any further."""
    level: list[Any] = [document]
    count, depth = 0, 1
    while level:
        count += len(level)
        containers = [value for value in level if isinstance(value, dict | list)]
        if containers and depth > max_depth:
            return f"the document is nested too deeply (more than {max_depth} levels)", "too_deep"
        level = []
        for container in containers:
            level.extend(container.values() if isinstance(container, dict) else container)
            if count + len(level) > max_values:
                message = f"the document expands to more than {max_values} values (through YAML aliases?)"
                return message, "too_large"
        depth += 1
    return None


class _ManifestDumper(yaml.SafeDumper):
    """Block style, lists indented under their key (as in the project's examples), and lists
    of plain values such as partitions on one line: ``partitions: [0, 1, 2]``."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    flat = all(item is None or isinstance(item, str | int | float | bool) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_ManifestDumper.add_representer(list, _represent_list)
_ManifestDumper.add_representer(tuple, _represent_list)


def dump_manifest_yaml(manifest: dict[str, Any]) -> str:
    """``manifest`` as readable YAML, keys in the manifest's own order (which
    :func:`orchestrator.spec.to_manifest` fixes), so exports are stable and diff well."""
    return yaml.dump(manifest, Dumper=_ManifestDumper, sort_keys=False, allow_unicode=True, width=4096)
