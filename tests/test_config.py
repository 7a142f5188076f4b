"""Config: every user mistake is refused with one line naming the source, the key and what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, redacted

GOOD = """
[database]
url = "sqlite:///var/x.db"

[[digests]]
name = "daily"
channel = "#sales"
cron = "0 8 * * mon-fri"
timezone = "Europe/Berlin"
sections = ["closing_soon"]
"""


def write(tmp_path: Path, text: str, name: str = "app.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_app_toml_is_valid_and_every_key_is_commented() -> None:
    root = Path(__file__).resolve().parents[1]
    settings = load_settings(root / "app.toml", env={})
    assert settings.digests and settings.kb_path == root / "kb"
    for line in (root / "app.toml").read_text().splitlines():
        stripped = line.strip()
        if "=" in stripped and not stripped.startswith("#"):
            assert "#" in stripped, f"app.toml key without a comment: {stripped}"


def test_defaults_apply_when_the_file_is_empty(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), env={})
    assert settings.database_url == f"sqlite:///{(tmp_path / 'var/bot.db').resolve()}"
    assert settings.kb_path == tmp_path / "kb"
    assert settings.digests == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[kb]\npaht = 'kb'\n", "app.toml: kb.paht: unknown key; expected one of: extensions, max_file_bytes, path, search_limit"),
        ("[nope]\nx = 1\n", "app.toml: nope: unknown key"),
        ("[kb]\nmax_file_bytes = 'big'\n", "app.toml: kb.max_file_bytes: Input should be a valid integer"),
        ("[bot]\nlog_level = 'LOUD'\n", "app.toml: bot.log_level: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("[database]\nurl = 'mysql://x'\n", "app.toml: database.url: expected a sqlite:///PATH or postgresql+psycopg://"),
        (GOOD.replace("0 8 * * mon-fri", "61 8 * * *"), 'app.toml: digests[0].cron: invalid cron expression "61 8 * * *"'),
        (GOOD.replace("0 8 * * mon-fri", "every morning"), 'app.toml: digests[0].cron: expected a 5-field cron expression such as "0 8 * * mon-fri"'),
        (GOOD.replace("Europe/Berlin", "Europe/Atlantis"), 'app.toml: digests[0].timezone: unknown time zone "Europe/Atlantis"; expected an IANA name'),
        (GOOD.replace('["closing_soon"]', '["gossip"]'), "app.toml: digests[0].sections[0]: Input should be 'pipeline_movement'"),
        (GOOD.replace('["closing_soon"]', "[]"), "app.toml: digests[0].sections: Tuple should have at least 1 item"),
        (GOOD.replace('["closing_soon"]', '["closing_soon", "closing_soon"]'),
         'app.toml: digests[0].sections: each section at most once; "closing_soon" appears twice'),
        (GOOD.replace("0 8 * * mon-fri", "0 8 * * 8"), 'app.toml: digests[0].cron: invalid cron expression "0 8 * * 8"'),
        (GOOD + "\n[scheduler]\npost_attempts = 12\nretry_seconds = 5\n",
         "app.toml: scheduler: post_attempts and retry_seconds wait up to 10,235 s between tries"),
        (GOOD.replace('channel = "#sales"\n', ""), "app.toml: digests[0].channel: required key is missing"),
        (GOOD + GOOD.split("[[digests]]")[1].join(["[[digests]]", ""]), 'app.toml: digests: digest names must be unique; "daily" appears twice'),
        ("[secrets]\nopenai_api_key = 'sk-x'\n", "app.toml: secrets: not a config key; secrets come only from the environment"),
        ("[kb\npath = 1", "app.toml: not valid TOML:"),
        ("[slack]\nmax_answer_chars = 100\n", "app.toml: slack.max_answer_chars: Input should be greater than or equal to 500"),
        ("[slack]\nmax_answer_chars = 50000\n", "app.toml: slack.max_answer_chars: Input should be less than or equal to 30000"),
        ("[email]\ntransport = 'smtp'\n", 'app.toml: email: smtp_host: required when transport = "smtp"'),
        ("[approvals]\nhigh = ['boss']\n", 'app.toml: approvals.high: unknown approver rule "boss"'),
        ("[crm]\nadapter = 'hubspot'\n", 'HUBSPOT_ACCESS_TOKEN: not set, but crm.adapter = "hubspot"'),
        ("[crm]\nadapter = 'salesforce'\n", "app.toml: crm.adapter: Input should be 'local' or 'hubspot'"),
        ("[hubspot.deal_stages]\nclosedwon = 'won'\n",
         'app.toml: hubspot.deal_stages: "closedwon" maps to "won"; expected one of lead, qualified'),
        ("[hubspot.ticket_stages]\n'4' = 'done'\n", 'app.toml: hubspot.ticket_stages: "4" maps to "done"'),
        ("[hubspot]\ndeal_pipeline = 'enterprise'\n",
         'app.toml: hubspot: deal_pipeline: "enterprise" is not one of deal_pipelines'),
        ("[hubspot]\nrequests_per_window = 0\n", "app.toml: hubspot.requests_per_window: Input should be greater"),
        ("[limits]\nrequests_per_minute = -1\n",
         "app.toml: limits.requests_per_minute: must be 0 (no limit) or a positive number, got -1"),
        ("[limits]\ntokens_per_day = -200000\n",
         "app.toml: limits.tokens_per_day: must be 0 (no limit) or a positive number, got -200000"),
        ("[limits]\nworkspace_tokens_per_day = -5\n",
         "app.toml: limits.workspace_tokens_per_day: must be 0 (no limit) or a positive number, got -5"),
        ("[limits]\ntokens_per_day = 1.5\n", "app.toml: limits.tokens_per_day: Input should be a valid integer"),
        ("[limits]\nrequests_per_minute = true\n", "app.toml: limits.requests_per_minute: Input should be a valid integer"),
        ("[limits]\nredis_url = 'localhost:6379'\n", "app.toml: limits.redis_url: expected a redis://HOST:PORT/DB"),
    ],
)
def test_bad_config_is_refused_with_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    message = str(err.value).replace(str(path), "app.toml")
    assert message.startswith(expected), message
    assert "\n" not in message


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read the config file \(No such file or directory\)"):
        load_settings(tmp_path / "missing.toml", env={})
    path = tmp_path / "latin1.toml"
    path.write_bytes("[bot]\nname = 'Caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_settings(path, env={})


def test_bot_config_env_selects_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[bot]\nname = 'From env'\n", "other.toml")
    assert load_settings(env={"BOT_CONFIG": str(path)}).bot.name == "From env"


@pytest.mark.parametrize(
    ("env", "check"),
    [
        ({"BOT_KB__SEARCH_LIMIT": "9"}, lambda s: s.kb.search_limit == 9),
        ({"BOT_KB__EXTENSIONS": '[".md"]'}, lambda s: s.kb.extensions == (".md",)),
        ({"BOT_BOT__NAME": "Deal helper"}, lambda s: s.bot.name == "Deal helper"),
        ({"BOT_LIMITS__REQUESTS_PER_MINUTE": "0", "BOT_LIMITS__TOKENS_PER_DAY": "50000"},
         lambda s: (s.limits.requests_per_minute, s.limits.tokens_per_day, s.limits.workspace_tokens_per_day)
         == (0, 50_000, 2_000_000)),
        ({"BOT_DIGESTS__0__CHANNEL": "#emea"}, lambda s: s.digests[0].channel == "#emea"),
        ({"BOT_DATABASE__URL": "sqlite:////tmp/other.db"}, lambda s: s.database_url == "sqlite:////tmp/other.db"),
        (
            {"BOT_DATABASE__URL": "sqlite:////tmp/other.db", "DATABASE_URL": "postgresql+psycopg://u:pw@h/db"},
            lambda s: s.database_url == "postgresql+psycopg://u:pw@h/db",
        ),
    ],
)
def test_environment_overrides(tmp_path: Path, env: dict[str, str], check) -> None:  # type: ignore[no-untyped-def]
    assert check(load_settings(write(tmp_path, GOOD), env=env))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"BOT_KB__SEARCH_LIMIT": "many"}, "BOT_KB__SEARCH_LIMIT (environment): kb.search_limit: Input should be a valid integer"),
        ({"BOT_KB__COLOUR": "red"}, "BOT_KB__COLOUR (environment): kb.colour: unknown key"),
        ({"BOT_KBPATH": "x"}, "BOT_KBPATH: expected BOT_<SECTION>__<KEY>"),
        ({"BOT_DIGESTS__3__CRON": "0 9 * * *"}, "BOT_DIGESTS__3__CRON: digests.3: no such entry (there are 1)"),
        ({"BOT_DIGESTS__0__TIMEZONE": "Mars/Olympus"}, 'BOT_DIGESTS__0__TIMEZONE (environment): digests[0].timezone: unknown time zone "Mars/Olympus"'),
        ({"BOT_LIMITS__TOKENS_PER_DAY": "-1"},
         "BOT_LIMITS__TOKENS_PER_DAY (environment): limits.tokens_per_day: must be 0 (no limit) or a positive number"),
    ],
)
def test_bad_environment_overrides_name_the_variable(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, GOOD), env=env)
    assert str(err.value).startswith(expected), str(err.value)


def test_redacted_config_hides_every_secret(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-secret-bot",
        "SLACK_APP_TOKEN": "xapp-secret-app",
        "SLACK_SIGNING_SECRET": "signing-secret-123",
        "OPENAI_API_KEY": "sk-secret-key",
        "OPENAI_BASE_URL": "https://user:urlpass@llm.example/v1",
        "DATABASE_URL": "postgresql+psycopg://bot:dbpass@db.example/crm",
        "BOT_LIMITS__REDIS_URL": "redis://default:redispass@cache.example:6379/0",
    }
    settings = load_settings(write(tmp_path, GOOD), env=env)
    shown = repr(redacted(settings)) + repr(settings)
    for secret in ("xoxb-secret-bot", "xapp-secret-app", "signing-secret-123", "sk-secret-key", "urlpass", "dbpass",
                   "redispass"):
        assert secret not in shown
    assert redacted(settings)["database"]["effective_url"] == "postgresql+psycopg://bot:***@db.example/crm"
    assert redacted(settings)["secrets"]["SLACK_BOT_TOKEN"] == "set"


def test_hubspot_selected_with_its_token_and_url(tmp_path: Path) -> None:
    env = {"HUBSPOT_ACCESS_TOKEN": "pat-na1-secret", "HUBSPOT_API_URL": "https://user:hubpass@hub.example",
           "BOT_CRM__ADAPTER": "hubspot", "BOT_HUBSPOT__PORTAL_ID": "4242"}
    settings = load_settings(write(tmp_path, GOOD), env=env)
    assert settings.crm.adapter == "hubspot" and settings.hubspot.portal_id == 4242
    assert settings.hubspot.deal_stages["contractsent"] == "negotiation"
    shown = repr(redacted(settings)) + repr(settings)
    assert "pat-na1-secret" not in shown and "hubpass" not in shown
    assert redacted(settings)["secrets"]["HUBSPOT_ACCESS_TOKEN"] == "set"
    assert redacted(settings)["secrets"]["HUBSPOT_API_URL"] == "https://user:***@hub.example"
