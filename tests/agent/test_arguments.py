"""Tool-call arguments: size and nesting are read off the raw text, before anything parses it."""

from __future__ import annotations

import pytest

from bot.agent.arguments import MAX_BYTES, MAX_DEPTH, InvalidArguments, nesting, parse_arguments


@pytest.mark.parametrize(("text", "depth"), [
    ('"plain"', 0),
    ("{}", 1),
    ('{"a": [1, {"b": []}]}', 4),
    ('{"a": "[[[{{{"}', 1),  # brackets inside a string are text
    ('{"a": "say \\"[[[\\" twice", "b": ["]"]}', 2),  # so are those after an escaped quote
    ("[" * 900 + "]" * 900, MAX_DEPTH + 1),  # counting stops past the limit
])
def test_nesting_counts_only_structure(text: str, depth: int) -> None:
    assert nesting(text) == depth


@pytest.mark.parametrize(("text", "problem"), [
    ('{"q": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}", None),
    ('{"q": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}", "nested more than 32 levels deep"),
    ('{"q": ' + "[" * 900 + "]" * 900 + "}", "nested more than 32 levels deep"),
    ('{"q": "' + "x" * (MAX_BYTES - 9) + '"}', None),
    ('{"q": "' + "x" * (MAX_BYTES - 8) + '"}', "have 65,537 bytes; the limit is 65,536"),
    ('{"q": "' + "é" * 40_000 + '"}', "have 80,009 bytes"),  # bytes, not characters
    ('{"q": ', "not valid JSON"),
    ("[1]", "must be a JSON object"),
    (None, None),
])
def test_parse_arguments_refuses_what_it_cannot_safely_read(text: str | None, problem: str | None) -> None:
    if problem is None:
        assert isinstance(parse_arguments("search_kb", text), dict)
    else:
        with pytest.raises(InvalidArguments, match=problem):
            parse_arguments("search_kb", text)
