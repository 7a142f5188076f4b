"""The local knowledge base on SQLite and PostgreSQL: ranking, citations, incremental re-indexing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from adapters.kb.local import LocalKnowledgeBase, snippet

SHIPPED_KB = Path(__file__).resolve().parents[2] / "kb"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    (root / "sales").mkdir(parents=True)
    (root / "refunds.md").write_text(
        "# Refund policy\n\nHow refunds work.\n\n## Annual plans\n\nFirst-time annual customers get a full "
        "refund within 30 days.\n\n## Monthly plans\n\nNo partial-month refunds.\n", encoding="utf-8")
    (root / "sales" / "discounts.md").write_text(
        "# Discount policy\n\n## Approval levels\n\nDiscounts above 20% need VP Sales approval.\n", encoding="utf-8")
    (root / "hours.txt").write_text("Support is open Monday to Friday, 08:00-18:00 CET.\n", encoding="utf-8")
    (root / ".hidden.md").write_text("# Secret\n\nrefund refund refund\n", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "notes.md").write_text("# Internal\n\nrefund refund refund\n", encoding="utf-8")
    (root / "image.png").write_bytes(b"\x89PNG")
    return root


def test_search_finds_the_right_section_with_a_citation(engine, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = LocalKnowledgeBase(engine, folder)
    report = kb.reindex()
    assert sorted(report.added) == ["hours.txt", "refunds.md", "sales/discounts.md"]
    hits = kb.search("Can an annual customer get a refund?")
    assert hits[0].citation == "refunds.md#annual-plans"
    assert hits[0].title == "Refund policy" and hits[0].heading == "Annual plans"
    assert "full refund within 30 days" in hits[0].snippet
    assert kb.search("who approves discounts")[0].citation == "sales/discounts.md#approval-levels"
    assert kb.search("support opening hours")[0].citation == "hours.txt"
    assert kb.search("xylophone") == []
    assert kb.search("") == []
    assert kb.search("the of and") == []


def test_reindex_touches_only_what_changed(engine, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = LocalKnowledgeBase(engine, folder)
    kb.reindex()
    again = kb.reindex()
    assert (again.added, again.updated, again.removed, again.unchanged) == ((), (), (), 3)

    # Same content, new timestamp: re-read and hashed, but not re-indexed.
    os.utime(folder / "hours.txt", None)
    assert kb.reindex().updated == ()

    (folder / "refunds.md").write_text("# Refund policy\n\n## Annual plans\n\nRefunds within 14 days.\n",
                                       encoding="utf-8")
    (folder / "sales" / "discounts.md").unlink()
    (folder / "new.md").write_text("# Onboarding\n\nKickoff within 5 business days.\n", encoding="utf-8")
    report = kb.reindex()
    assert (report.added, report.updated, report.removed, report.unchanged) == (
        ("new.md",), ("refunds.md",), ("sales/discounts.md",), 1)
    assert kb.search("refund 30 days")[0].snippet == "Refunds within 14 days."
    assert all(h.heading != "Monthly plans" for h in kb.search("monthly plans partial month"))
    assert kb.search("discount approval") == []
    assert kb.search("kickoff")[0].citation == "new.md"


def test_unreadable_files_are_reported_and_the_rest_indexed(engine, folder: Path) -> None:  # type: ignore[no-untyped-def]
    (folder / "latin1.md").write_bytes("# Café\n\nPrix spéciaux\n".encode("latin-1"))
    (folder / "huge.md").write_text("# Huge\n\n" + "word " * 1000, encoding="utf-8")
    kb = LocalKnowledgeBase(engine, folder, max_file_bytes=2000)
    report = kb.reindex()
    assert dict(report.failed) == {"latin1.md": "not UTF-8 text", "huge.md": "larger than kb.max_file_bytes (2000 bytes)"}
    assert len(report.added) == 3
    assert kb.search("refund")


def test_a_file_that_becomes_unreadable_keeps_its_previous_entries(engine, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = LocalKnowledgeBase(engine, folder)
    kb.reindex()
    (folder / "refunds.md").write_bytes(b"\xff\xfe broken")
    report = kb.reindex()
    assert report.failed == (("refunds.md", "not UTF-8 text"),) and report.removed == ()
    assert kb.search("annual refund")[0].path == "refunds.md"


def test_missing_folder_is_an_error(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        LocalKnowledgeBase(engine, tmp_path / "nope").reindex()


def test_shipped_articles_answer_typical_questions(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "kb"
    shutil.copytree(SHIPPED_KB, root)
    kb = LocalKnowledgeBase(engine, root)
    report = kb.reindex()
    assert 15 <= len(report.added) <= 25 and not report.failed
    expectations = {
        "refund for an annual contract": "refund",
        "P1 response time enterprise": "sla",
        "SAML single sign-on login fails": "sso",
        "discount approval VP Sales": "discount",
        "API rate limit per minute": "rate-limit",
    }
    for question, path_part in expectations.items():
        top = [h.path for h in kb.search(question, limit=3)]
        assert any(path_part in p for p in top), (question, top)


def test_snippet_centres_on_the_query_terms() -> None:
    body = " ".join(["filler"] * 50 + ["refunds", "are", "paid", "within", "ten", "days"] + ["tail"] * 50)
    text = snippet(body, ["refund", "days"], size=10)
    assert "refunds are paid within ten days" in text and text.startswith("… ") and text.endswith(" …")
    assert snippet("short text", ["x"]) == "short text"
