"""`python -m bot hubspot setup`: scopes checked and named, properties created once, never twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.crm.hubspot.adapter import HubSpotCrm
from adapters.crm.hubspot.mapping import OBJECT_TYPES
from adapters.crm.hubspot.setup import setup
from bot.cli import main
from tests.fakes.hubspot_emulator import ALL_SCOPES, HubSpotEmulator


@pytest.fixture
def fresh() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(setup_done=False) as hub:
        yield hub


def test_setup_creates_the_unique_key_on_every_type_the_bot_creates(fresh: HubSpotEmulator) -> None:
    report = setup(HubSpotCrm.connect(fresh.token, fresh.base_url).transport)
    assert report.ok and "contacts.crm_copilot_key" in report.created
    for object_type in ("contacts", "companies", "deals", "tickets", "notes", "calls", "meetings", "emails", "tasks"):
        # unique values where HubSpot has them; engagements have the key without
        assert fresh.store.custom[object_type]["crm_copilot_key"] is (object_type in OBJECT_TYPES.values())
        assert fresh.store.custom[object_type]["crm_copilot_last_write"] is False
    again = setup(HubSpotCrm.connect(fresh.token, fresh.base_url).transport)
    assert again.ok and again.created == [] and len(again.present) == len(report.created)
    assert fresh.count("PATCH") == 0 and all(not objs for objs in fresh.store.objects.values())  # no record written


def test_setup_names_every_missing_scope() -> None:
    with HubSpotEmulator(setup_done=False, scopes=ALL_SCOPES - {"tickets", "crm.schemas.deals.write"}) as hub:
        report = setup(HubSpotCrm.connect(hub.token, hub.base_url).transport)
    assert not report.ok and report.missing_scopes == ["tickets", "crm.schemas.deals.write"]
    assert report.lines()[-2].startswith("missing scopes: tickets, crm.schemas.deals.write")
    assert report.lines()[-1] == "HubSpot is NOT ready for the bot"


def test_setup_refuses_a_key_property_without_unique_values(fresh: HubSpotEmulator) -> None:
    fresh.store.custom["deals"]["crm_copilot_key"] = False  # made by hand in HubSpot
    report = setup(HubSpotCrm.connect(fresh.token, fresh.base_url).transport)
    assert not report.ok and any("deals.crm_copilot_key exists without unique values" in p for p in report.problems)


def test_setup_with_a_wrong_token_says_so_and_stops(fresh: HubSpotEmulator) -> None:
    report = setup(HubSpotCrm.connect("pat-wrong", fresh.base_url).transport)
    assert report.token_refused and report.lines() == [
        "HubSpot refused HUBSPOT_ACCESS_TOKEN (401): copy the private app's access token again"]
    assert len(fresh.requests) == 1


def test_the_command(fresh: HubSpotEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "app.toml"
    config.write_text("[crm]\nadapter = 'hubspot'\n", encoding="utf-8")
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    assert main(["--config", str(config), "hubspot", "setup"]) == 2
    assert capsys.readouterr().err.startswith('error: HUBSPOT_ACCESS_TOKEN: not set, but crm.adapter = "hubspot"')
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", fresh.token)
    monkeypatch.setenv("HUBSPOT_API_URL", fresh.base_url)
    assert main(["--config", str(config), "hubspot", "setup"]) == 0
    out = capsys.readouterr().out
    assert "created contacts.crm_copilot_key" in out and out.endswith("HubSpot is ready for the bot\n")
    assert fresh.token not in out
