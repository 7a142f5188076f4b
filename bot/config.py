"""One validated Settings object: app.toml, then BOT_<SECTION>__<KEY> overrides, then secrets.

Every error a user can make here (unreadable file, bad TOML, unknown key, wrong type, bad cron
expression, unknown time zone) becomes a ConfigError with one line naming the source, the key
and what is expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from adapters.crm.base import DEAL_STAGES, TICKET_STATUSES
from bot.access.settings import AccessSection, PeopleSection, check_groups
from bot.cron import validate_cron, validate_timezone

DEFAULT_CONFIG = "app.toml"
ENV_PREFIX = "BOT_"
# Environment variables that are not key overrides although they start with BOT_.
_NOT_OVERRIDES = {"BOT_CONFIG"}

DIGEST_SECTIONS = (
    "pipeline_movement",
    "closing_soon",
    "stale_deals",
    "new_leads",
    "at_risk_accounts",
    "ticket_alerts",
    "pending_proposals",
)


class ConfigError(Exception):
    """A configuration problem a user must fix; the message is one line."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSection(_Section):
    name: str = Field("CRM copilot", min_length=1, max_length=80)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    metrics: bool = True  # count crm_copilot_* metrics, served at /metrics
    decision_log: bool = True  # one line per request, refusal, proposal step and failed turn


class DatabaseSection(_Section):
    url: str = "sqlite:///var/bot.db"
    busy_timeout_ms: int = Field(5000, ge=0, le=600_000)
    pool_size: int = Field(5, ge=1, le=100)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError(
                "expected a sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB url"
            )
        return value


class CrmSection(_Section):
    adapter: Literal["local", "hubspot"] = "local"
    search_limit: int = Field(20, ge=1, le=200)


# HubSpot's default sales pipeline and help-desk pipeline, mapped to the bot's stages and statuses.
HUBSPOT_DEAL_STAGES = {
    "appointmentscheduled": "lead",
    "qualifiedtobuy": "qualified",
    "presentationscheduled": "proposal",
    "decisionmakerboughtin": "negotiation",
    "contractsent": "negotiation",
    "closedwon": "closed_won",
    "closedlost": "closed_lost",
}
HUBSPOT_TICKET_STAGES = {"1": "open", "2": "pending", "3": "open", "4": "closed"}


class HubSpotSection(_Section):
    """How the HubSpot adapter reads the account (used when crm.adapter = "hubspot")."""

    deal_pipelines: tuple[str, ...] = Field(("default",), min_length=1)
    deal_pipeline: str = "default"  # where new deals are created
    deal_stages: dict[str, str] = HUBSPOT_DEAL_STAGES
    ticket_pipeline: str = "0"
    ticket_stages: dict[str, str] = HUBSPOT_TICKET_STAGES
    portal_id: int | None = Field(None, ge=1)
    requests_per_window: int = Field(100, ge=1, le=10_000)
    window_seconds: float = Field(10.0, gt=0, le=600)
    search_requests_per_second: float = Field(4.0, gt=0, le=100)
    max_retries: int = Field(3, ge=0, le=10)
    timeout_seconds: float = Field(20.0, gt=0, le=300)

    @field_validator("deal_stages", "ticket_stages")
    @classmethod
    def _known_targets(cls, value: dict[str, str], info: Any) -> dict[str, str]:
        allowed = DEAL_STAGES if info.field_name == "deal_stages" else TICKET_STATUSES
        for stage_id, target in value.items():
            if target not in allowed:
                raise ValueError(f'"{stage_id}" maps to "{target}"; expected one of {", ".join(allowed)}')
        return value

    @model_validator(mode="after")
    def _new_deals_have_a_pipeline(self) -> HubSpotSection:
        if self.deal_pipeline not in self.deal_pipelines:
            raise ValueError(f'deal_pipeline: "{self.deal_pipeline}" is not one of deal_pipelines')
        return self


class KbSection(_Section):
    path: Path = Path("kb")
    extensions: tuple[str, ...] = (".md", ".markdown", ".txt")
    max_file_bytes: int = Field(1_000_000, ge=1)
    search_limit: int = Field(5, ge=1, le=50)

    @field_validator("extensions")
    @classmethod
    def _dotted(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ext in value:
            if not re.fullmatch(r"\.[A-Za-z0-9]+", ext):
                raise ValueError(f'expected file extensions such as ".md", got "{ext}"')
        return tuple(ext.lower() for ext in value)


PII_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS")
NATIONAL_IDS = ("US_SSN", "UK_NHS", "UK_NINO", "ES_NIF", "IT_FISCAL_CODE")


class PrivacySection(_Section):
    spacy_model: str = ""
    entities: tuple[Literal[PII_ENTITIES], ...] = PII_ENTITIES  # type: ignore[valid-type]
    national_ids: tuple[Literal[NATIONAL_IDS], ...] = ()  # type: ignore[valid-type]
    phone_regions: tuple[str, ...] = ("US", "GB")
    score_threshold: float = Field(0.4, ge=0.0, le=1.0)
    name_lexicon: bool = True
    known_entities: bool = True
    company_names: bool = True
    allow_list: tuple[str, ...] = ()

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for region in value:
            if not re.fullmatch(r"[A-Z]{2}", region):
                raise ValueError(f'expected two-letter region codes such as "GB", got "{region}"')
        return value


class ModelSection(_Section):
    name: str = Field("gpt-4o-mini", min_length=1, max_length=200)
    protocol: Literal["tools", "text"] = "tools"
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_output_tokens: int = Field(800, ge=16, le=32_000)
    timeout_seconds: float = Field(60.0, gt=0, le=600)
    max_retries: int = Field(2, ge=0, le=10)


class AgentSection(_Section):
    max_steps: int = Field(8, ge=1, le=50)
    max_tool_calls: int = Field(16, ge=1, le=200)
    max_tokens: int = Field(40_000, ge=1_000, le=2_000_000)
    max_seconds: float = Field(120.0, gt=0, le=3_600)
    max_errors: int = Field(3, ge=0, le=20)
    history_tokens: int = Field(3_000, ge=0, le=200_000)
    max_result_chars: int = Field(6_000, ge=500, le=200_000)
    max_message_chars: int = Field(8_000, ge=100, le=40_000)


APPROVER_RULE = re.compile(r"^(requester|channel_members|record_owner|anyone|user:[A-Z0-9]+|group:[a-z0-9_-]+)$")
RISKS = ("low", "medium", "high")


class ApprovalsSection(_Section):
    expiry_hours: float = Field(24.0, gt=0, le=24 * 90)
    low: tuple[str, ...] = ("requester", "channel_members")
    medium: tuple[str, ...] = ("record_owner", "group:managers")
    high: tuple[str, ...] = ("group:managers",)
    # Risk levels whose proposals their requester may approve alone; every other needs a second person.
    self_approval: tuple[Literal[RISKS], ...] = ("low",)  # type: ignore[valid-type]
    # A deal amount change larger than this (in the deal's currency) is high risk.
    amount_threshold: float = Field(10_000, ge=0)
    # How long after its execution an update may be reverted (its card's Revert button); 0: never.
    undo_minutes: int = Field(60, ge=0, le=60 * 24 * 30)
    groups: dict[str, tuple[str, ...]] = {}  # deprecated: [people.groups]

    @field_validator("low", "medium", "high")
    @classmethod
    def _rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for rule in value:
            if not APPROVER_RULE.match(rule):
                raise ValueError(
                    f'unknown approver rule "{rule}"; expected requester, channel_members, record_owner, anyone, '
                    "user:U0123ABCD or group:NAME"
                )
        return value

    @field_validator("groups")
    @classmethod
    def _members(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return check_groups(value)


class EmailSection(_Section):
    transport: Literal["outbox", "smtp"] = "outbox"
    sender: str = Field("crm-copilot@example.com", pattern=r"^[^@\s]+@[^@\s]+$")
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65_535)
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_timeout_seconds: float = Field(20.0, gt=0, le=300)

    @model_validator(mode="after")
    def _smtp_needs_a_host(self) -> EmailSection:
        if self.transport == "smtp" and not self.smtp_host:
            raise ValueError('smtp_host: required when transport = "smtp"')
        return self


class SlackSection(_Section):
    command_answers: Literal["in_channel", "ephemeral"] = "in_channel"
    allowed_link_hosts: tuple[str, ...] = ()
    record_url: str = ""
    kb_url: str = ""
    max_concurrent_runs: int = Field(20, ge=1, le=1_000)
    max_answer_chars: int = Field(12_000, ge=500, le=30_000)
    progress_updates: bool = True
    agent_surfaces: bool = True
    status_refresh_seconds: float = Field(60.0, ge=5, le=110)
    waiting_note_seconds: float = Field(20.0, ge=0, le=600)
    sweep_seconds: float = Field(60.0, ge=1, le=86_400)
    known_refresh_seconds: float = Field(300.0, ge=0, le=86_400)
    timezone: str = "UTC"  # the workspace's default: for readers whose Slack time zone is unknown

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        validate_timezone(value)
        return value

    @field_validator("allowed_link_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if not re.fullmatch(r"[a-z0-9.-]+", host):
                raise ValueError(f'expected host names such as "wiki.example.com", got "{host}"')
        return value

    @field_validator("record_url", "kb_url")
    @classmethod
    def _template(cls, value: str, info: Any) -> str:
        names = {"record_url": ("{kind}", "{id}"), "kb_url": ("{path}", "{anchor}")}[info.field_name]
        if value and (not value.startswith("https://") or names[0] not in value):
            raise ValueError(f"expected an https:// URL template containing {' and '.join(names)}, or empty")
        return value


class LimitsSection(_Section):
    """Limits per person and per workspace; 0 turns a limit off (its use is still counted)."""

    requests_per_minute: int = Field(20, ge=0, le=100_000, strict=True)
    tokens_per_day: int = Field(200_000, ge=0, le=10_000_000_000, strict=True)
    workspace_tokens_per_day: int = Field(2_000_000, ge=0, le=1_000_000_000_000, strict=True)
    # Empty: the counters live in the database. May carry a password: kept out of repr, redacted when shown.
    redis_url: str = Field("", repr=False)

    @field_validator("requests_per_minute", "tokens_per_day", "workspace_tokens_per_day", mode="before")
    @classmethod
    def _not_negative(cls, value: Any, info: Any) -> Any:
        if type(value) is int and value < 0:
            raise ValueError(f"must be 0 (no limit) or a positive number, got {value}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis://HOST:PORT/DB (or rediss://, unix://) url, or empty for the database")
        return value


class DemoSection(_Section):
    seed: int = 7


class DigestConfig(_Section):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    channel: str = Field(min_length=2)
    cron: str = Field(max_length=64)
    timezone: str = "UTC"
    sections: tuple[Literal[DIGEST_SECTIONS], ...] = Field(min_length=1)  # type: ignore[valid-type]
    owner: str | None = Field(None, pattern=r"^[A-Z0-9]+$")  # Slack user id: only this owner's records
    team: str | None = None  # a group of [people.groups]: only its members' records
    summary: bool = False  # a short model-written summary at the top (masked on its way to the model)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        validate_cron(value)
        return value

    @field_validator("sections")
    @classmethod
    def _unique_sections(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({s for s in value if value.count(s) > 1})
        if repeated:
            raise ValueError(f'each section at most once; "{repeated[0]}" appears twice')
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        validate_timezone(value)
        return value


class SchedulerSection(_Section):
    """How digests are scheduled and posted (every replica runs a scheduler; each slot posts once)."""

    tick_seconds: float = Field(30.0, ge=0.05, le=3_600)
    post_attempts: int = Field(4, ge=1, le=20)
    retry_seconds: float = Field(2.0, ge=0, le=600)
    lease_minutes: float = Field(15.0, ge=1, le=1_440)
    late_minutes: float = Field(10.0, ge=0, le=1_440)

    @model_validator(mode="after")
    def _retries_within_the_lease(self) -> SchedulerSection:
        # A process still retrying when its lease ends would race the replica that takes over.
        waiting = self.retry_seconds * (2 ** (self.post_attempts - 1) - 1)
        if waiting >= self.lease_minutes * 60 / 2:
            raise ValueError(f"post_attempts and retry_seconds wait up to {waiting:,.0f} s between tries; keep that "
                             f"under half of lease_minutes ({self.lease_minutes * 30:,.0f} s)")
        return self


class BreakerSection(_Section):
    """The circuit breakers around the model and the CRM."""

    failures: int = Field(5, ge=1, le=1_000)
    cooldown_seconds: float = Field(30.0, gt=0, le=3_600)


class DeadLettersSection(_Section):
    """Work accepted from Slack that could not be finished: kept, retried, listed."""

    auto_retry: bool = True
    max_attempts: int = Field(3, ge=1, le=50)
    retry_seconds: float = Field(30.0, ge=1, le=86_400)


class DigestSectionsSection(_Section):
    """What the digest sections show."""

    closing_days: int = Field(7, ge=1, le=365)
    stale_days: int = Field(14, ge=1, le=365)
    pending_hours: float = Field(24.0, ge=0, le=720)
    lines_per_section: int = Field(5, ge=1, le=20)
    thread_lines: int = Field(200, ge=0, le=2_000)
    scored_candidates: int = Field(50, ge=1, le=500)


class Secrets(_Section):
    """Values that only ever come from the environment."""

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    openai_api_key: SecretStr | None = None
    # URLs, not secrets, but they may carry credentials: kept out of repr, redacted when shown.
    openai_base_url: str | None = Field(None, repr=False)
    slack_api_url: str | None = Field(None, repr=False)
    database_url: SecretStr | None = None
    smtp_password: SecretStr | None = None
    hubspot_access_token: SecretStr | None = None
    hubspot_api_url: str | None = Field(None, repr=False)


SECRET_ENV = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
    "slack_api_url": "SLACK_API_URL",
    "database_url": "DATABASE_URL",
    "smtp_password": "SMTP_PASSWORD",
    "hubspot_access_token": "HUBSPOT_ACCESS_TOKEN",
    "hubspot_api_url": "HUBSPOT_API_URL",
}


class Settings(_Section):
    """The whole configuration, validated once at start-up and passed to constructors."""

    bot: BotSection = BotSection()
    database: DatabaseSection = DatabaseSection()
    crm: CrmSection = CrmSection()
    hubspot: HubSpotSection = HubSpotSection()
    kb: KbSection = KbSection()
    demo: DemoSection = DemoSection()
    privacy: PrivacySection = PrivacySection()
    model: ModelSection = ModelSection()
    agent: AgentSection = AgentSection()
    approvals: ApprovalsSection = ApprovalsSection()
    people: PeopleSection = PeopleSection()
    access: AccessSection = AccessSection()
    email: EmailSection = EmailSection()
    slack: SlackSection = SlackSection()
    limits: LimitsSection = LimitsSection()
    scheduler: SchedulerSection = SchedulerSection()
    breaker: BreakerSection = BreakerSection()
    dead_letters: DeadLettersSection = DeadLettersSection()
    digest_sections: DigestSectionsSection = DigestSectionsSection()
    digests: tuple[DigestConfig, ...] = ()
    secrets: Secrets = Secrets()
    config_path: Path = Path(DEFAULT_CONFIG)

    @field_validator("digests")
    @classmethod
    def _unique_names(cls, value: tuple[DigestConfig, ...]) -> tuple[DigestConfig, ...]:
        seen: set[str] = set()
        for digest in value:
            if digest.name in seen:
                raise ValueError(f'digest names must be unique; "{digest.name}" appears twice')
            seen.add(digest.name)
        return value

    @model_validator(mode="after")
    def _known_teams(self) -> Settings:
        groups = self.groups
        for i, digest in enumerate(self.digests):
            if digest.team is not None and digest.team not in groups:
                known = ", ".join(sorted(groups)) or "none defined"
                raise ValueError(f'digests[{i}].team: "{digest.team}" is not a group of [people.groups] ({known})')
        return self

    def deprecations(self) -> list[str]:
        """Keys that still work but should move, each as one line for the operator."""
        if self.approvals.groups:
            return [f"{self.config_path}: [approvals.groups] is deprecated; move the groups to [people.groups]"]
        return []

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        """[people.groups], plus the deprecated [approvals.groups] where people does not name the group."""
        return {**self.approvals.groups, **self.people.groups}

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in the config are resolved against."""
        return self.config_path.resolve().parent

    @property
    def database_url(self) -> str:
        """DATABASE_URL if set, else database.url; relative SQLite paths resolved."""
        url = (
            self.secrets.database_url.get_secret_value()
            if self.secrets.database_url
            else self.database.url
        )
        return resolve_sqlite_url(url, self.base_dir)

    @property
    def kb_path(self) -> Path:
        """The knowledge-base folder, resolved against the config file's directory."""
        return self.kb.path if self.kb.path.is_absolute() else self.base_dir / self.kb.path


def resolve_sqlite_url(url: str, base_dir: Path) -> str:
    """Make a relative sqlite:///path absolute against base_dir; other URLs pass through."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    path = url[len(prefix):]
    if path in ("", ":memory:") or path.startswith("/"):
        return url
    return prefix + str((base_dir / path).resolve())


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, override and validate the configuration; raise ConfigError on any problem."""
    env = os.environ if env is None else env
    config_path = Path(path or env.get("BOT_CONFIG") or DEFAULT_CONFIG)
    raw = _read_toml(config_path)
    if "secrets" in raw or "config_path" in raw:
        key = "secrets" if "secrets" in raw else "config_path"
        raise ConfigError(f"{config_path}: {key}: not a config key; secrets come only from the environment")
    origins = _apply_env_overrides(raw, env, config_path)
    raw["secrets"] = {field: env[var] for field, var in SECRET_ENV.items() if env.get(var)}
    raw["config_path"] = config_path
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_path, origins)) from None
    if settings.crm.adapter == "hubspot" and not settings.secrets.hubspot_access_token:
        raise ConfigError('HUBSPOT_ACCESS_TOKEN: not set, but crm.adapter = "hubspot"; set it to the access token '
                          "of a HubSpot private app (README, 'Connect HubSpot')")
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the config file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _apply_env_overrides(
    raw: dict[str, Any], env: Mapping[str, str], config_path: Path
) -> dict[str, str]:
    """Apply BOT_<SECTION>__<KEY>=value to raw in place; return dotted key -> variable name."""
    origins: dict[str, str] = {}
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var in _NOT_OVERRIDES:
            continue
        parts = [p.lower() for p in var[len(ENV_PREFIX):].split("__")]
        if len(parts) < 2 or not all(parts):
            raise ConfigError(
                f"{var}: expected BOT_<SECTION>__<KEY> (for example BOT_KB__PATH), "
                "with two underscores between section and key"
            )
        node: Any = raw
        for i, part in enumerate(parts[:-1]):
            node = _child(node, part, var, parts[: i + 1])
        _set(node, parts[-1], _parse_env_value(env[var]), var)
        origins[".".join(parts)] = var
    return origins


def _child(node: Any, part: str, var: str, path: list[str]) -> Any:
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise ConfigError(f"{var}: {'.'.join(path)}: no such entry (there are {len(node)})")
        return node[int(part)]
    if not isinstance(node, dict):
        raise ConfigError(f"{var}: {'.'.join(path[:-1])} is not a section")
    return node.setdefault(part, {})


def _set(node: Any, key: str, value: Any, var: str) -> None:
    if isinstance(node, list):
        if not key.isdigit() or int(key) >= len(node):
            raise ConfigError(f"{var}: no such entry {key} (there are {len(node)})")
        node[int(key)] = value
    elif isinstance(node, dict):
        node[key] = value
    else:
        raise ConfigError(f"{var}: the parent of {key} is not a section")


def _parse_env_value(text: str) -> Any:
    """Read an override as a TOML value (8, true, ["a"]), falling back to a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _describe(exc: ValidationError, config_path: Path, origins: Mapping[str, str]) -> str:
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
    # Literal unions put the allowed values into the location; keep the key path only.
    loc = [p for p in loc if not p.startswith("literal[")]
    dotted = ".".join(loc)
    pretty = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc).lstrip(".")
    if dotted.startswith("secrets"):
        field = loc[1] if len(loc) > 1 else ""
        return f"{SECRET_ENV.get(field, 'environment')}: {_expected(err)}"
    source = next(
        (var for key, var in origins.items() if dotted == key or dotted.startswith(key + ".")),
        None,
    )
    where = f"{source} (environment)" if source else str(config_path)
    extra = len(exc.errors()) - 1
    more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
    return f"{where}: {pretty or 'top level'}: {_expected(err, loc)}{more}"


def _expected(err: Any, loc: list[str] | None = None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc or [])
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return f"unknown key{hint}"
    if kind == "missing":
        return "required key is missing"
    message = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    if kind != "value_error" and not isinstance(got, (dict, list)):
        message += f", got {got!r}"
    return message


def _allowed_keys(loc: list[str]) -> list[str]:
    model: Any = Settings
    for part in loc[:-1]:
        if part.isdigit():
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return []
    return sorted(k for k in model.model_fields if k not in ("secrets", "config_path"))


def redacted(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data with every secret hidden."""
    data = settings.model_dump(mode="json", exclude={"secrets"})
    data["database"]["effective_url"] = redact_url(settings.database_url)
    data["kb"]["effective_path"] = str(settings.kb_path)
    data["limits"]["redis_url"] = redact_url(settings.limits.redis_url)
    data["secrets"] = {
        var: ("set" if getattr(settings.secrets, field) else "not set")
        for field, var in SECRET_ENV.items()
    }
    for field in ("openai_base_url", "slack_api_url", "hubspot_api_url"):
        value = getattr(settings.secrets, field)
        if value:
            data["secrets"][SECRET_ENV[field]] = redact_url(value)
    return data


def redact_url(url: str) -> str:
    """Hide the password of a URL such as postgresql://user:secret@host/db."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)
