"""The KnowledgeBase protocol and what its searches and re-indexing return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class KbHit:
    """One matching section of an article."""

    title: str
    heading: str
    snippet: str
    path: str
    anchor: str
    score: float

    @property
    def citation(self) -> str:
        """Where the passage is: the article's path and the section's anchor."""
        return f"{self.path}#{self.anchor}" if self.anchor else self.path


@dataclass(frozen=True)
class ReindexReport:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    failed: tuple[tuple[str, str], ...] = ()
    sections: int = 0


class KnowledgeBase(Protocol):
    """Searchable articles with citations."""

    def search(self, query: str, *, limit: int = 5) -> list[KbHit]: ...

    def reindex(self) -> ReindexReport: ...
