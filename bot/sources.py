"""Which of the sources an agent run read its answer used: one rule for Slack and the terminal.

A source is a citation from a read tool: a CRM record as "kind:id" ("deal:12") or a knowledge-base
passage as "path#anchor", with what a person calls it ("Acme renewal", "Pricing › Discounts").
The rule: a record is used when the answer names it (its name, at least 3 characters, as a whole
word) or refers to it as "deal 12" / "deal #12"; a passage when the answer cites it (the citation
or the article's path) or names its article's title. Case is ignored. What the model read but did
not use (the other search hits, the rest of a list) is left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence


def is_record(citation: str) -> bool:
    """"deal:12" is a CRM record; "pricing.md#discounts" a knowledge-base passage."""
    kind, colon, record_id = citation.partition(":")
    return bool(colon) and kind.isalpha() and record_id.isdigit()


def used_sources(answer: str, citations: Sequence[str], names: Mapping[str, str]) -> list[str]:
    """The citations the answer (plain text, as a person reads it) used, in the order they were read."""
    text = answer.lower()
    used = []
    for citation in citations:
        name = names.get(citation, "")
        if is_record(citation):
            kind, _, record_id = citation.partition(":")
            keys = [rf"\b{re.escape(kind)} #?{re.escape(record_id)}\b"]
        else:
            keys = [re.escape(citation.lower()), re.escape(citation.split("#")[0].lower())]
            name = name.split(" › ")[0]  # the article's title; a section heading alone says too little
        if len(name.strip()) >= 3:
            keys.append(rf"(?<!\w){re.escape(name.strip().lower())}(?!\w)")
        if any(re.search(key, text) for key in keys):
            used.append(citation)
    return used
