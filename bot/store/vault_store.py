"""The placeholder vault persisted in the bot's database (a VaultStore)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.privacy.vault import VaultEntry
from bot.store.models import VaultRow


class SqlVaultStore:
    """Vault entries per conversation; the unique keys settle races between replicas."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load(self, conversation_id: str) -> list[VaultEntry]:
        with Session(self._engine) as session:
            rows = session.scalars(
                select(VaultRow).where(VaultRow.conversation_id == conversation_id).order_by(VaultRow.id)
            ).all()
            return [VaultEntry(r.placeholder, r.entity_type, r.key_hash, r.value) for r in rows]

    def add(self, conversation_id: str, entries: Sequence[VaultEntry]) -> bool:
        try:
            with Session(self._engine) as session, session.begin():
                session.add_all(
                    VaultRow(conversation_id=conversation_id, placeholder=e.placeholder,
                             entity_type=e.entity_type, key_hash=e.key_hash, value=e.value)
                    for e in entries
                )
        except IntegrityError:
            return False
        return True
