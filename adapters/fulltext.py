"""Full-text index tables that look the same to callers on SQLite (FTS5) and PostgreSQL.

An index is a table keyed by the id of the row it describes, with one or more weighted text
columns. On SQLite it is an FTS5 virtual table ranked by BM25; on PostgreSQL a table of one
tsvector with a GIN index, ranked by ts_rank. Callers pass plain word tokens (see
`words`), so both databases see the same terms. The tables themselves are created by the
migrations (see migrations/versions/0001_initial_schema.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

_NON_WORD = re.compile(r"[^\w]+|_")


@dataclass(frozen=True)
class FtsIndex:
    """Shape of one index: table name, weighted columns (first weighs most), stemming."""

    table: str
    columns: tuple[str, ...]
    weights: tuple[float, ...]
    stemmed: bool = False

    @property
    def pg_config(self) -> str:
        return "english" if self.stemmed else "simple"


def fold(value: str) -> str:
    """Lower-case, strip accents and keep letters and digits separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.split(plain.casefold())).strip()


def words(value: str) -> list[str]:
    """The folded word tokens of value."""
    return fold(value).split()


def _pg_vector(index: FtsIndex) -> str:
    """tsvector of the bound columns :c0, :c1, ..., weighted A, B, ... in column order."""
    return " || ".join(
        f"setweight(to_tsvector('{index.pg_config}', :c{i}), '{'ABCD'[min(i, 3)]}')"
        for i in range(len(index.columns))
    )


def upsert(
    conn: Connection, index: FtsIndex, rows: Iterable[tuple[int, Sequence[str]]], *, fresh: bool = False
) -> None:
    """Index (or re-index) rows of (id, column texts); fresh=True skips removing old entries."""
    batch = [(rid, list(values)) for rid, values in rows]
    if not batch:
        return
    if not fresh:
        delete(conn, index, [rid for rid, _ in batch])
    params = [{"id": rid, **{f"c{i}": v or "" for i, v in enumerate(vals)}} for rid, vals in batch]
    if conn.dialect.name == "sqlite":
        cols = ", ".join(index.columns)
        marks = ", ".join(f":c{i}" for i in range(len(index.columns)))
        conn.execute(text(f"INSERT INTO {index.table}(rowid, {cols}) VALUES (:id, {marks})"), params)
    else:
        vector = _pg_vector(index)
        conn.execute(text(f"INSERT INTO {index.table}(id, tsv) VALUES (:id, {vector})"), params)


def delete(conn: Connection, index: FtsIndex, ids: Sequence[int]) -> None:
    """Remove rows from the index."""
    if not ids:
        return
    key = "rowid" if conn.dialect.name == "sqlite" else "id"
    conn.execute(text(f"DELETE FROM {index.table} WHERE {key} = :id"), [{"id": i} for i in ids])


def search(
    conn: Connection,
    index: FtsIndex,
    terms: Sequence[str],
    *,
    match_all: bool,
    prefix: bool,
    limit: int,
) -> list[tuple[int, float]]:
    """Return (id, score) best first; terms must come from `words` (letters and digits only)."""
    terms = [t for t in terms if t.isalnum()]
    if not terms:
        return []
    if conn.dialect.name == "sqlite":
        star = "*" if prefix else ""
        joiner = " AND " if match_all else " OR "
        query = joiner.join(f'"{t}"{star}' for t in terms)
        weights = ", ".join(str(w) for w in index.weights)
        sql = (
            f"SELECT rowid, -bm25({index.table}, {weights}) AS score FROM {index.table} "
            f"WHERE {index.table} MATCH :q ORDER BY score DESC, rowid LIMIT :limit"
        )
        return [(int(r[0]), float(r[1])) for r in conn.execute(text(sql), {"q": query, "limit": limit})]
    star = ":*" if prefix else ""
    joiner = " & " if match_all else " | "
    query = joiner.join(f"{t}{star}" for t in terms)
    # ts_rank takes weights between 0 and 1, in the order {D, C, B, A}.
    top = max(index.weights)
    pg_weights = [w / top for w in index.weights[:4]]
    pg_weights += [pg_weights[-1]] * (4 - len(pg_weights))
    array = "{" + ", ".join(f"{w:.3f}" for w in reversed(pg_weights)) + "}"
    sql = (
        f"SELECT id, ts_rank('{array}'::float4[], tsv, q) AS score "
        f"FROM {index.table}, to_tsquery('{index.pg_config}', :q) AS q "
        f"WHERE tsv @@ q ORDER BY score DESC, id LIMIT :limit"
    )
    return [(int(r[0]), float(r[1])) for r in conn.execute(text(sql), {"q": query, "limit": limit})]
