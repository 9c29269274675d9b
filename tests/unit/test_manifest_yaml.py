"""YAML import and export: the example survives a round trip, and every kind of bad upload
is refused with a message that names where the problem is."""

from __future__ import annotations

import pytest
import yaml

from orchestrator import SpecError, dump_manifest_yaml, load_manifest_yaml, parse_deployment, to_manifest
from orchestrator.spec.manifest_yaml import MAX_DEPTH, MAX_EXPANDED_VALUES

from .spec_helpers import EXAMPLE_PATH, merge_key_bomb


def _yaml_error(text: str | bytes, **kwargs: int) -> tuple[str, str]:
    with pytest.raises(SpecError) as raised:
        load_manifest_yaml(text, **kwargs)
    [error] = raised.value.errors
    assert error.path == "yaml"
    return error.message, error.code


def test_importing_the_example_then_exporting_and_importing_again_is_the_identity() -> None:
    spec = parse_deployment(load_manifest_yaml(EXAMPLE_PATH.read_text()))
    exported = dump_manifest_yaml(to_manifest(spec))
    assert parse_deployment(load_manifest_yaml(exported)) == spec
    assert dump_manifest_yaml(to_manifest(parse_deployment(load_manifest_yaml(exported)))) == exported


def test_it_loads_bytes_as_well_as_text() -> None:
    raw = EXAMPLE_PATH.read_bytes()
    assert load_manifest_yaml(raw) == load_manifest_yaml(raw.decode())


def test_the_export_is_block_style_with_partitions_on_one_line() -> None:
    exported = dump_manifest_yaml(to_manifest(parse_deployment(load_manifest_yaml(EXAMPLE_PATH.read_text()))))
    lines = exported.splitlines()
    assert lines[:4] == [
        "apiVersion: invokeroperator.invoker.io/v1alpha1",
        "kind: InvokerDeployment",
        "metadata:",
        "  name: word-count-demo",
    ]
    assert "    - name: splitter" in lines
    assert "          partitions: [0, 1]" in lines
    assert "status" not in exported


def test_the_export_quotes_strings_that_would_read_back_as_numbers() -> None:
    text = dump_manifest_yaml({"spec": {"version": "1.10", "flag": "yes", "n": "0"}})
    assert load_manifest_yaml(text) == {"spec": {"version": "1.10", "flag": "yes", "n": "0"}}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("spec:\n  a: 1\n   b: 2\n", "line 3, column 5: mapping values are not allowed in this context"),
        ("spec: [1, 2\nkind: x\n", "line 2, column 5: did not find expected ',' or ']'"),
        ("a:\n\tb: 1\n", "line 2, column 1: found character '\\t' that cannot start any token"),
        ("kind: 'open\n", "line 2, column 1: found unexpected end of stream"),
        ("a: *missing\n", "line 1, column 4: found undefined alias 'missing'"),
        ("a: 1\nb: 2\na: 3\n", "line 3, column 1: found duplicate key 'a' (first defined on line 1)"),
        ("a: \x07\n", "line 1, column 4: unreadable character"),
        (b"a: \xff\n", "unreadable character"),
        ("a: !!python/object:os.system x\n", "line 1, column 4: could not determine a constructor"),
        ("a: " + "9" * 5000, "unreadable value: Exceeds the limit (4300 digits)"),
    ],
)
def test_malformed_yaml_is_refused_naming_the_line_and_column(text: str | bytes, fragment: str) -> None:
    message, code = _yaml_error(text)
    assert fragment in message
    assert code == "yaml_syntax"


@pytest.mark.parametrize(
    ("text", "fragment", "code"),
    [
        ("", "expected one InvokerDeployment document, found no document", "yaml_syntax"),
        ("# only a comment\n", "found no document", "yaml_syntax"),
        ("a: 1\n---\nb: 2\n", "expected one InvokerDeployment document, found 2 documents", "yaml_syntax"),
        (
            "- a\n- b\n",
            "the document must be a mapping (an InvokerDeployment manifest), got a list",
            "invalid_type",
        ),
        ("just text\n", "got 'just text'", "invalid_type"),
        ("---\n", "got null", "invalid_type"),
        ("[" * 2000 + "]" * 2000, "nested too deeply", "too_deep"),
    ],
)
def test_a_document_that_is_not_one_mapping_is_refused(text: str, fragment: str, code: str) -> None:
    message, actual_code = _yaml_error(text)
    assert fragment in message
    assert actual_code == code


def test_too_large_input_is_refused_before_parsing() -> None:
    message, code = _yaml_error("a: [" * 100, max_bytes=64)  # malformed too, but never parsed
    assert (message, code) == ("the document is 400 bytes; at most 64 are allowed", "too_large")


def test_the_default_limit_is_one_mebibyte_counted_in_bytes() -> None:
    assert load_manifest_yaml("a: " + "x" * (1024 * 1024 - 4) + "\n")["a"]
    _, code = _yaml_error("a: " + "é" * (512 * 1024))
    assert code == "too_large"


def test_aliases_that_expand_beyond_any_real_manifest_are_refused() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    message, code = _yaml_error("\n".join(levels))
    assert (code, message) == (
        "too_large",
        f"the document expands to more than {MAX_EXPANDED_VALUES} values (through YAML aliases?)",
    )


def test_ordinary_anchors_still_work() -> None:
    text = "base: &base {cpu: 1}\nrequests: *base\nlimits: *base\n"
    assert load_manifest_yaml(text) == {"base": {"cpu": 1}, "requests": {"cpu": 1}, "limits": {"cpu": 1}}


def test_merge_keys_are_refused_naming_their_line() -> None:
    message, code = _yaml_error("base: &base {cpu: 1}\nlimits:\n  memory: 1Gi\n  <<: *base\n")
    assert code == "yaml_syntax"
    assert message == (
        "line 4, column 3: merge keys (<<) are not supported in manifests; write the fields out"
    )


def test_a_quoted_merge_key_is_just_a_key() -> None:
    assert load_manifest_yaml("'<<': 1\n") == {"<<": 1}


@pytest.mark.timeout(10)  # a hang guard: merging this bomb took 16 s; refusing it takes milliseconds
def test_the_merge_key_bomb_is_refused_before_any_merging() -> None:
    bomb = merge_key_bomb()
    assert len(bomb.encode()) == 470
    message, code = _yaml_error(bomb)
    assert (message, code) == (
        "line 2, column 10: merge keys (<<) are not supported in manifests; write the fields out",
        "yaml_syntax",
    )


def test_nesting_deeper_than_any_manifest_is_refused() -> None:
    message, code = _yaml_error("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert code == "too_deep"
    assert message == f"the document is nested too deeply (more than {MAX_DEPTH} levels)"
    assert load_manifest_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))


@pytest.mark.parametrize(
    ("written", "read"),
    [
        # YAML 1.1 reads these as 8, 16, 1000, 90 and 5; here they stay what they look like
        ("010", "010"),
        ("0x10", "0x10"),
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("0o10", "0o10"),
        ("+5", "+5"),
        ("1_0.5", "1_0.5"),
        ("1:30.5", "1:30.5"),
        # numbers as JSON writes them
        ("10", 10),
        ("-3", -3),
        ("0", 0),
        ("1.5", 1.5),
        ("1e1", 10.0),
        ("-2.5E-1", -0.25),
    ],
)
def test_numbers_are_read_as_json_writes_them(written: str, read: object) -> None:
    value = load_manifest_yaml(f"a: {written}\n")["a"]
    assert (value, type(value)) == (read, type(read))


@pytest.mark.parametrize("text", ["1e5", "0e0", "1e-5", "010", "0x1f", "1_000", "yes", "null", "7"])
def test_an_exported_string_reads_back_as_the_same_string_here_and_in_yaml_1_1(text: str) -> None:
    """Strings that look like numbers to either reader are quoted (hypothesis found ``0e0``)."""
    exported = dump_manifest_yaml({"name": text})
    assert load_manifest_yaml(exported) == {"name": text}
    assert yaml.safe_load(exported) == {"name": text}
