"""The placeholder vault persisted in the bot's database (a VaultStore)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from bot.privacy.vault import VaultEntry
from bot.store.tables import VaultRow


class SqlVaultStore:
    """Vault entries per conversation; the unique keys settle races between replicas.

    Plain Core statements, built once with bound parameters: a vault is read at the start of
    every turn and written whenever a tool result holds new personal data, and the ORM's
    bookkeeping (or building the statement anew each time) would cost more than the SQL.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        columns = VaultRow.placeholder, VaultRow.entity_type, VaultRow.key_hash, VaultRow.value
        self._load = (select(*columns).where(VaultRow.conversation_id == bindparam("cid"))
                      .order_by(VaultRow.id))  # type: ignore[arg-type]
        self._add = insert(VaultRow)

    def load(self, conversation_id: str) -> list[VaultEntry]:
        with self._engine.connect() as conn:
            rows = conn.execute(self._load, {"cid": conversation_id}).all()
        return [VaultEntry(*row) for row in rows]

    def add(self, conversation_id: str, entries: Sequence[VaultEntry]) -> bool:
        if not entries:
            return True
        try:
            with self._engine.begin() as conn:
                conn.execute(self._add, [
                    {"conversation_id": conversation_id, "placeholder": e.placeholder, "entity_type": e.entity_type,
                     "key_hash": e.key_hash, "value": e.value}
                    for e in entries
                ])
        except IntegrityError:
            return False
        return True
