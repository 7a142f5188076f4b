"""Migrations: every step up and down on both databases, and no drift between models and migrations."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from bot.store import schema
from bot.store.engine import make_engine


def tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    return set(inspect(engine).get_table_names())


def test_every_migration_goes_up_and_down(db_url: str) -> None:
    engine = make_engine(db_url)
    revisions = schema.revisions()
    assert revisions and revisions[-1] == schema.head_revision()
    for revision in revisions:
        schema.upgrade(engine, revision)
        assert schema.current_revision(engine) == revision
    assert {"proposal", "audit_event", "crm_contact", "kb_section", "crm_contact_fts", "kb_fts"} <= tables(engine)
    for previous in [*reversed(revisions[:-1]), "base"]:
        schema.downgrade(engine, previous)
        assert schema.current_revision(engine) == (None if previous == "base" else previous)
    assert tables(engine) <= {"alembic_version"}
    schema.upgrade(engine)  # and up again from nothing
    assert schema.current_revision(engine) == schema.head_revision()
    engine.dispose()


def test_models_and_migrations_agree(engine) -> None:  # type: ignore[no-untyped-def]
    assert schema.model_drift(engine) == []


def test_drift_is_detected(engine) -> None:  # type: ignore[no-untyped-def]
    # The check above must be able to fail: remove an index the models declare.
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_crm_deal_close_date"))
    drift = schema.model_drift(engine)
    assert any(d[0] == "add_index" and d[1].name == "ix_crm_deal_close_date" for d in drift)


def test_out_of_date_schema_is_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    with pytest.raises(schema.SchemaOutOfDate, match=r"the database is empty.*run `python -m bot migrate`"):
        schema.require_current(engine)
    schema.upgrade(engine)
    schema.require_current(engine)
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url, busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 1234
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
