"""The libyaml-event loader behind :func:`load_manifest_yaml` reads every document exactly as the
strict pure-Python loader it replaced (``_StrictSafeLoader``, kept as the reference): the same
values for the same text, and a refusal wherever the reference refuses. Generated documents
cover every scalar the resolvers treat specially, every YAML style, anchors and aliases, and
random damage to the example."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import SpecError, load_manifest_yaml
from orchestrator.spec.manifest_yaml import MAX_DEPTH, _load_documents, _StrictSafeLoader

from .spec_helpers import EXAMPLE_PATH

EXAMPLE = EXAMPLE_PATH.read_text()
CASES = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
#: Scalars that YAML 1.1 or the strict resolvers read as something other than a string.
TRICKY = [
    *("yes", "No", "on", "OFF", "true", "False", "~", "null", "Null", "", "=", "<<", "-", "?"),
    *("0", "-0", "10", "-3", "010", "0x10", "0o7", "0b11", "1_000", "1:30", "+5", "1:30.5", "1_0.5"),
    *("1.5", "-2.5E-1", "1e1", "1.0e+400", ".inf", "-.inf", ".NaN", ".5", "5.", "2001-12-14"),
    *("2001-12-14t21:59:43.10-05:00", "250m", "64Mi", "é", "a b", "a: b", "#x", "'q'", '"d"'),
]
scalars = st.one_of(
    st.sampled_from(TRICKY).map(lambda text: ("plain", text)),
    st.integers(-(10**20), 10**20).map(lambda n: ("plain", str(n))),
    st.text("ab0123456789.-_:eE+x ", max_size=8).map(lambda text: ("plain", text)),
    st.text(max_size=6).map(lambda text: ("quoted", text)),
)


def _scalar_text(scalar: tuple[str, str]) -> str:
    style, text = scalar
    if (
        style == "quoted"
        or not text
        or text != text.strip()
        or any(c in text for c in ":#,[]{}&*!|>'\"%@`\n")
    ):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


@st.composite
def documents(draw: Any, depth: int = 0) -> str:
    """YAML text: flow or block collections of tricky scalars, with anchors and aliases."""
    anchors: list[str] = []

    def node(level: int) -> str:
        kind = draw(
            st.sampled_from(["scalar", "flow_list", "flow_map", "alias"] if level < 4 else ["scalar"])
        )
        if kind == "alias" and anchors:
            return "*" + draw(st.sampled_from(anchors))
        if kind == "flow_list":
            items = [node(level + 1) for _ in range(draw(st.integers(0, 4)))]
            text = "[" + ", ".join(items) + "]"
        elif kind == "flow_map":
            keys = draw(st.lists(scalars, max_size=4, unique_by=lambda s: s[1]))
            text = "{" + ", ".join(f"{_scalar_text(key)}: {node(level + 1)}" for key in keys) + "}"
        else:
            text = _scalar_text(draw(scalars))
        if draw(st.booleans()) and draw(st.booleans()):  # anchored after its content: no cycles
            anchors.append(f"a{len(anchors)}")
            return f"&{anchors[-1]} {text}"
        return text

    keys = draw(st.lists(scalars, min_size=1, max_size=6, unique_by=lambda s: s[1]))
    lines = [f"{_scalar_text(key)}: {node(depth)}" for key in keys]
    if draw(st.booleans()):
        lines.append("block:\n" + "\n".join(f"  - {node(depth + 1)}" for _ in range(draw(st.integers(1, 3)))))
    return "\n".join(lines) + "\n"


@st.composite
def damaged_example(draw: Any) -> str:
    text = EXAMPLE
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        junk = draw(st.text(alphabet="[]{}&*<:!|>-'\"#%@`,?\n\t 0x9e_.=~", max_size=8))
        text = text[:at] + junk + text[at + draw(st.integers(0, 4)) :]
    return text


def _reference(text: str) -> list[Any] | None:
    """What the strict pure-Python loader reads, or ``None`` when it refuses the text."""
    try:
        return list(yaml.load_all(text, Loader=_StrictSafeLoader))
    except (yaml.YAMLError, ValueError, RecursionError):
        return None


def _fast(text: str) -> list[Any] | None:
    try:
        return _load_documents(text)
    except SpecError:
        return None


def _same(left: Any, right: Any) -> bool:
    """Equal, counting NaN equal to NaN and telling ``1`` from ``1.0`` and ``True``."""
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
        return True
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    return left == right


@CASES
@given(text=st.one_of(documents(), damaged_example()))
def test_it_reads_every_document_as_the_pure_python_strict_loader_does(text: str) -> None:
    expected, actual = _reference(text), _fast(text)
    assert (expected is None) == (actual is None), (text, expected, actual)
    if expected is not None:
        assert _same(actual, expected), (text, expected, actual)


def test_a_mebibyte_of_partitions_reads_as_the_reference_does() -> None:
    head, tail = EXAMPLE.split('["2", "3"]')
    numbers = ", ".join(map(str, range(140_000)))
    text = f"{head}[{numbers}]{tail}"
    assert len(text.encode()) > 1_000_000
    loaded = load_manifest_yaml(text)
    assert loaded == _reference(text)[0]
    assert loaded["spec"]["statefulEntities"][0]["pods"][1]["partitions"][-1] == 139_999


@pytest.mark.parametrize(
    "text",
    [
        "a: &k {x: 1}\nb: *k\n",
        "&k a: 1\nb: 2\n",
        "a: [&k 1, *k, *k]\n",
        "=: 1\n",
        "a: !!str 5\nb: !!int '7'\nc: !!float '1'\nd: !!bool 'yes'\ne: !!null ''\n",
        "a: !!binary aGVsbG8=\nb: 2001-12-14\nc: ! 5\n",
        "a: &r [*r]\n",
        "---\na: 1\n...\n",
        "%YAML 1.1\n---\na: 1\n",
        "a: |\n  two\n  lines\nb: >\n  folded\n  text\n",
        "? a\n: 1\n",
    ],
)
def test_anchors_tags_and_styles_read_as_the_reference_does(text: str) -> None:
    expected, actual = _reference(text), _fast(text)
    assert expected is not None
    assert actual is not None
    assert repr(actual) == repr(expected)  # repr: the recursive list compares by shape


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n<<: {b: 2}\n",
        "a: {!!merge x: 1}\n",
        "a: =\n",
        "&k a: 1\n*k : 2\n",
        "a: &x 1\nb: &x 2\n",
        "a: !!seq x\n",
        "? [a]\n: 1\n",
        "? {a: 1}\n: 1\n",
        "a: !custom x\n",
        "a: [1\n",
    ],
)
def test_what_the_reference_refuses_is_refused(text: str) -> None:
    assert _reference(text) is None
    assert _fast(text) is None


@pytest.mark.parametrize(
    "text", ["a: !!set {x, y}\n", "a: !!omap [x: 1]\n", "a: !!pairs [x: 1]\n", "a: !t [1]\n"]
)
def test_collection_tags_no_manifest_uses_are_refused_naming_the_tag(text: str) -> None:
    with pytest.raises(SpecError) as raised:
        load_manifest_yaml(text)
    [error] = raised.value.errors
    assert error.code == "yaml_syntax"
    assert "could not determine a constructor for the tag" in error.message
    assert error.message.startswith("line 1, column 4: ")


def test_nesting_is_refused_while_parsing_so_a_million_brackets_cost_nothing() -> None:
    with pytest.raises(SpecError) as raised:
        load_manifest_yaml("[" * 1_000_000)
    assert [(e.code, e.message) for e in raised.value.errors] == [
        ("too_deep", f"the document is nested too deeply (more than {MAX_DEPTH} levels)")
    ]
