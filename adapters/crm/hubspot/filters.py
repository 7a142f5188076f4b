"""The list filters of adapters/crm/base.py as HubSpot search filter groups.

Guarantees: a filter the bot sets narrows the search exactly as the local CRM narrows its query
(an empty owners tuple matches nothing, dates are compared in epoch milliseconds, a closing window
includes its last day); groups are ORed by HubSpot, so a condition with an OR in it (no activity
since, or none at all) becomes two groups that repeat the other filters.
"""

from __future__ import annotations

from datetime import timedelta

from adapters.crm.base import OPEN_DEAL_STAGES, ContactFilter, DealFilter, TicketFilter
from adapters.crm.hubspot.calls import Filter, flt
from adapters.crm.hubspot.mapping import PRIORITY_WRITE, SLA_PROPERTY, Stages, to_millis

# Every HubSpot lifecycle stage the bot reads as each of its own (the inverse of LIFECYCLE_WRITE's reading).
_LIFECYCLE_VALUES = {"lead": ("subscriber", "lead"), "prospect": ("marketingqualifiedlead", "salesqualifiedlead",
                                                                   "opportunity"),
                     "customer": ("customer", "evangelist"), "churned": ("other",)}


class NothingMatches(Exception):
    """The filter can match no record (an empty set of owners or stages): skip the request."""


def deal_groups(f: DealFilter, stages: Stages) -> list[list[Filter]]:
    base: list[Filter] = []
    wanted = set(f.stages) if f.stages else None
    if f.open_only:
        wanted = (wanted or set(OPEN_DEAL_STAGES)) & set(OPEN_DEAL_STAGES)
    if wanted is not None:
        ids = stages.deal_ids(tuple(wanted))
        if not ids:
            raise NothingMatches
        base.append(flt("dealstage", "IN", ids))
    else:
        base.append(flt("pipeline", "IN", list(stages.deal_pipelines)))
    # Deals without an owner join an owner filter as a second filter group (HubSpot ORs the groups).
    keep_unowned = f.unowned and f.owner is None and f.owners is not None
    owner_groups: list[list[Filter]] = [[]]
    if keep_unowned and not f.owners:
        owner_groups = [[flt("hubspot_owner_id", "NOT_HAS_PROPERTY")]]
    else:
        owners = _owners(f.owner, f.owners)
        if owners is not None:
            owner_groups = [[flt("hubspot_owner_id", "IN", owners)]]
            if keep_unowned:
                owner_groups.append([flt("hubspot_owner_id", "NOT_HAS_PROPERTY")])
    head, base = base, []
    if f.company_id:
        base.append(flt("associations.company", "EQ", f.company_id))
    if f.closing_from:
        base.append(flt("closedate", "GTE", to_millis(f.closing_from)))
    if f.closing_to:
        base.append(flt("closedate", "LT", to_millis(f.closing_to + timedelta(days=1))))
    if f.created_since:
        base.append(flt("createdate", "GTE", to_millis(f.created_since)))
    if f.stage_changed_since:
        base.append(flt("hs_v2_date_entered_current_stage", "GTE", to_millis(f.stage_changed_since)))
    activity_groups: list[list[Filter]] = [[]]
    if f.no_activity_since:
        cut = to_millis(f.no_activity_since)
        base.append(flt("createdate", "LT", cut))
        activity_groups = [[flt("notes_last_updated", "LT", cut)], [flt("notes_last_updated", "NOT_HAS_PROPERTY")]]
    return [[*head, *owner, *base, *activity] for owner in owner_groups for activity in activity_groups]


def contact_groups(f: ContactFilter) -> list[list[Filter]]:
    base: list[Filter] = []
    if f.lifecycle_stages:
        base.append(flt("lifecyclestage", "IN", [v for s in f.lifecycle_stages for v in _LIFECYCLE_VALUES[s]]))
    owners = _owners(None, f.owners)
    if owners is not None:
        base.append(flt("hubspot_owner_id", "IN", owners))
    if f.created_since:
        base.append(flt("createdate", "GTE", to_millis(f.created_since)))
    return [base]


def ticket_groups(f: TicketFilter, stages: Stages) -> list[list[Filter]]:
    base: list[Filter] = [flt("hs_pipeline", "EQ", stages.ticket_pipeline)]
    if f.statuses:
        ids = stages.ticket_ids(f.statuses)
        if not ids:
            raise NothingMatches
        base.append(flt("hs_pipeline_stage", "IN", ids))
    if f.priorities:
        base.append(flt("hs_ticket_priority", "IN", [PRIORITY_WRITE[p] for p in f.priorities]))
    if f.company_id:
        base.append(flt("associations.company", "EQ", f.company_id))
    if f.sla_breached_at:
        base.append(flt(SLA_PROPERTY, "LT", to_millis(f.sla_breached_at)))
    return [base]


def _owners(owner: str | None, owners: tuple[str, ...] | None) -> list[str] | None:
    if owners is not None:
        chosen = [o for o in owners if owner is None or o == owner]
    else:
        chosen = [owner] if owner else None  # type: ignore[list-item]
    if chosen is not None and not chosen:
        raise NothingMatches
    return chosen
