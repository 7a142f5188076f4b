"""Reading a tool call's arguments: a JSON object of at most 64 KB and 32 levels, or a clear error.

The model's arguments are untrusted text. Size and nesting are checked on the raw text before it
is parsed, so a reply nested hundreds of levels deep can neither exhaust the interpreter's
recursion limit (in the parser or in the unmasking that walks the value) nor end the run: it is
an invalid call like any other, answered to the model and audited.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BYTES = 64 * 1024
MAX_DEPTH = 32

# A JSON string (its brackets are not nesting) and the brackets that are.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class InvalidArguments(ValueError):
    """The arguments cannot be used; the message is written for the model."""


def parse_arguments(tool: str, text: str | None) -> dict[str, Any]:
    """The arguments as a dict; raises InvalidArguments (too large, too deep, not JSON, not an object)."""
    text = text or "{}"
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BYTES:
        raise InvalidArguments(f"the arguments of {tool} have {size:,} bytes; the limit is {MAX_BYTES:,}: "
                               "send less, or split the work into several calls")
    if nesting(text) > MAX_DEPTH:
        raise InvalidArguments(f"the arguments of {tool} are nested more than {MAX_DEPTH} levels deep; "
                               "send a flat JSON object")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArguments(f"the arguments of {tool} are not valid JSON ({exc.msg}); send a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidArguments(f"the arguments of {tool} must be a JSON object")
    return value


def nesting(text: str) -> int:
    """How deep the JSON text's arrays and objects nest (0 for a scalar), counted without parsing;
    the count stops a level past MAX_DEPTH. An unterminated string counts its brackets too."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        else:
            depth -= 1
    return deepest
