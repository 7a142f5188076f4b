"""The placeholder vault of one conversation: which placeholder stands for which real value.

The same entity always gets the same placeholder within a conversation: the same CRM record, or
the same normalised value (case-folded e-mail, the digits of a phone, a name with its spacing
tidied). Entries are persisted through a VaultStore, so a restart or a second replica continues
a thread with the same placeholders. Real values never appear in repr() or logs.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class VaultEntry:
    placeholder: str
    entity_type: str
    key_hash: str
    value: str = field(repr=False)


class VaultStore(Protocol):
    """Persistence of vault entries, one set per conversation."""

    def load(self, conversation_id: str) -> list[VaultEntry]: ...

    def add(self, conversation_id: str, entries: Sequence[VaultEntry]) -> bool:
        """Store entries atomically; False (nothing stored) if another writer took a placeholder
        or a key first, in which case the caller reloads and tries again."""
        ...


class MemoryVaultStore:
    """VaultStore in memory: for one-shot use such as `python -m bot mask`, and tests."""

    def __init__(self) -> None:
        self._entries: dict[str, list[VaultEntry]] = {}

    def load(self, conversation_id: str) -> list[VaultEntry]:
        return list(self._entries.get(conversation_id, []))

    def add(self, conversation_id: str, entries: Sequence[VaultEntry]) -> bool:
        current = self._entries.setdefault(conversation_id, [])
        taken = {e.placeholder for e in current} | {e.key_hash for e in current}
        if any(e.placeholder in taken or e.key_hash in taken for e in entries):
            return False
        current.extend(entries)
        return True


def normalise(entity_type: str, value: str, ref: str | None) -> str:
    """The identity of an entity: its CRM record when known, else its normalised value."""
    if ref and entity_type in ("PERSON", "ORGANIZATION"):
        # A record's name and its aliases ("Robert" / "Bob Miller") are one person.
        return f"ref:{ref}:{entity_type}"
    text = " ".join(value.split())
    if entity_type == "EMAIL_ADDRESS":
        return f"{entity_type}:{text.casefold()}"
    if entity_type == "PHONE_NUMBER":
        # "+44 20 7946 0958" and "020 7946 0958" are one number: compare the last nine digits,
        # which skip both the country code and the trunk prefix.
        digits = "".join(c for c in text if c.isdigit())
        return f"{entity_type}:{digits[-9:]}"
    if entity_type in ("CREDIT_CARD", "IBAN_CODE"):
        return f"{entity_type}:" + "".join(c for c in text if c.isalnum()).upper()
    return f"{entity_type}:{text.casefold()}"


class Vault:
    """Placeholders of one conversation."""

    MAX_ATTEMPTS = 5

    def __init__(self, conversation_id: str, store: VaultStore) -> None:
        self.conversation_id = conversation_id
        self._store = store
        # Tool results of one turn are masked in parallel threads against the same vault.
        self._lock = threading.Lock()
        # Read from the store on first use, unless the conversation is known to be new.
        self._by_placeholder: dict[str, VaultEntry] | None = None
        self._by_key: dict[str, VaultEntry] = {}

    def __repr__(self) -> str:
        size = "not loaded" if self._by_placeholder is None else f"{len(self._by_placeholder)} entries"
        return f"Vault({self.conversation_id!r}, {size})"

    def assume_new(self) -> None:
        """The conversation was created just now, so the store holds nothing for it: skip reading it.

        Entries another replica stores meanwhile are still respected: the store refuses a
        placeholder or key taken first, and assign() then reloads, as with any race."""
        with self._lock:
            if self._by_placeholder is None:
                self._by_placeholder, self._by_key = {}, {}

    def load(self) -> None:
        """Read the conversation's placeholders now (blocking: call it off the event loop), so that
        later look-ups, such as unmasking on the event loop, never touch the store."""
        with self._lock:
            self._loaded()

    def _loaded(self) -> dict[str, VaultEntry]:
        # Callers hold the lock.
        if self._by_placeholder is None:
            self._reload()
        assert self._by_placeholder is not None
        return self._by_placeholder

    def _reload(self) -> None:
        entries = self._store.load(self.conversation_id)
        self._by_placeholder = {e.placeholder: e for e in entries}
        self._by_key = {e.key_hash: e for e in entries}

    def _hash(self, key: str) -> str:
        # Only a hash of the identity is stored, so the key column holds no personal data.
        return hashlib.sha256(f"{self.conversation_id}\x00{key}".encode()).hexdigest()

    def assign(self, items: Sequence[tuple[str, str, str | None]]) -> list[str]:
        """Placeholders for (entity_type, value, ref) items, creating and storing new ones."""
        with self._lock:
            for _ in range(self.MAX_ATTEMPTS):
                result, new = self._plan(items)
                if not new or self._store.add(self.conversation_id, new):
                    assert self._by_placeholder is not None  # _plan loaded it
                    for entry in new:
                        self._by_placeholder[entry.placeholder] = entry
                        self._by_key[entry.key_hash] = entry
                    return result
                self._reload()
        raise RuntimeError("could not store placeholders: the conversation's vault keeps changing")

    def _plan(self, items: Sequence[tuple[str, str, str | None]]) -> tuple[list[str], list[VaultEntry]]:
        counters: dict[str, int] = {}
        for entry in self._loaded().values():
            number = int(entry.placeholder.rsplit("_", 1)[1].rstrip(">"))
            counters[entry.entity_type] = max(counters.get(entry.entity_type, 0), number)
        planned: dict[str, VaultEntry] = {}
        result = []
        for entity_type, value, ref in items:
            key = self._hash(normalise(entity_type, value, ref))
            entry = self._by_key.get(key) or planned.get(key)
            if entry is None:
                counters[entity_type] = counters.get(entity_type, 0) + 1
                entry = VaultEntry(f"<{entity_type}_{counters[entity_type]}>", entity_type, key, value)
                planned[key] = entry
            result.append(entry.placeholder)
        return result, list(planned.values())

    def value_of(self, entity_type: str, number: int) -> str | None:
        """The real value behind <entity_type_number>, or None if this vault never issued it."""
        by_placeholder = self._by_placeholder
        if by_placeholder is None:  # not loaded yet (a vault used only for unmasking)
            with self._lock:
                by_placeholder = self._loaded()
        # A dict read needs no lock: a worker thread adding entries only ever adds.
        entry = by_placeholder.get(f"<{entity_type.upper()}_{number}>")
        return entry.value if entry else None
