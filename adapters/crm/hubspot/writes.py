"""Creates and updates on HubSpot with the guarantees of the local CRM, as far as HubSpot allows.

Idempotent create: the idempotency key goes into `crm_copilot_key`, a property with unique values,
so the create can be retried after a timeout: a retry that meets 409 CONFLICT reads the record
holding the key (one GET with idProperty) and returns it as a replay instead of making a second.
HubSpot offers unique values on contacts, companies, deals and tickets only; an activity (an
engagement) is looked for by its key among the engagements of the record it is linked to, before
its create and after a lost answer (two reads more per activity created).

Versioned update: HubSpot has no conditional update. The record is re-read right before the PATCH
and the write is refused as stale (ConflictError) when its `updatedAt` (its version) moved since
the proposal was planned, or, when the caller gives the write's basis (the fields it depends on, as
planned), only when one of those fields holds another value now: the PATCH sends only the fields
being changed, so other properties changed meanwhile stay as they are. A change made in HubSpot between that read and the PATCH (a window of
one request, some tens of milliseconds) is overwritten: the README states this. The PATCH also
stores the key in `crm_copilot_last_write`, so a repeated update with the same key is answered
from the record as a replay instead of being refused as stale by its own first attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from adapters.crm.base import (
    ConflictError,
    CrmUnavailable,
    NotFoundError,
    RecordKind,
    ValidationFailed,
    WriteResult,
)
from adapters.crm.basis import moved_fields
from adapters.crm.fields import validate_fields
from adapters.crm.hubspot.calls import BATCH, Calls, flt
from adapters.crm.hubspot.client import ApiError
from adapters.crm.hubspot.mapping import (
    ACTIVITY_TYPES,
    ASSOCIATION_TYPE,
    KEY_PROPERTY,
    LAST_WRITE_PROPERTY,
    OBJECT_TYPES,
    READ_PROPERTIES,
    REFERENCES,
    HsObject,
    Stages,
    from_json,
    split_activity_id,
    to_properties,
    to_record,
    to_text,
)


class Writes:
    """create() and update() of HubSpotCrm."""

    def __init__(self, calls: Calls, stages: Stages) -> None:
        self.calls = calls
        self.stages = stages

    def create(self, kind: RecordKind, fields: Mapping[str, Any], *, idempotency_key: str) -> WriteResult:
        values = validate_fields(kind, fields, create=True)
        _check_key(idempotency_key)
        object_type = ACTIVITY_TYPES[values["kind"]] if kind == "activity" else OBJECT_TYPES[kind]
        props = to_properties(kind, values, self.stages, object_type=object_type)
        props[KEY_PROPERTY] = idempotency_key
        if kind == "deal":
            props["pipeline"] = self.stages.deal_pipeline
        elif kind == "ticket":
            props["hs_pipeline"] = self.stages.ticket_pipeline
        elif kind == "activity" and "hs_timestamp" not in props:
            props["hs_timestamp"] = to_text(datetime.now(timezone.utc))
        refs = {REFERENCES[f]: v for f, v in values.items() if f in REFERENCES and v is not None}
        associations = [
            {"to": {"id": str(to_id)},
             "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": ASSOCIATION_TYPE[(object_type, t)]}]}
            for t, to_id in refs.items() if (object_type, t) in ASSOCIATION_TYPE
        ]
        body = {"properties": props, "associations": associations}
        api = self.calls.apis.objects
        if kind == "activity":
            return self._create_engagement(object_type, body, refs, values, idempotency_key)
        try:
            # Safe to repeat after a timeout: the unique key makes a second create a 409.
            created = self.calls.t.call(f"create {object_type}", "safe_write", api.create, object_type, body)
        except ApiError as exc:
            if exc.status != 409:
                raise ValidationFailed(f"HubSpot refused the {kind}: {exc.body.get('message', exc.status)}") from None
            first = self.calls.get_by_key(object_type, KEY_PROPERTY, idempotency_key, READ_PROPERTIES[object_type])
            if first is None:  # the conflict is on another unique value, such as a contact's e-mail
                raise ValidationFailed(f"HubSpot refused the {kind}: {exc.body.get('message', 'a unique value is taken')}") from None
            record = to_record(kind, first, self.stages, related=refs)
            return WriteResult(record=record, created=True, replayed=True, changed_fields=tuple(sorted(values)))
        obj = from_json(object_type, created)
        return WriteResult(record=to_record(kind, obj, self.stages, related=refs), created=True,
                           changed_fields=tuple(sorted(values)))

    def _create_engagement(self, object_type: str, body: dict[str, Any], refs: dict[str, int],
                           values: Mapping[str, Any], key: str) -> WriteResult:
        """HubSpot takes unique values on contacts, companies, deals and tickets, not on engagements:
        here the key is looked for on the linked record's engagements (associations are read at
        once, unlike search) before the create, and again when its answer is lost, before one more try."""
        for attempt in range(2):
            first = self._engagement_by_key(object_type, key, refs)
            if first is not None:
                record = to_record("activity", first, self.stages, related=refs)
                return WriteResult(record=record, created=True, replayed=True, changed_fields=tuple(sorted(values)))
            try:
                created = self.calls.t.call(f"create {object_type}", "write", self.calls.apis.objects.create,
                                            object_type, body)
            except CrmUnavailable:
                if attempt:
                    raise
                continue
            except ApiError as exc:
                raise ValidationFailed(f"HubSpot refused the activity: {exc.body.get('message', exc.status)}") from None
            obj = from_json(object_type, created)
            return WriteResult(record=to_record("activity", obj, self.stages, related=refs), created=True,
                               changed_fields=tuple(sorted(values)))
        raise CrmUnavailable()  # not reached: the second attempt returns or raises

    def _engagement_by_key(self, object_type: str, key: str, refs: dict[str, int]) -> HsObject | None:
        """The engagement of object_type holding key: among the newest 100 linked to the record the
        activity is linked to (deal, else contact, else company); by search when it has none."""
        properties = (*READ_PROPERTIES[object_type], KEY_PROPERTY)
        to_type = next((t for t in ("deals", "contacts", "companies") if t in refs), None)
        if to_type is None:  # search sees a new record some seconds late: the best there is
            found, _total, _next = self.calls.search(object_type, [[flt(KEY_PROPERTY, "EQ", key)]], properties,
                                                     limit=1)
            return found[0] if found else None
        linked = self.calls.get(to_type, refs[to_type], ("hs_object_id",), (object_type,))
        ids = sorted((linked.associations.get(object_type, ()) if linked else ()), reverse=True)[:BATCH]
        return next((o for o in self.calls.batch_read(object_type, ids, properties)
                     if o.properties.get(KEY_PROPERTY) == key), None) if ids else None

    def update(self, kind: RecordKind, record_id: int, changes: Mapping[str, Any], *, expected_version: int,
               idempotency_key: str, basis: Mapping[str, Any] | None = None) -> WriteResult:
        values = validate_fields(kind, changes, create=False)
        _check_key(idempotency_key)
        object_type, hs_id = self._locate(kind, record_id)
        related = {"deal": ("companies", "contacts"), "ticket": ("companies", "contacts"),
                   "activity": ("companies", "contacts", "deals")}.get(kind, ())
        raw = self.calls.get(object_type, hs_id, READ_PROPERTIES[object_type], related) if object_type else None
        if raw is None:
            raise NotFoundError(kind, record_id)
        current = to_record(kind, raw, self.stages)
        replay = _replayed(raw, idempotency_key)
        if replay is not None:
            return WriteResult(record=current, created=False, replayed=True, changed_fields=replay)
        if kind == "activity" and values.get("kind") not in (None, current.kind):  # type: ignore[union-attr]
            raise ValidationFailed("kind: an activity's kind cannot change in HubSpot")
        changed = tuple(sorted(k for k, v in values.items() if getattr(current, k) != v
                               and not (k == "aliases" and tuple(v or ()) == getattr(current, k))))
        if basis is not None:
            moved = moved_fields(kind, current, basis)
            if moved:
                raise ConflictError(current, expected_version, moved)
        elif current.version != expected_version:
            raise ConflictError(current, expected_version)
        if not changed:
            return WriteResult(record=current, created=False)
        props = to_properties(kind, {k: values[k] for k in changed}, self.stages, object_type=object_type)
        if kind == "activity" and "subject" in changed and "body" not in changed:
            props = to_properties(kind, {"subject": values["subject"], "body": current.body}, self.stages,  # type: ignore[union-attr]
                                  object_type=object_type)
        props[LAST_WRITE_PROPERTY] = f"{idempotency_key} {','.join(changed)}"
        links = {t: ids[0] for t, ids in raw.associations.items() if ids}
        # Associations first: moving a contact's primary company changes the contact too, and the
        # PATCH last makes its updatedAt the version the caller gets back.
        for name in changed:
            if name in REFERENCES:
                links.update(self._relink(object_type, hs_id, REFERENCES[name], getattr(current, name), values[name]))
        if kind == "contact" and "company_id" in changed:
            props["associatedcompanyid"] = to_text(values["company_id"])
        api = self.calls.apis.objects
        # Setting the same values again is harmless, so a timeout may be retried.
        patched = self.calls.t.call(f"update {object_type}", "safe_write", api.update, object_type, str(hs_id),
                                    {"properties": props})
        answer = from_json(object_type, patched)
        # The answer carries only some properties: the record is the one read, with the change applied.
        merged = {**raw.properties, **props, **{k: v for k, v in answer.properties.items() if v is not None}}
        if kind == "contact" and "company_id" in changed and values["company_id"] is None:
            merged.pop("associatedcompanyid", None)
        if "dealstage" in props:
            merged["hs_v2_date_entered_current_stage"] = to_text(answer.updated_at)
        after = HsObject(object_type, hs_id, merged, raw.created_at, answer.updated_at, raw.associations)
        record = to_record(kind, after, self.stages, related=links)
        return WriteResult(record=record, created=False, changed_fields=changed)

    def _relink(self, object_type: str, hs_id: int, to_type: str, old: int | None, new: int | None) -> dict[str, int]:
        if new is not None:
            self.calls.associate(object_type, hs_id, to_type, new, ASSOCIATION_TYPE[(object_type, to_type)])
        if old:
            self.calls.dissociate(object_type, hs_id, to_type, old)
        return {to_type: new} if new is not None else {}

    @staticmethod
    def _locate(kind: RecordKind, record_id: int) -> tuple[str | None, int]:
        if kind == "activity":
            where = split_activity_id(record_id)
            return where if where else (None, 0)
        return OBJECT_TYPES[kind], record_id


def _replayed(raw: HsObject, key: str) -> tuple[str, ...] | None:
    stored = raw.properties.get(LAST_WRITE_PROPERTY) or ""
    stored_key, _, fields = stored.partition(" ")
    if stored_key != key:
        return None
    return tuple(f for f in fields.split(",") if f)


def _check_key(key: str) -> None:
    if not key or len(key) > 200 or " " in key:
        raise ValidationFailed("idempotency_key: expected 1 to 200 characters without spaces")
