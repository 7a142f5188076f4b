"""The adapters the contract suite runs against: the local CRM (SQLite) and HubSpot (on the emulator).

A third adapter joins by adding a World for it here; the tests in this folder do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert

from adapters.crm.base import CrmAdapter, RecordKind, WriteResult
from adapters.crm.hubspot.adapter import HubSpotCrm
from adapters.crm.hubspot.client import Limits
from adapters.crm.hubspot.mapping import ACTIVITY_TYPES, OBJECT_TYPES, SLA_PROPERTY, to_text
from adapters.crm.local.adapter import LocalCrm
from adapters.crm.local.tables import OwnerRow
from tests.fakes.hubspot_emulator import HubSpotEmulator


@dataclass
class World:
    """An adapter under test and the one thing the contract cannot say through the adapter itself:
    how a create's answer is lost on its way back (so that the caller retries)."""

    crm: CrmAdapter
    create_with_lost_answer: Callable[[RecordKind, Mapping[str, Any], str], WriteResult]
    # A ticket's SLA due time, set as the CRM sets it: HubSpot calculates it from SLA policies.
    set_sla_due: Callable[[int, datetime], None]


def _local(engine: Any) -> World:
    crm = LocalCrm(engine)
    with engine.begin() as conn:  # the owners the records of the suite name: the local CRM's owner table
        conn.execute(insert(OwnerRow), [{"id": "101", "name": "Alice Adler", "email": "alice@example.com",
                                         "team": "Sales"},
                                        {"id": "102", "name": "Bruno Berg", "email": "bruno@example.com", "team": None}])

    def lost(kind: RecordKind, fields: Mapping[str, Any], key: str) -> WriteResult:
        crm.create(kind, fields, idempotency_key=key)  # the answer never reaches the caller ...
        return crm.create(kind, fields, idempotency_key=key)  # ... who tries again

    def sla(ticket_id: int, due: datetime) -> None:
        ticket = crm.get("ticket", ticket_id)
        assert ticket is not None
        crm.update("ticket", ticket_id, {"sla_due_at": due}, expected_version=ticket.version,
                   idempotency_key=f"sla-{ticket_id}")

    return World(crm, lost, sla)


def _hubspot(hub: HubSpotEmulator) -> World:
    # The search limit is tested on its own (test_hubspot.py); here it would only slow the suite.
    crm = HubSpotCrm.connect(hub.token, hub.base_url, limits=Limits(backoff_seconds=0.0, search_requests_per_second=100))

    def lost(kind: RecordKind, fields: Mapping[str, Any], key: str) -> WriteResult:
        object_type = ACTIVITY_TYPES[fields["kind"]] if kind == "activity" else OBJECT_TYPES[kind]
        # HubSpot makes the record, then the connection drops: the adapter retries by itself.
        hub.fail(f"/crm/v3/objects/{object_type}", method="POST", drop=True)
        return crm.create(kind, fields, idempotency_key=key)

    def sla(ticket_id: int, due: datetime) -> None:
        hub.store.calculate("tickets", ticket_id, **{SLA_PROPERTY: to_text(due)})

    return World(crm, lost, sla)


@pytest.fixture(params=["local", "hubspot"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "local":
        yield _local(request.getfixturevalue("sqlite_engine"))
        return
    with HubSpotEmulator() as hub:
        # The owners the records of the suite name; in HubSpot, owners are the account's users.
        hub.add_owner(101, "alice@example.com", "Alice", "Adler", ("Sales",))
        hub.add_owner(102, "bruno@example.com", "Bruno", "Berg")
        yield _hubspot(hub)
