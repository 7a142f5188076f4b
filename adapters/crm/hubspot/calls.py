"""The HubSpot requests the adapter makes, each one SDK call through the Transport.

Guarantees: every answer comes back as HsObjects (or plain ids), never SDK models; a 404 on a
read is None; a search never asks past HubSpot's 10,000-result cap: `search_all` windows on
`hs_object_id` (sorted ascending, restarting with `hs_object_id > last`) to see every match.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from adapters.crm.hubspot.client import ApiError, Transport
from adapters.crm.hubspot.mapping import HsObject, from_json, from_v1

SEARCH_PAGE = 200  # HubSpot's largest search page
SEARCH_CAP = 10_000  # HubSpot answers no search page beyond this many results
LIST_PAGE = 100  # the list endpoints' largest page
BATCH = 100  # the batch endpoints' largest input
ENGAGEMENT_PAGE = 100  # the v1 associated-engagements endpoint's largest page
V1_OBJECT_TYPE = {"contacts": "CONTACT", "companies": "COMPANY", "deals": "DEAL", "tickets": "TICKET"}

Filter = dict[str, Any]


def flt(prop: str, operator: str, value: Any = None) -> Filter:
    """One search filter; lists go to `values`, anything else to `value` (always as strings)."""
    f: Filter = {"propertyName": prop, "operator": operator}
    if isinstance(value, (list, tuple)):
        f["values"] = [str(v) for v in value]
    elif value is not None:
        f["value"] = str(value)
    return f


class Calls:
    """Object-level requests: get, batch read, search, list pages, associations, owners."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport
        self.apis = transport.apis

    def get(self, object_type: str, hs_id: int, properties: Sequence[str],
            associations: Sequence[str] = ()) -> HsObject | None:
        try:
            obj = self.t.call(f"get {object_type}", "read", self.apis.objects.get_by_id, object_type, str(hs_id),
                              properties=list(properties), associations=list(associations) or None)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return from_json(object_type, obj)

    def get_by_key(self, object_type: str, prop: str, value: str, properties: Sequence[str]) -> HsObject | None:
        """The object whose unique property `prop` is value (one GET with idProperty)."""
        try:
            obj = self.t.call(f"get {object_type} by {prop}", "read", self.apis.objects.get_by_id, object_type,
                              value, properties=list(properties), id_property=prop)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return from_json(object_type, obj)

    def batch_read(self, object_type: str, ids: Sequence[int], properties: Sequence[str]) -> list[HsObject]:
        found: list[HsObject] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), BATCH):
            body = {"inputs": [{"id": str(i)} for i in unique[start:start + BATCH]], "properties": list(properties),
                    "propertiesWithHistory": []}
            answer = self.t.call(f"batch read {object_type}", "read", self.apis.batch.read, object_type, body)
            found += [from_json(object_type, o) for o in answer["results"]]  # missing ids are in "errors" (207)
        return found

    def search(self, object_type: str, groups: list[list[Filter]], properties: Sequence[str], *,
               sorts: Sequence[dict[str, str]] = (), limit: int = SEARCH_PAGE, after: int = 0,
               query: str | None = None) -> tuple[list[HsObject], int, int | None]:
        """One search page: (objects, total, next offset or None)."""
        body: dict[str, Any] = {"filterGroups": [{"filters": g} for g in groups if g] or [],
                                "properties": list(properties), "sorts": list(sorts),
                                "limit": min(limit, SEARCH_PAGE), "after": str(after)}
        if query:
            body["query"] = query
        answer = self.t.call(f"search {object_type}", "search", self.apis.search.do_search, object_type, body)
        nxt = _next(answer)
        return [from_json(object_type, o) for o in answer["results"]], int(answer.get("total") or 0), \
            int(nxt) if nxt is not None else None

    def count(self, object_type: str, groups: list[list[Filter]]) -> int:
        return self.search(object_type, groups, ["hs_object_id"], limit=1)[1]

    def search_all(self, object_type: str, groups: list[list[Filter]], properties: Sequence[str]) -> Iterator[HsObject]:
        """Every match, in id order, past the 10,000 cap."""
        last = 0
        while True:
            window = [[*g, flt("hs_object_id", "GT", last)] for g in (groups or [[]])]
            after: int | None = 0
            seen = 0
            while after is not None and after + SEARCH_PAGE <= SEARCH_CAP:
                objects, _total, after = self.search(object_type, window, properties, after=after,
                                                     sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}])
                yield from objects
                seen += len(objects)
                if objects:
                    last = objects[-1].id
            if after is None:
                return
            if not seen:
                return

    def engagements(self, object_type: str, object_id: int, limit: int = ENGAGEMENT_PAGE) -> tuple[list[HsObject], bool]:
        """The record's engagements of every kind in one request: (engagements, more to read).

        The v3 API reads one kind (notes, calls, ...) per request, so a record's recent activities
        cost up to five; HubSpot's legacy v1 Engagements API answers for all kinds at once. The SDK
        has no client for it: its generated ApiClient sends the request (same auth, pool and
        timeouts), and the JSON is mapped here."""
        answer = self.t.call(f"engagements of {object_type}", "read", self.apis.objects.api_client.call_api,
                             "/engagements/v1/engagements/associated/{objectType}/{objectId}/paged", "GET",
                             path_params={"objectType": V1_OBJECT_TYPE[object_type], "objectId": str(object_id)},
                             query_params=[("limit", limit)], header_params={"Accept": "application/json"},
                             auth_settings=["oauth2"], response_types_map={}, _return_http_data_only=True)
        found = [o for o in (from_v1(item) for item in answer.get("results") or ()) if o is not None]
        return found, bool(answer.get("hasMore"))

    def page(self, object_type: str, properties: Sequence[str], after: str | None) -> tuple[list[HsObject], str | None]:
        """One page of the list endpoint (no cap, no search limit)."""
        answer = self.t.call(f"list {object_type}", "read", self.apis.objects.get_page, object_type, limit=LIST_PAGE,
                             after=after, properties=list(properties), archived=False)
        return [from_json(object_type, o) for o in answer["results"]], _next(answer)

    def associated(self, from_type: str, to_type: str, ids: Sequence[int]) -> dict[int, list[int]]:
        """Association ids from each of ids to to_type, by one batch request per 100 ids (v4)."""
        result: dict[int, list[int]] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), BATCH):
            body = {"inputs": [{"id": str(i)} for i in unique[start:start + BATCH]]}
            answer = self.t.call(f"associations {from_type}->{to_type}", "read", self.apis.association_batch.get_page,
                                 from_type, to_type, body)
            for item in answer["results"]:  # ids with no associations come back in "errors" (207)
                result[int(item["from"]["id"])] = [int(to["toObjectId"]) for to in item["to"]]
        return result

    def associate(self, from_type: str, from_id: int, to_type: str, to_id: int, type_id: int) -> None:
        spec = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]
        self.t.call(f"associate {from_type}->{to_type}", "safe_write", self.apis.associations.create, from_type,
                    str(from_id), to_type, str(to_id), spec)

    def dissociate(self, from_type: str, from_id: int, to_type: str, to_id: int) -> None:
        self.t.call(f"dissociate {from_type}->{to_type}", "safe_write", self.apis.associations.archive, from_type,
                    str(from_id), to_type, str(to_id))

    def owners(self) -> Iterator[dict[str, Any]]:
        after = None
        while True:
            answer = self.t.call("owners", "read", self.apis.owners.get_page, limit=100, after=after, archived=False)
            yield from answer["results"]
            after = _next(answer)
            if after is None:
                return


def _next(answer: dict[str, Any]) -> str | None:
    """The `after` cursor of the next page, or None on the last page."""
    return ((answer.get("paging") or {}).get("next") or {}).get("after")
