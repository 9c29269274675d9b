"""YAML import and export of InvokerDeployment manifests.

Loading uses PyYAML's safe loader only (no arbitrary Python objects), with the hardening an
upload endpoint needs: the size is checked before parsing, exactly one document is accepted,
duplicate keys are refused (PyYAML would silently keep the last one, so a second ``pods:``
would erase the first, as kubectl's strict decoding also refuses), and a document whose
aliases expand into more values than any real manifest has is refused, so that a small
"billion laughs" upload cannot make later processing walk billions of values.

Parsing is libyaml's (PyYAML's C extension), building is one Python loop over its events
(:class:`_DocumentBuilder`), not ``yaml.load``: PyYAML's pure-Python loader took 13 s for a
legitimate 1 MiB upload and 4.6 s for a 2,000-pod manifest on the 2-core development machine,
and ``CSafeLoader`` is only about 4 times faster (its Python constructor and resolver still cost
microseconds per node) and composes recursively in C, so 100,000 nested ``[`` crash the process.
libyaml's event parser does not recurse; the builder keeps the nesting on its own stack and
refuses it past :data:`MAX_DEPTH` as soon as it is reached. ``_StrictSafeLoader`` stays as the
definition of the rules and as the reference the builder is tested against
(``tests/unit/test_manifest_yaml_libyaml.py``); ``benchmarks/import_speed.py`` times both.

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
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

try:
    from yaml.cyaml import CParser
except ImportError as missing:  # PyYAML built without libyaml: every upload would be 10-40 times slower
    raise ImportError(
        "orchestrator.spec.manifest_yaml needs PyYAML with libyaml (yaml.__with_libyaml__); "
        "install the binary wheel pinned in requirements.txt"
    ) from missing

from orchestrator.spec.fields import describe
from orchestrator.spec.model import SpecError

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


def _load_documents(text: str | bytes, max_depth: int = MAX_DEPTH) -> list[Any]:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    try:
        return _DocumentBuilder(data, max_depth).documents()
    except _TooDeepError:
        message = f"the document is nested too deeply (more than {max_depth} levels)"
        raise SpecError.single("yaml", message, "too_deep") from None
    except yaml.MarkedYAMLError as error:
        raise SpecError.single("yaml", _marked_message(error, data), "yaml_syntax") from None
    except yaml.reader.ReaderError as error:
        line, column = _line_and_column(data, error.position)
        message = f"line {line}, column {column}: unreadable character ({error.reason})"
        raise SpecError.single("yaml", message, "yaml_syntax") from None
    except yaml.YAMLError as error:
        raise SpecError.single("yaml", f"not valid YAML: {error}", "yaml_syntax") from None
    except ValueError as error:  # e.g. int() refusing a number of more than 4,300 digits
        raise SpecError.single("yaml", f"unreadable value: {error}", "yaml_syntax") from None


class _TooDeepError(Exception):
    """Nesting passed the depth bound while parsing; reported as ``too_deep``."""


_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_STR_TAG = "tag:yaml.org,2002:str"
_VALUE_TAG = "tag:yaml.org,2002:value"
_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("null", "bool", "int", "float", "binary", "timestamp", "str")
)
#: The strict loader's implicit resolvers (YAML 1.1's, numbers as JSON writes them) by first
#: character, the wildcard ones appended, as :meth:`yaml.resolver.BaseResolver.resolve` tries them.
_RESOLVERS: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: tuple(resolvers) + tuple(_StrictSafeLoader.yaml_implicit_resolvers.get(None, ()))
    for first, resolvers in _StrictSafeLoader.yaml_implicit_resolvers.items()
    if first is not None
}
_NO_RESOLVERS = tuple(_StrictSafeLoader.yaml_implicit_resolvers.get(None, ()))
_CONSTRUCTOR = SafeConstructor()


def _resolve(value: str, plain: bool) -> str:
    if plain:
        for tag, regexp in _RESOLVERS.get(value[:1], _NO_RESOLVERS):
            if regexp.match(value):
                return tag
    return _STR_TAG


class _DocumentBuilder:
    """Builds plain Python data straight from libyaml's events, with the strict loader's rules.

    Why not ``yaml.load(Loader=CSafeLoader)``: libyaml's composer recurses in C without a limit
    (100,000 nested ``[`` crash the process), and the Python constructor behind it still spends
    microseconds on each node. Here libyaml's event parser, which does not recurse, feeds one
    loop that keeps the nesting on its own stack, refuses it past ``max_depth`` at once, and
    makes each value directly: a 1 MiB upload loads in a fraction of a second instead of 4-13 s.

    The result is the strict loader's: the same implicit resolvers (numbers as JSON writes
    them), explicit scalar tags through :class:`yaml.constructor.SafeConstructor`, merge keys
    and duplicate keys refused, unhashable keys refused, and an alias shares its anchor's object
    (so counting expanded values stays :func:`document_shape_problem`'s job). Collection tags
    other than plain mappings and lists (``!!set``, ``!!omap``, ``!!pairs``, ``!custom``) are
    refused: no manifest field takes them.
    """

    def __init__(self, data: bytes, max_depth: int) -> None:
        self.parser = CParser(data)
        self.max_depth = max_depth
        # A frame: [container, is_mapping, awaiting_key, key, seen_keys, start_mark]
        self.stack: list[list[Any]] = []
        self.anchors: dict[str, tuple[Any, tuple[str, str] | None]] = {}
        self.anchor_marks: dict[str, Any] = {}
        self.root: Any = None

    def documents(self) -> list[Any]:
        """Every document of the stream, in order."""
        found: list[Any] = []
        try:  # one loop, not a method per event: a 1 MiB upload has some 150,000 events
            get_event, stack, int_match = self.parser.get_event, self.stack, _PLAIN_INT_RE.match
            while True:
                event = get_event()
                kind = type(event)
                if kind is ScalarEvent:
                    top = stack[-1] if stack else None
                    if top is not None and not top[1] and event.tag is None and event.anchor is None:
                        value = event.value  # the bulk of a large manifest: a list of numbers or names
                        if not event.implicit[0]:
                            top[0].append(value)
                            continue
                        if int_match(value):
                            top[0].append(int(value))
                            continue
                    self._scalar(event)
                elif kind is AliasEvent:
                    self._alias(event)
                elif kind is SequenceStartEvent or kind is MappingStartEvent:
                    self._start(event, kind is MappingStartEvent)
                elif kind is SequenceEndEvent or kind is MappingEndEvent:
                    frame = self.stack.pop()
                    self._add(frame[0], None, frame[5])
                elif kind is DocumentStartEvent:
                    self.anchors, self.anchor_marks, self.root = {}, {}, None
                elif kind is DocumentEndEvent:
                    found.append(self.root)
                elif kind is StreamEndEvent:
                    return found
        finally:
            self.parser.dispose()

    def _scalar(self, event: ScalarEvent) -> None:
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            tag = _resolve(value, event.implicit[0])
        if tag == _STR_TAG:
            result: Any = value
        elif tag == _INT_TAG and _PLAIN_INT_RE.match(value):
            result = int(value)
        elif tag in _SCALAR_TAGS:
            node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
            result = _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, node)
        elif tag in (_MERGE_TAG, _VALUE_TAG) and self._awaiting_key():
            result = value  # a merge key is refused in _add; a "=" key is the string "=", as in PyYAML
        else:
            problem = f"could not determine a constructor for the tag {tag!r}"
            raise ConstructorError(None, None, problem, event.start_mark)
        ident = (tag, value)
        if event.anchor is not None:
            self._anchor(event, result, ident)
        self._add(result, ident, event.start_mark)

    def _alias(self, event: AliasEvent) -> None:
        if event.anchor not in self.anchors:
            raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
        value, ident = self.anchors[event.anchor]
        self._add(value, ident, event.start_mark)

    def _start(self, event: MappingStartEvent | SequenceStartEvent, is_mapping: bool) -> None:
        if event.tag not in (None, "!", _MAP_TAG if is_mapping else _SEQ_TAG):
            problem = f"could not determine a constructor for the tag {event.tag!r}"
            problem += " (manifests use plain mappings and lists)"
            raise ConstructorError(None, None, problem, event.start_mark)
        if len(self.stack) >= self.max_depth:
            raise _TooDeepError
        container: dict[Any, Any] | list[Any] = {} if is_mapping else []
        if event.anchor is not None:
            self._anchor(event, container, None)
        self.stack.append([container, is_mapping, True, None, {}, event.start_mark])

    def _anchor(self, event: Any, value: Any, ident: tuple[str, str] | None) -> None:
        if event.anchor in self.anchor_marks:
            raise ComposerError(
                f"found duplicate anchor {event.anchor!r}; first occurrence",
                self.anchor_marks[event.anchor],
                "second occurrence",
                event.start_mark,
            )
        self.anchors[event.anchor] = (value, ident)
        self.anchor_marks[event.anchor] = event.start_mark

    def _awaiting_key(self) -> bool:
        return bool(self.stack) and self.stack[-1][1] and self.stack[-1][2]

    def _add(self, value: Any, ident: tuple[str, str] | None, mark: Any) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        if not frame[1]:
            frame[0].append(value)
        elif not frame[2]:
            frame[0][frame[3]] = value
            frame[2] = True
        else:
            self._check_key(frame, value, ident, mark)
            frame[2], frame[3] = False, value

    @staticmethod
    def _check_key(frame: list[Any], key: Any, ident: tuple[str, str] | None, mark: Any) -> None:
        if ident is not None and ident[0] == _MERGE_TAG:
            problem = "merge keys (<<) are not supported in manifests; write the fields out"
            raise ConstructorError(None, None, problem, mark)
        if isinstance(key, dict | list):
            raise ConstructorError("while constructing a mapping", frame[5], "found unhashable key", mark)
        if ident is None:
            return
        seen = frame[4]
        if ident in seen:
            problem = f"found duplicate key {ident[1]!r} (first defined on line {seen[ident].line + 1})"
            raise ConstructorError("while constructing a mapping", frame[5], problem, mark)
        seen[ident] = mark


def _marked_message(error: yaml.MarkedYAMLError, data: bytes) -> str:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "invalid YAML"
    if problem == _NO_TOKEN and mark:  # libyaml does not say which character; name it
        problem = (
            f"found character {_character_at(data, mark.line, mark.column)!r} that cannot start any token"
        )
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    context = ""
    if error.context and error.problem and error.context_mark:
        context = f" ({error.context} starting on line {error.context_mark.line + 1})"
    return f"{where}{problem}{context}"


_NO_TOKEN = "found character that cannot start any token"


def _character_at(data: bytes, line: int, column: int) -> str:
    """The character at a libyaml mark (0-based line and column, counted in characters)."""
    lines = data.decode("utf-8", "replace").split("\n")
    text = lines[line] if line < len(lines) else ""
    return text[column] if column < len(text) else ""


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
    of plain values such as partitions on one line: ``partitions: [0, 1, 2]``.

    A string is quoted when either YAML 1.1 (PyYAML, many tools) or our own loader would read
    it plain as something else: ``1e5`` is a string to the first and a number to the second,
    ``010`` the other way round, and an export must read back the same everywhere."""

    yaml_implicit_resolvers = {
        first: list(yaml.SafeDumper.yaml_implicit_resolvers.get(first, ()))
        + list(_StrictSafeLoader.yaml_implicit_resolvers.get(first, ()))
        for first in {*yaml.SafeDumper.yaml_implicit_resolvers, *_StrictSafeLoader.yaml_implicit_resolvers}
    }

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    flat = all(item is None or isinstance(item, str | int | float | bool) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_ManifestDumper.add_representer(list, _represent_list)
_ManifestDumper.add_representer(tuple, _represent_list)


def dump_manifest_yaml(manifest: dict[str, Any]) -> str:
    """``manifest`` as readable YAML, keys in the manifest's own order (which
    :func:`orchestrator.spec.model.to_manifest` fixes), so exports are stable and diff well."""
    return yaml.dump(manifest, Dumper=_ManifestDumper, sort_keys=False, allow_unicode=True, width=4096)
