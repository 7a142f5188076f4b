"""Alembic driven from code: upgrade, downgrade, the current revision and model drift.

There is no alembic.ini: the script location is `migrations/` next to this package and the
database comes from the Settings, so `python -m bot migrate` is the one way to upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class SchemaOutOfDate(Exception):
    """The database is not at the newest migration."""


def target_metadata() -> MetaData:
    """All tables the migrations must create: the bot's own and the local adapters'."""
    from sqlmodel import SQLModel

    import adapters.crm.local.tables  # noqa: F401  (registers the CRM tables)
    import adapters.email.outbox  # noqa: F401
    import adapters.kb.tables  # noqa: F401
    import bot.store.tables  # noqa: F401

    return SQLModel.metadata


def fulltext_tables() -> tuple[str, ...]:
    """Full-text tables, made by hand in migrations because their shape differs per database."""
    from adapters.crm.local.search import INDEXES
    from adapters.kb.local import KB_INDEX

    return tuple(index.table for index in (*INDEXES, KB_INDEX))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave the full-text tables (and FTS5's shadow tables) out of autogenerate."""
    if type_ == "table" and name:
        return not any(name == t or name.startswith(t + "_") for t in fulltext_tables())
    if type_ == "index" and name and name.startswith("ix_") and name.endswith("_fts_tsv"):
        return False
    return True


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current(engine: Engine) -> None:
    """Raise SchemaOutOfDate unless the database is at head."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise SchemaOutOfDate(
            f"the database is {state}, the code needs {head}: run `python -m bot migrate`"
        )


def model_drift(engine: Engine) -> list[Any]:
    """Differences autogenerate finds between the models and the migrated database."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        return compare_metadata(context, target_metadata())
