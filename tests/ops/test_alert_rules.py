"""deploy/prometheus/alerts.yml: valid rules (`promtool check rules`), each alert firing on synthetic
series that break its target and silent on healthy ones (`promtool test rules alerts_test.yml`),
over metrics the bot defines. promtool comes with Debian's `prometheus` package (`make test`
installs it); without it these tests fail, saying so."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.ops.metrics import Metrics

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: install Debian's prometheus package (`apt-get install prometheus`, "
                    "as root; `make test` does it), which ships it", pytrace=False)
    return found


def run(promtool: str, *args: str, cwd: Path = RULES) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_rules_are_valid(promtool: str) -> None:
    result = run(promtool, "check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 10 rules found" in result.stdout


def test_the_rule_tests_pass(promtool: str) -> None:
    result = run(promtool, "test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_tests_catch_a_loosened_target(promtool: str, tmp_path: Path) -> None:
    """The same tests against rules whose success target is 97 % instead of 99.9 %: they fail."""
    loosened = (RULES / "alerts.yml").read_text(encoding="utf-8").replace("ratio_rate30m < 0.999", "ratio_rate30m < 0.97")
    assert loosened != (RULES / "alerts.yml").read_text(encoding="utf-8")
    (tmp_path / "alerts.yml").write_text(loosened, encoding="utf-8")
    shutil.copy(RULES / "alerts_test.yml", tmp_path / "alerts_test.yml")
    result = run(promtool, "test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0 and "CrmCopilotSuccessBelowTarget" in result.stdout + result.stderr


def test_every_alert_has_a_test_and_reads_only_metrics_the_bot_defines() -> None:
    rules = yaml.safe_load((RULES / "alerts.yml").read_text(encoding="utf-8"))
    tests = (RULES / "alerts_test.yml").read_text(encoding="utf-8")
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    alerts = [rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    assert alerts and all(tests.count(f"alertname: {name}") >= 2 for name in alerts)
    body, _ = Metrics().render()
    types = dict(re.findall(r"^# TYPE (crm_copilot_\w+) (\w+)$", body.decode(), re.M))
    exposed = set(types) | {f"{name}_{suffix}" for name, kind in types.items() if kind == "histogram"
                            for suffix in ("sum", "count", "bucket")}
    used = {name for expr in exprs for name in re.findall(r"\b(crm_copilot_\w+)", expr)}
    assert used and used <= exposed, used - exposed
