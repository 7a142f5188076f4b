"""What only the HubSpot adapter has: request budgets, rate limits and faults, the search cap,
the list API for the directory, owners with e-mails, record links; all through the real SDK."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.crm.base import ActivityFilter, CrmUnavailable, DealFilter, StageTotal, ValidationFailed
from adapters.crm.hubspot.adapter import HubSpotCrm
from adapters.crm.hubspot.client import Limits
from adapters.crm.hubspot.limiter import RateLimiter
from tests.fakes.hubspot_emulator import ALL_SCOPES, HubSpotEmulator


class Sleeps:
    """A fake clock whose sleep advances it and records each wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def hub() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator() as hub:
        yield hub


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def connect(hub: HubSpotEmulator, sleeps: Sleeps, **limits: float) -> HubSpotCrm:
    return HubSpotCrm.connect(hub.token, hub.base_url, limits=Limits(**limits),  # type: ignore[arg-type]
                              clock=sleeps.clock, sleep=sleeps.sleep, portal_id=4242)


@pytest.fixture
def crm(hub: HubSpotEmulator, sleeps: Sleeps) -> HubSpotCrm:
    return connect(hub, sleeps)


def seed(crm: HubSpotCrm) -> dict[str, int]:
    acme = crm.create("company", {"name": "Acme"}, idempotency_key="c1").record.id
    zoe = crm.create("contact", {"first_name": "Zoe", "last_name": "Muller", "company_id": acme},
                     idempotency_key="p1").record.id
    deal = crm.create("deal", {"name": "Pro", "company_id": acme, "contact_id": zoe, "amount": 5},
                      idempotency_key="d1").record.id
    return {"acme": acme, "zoe": zoe, "deal": deal}


# -- request budgets --------------------------------------------------------------------------


def test_get_with_related_costs_the_record_plus_one_batch_per_related_type(crm: HubSpotCrm,
                                                                          hub: HubSpotEmulator) -> None:
    ids = seed(crm)
    before = len(hub.requests)
    assert crm.get_deal(ids["deal"]) is not None
    assert len(hub.requests) - before == 3  # the deal with association ids, its company, its contact
    before = len(hub.requests)
    crm.get_contact(ids["zoe"])
    assert len(hub.requests) - before == 3  # the contact, its companies, its deals
    now = datetime.now(timezone.utc)
    for i, kind in enumerate(("call", "note", "meeting", "email", "task")):  # every kind of activity
        crm.create("activity", {"kind": kind, "subject": f"{kind} {i}", "body": "b", "deal_id": ids["deal"],
                                "contact_id": ids["zoe"], "occurred_at": now - timedelta(days=i),
                                "due_at": now + timedelta(days=1)}, idempotency_key=f"a{i}")
    for get, record in ((crm.get_deal, "deal"), (crm.get_contact, "zoe")):
        one_by_one = {a.id: a for kind in ("call", "note", "meeting", "email", "task")
                      for a in crm.list_activities(ActivityFilter(**{f"{record.replace('zoe', 'contact')}_id":
                                                                     ids[record]}, kinds=(kind,)))}
        before = len(hub.requests)
        detail = get(ids[record])
        # the record with association ids, its company, its contact (or deals), and every kind of
        # activity in one request of the v1 Engagements API
        assert len(hub.requests) - before == 4, [r.path for r in hub.requests[before:]]
        assert sum(1 for r in hub.requests[before:] if r.path.startswith("/engagements/v1/")) == 1
        activities = detail.recent_activities  # type: ignore[union-attr]
        assert [a.kind for a in activities] == ["task", "call", "note", "meeting", "email"]  # newest first
        for a in activities:  # the same activities the v3 objects give, field by field (but the links)
            assert a == dataclasses.replace(one_by_one[a.id], company_id=a.company_id, contact_id=a.contact_id,
                                            deal_id=a.deal_id)
            assert a.deal_id == ids["deal"] and a.contact_id == ids["zoe"]


def test_a_record_with_more_activities_than_one_page_reads_the_newest_of_each_kind(
        crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    ids = seed(crm)
    for i in range(101):
        hub.store.create("notes", {"hs_note_body": f"n{i}", "hs_timestamp": str(1_700_000_000_000 + i)},
                         [{"to": {"id": str(ids["deal"])}, "types": [{"associationTypeId": 214}]}])
    before = len(hub.requests)
    detail = crm.get_deal(ids["deal"])
    assert [r.path.split("/")[-2:] for r in hub.requests[before:] if r.method == "POST"][-1] == ["batch", "read"]
    assert len(hub.requests) - before == 4  # the v1 page did not go out: 101 are more than one page
    assert [a.subject for a in detail.recent_activities][:2] == ["n100", "n99"]  # type: ignore[union-attr]


def test_lists_cost_one_search_and_one_association_batch_per_linked_type(crm: HubSpotCrm,
                                                                        hub: HubSpotEmulator) -> None:
    seed(crm)
    before = len(hub.requests)
    deals = crm.list_deals(DealFilter(open_only=True))
    paths = [r.path for r in hub.requests[before:]]
    # the association reads go out at once, so they may arrive in either order
    assert paths[0] == "/crm/v3/objects/deals/search" and sorted(paths[1:]) == [
        "/crm/v4/associations/deals/companies/batch/read", "/crm/v4/associations/deals/contacts/batch/read"]
    assert deals[0].company_id and deals[0].contact_id
    before = len(hub.requests)
    assert crm.count_deals(DealFilter(open_only=True)) == 1 and len(hub.requests) - before == 1
    before = len(hub.requests)
    assert crm.list_deals(DealFilter(company_id=deals[0].company_id))[0].company_id == deals[0].company_id
    assert len(hub.requests) - before == 2  # the company is the filter's: only contacts are asked


def test_a_search_sends_hubspots_documented_body(crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    crm.list_deals(DealFilter(owners=("7",), closing_from=date(2026, 1, 1)))
    body = hub.requests[-1].body
    assert body["filterGroups"] == [{"filters": [
        {"propertyName": "pipeline", "operator": "IN", "values": ["default"]},
        {"propertyName": "hubspot_owner_id", "operator": "IN", "values": ["7"]},
        {"propertyName": "closedate", "operator": "GTE", "value": "1767225600000"},
    ]}]
    assert body["sorts"] == [{"propertyName": "closedate", "direction": "ASCENDING"}]
    assert body["after"] == "0" and body["limit"] == 50


def test_totals_page_past_the_search_cap_by_windowing_on_the_id(hub: HubSpotEmulator, sleeps: Sleeps) -> None:
    crm = connect(hub, sleeps, search_requests_per_second=100, requests_per_window=10_000)
    for i in range(10_250):  # straight into the store: 10,250 creates over HTTP would take a minute
        hub.store.create("deals", {"dealname": f"D{i}", "dealstage": "qualifiedtobuy", "pipeline": "default",
                                   "amount": "2", "deal_currency_code": "EUR"})
    assert crm.deal_totals(DealFilter(open_only=True)) == [StageTotal("qualified", "EUR", 10_250, Decimal(20_500))]
    searches = [r for r in hub.requests if r.path.endswith("/search")]
    assert max(int(r.body["after"]) for r in searches) == 9_800  # never asked past the cap
    assert len(searches) == 52  # 50 pages of 200, then a window from the last id: 2 more
    assert crm.count_deals(DealFilter(open_only=True)) == 10_250  # total counts past the cap


# -- directory and owners ---------------------------------------------------------------------


def test_the_directory_pages_the_list_api_never_search(crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    for i in range(250):
        hub.store.create("contacts", {"firstname": f"N{i}", "lastname": "X", "email": f"n{i}@example.com"})
    hub.store.create("companies", {"name": "Acme", "phone": "+1 415 555 0100"})
    entries = list(crm.directory())
    assert len(entries) == 251 and entries[0].emails == ("n0@example.com",)
    assert hub.count(path="/crm/v3/objects/contacts/search") == 0
    assert hub.count("GET", "/crm/v3/objects/contacts") == 3  # 100 + 100 + 50
    assert hub.requests[0].query["limit"] == ["100"]


def test_owners_carry_emails_and_teams(crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    hub.add_owner(7, "alice@example.com", "Alice", "Adler", ("Sales", "EMEA"))
    hub.add_owner(8, "bruno@example.com", "Bruno", "Berg")
    owners = crm.owners()
    assert [(o.id, o.name, o.email, o.teams) for o in owners] == [
        ("7", "Alice Adler", "alice@example.com", ("Sales", "EMEA")), ("8", "Bruno Berg", "bruno@example.com", ()),
    ]


def test_record_links_need_the_portal_id(crm: HubSpotCrm, hub: HubSpotEmulator, sleeps: Sleeps) -> None:
    assert crm.record_url("contact", 51) == "https://app.hubspot.com/contacts/4242/record/0-1/51"
    assert crm.record_url("deal", 9) == "https://app.hubspot.com/contacts/4242/record/0-3/9"
    assert HubSpotCrm.connect(hub.token, hub.base_url).record_url("contact", 51) is None


# -- rate limits and faults -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_429_waits_for_retry_after_and_retries_for_every_method(crm: HubSpotCrm, hub: HubSpotEmulator,
                                                                   sleeps: Sleeps, method: str) -> None:
    ids = seed(crm)
    hub.fail("/crm/v3/objects/deals", 429, method=method, times=2,
             headers={"Retry-After": "3", "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0"})
    before = len(hub.requests)
    if method == "GET":
        assert crm.get("deal", ids["deal"]) is not None
    else:
        assert crm.count_deals(DealFilter()) == 1
    assert len(hub.requests) - before == 3 and sleeps.waits == [3.0, 3.0]


def test_429s_are_retried_a_bounded_number_of_times(hub: HubSpotEmulator, sleeps: Sleeps) -> None:
    crm = connect(hub, sleeps, max_retries=2)
    hub.fail("/crm/v3/objects/deals", 429, times=10, headers={"Retry-After": "1"})
    with pytest.raises(CrmUnavailable, match="the CRM is not reachable"):
        crm.count_deals(DealFilter())
    assert hub.count(path="/crm/v3/objects/deals") == 3


def test_the_emulators_burst_limit_is_kept_by_the_client_side_limiter(sleeps: Sleeps) -> None:
    with HubSpotEmulator(burst=(10, 10.0), clock=sleeps.clock) as hub:
        crm = connect(hub, sleeps, requests_per_window=10, window_seconds=10.0)
        for i in range(25):
            crm.get("company", 1000 + i)
        assert len(hub.requests) == 25  # no 429: the limiter waited instead
        assert sum(sleeps.waits) == pytest.approx(20.0)


def test_searches_keep_to_their_own_lower_limit(hub: HubSpotEmulator, sleeps: Sleeps) -> None:
    crm = connect(hub, sleeps, search_requests_per_second=4)
    moments = []
    for i in range(10):
        crm.search_companies(f"acme {i}")
        moments.append(sleeps.now)
    assert len(hub.requests) == 10  # one search each (nothing found)
    assert moments == [0.0] * 4 + [1.0] * 4 + [2.0] * 2  # 4 a second, though the burst limit allows 100
    for i in range(5):
        crm.get("company", 1000 + i)  # other requests are not held back by the search limit
    assert sleeps.now == 2.0


def test_an_unexpected_429_from_the_burst_limit_is_waited_out(sleeps: Sleeps) -> None:
    with HubSpotEmulator(burst=(3, 10.0), clock=sleeps.clock) as hub:
        crm = connect(hub, sleeps)  # believes in 100 per 10 s: the server says otherwise
        for i in range(5):
            crm.get("company", 1000 + i)
        assert len(hub.requests) == 6 and sleeps.waits == [10.0]


def test_5xx_on_a_read_is_retried_with_backoff(crm: HubSpotCrm, hub: HubSpotEmulator, sleeps: Sleeps) -> None:
    ids = seed(crm)
    hub.fail("/crm/v3/objects/companies", 503, times=2)
    assert crm.get("company", ids["acme"]) is not None
    assert len(sleeps.waits) == 2 and 0 < sleeps.waits[0] < sleeps.waits[1]


def test_a_dropped_create_is_retried_and_finds_the_first_record(crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    hub.fail("/crm/v3/objects/companies", method="POST", drop=True)
    result = crm.create("company", {"name": "Initech"}, idempotency_key="proposal-7")
    assert result.replayed and len(hub.store.objects["companies"]) == 1
    assert hub.count("POST", "/crm/v3/objects/companies") == 2  # the lost one and the retry (409)
    lookup = hub.requests[-1]
    assert lookup.method == "GET" and lookup.query["idProperty"] == ["crm_copilot_key"]


def test_a_409_on_another_unique_value_is_a_validation_error(crm: HubSpotCrm) -> None:
    crm.create("contact", {"first_name": "A", "last_name": "B", "email": "a@example.com"}, idempotency_key="k1")
    with pytest.raises(Exception, match="already exists"):
        crm.create("contact", {"first_name": "C", "last_name": "D", "email": "a@example.com"}, idempotency_key="k2")


def test_a_stale_update_sends_no_patch(crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    ids = seed(crm)
    planned = crm.get("deal", ids["deal"])
    hub.edit("deals", ids["deal"], amount="99")  # someone changes it in HubSpot
    with pytest.raises(Exception, match="version"):
        crm.update("deal", ids["deal"], {"amount": 6}, expected_version=planned.version,  # type: ignore[union-attr]
                   idempotency_key="u1")
    assert hub.count("PATCH") == 0


def test_a_wrong_token_is_one_operator_line_and_not_reachable_for_the_user(
        hub: HubSpotEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture) -> None:
    crm = HubSpotCrm.connect("pat-wrong-secret", hub.base_url, sleep=sleeps.sleep)
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            with pytest.raises(CrmUnavailable, match="^the CRM is not reachable$"):
                crm.search_contacts("zoe")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "HUBSPOT_ACCESS_TOKEN" in lines[0] and "401" in lines[0]
    assert "pat-wrong-secret" not in caplog.text and sleeps.waits == []


def test_a_missing_scope_is_named(sleeps: Sleeps, caplog: pytest.LogCaptureFixture) -> None:
    with HubSpotEmulator(scopes=ALL_SCOPES - {"tickets"}) as hub:
        crm = connect(hub, sleeps)
        with caplog.at_level(logging.ERROR), pytest.raises(CrmUnavailable):
            crm.get("ticket", 5)
    assert "403" in caplog.text and "tickets" in caplog.text


# -- limiter ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "window", "calls", "waited"), [
    (3, 1.0, 3, 0.0), (3, 1.0, 4, 1.0), (3, 1.0, 7, 2.0), (100, 10.0, 250, 20.0),
])
def test_limiter_waits_only_when_the_window_is_full(limit: int, window: float, calls: int, waited: float) -> None:
    sleeps = Sleeps()
    limiter = RateLimiter(limit, window, clock=sleeps.clock, sleep=sleeps.sleep)
    for _ in range(calls):
        limiter.acquire()
    assert sum(sleeps.waits) == pytest.approx(waited) and limiter.waited == pytest.approx(waited)


def test_limiter_refuses_a_nonsense_limit() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 1.0)


def test_close_dates_are_days(crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    ids = seed(crm)
    deal = crm.create("deal", {"name": "Dated", "company_id": ids["acme"], "amount": 1,
                               "close_date": date(2026, 3, 1)}, idempotency_key="dated").record
    assert hub.store.objects["deals"][deal.id].properties["closedate"] == "2026-03-01T00:00:00.000Z"
    assert crm.get("deal", deal.id).close_date == date(2026, 3, 1)  # type: ignore[union-attr]
    assert [d.name for d in crm.list_deals(DealFilter(closing_from=date(2026, 3, 1),
                                                      closing_to=date(2026, 3, 1) + timedelta(days=0)))] == ["Dated"]


def test_the_directory_refreshes_by_modification_date_and_rereads_everything_now_and_then(
        crm: HubSpotCrm, hub: HubSpotEmulator, sleeps: Sleeps) -> None:
    acme = hub.store.create("companies", {"name": "Acme"})
    hub.store.create("contacts", {"firstname": "Zoe", "lastname": "Muller"})
    assert len(list(crm.directory())) == 2
    listed = hub.count("GET", "/crm/v3/objects/")
    hub.store.create("contacts", {"firstname": "Nia", "lastname": "New", "email": "nia@example.com"})
    hub.store.update("companies", acme.id, {"name": "Acme AG"})
    before = len(hub.requests)
    names = {e.names[0] for e in crm.directory()}
    assert names == {"Acme AG", "Zoe Muller", "Nia New"}
    assert [r.path for r in hub.requests[before:]] == ["/crm/v3/objects/contacts/search",
                                                       "/crm/v3/objects/companies/search"]
    assert hub.count("GET", "/crm/v3/objects/") == listed
    sleeps.now += 6 * 3600  # a full read now and then drops what was deleted
    del hub.store.objects["contacts"][min(hub.store.objects["contacts"])]
    assert {e.names[0] for e in crm.directory()} == {"Acme AG", "Nia New"}
    assert hub.count("GET", "/crm/v3/objects/") == 2 * listed


def test_wiring_selects_hubspot_only_when_configured(hub: HubSpotEmulator, tmp_path, sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    from adapters.crm.local.adapter import LocalCrm
    from bot.config import load_settings
    from bot.wiring import build

    config = tmp_path / "app.toml"
    config.write_text("[hubspot]\nportal_id = 4242\nsearch_requests_per_second = 2\n", encoding="utf-8")
    # Whichever CRM is configured sits behind its circuit breaker.
    assert isinstance(build(load_settings(config, env={}), sqlite_engine).crm.inner, LocalCrm)  # type: ignore[attr-defined]
    env = {"BOT_CRM__ADAPTER": "hubspot", "HUBSPOT_ACCESS_TOKEN": hub.token, "HUBSPOT_API_URL": hub.base_url}
    crm = build(load_settings(config, env=env), sqlite_engine).crm
    assert isinstance(crm.inner, HubSpotCrm) and crm.record_url("company", 5) is not None  # type: ignore[attr-defined]
    assert crm.transport.limits.search_requests_per_second == 2
    hub.store.create("companies", {"name": "Acme"})
    assert [h.title for h in crm.search_companies("acme")] == ["Acme"]


# -- what HubSpot decides itself ---------------------------------------------------------------

def test_a_tickets_sla_is_read_from_hubspot_and_never_written(crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    acme = crm.create("company", {"name": "Acme"}, idempotency_key="c1").record.id
    with pytest.raises(ValidationFailed, match="SLA policies"):
        crm.create("ticket", {"subject": "Late", "company_id": acme, "sla_due_at": "2026-01-01T00:00:00Z"},
                   idempotency_key="t0")
    assert hub.count("POST", "/crm/v3/objects/tickets") == 0  # refused before any request
    ticket = crm.create("ticket", {"subject": "Late", "company_id": acme}, idempotency_key="t1").record
    assert ticket.sla_due_at is None  # no SLA policy applies: never counted as breached
    hub.store.calculate("tickets", ticket.id, hs_time_to_close_sla_due_date="2026-01-01T00:00:00.000Z")
    again = crm.get("ticket", ticket.id)
    assert again is not None and again.sla_due_at is not None and again.sla_due_at.year == 2026  # type: ignore[union-attr]
    # The emulator refuses the calculated property as HubSpot does, whoever sends it.
    with pytest.raises(ValidationFailed, match="read only property"):
        crm.transport.call("raw update", "write", crm.transport.apis.objects.update, "tickets", str(ticket.id),
                           {"properties": {"hs_time_to_close_sla_due_date": "2030-01-01T00:00:00.000Z"}})


def test_an_owner_id_that_is_no_hubspot_user_is_refused(crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    hub.add_owner(101, "alice@example.com", "Alice", "Adler")
    with pytest.raises(ValidationFailed, match="not a valid owner id"):
        crm.create("company", {"name": "Acme", "owner": "U01ALICE"}, idempotency_key="c1")
    assert crm.create("company", {"name": "Acme", "owner": "101"}, idempotency_key="c2").record.owner == "101"


# -- many records at once ------------------------------------------------------------------------

def test_scoring_many_accounts_shares_the_searches(hub: HubSpotEmulator, sleeps: Sleeps) -> None:
    from datetime import datetime, timezone

    from bot import scoring

    crm = connect(hub, sleeps, search_requests_per_second=100)
    now = datetime.now(timezone.utc)
    companies = [crm.create("company", {"name": f"Co {i}"}, idempotency_key=f"c{i}").record for i in range(7)]
    people = [crm.create("contact", {"first_name": f"P{i}", "last_name": "X", "company_id": c.id},
                         idempotency_key=f"p{i}").record for i, c in enumerate(companies)]
    for i, (company, person) in enumerate(zip(companies, people, strict=True)):
        for n in range(i % 3):
            crm.create("activity", {"kind": ("call", "meeting", "note")[n], "subject": f"a{i}{n}",
                                    "company_id": company.id, "contact_id": person.id,
                                    "occurred_at": now - timedelta(days=5 + 20 * n)}, idempotency_key=f"a{i}{n}")
        crm.create("ticket", {"subject": f"t{i}", "company_id": company.id, "priority": ("urgent", "low")[i % 2]},
                   idempotency_key=f"t{i}")
        crm.create("deal", {"name": f"d{i}", "company_id": company.id, "amount": 10,
                            "stage": ("closed_lost", "proposal")[i % 2],
                            "close_date": date.today() - timedelta(days=10)}, idempotency_key=f"d{i}")
    # One call linked to two of the accounts counts for both, as it does when each is scored alone.
    shared = crm.create("activity", {"kind": "call", "subject": "both", "company_id": companies[0].id,
                                     "occurred_at": now - timedelta(days=1)}, idempotency_key="both").record
    hs_id = shared.id // 10
    crm.calls.associate("calls", hs_id, "companies", companies[1].id, 182)

    one_by_one = {c.id: scoring.churn_risk(crm, c.id, now=now) for c in companies}
    leads_one_by_one = {p.id: scoring.lead_score(crm, p.id, now=now) for p in people}
    hub.requests.clear()
    assert scoring.churn_risks(crm, companies, now=now) == one_by_one
    # 7 accounts: two shared reads of tickets, 4 activity kinds, lost and open deals; not 7 x 7 searches.
    assert sum(1 for r in hub.requests if r.path.endswith("/search")) == 2 * (1 + 4 + 2)
    assert one_by_one[companies[1].id].factors[2].value == 1  # the shared call is the last touch of both
    hub.requests.clear()
    assert scoring.lead_scores(crm, [p.id for p in people], now=now) == leads_one_by_one
    assert sum(1 for r in hub.requests if r.path.endswith("/search")) == 2 * 4


def test_five_records_share_one_search_within_hubspots_filter_limits(crm: HubSpotCrm, hub: HubSpotEmulator) -> None:
    from adapters.crm.base import ActivityFilter, TicketFilter

    ids = tuple(range(2001, 2013))  # twelve companies, none of them there: only the requests count
    crm.list_tickets(TicketFilter(company_ids=ids, statuses=("open",), priorities=("high",)))
    bodies = [r.body for r in hub.requests if r.path.endswith("/tickets/search")]
    # HubSpot ORs at most 5 groups of 18 filters in all: four companies' groups of 4 filters fill one search.
    assert [len(b["filterGroups"]) for b in bodies] == [4, 4, 4]
    assert [sum(len(g["filters"]) for g in b["filterGroups"]) for b in bodies] == [16, 16, 16]
    hub.requests.clear()
    crm.list_activities(ActivityFilter(contact_ids=ids[:5], kinds=("call",)))
    assert hub.count("POST", "/crm/v3/objects/calls/search") == 1
    assert crm.list_deals(DealFilter(company_ids=())) == [] and hub.count("POST", "/crm/v3/objects/deals") == 0


def test_an_activity_is_created_once_without_unique_values_on_engagements(crm: HubSpotCrm,
                                                                        hub: HubSpotEmulator) -> None:
    ids = seed(crm)
    assert hub.store.custom["notes"]["crm_copilot_key"] is False  # HubSpot has no unique values there
    hub.fail("/crm/v3/objects/notes", method="POST", drop=True)  # made, then the answer is lost
    first = crm.create("activity", {"kind": "note", "subject": "s", "deal_id": ids["deal"]}, idempotency_key="n1")
    again = crm.create("activity", {"kind": "note", "subject": "s", "deal_id": ids["deal"]}, idempotency_key="n1")
    assert first.replayed and again.replayed and first.record.id == again.record.id
    creates = [r for r in hub.requests if r.method == "POST" and r.path == "/crm/v3/objects/notes"]
    assert len(hub.store.objects["notes"]) == 1 and len(creates) == 1  # the lost one; no second
    other = crm.create("activity", {"kind": "note", "subject": "s", "deal_id": ids["deal"]}, idempotency_key="n2")
    assert not other.replayed and len(hub.store.objects["notes"]) == 2
