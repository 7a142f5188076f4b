"""Splitting articles into sections with stable anchors."""

from __future__ import annotations

from adapters.kb.markdown import parse, slugify, title_from_filename


def test_sections_titles_and_anchors() -> None:
    text = """Intro before the title.
# Refund policy
Short intro.

## Annual plans
Full refund within 30 days.
## Annual plans
Again.
### Edge cases: proration & credits!
Details.
```
## not a heading inside a fence
```
"""
    article = parse(text, "fallback", markdown=True)
    assert article.title == "Refund policy"
    assert [(s.heading, s.anchor) for s in article.sections] == [
        ("Refund policy", ""),
        ("Annual plans", "annual-plans"),
        ("Annual plans", "annual-plans-1"),
        ("Edge cases: proration & credits!", "edge-cases-proration--credits"),
    ]
    assert "Intro before the title." in article.sections[0].body and "Short intro." in article.sections[0].body
    assert "## not a heading inside a fence" in article.sections[-1].body


def test_plain_text_is_one_section_titled_by_the_file_name() -> None:
    article = parse("Support hours are 08:00-18:00.\n", title_from_filename("support-hours_2025.txt"), markdown=False)
    assert article.title == "Support hours 2025"
    assert [(s.heading, s.anchor, s.body) for s in article.sections] == [
        ("Support hours 2025", "", "Support hours are 08:00-18:00.")
    ]


def test_empty_files_have_no_sections() -> None:
    assert parse("", "t", markdown=True).sections == ()
    assert parse("   \n", "t", markdown=False).sections == ()


def test_slugify_matches_github() -> None:
    assert slugify("SLA & Support Tiers (2025)") == "sla--support-tiers-2025"
    assert slugify("Über uns") == "über-uns"
