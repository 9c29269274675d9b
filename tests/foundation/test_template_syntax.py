"""Django's tags, variables and comments must open and close on one line: one that spans lines is
not template syntax at all, and the page shows it as text (a two-line ``{# ... #}`` comment did,
on the editor, to every user)."""

from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
OPENERS = ("{#", "{%", "{{")


def literal_syntax(source: str) -> list[str]:
    """The openers of template syntax that Django's lexer leaves in the page's text, with their line."""
    found = []
    for token in Lexer(source).tokenize():
        if token.token_type is not TokenType.TEXT:
            continue
        for offset, line in enumerate(token.contents.splitlines()):
            found += [f"line {token.lineno + offset}: {line.strip()}" for o in OPENERS if o in line]
    return found


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_no_template_shows_its_own_syntax_as_text(template: Path) -> None:
    assert literal_syntax(template.read_text()) == []


def test_a_comment_across_two_lines_is_found() -> None:
    assert literal_syntax("<p>\n  {# one\n  two #}\n</p>") == ["line 2: {# one"]
    assert literal_syntax("{# one line #}{% comment %}\nmany\n{% endcomment %}") == []
