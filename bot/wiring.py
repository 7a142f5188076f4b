"""Builds the object graph from Settings once; nothing here is global.

The composition root: it imports every layer and no layer imports it. The Slack side is built
complete before it serves: who the bot is (auth.test), the digest service, then the frozen
SlackDeps every listener shares.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from adapters.crm.base import CrmAdapter
from adapters.crm.local.adapter import LocalCrm
from adapters.email.base import EmailSender
from adapters.email.outbox import OutboxSender
from adapters.email.smtp import SmtpDelivery
from adapters.kb.base import KnowledgeBase
from adapters.kb.local import LocalKnowledgeBase
from bot.access.people import FixedUsers, People, Profile, UserSource
from bot.access.service import Access
from bot.actions.operations import Targets, operations
from bot.actions.policy import ApprovalPolicy
from bot.actions.service import Approvals
from bot.agent.guarded import GuardedCrm, GuardedModel
from bot.agent.loop import Agent
from bot.agent.model import MissingModel, Model
from bot.agent.read_tools import read_tools
from bot.agent.text_protocol import TextProtocolModel
from bot.agent.tools import ToolRegistry, write_tools
from bot.breaker import Breakers
from bot.config import Settings
from bot.ops import Ops
from bot.privacy.gateway import Gateway
from bot.privacy.known import KnownEntitySource
from bot.privacy.vault import Vault
from bot.records import ProposalView
from bot.store import schema
from bot.store.audit import SqlAuditLog
from bot.store.dead_letters import SqlDeadLetters, next_try
from bot.store.engine import make_engine
from bot.store.history import SqlHistory
from bot.store.proposals import SqlProposals
from bot.store.tables import utcnow
from bot.store.vault_store import SqlVaultStore

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.ops.metrics import Metrics
    from bot.limits.service import LimitName, Limits

    from bot.access.scope import Scope
    from bot.digests.service import Audience, DigestService, Publisher
    from bot.privacy.detector import Detector
    from bot.slack.deps import SlackDeps


@dataclass(frozen=True)
class Components:
    settings: Settings
    engine: Engine
    crm: CrmAdapter  # behind its circuit breaker (breakers.crm) when built here
    kb: KnowledgeBase
    breakers: Breakers | None = None  # this process's circuit breakers (the model's and the CRM's)


def build_breakers(settings: Settings) -> Breakers:
    return Breakers(threshold=settings.breaker.failures, cooldown=settings.breaker.cooldown_seconds)


def build_engine(settings: Settings) -> Engine:
    return make_engine(
        settings.database_url,
        busy_timeout_ms=settings.database.busy_timeout_ms,
        pool_size=settings.database.pool_size,
    )


def build_gateway(settings: Settings, crm: CrmAdapter, metrics: Metrics | None = None
                  ) -> tuple[Gateway, Detector, KnownEntitySource]:
    """The privacy gateway with its detector and the CRM's known entities (loaded and warmed);
    with metrics, each detection pass is timed."""
    from bot.ops.watch import WatchedDetector
    from bot.privacy.detector import Detector  # Presidio takes about a second to import

    known = KnownEntitySource(crm.directory, company_names=settings.privacy.company_names)
    if settings.privacy.known_entities:
        known.refresh()
    detector = Detector(settings.privacy, known)
    detector.warm()
    return Gateway(WatchedDetector(detector, metrics) if metrics is not None else detector), detector, known


def build_checked(settings: Settings) -> Components:
    """The object graph, after checking the database is migrated (what every command needs)."""
    components = build(settings)
    schema.require_current(components.engine)
    return components


def build(settings: Settings, engine: Engine | None = None) -> Components:
    """Create the engine (unless given), the CRM adapter and the knowledge base."""
    engine = engine or build_engine(settings)
    breakers = build_breakers(settings)
    inner: CrmAdapter = build_hubspot(settings) if settings.crm.adapter == "hubspot" else LocalCrm(engine)
    crm: CrmAdapter = GuardedCrm(inner, breakers.crm)  # type: ignore[assignment]
    kb = LocalKnowledgeBase(
        engine,
        settings.kb_path,
        extensions=settings.kb.extensions,
        max_file_bytes=settings.kb.max_file_bytes,
    )
    return Components(settings=settings, engine=engine, crm=crm, kb=kb, breakers=breakers)


def build_hubspot(settings: Settings) -> CrmAdapter:
    """The HubSpot adapter for [hubspot] and HUBSPOT_ACCESS_TOKEN (checked at load) / HUBSPOT_API_URL."""
    from adapters.crm.hubspot.adapter import HubSpotCrm
    from adapters.crm.hubspot.client import Limits
    from adapters.crm.hubspot.mapping import Stages

    hs, token = settings.hubspot, settings.secrets.hubspot_access_token
    assert token is not None, "load_settings refuses hubspot without a token"
    limits = Limits(requests_per_window=hs.requests_per_window, window_seconds=hs.window_seconds,
                    search_requests_per_second=hs.search_requests_per_second, max_retries=hs.max_retries,
                    timeout_seconds=hs.timeout_seconds)
    stages = Stages(deal=hs.deal_stages, ticket=hs.ticket_stages, deal_pipelines=hs.deal_pipelines,
                    deal_pipeline=hs.deal_pipeline, ticket_pipeline=hs.ticket_pipeline)
    return HubSpotCrm.connect(token.get_secret_value(), settings.secrets.hubspot_api_url, limits=limits,
                              stages=stages, portal_id=hs.portal_id)


@dataclass(frozen=True)
class Services:
    """Everything a front end (terminal, Slack) needs: the agent and the approval service."""

    components: Components
    gateway: Gateway
    known: KnownEntitySource
    approvals: Approvals
    agent: Agent
    audit: SqlAuditLog
    model: Model  # behind its circuit breaker (GuardedModel)
    breakers: Breakers
    ops: Ops | None = None


def build_ops(settings: Settings, components: Components) -> Ops:
    """Metrics (unless bot.metrics is off), the log of decisions and the health checks of a bot process.
    The checks: the database answers, its schema is current, the model's breaker is not open; `run_slack`
    adds Slack's. The gauges of the breakers, the dead-letter list and the limits are read at each scrape."""
    from sqlalchemy import text

    from bot.ops.health import Check, Health
    from bot.ops.journal import Journal
    from bot.ops.metrics import Metrics

    engine, head = components.engine, schema.head_revision()
    metrics = Metrics() if settings.bot.metrics else None
    journal = Journal(metrics, log_decisions=settings.bot.decision_log, lookup=SqlProposals(engine).get)

    def ping() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def database() -> str | None:
        await asyncio.to_thread(ping)
        return None

    async def schema_current() -> str | None:
        current = await asyncio.to_thread(schema.current_revision, engine)
        return None if current == head else f"at {current or 'no revision'}, the code needs {head}: run migrate"

    checks: list[tuple[str, Check]] = [("database", database), ("schema", schema_current)]
    breakers = components.breakers
    if breakers is not None:
        async def model_breaker() -> str | None:
            if breakers.model.state == "open":
                return "the model's circuit breaker is open (the model server keeps failing)"
            return None
        checks.append(("model breaker", model_breaker))
    if metrics is not None:
        if breakers is not None:
            for name, breaker in (("model", breakers.model), ("crm", breakers.crm)):
                metrics.watch_breaker(name, lambda b=breaker: b.state.replace("-", "_"))
        letters = SqlDeadLetters(engine)

        def dead_letters() -> float:
            try:
                return float(letters.count_open())
            except Exception:  # noqa: BLE001 - the database is down: the gauge says "unknown", the scrape works
                return float("nan")
        metrics.watch_dead_letters(dead_letters)
    return Ops(metrics, journal, Health(checks))


def build_model(settings: Settings) -> Model:
    """The configured model: OpenAI-compatible server, text protocol if asked; MissingModel if none is set."""
    secrets = settings.secrets
    if not secrets.openai_api_key and not secrets.openai_base_url:
        return MissingModel()
    from bot.agent.openai_model import OpenAIModel  # the openai package takes a while to import

    model: Model = OpenAIModel(
        settings.model,
        api_key=secrets.openai_api_key.get_secret_value() if secrets.openai_api_key else None,
        base_url=secrets.openai_base_url,
    )
    return TextProtocolModel(model) if settings.model.protocol == "text" else model


def build_email(settings: Settings, engine: Engine) -> EmailSender:
    if settings.email.transport == "outbox":
        return OutboxSender(engine)
    password = settings.secrets.smtp_password
    delivery = SmtpDelivery(settings.email.smtp_host, settings.email.smtp_port, starttls=settings.email.smtp_starttls,
                            username=settings.email.smtp_username,
                            password=password.get_secret_value() if password else None,
                            timeout=settings.email.smtp_timeout_seconds)
    return OutboxSender(engine, deliver=delivery)


def build_approvals(components: Components, *, clock: Callable[[], datetime] = utcnow,
                    on_executed: Callable[[ProposalView], None] | None = None,
                    known: KnownEntitySource | None = None, ops: Ops | None = None) -> Approvals:
    """The approval service alone: all that deciding on a proposal needs (no detector, no model).
    With `known`, the CRM's known entities, an e-mail's warnings also name the other contacts in it;
    with `ops`, every audit event also reaches the log of decisions and the metrics."""
    settings, engine = components.settings, components.engine
    targets = Targets(crm=components.crm, email=build_email(settings, engine), email_sender=settings.email.sender,
                      clock=clock, amount_threshold=Decimal(str(settings.approvals.amount_threshold)),
                      find_known=_finder(known) if known is not None and settings.privacy.known_entities else None)

    def retry_at(tries: int) -> datetime | None:
        """When a transiently failed execution is approved again (by its approver, through the service)."""
        return next_try(settings.dead_letters, tries, clock())

    audit = SqlAuditLog(engine, on_recorded=ops.journal.audited if ops is not None else None)
    return Approvals(SqlProposals(engine), audit, operations(), targets,
                     ApprovalPolicy(settings.approvals), expiry=timedelta(hours=settings.approvals.expiry_hours),
                     clock=clock, on_executed=on_executed, groups=settings.groups,
                     undo=timedelta(minutes=settings.approvals.undo_minutes), letters=SqlDeadLetters(engine),
                     retry_at=retry_at)


def _finder(known: KnownEntitySource) -> Callable[[str], list[tuple[str, str, str]]]:
    """The known-entity index as the approval service reads it: (type, text found, record) per value,
    always from the index of the moment (it is rebuilt when contacts change)."""

    def find(text: str) -> list[tuple[str, str, str]]:
        return [(span.entity_type, text[span.start:span.end], span.ref) for span in known().find(text) if span.ref]
    return find


def build_services(settings: Settings, components: Components | None = None, *, model: Model | None = None,
                   clock: Callable[[], datetime] = utcnow, ops: Ops | None = None) -> Services:
    """The agent and the approval service over the configured CRM, knowledge base and model; with
    `ops` (see build_ops), watched: model calls, detection passes, tool calls and audit events."""
    from bot.ops.watch import WatchedModel

    components = components or build(settings)
    engine, crm = components.engine, components.crm
    metrics = ops.metrics if ops is not None else None
    gateway, _detector, known = build_gateway(settings, crm, metrics)

    def after_execute(proposal: ProposalView) -> None:
        # New or renamed contacts and companies must be masked from the next message on.
        if settings.privacy.known_entities and proposal.tool in ("create_lead", "update_contact", "update_company"):
            known.refresh()

    approvals = build_approvals(components, clock=clock, on_executed=after_execute, known=known, ops=ops)
    vault_store = SqlVaultStore(engine)
    # The model is told of the same writes the approval service plans and executes.
    registry = ToolRegistry([*read_tools(components.kb, clock=clock), *write_tools(operations().values())])
    breakers = components.breakers or build_breakers(settings)
    model = GuardedModel(model or build_model(settings), breakers.model)
    if metrics is not None:
        metrics.known_tools(registry.names())
    agent = Agent(model=WatchedModel(model, metrics) if ops is not None else model, gateway=gateway,
                  vaults=lambda cid: Vault(cid, vault_store), registry=registry,
                  history=SqlHistory(engine), audit=approvals.audit, proposals=approvals, crm=crm,
                  settings=settings.agent, bot_name=settings.bot.name, clock=clock)
    return Services(components, gateway, known, approvals, agent, approvals.audit, model, breakers, ops)


def build_digests(settings: Settings, components: Components, approvals: Approvals, *,
                  clock: Callable[[], datetime] = utcnow, publisher: Publisher | None = None,
                  summarizer_parts: tuple[Model, Gateway] | None = None,
                  audience: Audience | None = None, access: Access | None = None) -> DigestService:
    """The digest service: sections over the CRM and the pending proposals, claims in the database.
    `summarizer_parts` (model, gateway) enables the optional model-written summaries; `audience`
    (see digest_audience) limits every run to what its channel's members may all see; `access`
    maps a digest's owner and team to CRM owners (by default through [people.emails])."""
    from bot.digests.sections import SectionBuilder
    from bot.digests.service import DigestService
    from bot.digests.summary import ModelSummarizer
    from bot.store.digests import SqlDigests

    summarizer = None
    if summarizer_parts is not None:
        model, gateway = summarizer_parts
        vault_store = SqlVaultStore(components.engine)
        summarizer = ModelSummarizer(model, gateway, lambda cid: Vault(cid, vault_store))
    sections = SectionBuilder(components.crm, approvals.pending, settings.digest_sections)
    return DigestService(SqlDigests(components.engine), sections, settings=settings.scheduler,
                         groups=settings.groups, clock=clock, instance=f"{socket.gethostname()}:{os.getpid()}",
                         publisher=publisher, summarizer=summarizer, configured=settings.digests, audience=audience,
                         owner_ids=(access or build_access(settings, components.crm)).people.owner_ids_of,
                         letters=SqlDeadLetters(components.engine))


def slack_access(settings: Settings, crm: CrmAdapter, client: AsyncWebClient, *, home_team: str = "") -> Access:
    """The door, roles and scopes with Slack as the source of who people are."""
    from bot.slack.people import SlackUsers

    return build_access(settings, crm, SlackUsers(client), home_teams=(home_team,) if home_team else ())


def digest_audience(access: Access, client: AsyncWebClient, *, bot_user_id: str) -> Audience:
    """What every member of a channel may see, for digests: membership read from Slack at each run
    (no cache: nothing tells this reader of joins and leaves), people through the door and roles."""
    from bot.digests.audience import ChannelAudience
    from bot.slack.members import Members

    return ChannelAudience(access, Members(client, ttl=0).of, bot_user_id=bot_user_id)


def terminal_digest_audience(settings: Settings, crm: CrmAdapter) -> Audience:
    """digest_audience for a command run outside the bot (SLACK_BOT_TOKEN set): the token is
    identified on first use; AudienceUnavailable when Slack refuses it or cannot be reached."""
    from bot.digests.audience import AudienceUnavailable
    from bot.slack.client import SlackUnavailable, identify

    client = slack_client(settings)
    built: list[Audience] = []

    async def audience(channel: str) -> Scope:
        if not built:
            try:
                identity = await identify(client)
            except SlackUnavailable as exc:
                raise AudienceUnavailable(str(exc)) from None
            built.append(digest_audience(slack_access(settings, crm, client, home_team=identity.team_id), client,
                                         bot_user_id=identity.user_id))
        return await built[0](channel)

    return audience


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client for SLACK_BOT_TOKEN (and SLACK_API_URL, if set)."""
    from bot.slack.blocks.links import Links
    from bot.slack.client import web_client

    secrets, slack = settings.secrets, settings.slack
    assert secrets.slack_bot_token is not None, "checked by the caller"
    hosts = Links.from_settings(slack.record_url, slack.kb_url, slack.allowed_link_hosts).allowed_hosts
    return web_client(secrets.slack_bot_token.get_secret_value(), secrets.slack_api_url, hosts)


def slack_publisher(settings: Settings, client: AsyncWebClient | None = None) -> Publisher:
    """Posts digests through a Slack Web API client (by default one for SLACK_BOT_TOKEN)."""
    from bot.slack.blocks.links import Links
    from bot.slack.digest_publisher import SlackPublisher

    slack = settings.slack
    links = Links.from_settings(slack.record_url, slack.kb_url, slack.allowed_link_hosts)
    return SlackPublisher(client or slack_client(settings), links,
                          lines_per_section=settings.digest_sections.lines_per_section)


def build_limits(settings: Settings, engine: Engine, *,
                 on_refusal: Callable[[LimitName], None] | None = None) -> Limits:
    """The limits over their counters: Redis when limits.redis_url is set, else the database."""
    from limits.storage import RedisStorage, Storage

    from bot.limits.service import Limits
    from bot.store.counters import SqlCounters

    url = settings.limits.redis_url
    storage: Storage = RedisStorage(url) if url else SqlCounters(engine)
    return Limits(storage, settings.limits, on_refusal=on_refusal)


def build_slack_deps(settings: Settings, services: Services, client: AsyncWebClient, *, bot_user_id: str,
                     digests: DigestService, access: Access | None = None, limits: Limits | None = None) -> SlackDeps:
    """What every Slack listener shares, complete: the bot's id and the digest service included.
    access is the door (by default one with no home team check, for tests that build deps alone);
    limits by default those of [limits] over their configured counters."""
    from bot.slack.audience import Audience
    from bot.slack.blocks.links import Links
    from bot.slack.conversations import Conversations
    from bot.slack.decisions import CardDecisions
    from bot.slack.deps import SlackDeps
    from bot.slack.kept import Kept
    from bot.slack.limit_gate import LimitGate
    from bot.slack.members import Members
    from bot.slack.poster import Poster
    from bot.slack.ratings import Ratings
    from bot.slack.runner import Runner
    from bot.store.feedback import SqlFeedback
    from bot.store.requests import SqlRequests

    slack, engine = settings.slack, services.components.engine
    links = Links.from_settings(slack.record_url, slack.kb_url, slack.allowed_link_hosts)
    poster, members, requests = Poster(client, links.allowed_hosts), Members(client), SqlRequests(engine)
    runner = Runner(slack.max_concurrent_runs)
    ops = services.ops
    if ops is not None and ops.metrics is not None:
        ops.metrics.watch_waiting(lambda: runner.waiting)
    vault_store = SqlVaultStore(engine)
    access = access or slack_access(settings, services.components.crm, client)
    metrics = ops.metrics if ops is not None else None
    limits = limits or build_limits(settings, engine,
                                    on_refusal=metrics.limit_refusal if metrics is not None else None)
    if metrics is not None:
        metrics.watch_workspace_tokens(limits.workspace_tokens_today,
                                       lambda: settings.limits.workspace_tokens_per_day)
    letters = SqlDeadLetters(engine)
    kept = Kept(letters, settings.dead_letters, services.gateway, lambda cid: Vault(cid, vault_store), utcnow)
    conversations = Conversations(agent=services.agent, gateway=services.gateway,
                                  vaults=lambda cid: Vault(cid, vault_store), requests=requests, runner=runner,
                                  links=links, crm=services.components.crm, audience=Audience(access, members, bot_user_id=bot_user_id),
                                  max_answer_chars=slack.max_answer_chars,
                                  waiting_note_seconds=slack.waiting_note_seconds,
                                  journal=ops.journal if ops is not None else None, gate=LimitGate(limits, poster),
                                  kept=kept)
    ratings = Ratings(feedback=SqlFeedback(engine), requests=requests, audit=services.audit, gateway=services.gateway,
                      vaults=lambda cid: Vault(cid, vault_store),
                      on_rated=metrics.feedback_given if metrics is not None else None)
    return SlackDeps(settings=settings, bot_user_id=bot_user_id, access=access, approvals=services.approvals,
                     crm=services.components.crm, digests=digests, conversations=conversations,
                     decisions=CardDecisions(services.approvals, poster, members, links, access,
                                             crm=services.components.crm, timezone=slack.timezone,
                                             bot_user_id=bot_user_id), members=members,
                     poster=poster, requests=requests, runner=runner, links=links, ratings=ratings, ops=ops,
                     limits=limits, letters=letters)


async def run_slack(settings: Settings, services: Services, *, port: int, clock: Callable[[], datetime],
                    stop: asyncio.Event | None = None, ops_address: tuple[str, int] | None = None) -> None:
    """`python -m bot run`: build the Slack side, then serve until stop is set or a signal arrives.
    With ops_address (host, port), /healthz, /readyz and /metrics are served there (services.ops
    is built if missing). Raises SlackUnavailable (bot.slack.client) when Slack refuses the token or
    cannot be reached, OpsUnavailable (bot.ops.http) when the ops port cannot be opened."""
    from bot.digests.scheduler import DigestScheduler
    from bot.slack.app import build_app
    from bot.slack.client import identify
    from bot.slack.housekeeping import Housekeeping
    from bot.slack.redo import Redo
    from bot.slack.server import serve

    client = slack_client(settings)
    try:
        identity = await identify(client)
        unset = isinstance(getattr(services.model, "inner", services.model), MissingModel)
        parts = None if unset else (services.model, services.gateway)
        # One view of people for the listeners and the digests, so a user_change refreshes both.
        access = slack_access(settings, services.components.crm, client, home_team=identity.team_id)
        digests = build_digests(settings, services.components, services.approvals, clock=clock,
                                publisher=slack_publisher(settings, client), summarizer_parts=parts,
                                audience=digest_audience(access, client, bot_user_id=identity.user_id),
                                access=access)
        await asyncio.to_thread(digests.sync_config)
        deps = build_slack_deps(settings, services, client, bot_user_id=identity.user_id, digests=digests,
                                access=access)
        app_token = settings.secrets.slack_app_token
        app = build_app(deps, socket_mode=app_token is not None)
        ops = services.ops
        metrics = ops.metrics if ops is not None else None
        ops_server = None
        if ops_address is not None:
            from bot.ops.http import OpsServer

            ops = ops or build_ops(settings, services.components)
            ops_server = OpsServer(ops.health, ops.metrics, host=ops_address[0], port=ops_address[1])
        redo = Redo(deps, deps.letters or SqlDeadLetters(services.components.engine), services.breakers,
                    instance=f"{socket.gethostname()}:{os.getpid()}", clock=clock)
        await serve(app, deps, Housekeeping(deps, services.known, settings, clock, redo=redo),
                    DigestScheduler(digests, tick_seconds=settings.scheduler.tick_seconds, metrics=metrics),
                    app_token=app_token.get_secret_value() if app_token else None, port=port, stop=stop,
                    ops=ops, ops_server=ops_server)
    finally:
        await services.model.aclose()


def build_access(settings: Settings, crm: CrmAdapter, users: UserSource | None = None, *,
                 home_teams: tuple[str, ...] = ()) -> Access:
    """The door, roles and scopes. Without a Slack user source (the terminal with no token), a user
    id is taken as a workspace member with the groups and the e-mail ([people.emails]) of app.toml."""
    if users is None:
        users = FixedUsers([Profile(user, user, email) for user, email in settings.people.emails.items()],
                           unknown_is_member=True)
    people = People(users, crm.owners, groups=settings.groups,
                    slack_groups=settings.people.slack_user_groups, ttl=settings.people.cache_seconds)
    return Access(people, settings.access, home_teams=(*home_teams, *settings.access.allowed_teams)
                  if home_teams else (), ttl=settings.people.cache_seconds)
