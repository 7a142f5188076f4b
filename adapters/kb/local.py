"""LocalKnowledgeBase: a folder of Markdown and text files, indexed in the bot's database."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from adapters import fulltext
from adapters.kb.base import KbHit, ReindexReport
from adapters.kb.markdown import Article, parse, title_from_filename
from adapters.kb.tables import KbDocumentRow, KbSectionRow

log = logging.getLogger(__name__)

KB_INDEX = fulltext.FtsIndex("kb_fts", ("heading", "body"), (4.0, 1.0), stemmed=True)
MARKDOWN_SUFFIXES = (".md", ".markdown")
SNIPPET_WORDS = 32

_STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from how i if in is it me my of on or our "
    "should the their there this to was we what when where which who why will with you your".split()
)


class LocalKnowledgeBase:
    """Indexes `root` recursively; searches headings and bodies with BM25 / ts_rank."""

    def __init__(
        self,
        engine: Engine,
        root: Path,
        *,
        extensions: Sequence[str] = (".md", ".markdown", ".txt"),
        max_file_bytes: int = 1_000_000,
    ) -> None:
        self._engine = engine
        self._root = root
        self._extensions = tuple(e.lower() for e in extensions)
        self._max_bytes = max_file_bytes

    def search(self, query: str, *, limit: int = 5) -> list[KbHit]:
        terms = _query_terms(query)
        with Session(self._engine) as session:
            ranked = fulltext.search(
                session.connection(), KB_INDEX, terms, match_all=False, prefix=False, limit=limit
            )
            if not ranked:
                return []
            rows = session.execute(
                select(KbSectionRow, KbDocumentRow.title)
                .join(KbDocumentRow, KbDocumentRow.path == KbSectionRow.path)
                .where(KbSectionRow.id.in_([rid for rid, _ in ranked]))
            ).all()
        by_id = {section.id: (section, title) for section, title in rows}
        return [
            KbHit(
                title=by_id[rid][1],
                heading=by_id[rid][0].heading,
                snippet=snippet(by_id[rid][0].body, terms),
                path=by_id[rid][0].path,
                anchor=by_id[rid][0].anchor,
                score=score,
            )
            for rid, score in ranked
            if rid in by_id
        ]

    def reindex(self) -> ReindexReport:
        """Index new and changed files, drop removed ones; unreadable files are reported."""
        if not self._root.is_dir():
            raise FileNotFoundError(f"knowledge-base folder {self._root} does not exist")
        files = self._article_files()
        added: list[str] = []
        updated: list[str] = []
        failed: list[tuple[str, str]] = []
        unchanged = 0
        with self._engine.connect() as conn:
            known = {
                row.path: row
                for row in conn.execute(
                    select(KbDocumentRow.path, KbDocumentRow.size, KbDocumentRow.mtime_ns, KbDocumentRow.sha256)
                )
            }
        for rel, (path, stat) in files.items():
            try:
                doc = known.get(rel)
                if doc and doc.size == stat.st_size and doc.mtime_ns == stat.st_mtime_ns:
                    unchanged += 1
                    continue
                if stat.st_size > self._max_bytes:
                    raise ValueError(f"larger than kb.max_file_bytes ({self._max_bytes} bytes)")
                data = path.read_bytes()
                text = data.decode("utf-8")
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
                failed.append((rel, reason))
                log.warning("knowledge base: skipped %s: %s", rel, reason)
                continue
            digest = hashlib.sha256(data).hexdigest()
            if doc and doc.sha256 == digest:
                self._touch(rel, stat.st_size, stat.st_mtime_ns)
                unchanged += 1
                continue
            article = parse(text, title_from_filename(path.name), markdown=path.suffix.lower() in MARKDOWN_SUFFIXES)
            self._store(rel, article, digest, stat.st_size, stat.st_mtime_ns)
            (updated if doc else added).append(rel)
        removed = sorted(set(known) - set(files) - {rel for rel, _ in failed})
        for rel in removed:
            self._remove(rel)
        with self._engine.connect() as conn:
            sections = conn.execute(select(func.count()).select_from(KbSectionRow)).scalar_one()
        return ReindexReport(tuple(added), tuple(updated), tuple(removed), unchanged, tuple(failed), sections)

    def _article_files(self) -> dict[str, tuple[Path, os.stat_result]]:
        """Relative path -> (path, stat) of every article, hidden files and folders excluded."""
        found: dict[str, tuple[Path, os.stat_result]] = {}
        for folder, dirs, names in os.walk(self._root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            base = Path(folder)
            prefix = base.relative_to(self._root).as_posix()
            for name in sorted(names):
                if name.startswith(".") or Path(name).suffix.lower() not in self._extensions:
                    continue
                path = base / name
                try:
                    stat = path.stat()
                except OSError:
                    continue
                found[name if prefix == "." else f"{prefix}/{name}"] = (path, stat)
        return found

    def _store(self, rel: str, article: Article, digest: str, size: int, mtime_ns: int) -> None:
        with Session(self._engine) as session, session.begin():
            self._delete_sections(session, rel)
            session.merge(
                KbDocumentRow(path=rel, title=article.title, sha256=digest, size=size,
                              mtime_ns=mtime_ns, indexed_at=_utcnow())
            )
            session.flush()
            rows = [
                KbSectionRow(path=rel, position=i, heading=s.heading, anchor=s.anchor, body=s.body)
                for i, s in enumerate(article.sections)
            ]
            session.add_all(rows)
            session.flush()
            fulltext.upsert(session.connection(), KB_INDEX, [(r.id, (r.heading, r.body)) for r in rows])

    def _touch(self, rel: str, size: int, mtime_ns: int) -> None:
        with Session(self._engine) as session, session.begin():
            doc = session.get(KbDocumentRow, rel)
            if doc is not None:
                doc.size, doc.mtime_ns = size, mtime_ns

    def _remove(self, rel: str) -> None:
        with Session(self._engine) as session, session.begin():
            self._delete_sections(session, rel)
            session.execute(delete(KbDocumentRow).where(KbDocumentRow.path == rel))

    @staticmethod
    def _delete_sections(session: Session, rel: str) -> None:
        ids = list(session.scalars(select(KbSectionRow.id).where(KbSectionRow.path == rel)))
        fulltext.delete(session.connection(), KB_INDEX, ids)
        session.execute(delete(KbSectionRow).where(KbSectionRow.path == rel))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _query_terms(query: str) -> list[str]:
    terms = fulltext.words(query)
    meaningful = [t for t in terms if t not in _STOP_WORDS]
    return list(dict.fromkeys(meaningful or terms))


def _norm(token: str) -> str:
    # Most tokens are plain ASCII: lower-case them and drop leading punctuation; fold the rest.
    lowered = token.casefold().lstrip("(\"'[{")
    return lowered if lowered.isascii() else fulltext.fold(lowered)


def snippet(body: str, terms: Sequence[str], size: int = SNIPPET_WORDS) -> str:
    """The window of `size` words of body holding the most query terms, with ellipses."""
    tokens = re.sub(r"\s+", " ", re.sub(r"[#*_`>|]+", " ", body)).split()
    if not tokens:
        return ""
    stems = tuple(t[: max(4, len(t) - 2)] for t in terms)
    hits = [1 if _norm(tok).startswith(stems) else 0 for tok in tokens]
    # Running window sums: the best window is the first one holding the most hits.
    best, window = 0, sum(hits[:size])
    best_count = window
    for start in range(1, max(1, len(tokens) - size + 1)):
        window += hits[start + size - 1] - hits[start - 1]
        if window > best_count:
            best, best_count = start, window
    text = " ".join(tokens[best: best + size])
    prefix = "… " if best > 0 else ""
    suffix = " …" if best + size < len(tokens) else ""
    return f"{prefix}{text}{suffix}"
