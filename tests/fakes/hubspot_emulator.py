"""A HubSpot API emulator on loopback, for tests and benchmarks, driven through the real SDK.

    with HubSpotEmulator() as hub:
        crm = HubSpotCrm.connect(hub.token, hub.base_url)
        ...
        assert hub.count("PATCH", "/crm/v3/objects/contacts/") == 1

It answers the endpoints the adapter uses, in HubSpot's documented shapes (hubspot_store.py keeps
the data rules): objects v3 (get with `properties`/`associations`/`idProperty`, list
pages with `after`, create, update, batch read with 207 multi-status, search), associations v4
(create, default create, archive, batch read), owners v3, properties v3, and the legacy v1
Engagements API's associated engagements (every kind of activity of a record in one answer). Errors carry
HubSpot's body (`status`, `message`, `correlationId`, `category`). Without the token: 401; a
scope the token lacks: 403 MISSING_SCOPES naming it; over the burst limit (when one is set):
429 with `Retry-After` and the `X-HubSpot-RateLimit-*` headers.

Faults are scripted with `fail(...)`: an error answer, or `drop=True` to process the request and
then close the connection without answering (a response lost to a timeout). Every request
(method, path, query, body) is kept in order in `requests`.
"""

from __future__ import annotations

import bisect
import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.hubspot_store import (
    ENGAGEMENTS,
    SINGULAR,
    TYPES,
    HubSpotError,
    Obj,
    Store,
    iso,
    ms,
)

ALL_SCOPES = frozenset({
    "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.companies.read",
    "crm.objects.companies.write", "crm.objects.deals.read", "crm.objects.deals.write", "tickets",
    "crm.objects.owners.read", "crm.schemas.contacts.read", "crm.schemas.contacts.write",
    "crm.schemas.companies.read", "crm.schemas.companies.write", "crm.schemas.deals.read",
    "crm.schemas.deals.write",
})
PORTAL_ID = 4242
_V1_TYPE = {"notes": "NOTE", "calls": "CALL", "meetings": "MEETING", "emails": "EMAIL", "tasks": "TASK"}
_V1_METADATA = {"notes": {"body": "hs_note_body"}, "calls": {"title": "hs_call_title", "body": "hs_call_body"},
                "meetings": {"title": "hs_meeting_title", "body": "hs_meeting_body"},
                "emails": {"subject": "hs_email_subject", "text": "hs_email_text"},
                "tasks": {"subject": "hs_task_subject", "body": "hs_task_body", "status": "hs_task_status"}}
_CUSTOM = ("crm_copilot_key", "crm_copilot_last_write", "crm_copilot_external_id", "crm_copilot_aliases",
           "crm_copilot_lead_source")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    server_s: float = 0.0  # time spent answering it (routing, store, JSON), for benchmarks


@dataclass
class Fault:
    method: str | None
    path: str
    status: int = 500
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class HubSpotEmulator:
    """The emulated account; a context manager that serves it on 127.0.0.1."""

    def __init__(self, *, token: str = "pat-test-token", scopes: frozenset[str] = ALL_SCOPES,
                 setup_done: bool = True, burst: tuple[int, float] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.scopes = set(scopes)
        self.store = Store(now_ms=lambda: int(clock() * 1000))
        if setup_done:
            for object_type in TYPES:
                for name in _CUSTOM:
                    self.store.custom[object_type][name] = name == "crm_copilot_key" and object_type not in ENGAGEMENTS
        self.groups: dict[str, set[str]] = {}
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self._burst = burst
        self._clock = clock
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- set-up -------------------------------------------------------------------------------

    def __enter__(self) -> HubSpotEmulator:
        emulator = self

        class Handler(_Handler):
            hub = emulator

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use the emulator as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_owner(self, owner_id: int, email: str, first: str, last: str, teams: tuple[str, ...] = ()) -> None:
        stamp = iso(self.store.tick())
        self.store.owners.append({
            "id": str(owner_id), "email": email, "firstName": first, "lastName": last, "userId": owner_id * 10,
            "type": "PERSON", "createdAt": stamp, "updatedAt": stamp, "archived": False,
            "teams": [{"id": str(i + 1), "name": t, "primary": i == 0} for i, t in enumerate(teams)],
        })

    def fail(self, path: str, status: int = 500, *, method: str | None = None, times: int = 1,
             headers: dict[str, str] | None = None, drop: bool = False) -> None:
        """The next `times` requests whose path starts with `path` fail (or drop after processing)."""
        self.faults.append(Fault(method, path, status, times, headers or {}, drop))

    def count(self, method: str | None = None, path: str = "") -> int:
        return sum(1 for r in self.requests if (method is None or r.method == method) and r.path.startswith(path))

    def edit(self, object_type: str, obj_id: int, **properties: str) -> None:
        """A change made by someone in HubSpot (moves updatedAt)."""
        self.store.update(object_type, obj_id, properties)

    # -- dispatch -----------------------------------------------------------------------------

    def handle(self, request: Request, auth: str | None) -> tuple[int, dict[str, str], Any, bool]:
        """(status, headers, body, drop) for one request."""
        method, path, query, body = request.method, request.path, request.query, request.body
        with self._lock:
            self.requests.append(request)
            fault = next((f for f in self.faults if f.times > 0 and path.startswith(f.path)
                          and (f.method is None or f.method == method)), None)
            if fault:
                fault.times -= 1
        if auth != f"Bearer {self.token}":
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports "
                          "OAuth 2.0 authentication and you can find more details at "
                          "https://developers.hubspot.com/docs/methods/auth/oauth-overview")
        limited = self._rate_limited()
        if limited:
            return limited
        if fault and not fault.drop:
            return _error(fault.status, "RATE_LIMIT" if fault.status == 429 else "INTERNAL_ERROR",
                          "You have reached your secondly limit." if fault.status == 429 else "internal error",
                          headers=fault.headers)
        try:
            needed = _scope(method, path)
            if needed and needed not in self.scopes:
                raise HubSpotError(403, "MISSING_SCOPES", "This app hasn't been granted all required scopes to make "
                                   "this call. Read more about required scopes here: "
                                   "https://developers.hubspot.com/scopes.",
                                   errors=[{"message": "One or more of the following scopes are required.",
                                            "context": {"requiredGranularScopes": [needed]}}])
            status, answer = self._route(method, path.rstrip("/"), query, body)
        except HubSpotError as exc:
            status, headers, payload, _ = _error(exc.status, exc.category, exc.message, **exc.extra)
            return status, headers, payload, bool(fault and fault.drop)
        return status, {}, answer, bool(fault and fault.drop)

    def _rate_limited(self) -> tuple[int, dict[str, str], Any, bool] | None:
        if self._burst is None:
            return None
        limit, window = self._burst
        now = self._clock()
        with self._lock:
            while self._recent and self._recent[0] <= now - window:
                self._recent.popleft()
            remaining = limit - len(self._recent)
            headers = {"X-HubSpot-RateLimit-Max": str(limit), "X-HubSpot-RateLimit-Remaining": str(max(remaining - 1, 0)),
                       "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(window * 1000))}
            if remaining <= 0:
                wait = max(1, int(self._recent[0] + window - now + 0.999))
                return _error(429, "RATE_LIMIT", "You have reached your ten_secondly_rolling limit.",
                              headers={**headers, "Retry-After": str(wait)}, policyName="TEN_SECONDLY_ROLLING")
            self._recent.append(now)
        return None

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        store = self.store
        if parts[:3] == ["crm", "v3", "objects"] and len(parts) >= 4:
            object_type = _type(parts[3])
            rest = parts[4:]
            props = _list(query, "properties")
            if method == "POST" and not rest:
                obj = store.create(object_type, body.get("properties") or {}, body.get("associations") or [])
                return 201, self._object(obj, list((body.get("properties") or {}).keys()))
            if method == "GET" and not rest:
                return 200, self._page(object_type, query, props)
            if method == "POST" and rest == ["search"]:
                found, total, nxt = store.search(object_type, body or {})
                answer: dict[str, Any] = {"total": total, "results": [self._object(o, body.get("properties")) for o in found]}
                if nxt is not None:
                    answer["paging"] = {"next": {"after": str(nxt)}}
                return 200, answer
            if method == "POST" and rest == ["batch", "read"]:
                return self._batch_read(object_type, body, props)
            if len(rest) == 1 and method == "GET":
                id_property = (query.get("idProperty") or [None])[0]
                obj = store.find(object_type, rest[0], id_property)
                return 200, self._object(obj, props, _list(query, "associations"))
            if len(rest) == 1 and method == "PATCH":
                obj = store.update(object_type, _id(rest[0]), (body or {}).get("properties") or {})
                return 200, self._object(obj, list(((body or {}).get("properties") or {}).keys()))
        if parts[:3] == ["crm", "v4", "objects"] and len(parts) >= 7:
            from_type, from_id, to_type = _type(parts[3]), _id(parts[4]), _type(parts[-2])
            to_id = _id(parts[-1])
            if method == "PUT" and parts[6] == "default":
                store.link(from_type, from_id, _type(parts[7]), _id(parts[8]), 0)
                return 200, {"status": "COMPLETE", "results": [], "startedAt": iso(store.tick()),
                             "completedAt": iso(store.tick())}
            if method == "PUT":
                for spec in body or [{}]:
                    store.link(from_type, from_id, to_type, to_id, int(spec.get("associationTypeId", 0)))
                return 201, {"fromObjectTypeId": from_type, "fromObjectId": from_id, "toObjectTypeId": to_type,
                             "toObjectId": to_id, "labels": []}
            if method == "DELETE":
                store.unlink(from_type, from_id, to_type, to_id)
                return 204, None
        if parts[:3] == ["crm", "v4", "associations"] and parts[-2:] == ["batch", "read"]:
            return self._association_read(_type(parts[3]), _type(parts[4]), body)
        if parts[:4] == ["engagements", "v1", "engagements", "associated"] and len(parts) == 7 and method == "GET":
            return 200, self._v1_associated(_type(parts[4]), _id(parts[5]), query)
        if parts[:3] == ["crm", "v3", "owners"] and method == "GET":
            return 200, _paged(store.owners, query)
        if parts[:3] == ["crm", "v3", "properties"] and len(parts) >= 4:
            return self._properties(method, _type(parts[3]), parts[4] if len(parts) > 4 else None, body)
        raise HubSpotError(404, "NOT_FOUND", f"no route for {method} {path}")

    # -- answers ------------------------------------------------------------------------------

    def _object(self, obj: Obj, properties: list[str] | None, associations: list[str] | None = None) -> dict[str, Any]:
        modified = "lastmodifieddate" if obj.type == "contacts" else "hs_lastmodifieddate"
        created = "hs_createdate" if obj.type in ENGAGEMENTS else "createdate"
        props: dict[str, Any] = {"hs_object_id": str(obj.id), created: iso(obj.created), modified: iso(obj.updated)}
        for name in properties or ():
            if name == "createdate" or name == "hs_createdate":
                props[name] = iso(obj.created)
            elif name in ("lastmodifieddate", "hs_lastmodifieddate"):
                props[name] = iso(obj.updated)
            elif self.store.known(obj.type, name):
                props[name] = obj.properties.get(name)  # requested but unset: null
        answer: dict[str, Any] = {"id": str(obj.id), "properties": props, "createdAt": iso(obj.created),
                                  "updatedAt": iso(obj.updated), "archived": False}
        linked = {}
        for to_type in associations or ():
            to_type = _type(to_type)
            ids = self.store.linked(obj.type, obj.id, to_type)
            if ids:
                results = []
                for i in ids:
                    for type_id in sorted(self.store.link_types(obj.type, obj.id, to_type, i)):
                        label = f"{SINGULAR[obj.type]}_to_{SINGULAR[to_type]}"
                        results.append({"id": str(i), "type": label if type_id else f"{label}_unlabeled"})
                linked[to_type] = {"results": results}
        if linked:
            answer["associations"] = linked
        return answer

    def _page(self, object_type: str, query: dict[str, list[str]], props: list[str]) -> dict[str, Any]:
        limit = min(int((query.get("limit") or ["10"])[0]), 100)
        after = int((query.get("after") or ["0"])[0] or 0)
        with self.store.lock:
            # HubSpot's cursor is opaque; here it is the last id seen, so inserts do not shift pages.
            # Ids only grow, so the dict's order is id order.
            ids = list(self.store.objects[object_type])
            start = bisect.bisect_right(ids, after)
            chosen = ids[start:start + limit + 1]
            page = [self.store.objects[object_type][i] for i in chosen[:limit]]
        answer: dict[str, Any] = {"results": [self._object(o, props) for o in page]}
        if len(chosen) > limit:
            answer["paging"] = {"next": {"after": str(page[-1].id), "link": "?after=" + str(page[-1].id)}}
        return answer

    def _batch_read(self, object_type: str, body: dict[str, Any], props: list[str]) -> tuple[int, Any]:
        if len(body.get("inputs") or []) > 100:
            raise HubSpotError(400, "VALIDATION_ERROR", "inputs: at most 100")
        found, missing = [], []
        for item in body.get("inputs") or []:
            obj = self.store.objects[object_type].get(_id(item["id"]))
            if obj is None:
                missing.append(item["id"])
            else:
                found.append(self._object(obj, body.get("properties")))
        answer: dict[str, Any] = {"status": "COMPLETE", "results": found, "startedAt": iso(self.store.tick()),
                                  "completedAt": iso(self.store.tick())}
        if missing:
            answer.update(numErrors=1, errors=[{
                "status": "error", "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {SINGULAR[object_type].upper()} objects, they may be deleted or not "
                           "exist. Check that ids are valid.", "context": {"ids": missing}}])
            return 207, answer
        return 200, answer

    def _association_read(self, from_type: str, to_type: str, body: dict[str, Any]) -> tuple[int, Any]:
        results, missing = [], []
        for item in body.get("inputs") or []:
            from_id = _id(item["id"])
            ids = self.store.linked(from_type, from_id, to_type)
            if not ids:
                missing.append(item["id"])
                continue
            results.append({"from": {"id": str(from_id)}, "to": [
                {"toObjectId": i, "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": t, "label": "Primary" if t in (1, 5, 26) else None}
                    for t in sorted(self.store.link_types(from_type, from_id, to_type, i))]}
                for i in ids]})
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": iso(self.store.tick()),
                                  "completedAt": iso(self.store.tick())}
        if missing:
            answer.update(numErrors=len(missing), errors=[{
                "status": "error", "category": "OBJECT_NOT_FOUND",
                "message": f"No {SINGULAR[to_type]} is associated with {SINGULAR[from_type]} {m}.",
                "context": {"fromObjectId": [m]}} for m in missing])
            return 207, answer
        return 200, answer

    def _v1_associated(self, object_type: str, obj_id: int, query: dict[str, list[str]]) -> dict[str, Any]:
        """The legacy v1 Engagements API's engagements of one record, every kind together: each
        with `engagement`, `associations` and `metadata`, times in epoch milliseconds; `offset` is
        opaque (here the last id returned), `limit` at most 100."""
        limit = min(int((query.get("limit") or ["10"])[0]), 100)
        offset = int((query.get("offset") or ["0"])[0] or 0)
        with self.store.lock:
            self.store.find(object_type, str(obj_id), None)  # 404 for a record that is not there
            linked = sorted((self.store.objects[t][i] for t in ENGAGEMENTS
                             for i in self.store.linked(object_type, obj_id, t)), key=lambda o: o.id)
            after = [o for o in linked if o.id > offset]
            results = [self._v1(o) for o in after[:limit]]
        return {"results": results, "hasMore": len(after) > limit,
                "offset": after[:limit][-1].id if after[:limit] else offset}

    def _v1(self, obj: Obj) -> dict[str, Any]:
        p = obj.properties
        engagement: dict[str, Any] = {"id": obj.id, "portalId": PORTAL_ID, "active": True, "createdAt": obj.created,
                                      "lastUpdated": obj.updated, "type": _V1_TYPE[obj.type],
                                      "timestamp": ms(p["hs_timestamp"]) if p.get("hs_timestamp") else obj.created}
        if p.get("hubspot_owner_id"):
            engagement["ownerId"] = int(p["hubspot_owner_id"])
        links = {key: self.store.linked(obj.type, obj.id, t) for key, t in
                 (("contactIds", "contacts"), ("companyIds", "companies"), ("dealIds", "deals"),
                  ("ticketIds", "tickets"))}
        metadata = {key: p.get(name) for key, name in _V1_METADATA[obj.type].items() if p.get(name) is not None}
        if obj.type == "emails":
            metadata.update({"from": {}, "to": [], "cc": [], "bcc": []})
        return {"engagement": engagement, "associations": {**links, "ownerIds": [], "workflowIds": []},
                "attachments": [], "metadata": metadata}

    def _properties(self, method: str, object_type: str, name: str | None, body: Any) -> tuple[int, Any]:
        custom = self.store.custom[object_type]
        if name == "groups" and method == "POST":
            groups = self.groups.setdefault(object_type, set())
            if body["name"] in groups:
                raise HubSpotError(409, "OBJECT_ALREADY_EXISTS", f"A group named '{body['name']}' already exists.")
            groups.add(body["name"])
            return 201, {"name": body["name"], "label": body.get("label", ""), "displayOrder": -1, "archived": False}
        if method == "GET" and name:
            if name not in custom:
                raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for {object_type}")
            return 200, _property(name, custom[name])
        if method == "POST" and name is None:
            new = body["name"]
            if body.get("groupName") not in self.groups.get(object_type, set()) | {"contactinformation"}:
                raise HubSpotError(400, "VALIDATION_ERROR", f"Property group {body.get('groupName')} does not exist.")
            if new in custom:
                raise HubSpotError(409, "OBJECT_ALREADY_EXISTS", f"A property named '{new}' already exists.")
            if body.get("hasUniqueValue") and object_type in ENGAGEMENTS:
                # Unique values exist for contacts, companies, deals, tickets (and custom objects).
                raise HubSpotError(400, "VALIDATION_ERROR", f"Properties of {object_type} cannot require unique values.")
            custom[new] = bool(body.get("hasUniqueValue"))
            return 201, _property(new, custom[new])
        raise HubSpotError(404, "NOT_FOUND", "no such property route")


class _Handler(BaseHTTPRequestHandler):
    hub: HubSpotEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the client's
        # delayed ACK hold every answer back by about 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        started = time.perf_counter()
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = Request(self.command, parts.path, parse_qs(parts.query), body)
        status, headers, payload, drop = self.hub.handle(request, self.headers.get("Authorization"))
        data = b"" if payload is None else json.dumps(payload).encode()
        request.server_s = time.perf_counter() - started
        if drop:
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


def _error(status: int, category: str, message: str, *, headers: dict[str, str] | None = None,
           **extra: Any) -> tuple[int, dict[str, str], Any, bool]:
    return status, headers or {}, {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                                   "category": category, **extra}, False


def _scope(method: str, path: str) -> str | None:
    parts = path.strip("/").split("/")
    if parts[:3] == ["crm", "v3", "owners"]:
        return "crm.objects.owners.read"
    if parts[0] == "engagements":
        return "crm.objects.contacts.read"
    if len(parts) < 4 or parts[1] not in ("v3", "v4"):
        return None
    object_type = _type(parts[3])
    reading = method == "GET" or parts[-1] in ("search", "read")
    if parts[2] == "properties":
        if object_type == "tickets":
            return "tickets"
        base = "contacts" if object_type in ENGAGEMENTS else object_type
        return f"crm.schemas.{base}.{'read' if method == 'GET' else 'write'}"
    if object_type == "tickets":
        return "tickets"
    base = "contacts" if object_type in ENGAGEMENTS else object_type
    return f"crm.objects.{base}.{'read' if reading else 'write'}"


def _property(name: str, unique: bool) -> dict[str, Any]:
    stamp = "2026-01-01T00:00:00.000Z"
    return {"name": name, "label": name, "type": "string", "fieldType": "text", "groupName": "crm_copilot",
            "description": "", "options": [], "hasUniqueValue": unique, "createdAt": stamp, "updatedAt": stamp,
            "hidden": False, "formField": False, "calculated": False, "externalOptions": False,
            "displayOrder": -1, "modificationMetadata": {"archivable": True, "readOnlyDefinition": False,
                                                         "readOnlyValue": False}}


def _paged(items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    limit = min(int((query.get("limit") or ["100"])[0]), 500)
    start = int((query.get("after") or ["0"])[0] or 0)
    answer: dict[str, Any] = {"results": items[start:start + limit]}
    if start + limit < len(items):
        answer["paging"] = {"next": {"after": str(start + limit)}}
    return answer


def _type(name: str) -> str:
    aliases = {"contact": "contacts", "company": "companies", "deal": "deals", "ticket": "tickets",
               "0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-5": "tickets"}
    chosen = aliases.get(name.lower(), name.lower())
    if chosen not in TYPES:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")
    return chosen


def _id(text: str) -> int:
    if not text.isdigit():
        raise HubSpotError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
    return int(text)


def _list(query: dict[str, list[str]], name: str) -> list[str]:
    return [v for item in query.get(name, []) for v in item.split(",") if v]
