"""The `slack` suite: acknowledgements under load, and no request lost or run twice.

The real bot process (`python -m bot run`) against the local Slack emulator, once in HTTP mode
and once in Socket Mode. For 30 s the emulator sends 50 user actions a second, each at its own
slot whatever became of the previous ones: 40% mentions of the bot (each runs the agent, whose
scripted model takes 2 s to answer), 30% `/crm find <name>` and `/crm help` (no model), 30%
Approve clicks on proposal cards made beforehand (each card clicked once, a few twice at the same
moment by two people). The emulator measures every acknowledgement; afterwards the suite waits
until every mention is answered, every find is replied to and every clicked proposal is decided,
then counts answers, model requests and executions.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.common import REPO, at_most, load_average, log, machine_info, percentile
from slack_emulator import Delivery, EmulatorError, SlackEmulator
from tests.e2e.harness import free_port
from tests.fakes.model_server import ScriptedModelServer
from tests.fakes.model_server import text as model_text

RATE, DURATION_S = 50, 30
MENTIONS, COMMANDS, CLICKS = 0.4, 0.3, 0.3
DOUBLE_CLICKS = 10  # click slots that are two people clicking the same card at the same moment
MODEL_LATENCY_S = 2.0
MAX_RUNS = 100  # BOT_SLACK__MAX_CONCURRENT_RUNS: 20 runs/s x ~2 s = ~40 at once, so none queue
ACK_P99_MS, SLACK_LIMIT_MS = 100.0, 3000.0
SETTLE_TIMEOUT_S, GRACE_S = 90.0, 3.0
SALES, GENERAL = "C0SALES", "C0GENERAL"
APPROVE = "proposal_approve"
TOKEN = re.compile(r"\bQ-[HS]-\d{4}\b")
KINDS = ("app_mention", "message", "command", "click")
LABELS = {"app_mention": "app_mention event", "message": "message event (same post as a mention)",
          "command": "/crm command", "click": "Approve click", "all": "all requests"}
MODES = (("http", "HTTP"), ("socket", "Socket Mode"))


# -- the model: a scripted server in a process of its own ----------------------------------------


def _answer(body: dict[str, Any]) -> Any:
    """One plain answer per request, naming the mention's token so its thread can be checked."""
    user = next((m.get("content") or "" for m in reversed(body["messages"]) if m["role"] == "user"), "")
    found = TOKEN.search(user if isinstance(user, str) else json.dumps(user))
    return model_text(f"Answer to {found.group(0) if found else 'nothing'}: the pipeline looks steady this week.")


def _serve_model(conn: Any, latency: float) -> None:
    with ScriptedModelServer(responder=_answer, latency=latency) as server:
        conn.send(server.base_url)
        while conn.recv() == "report":
            tokens = []
            for request in server.requests:
                users = [m.get("content") for m in (request.body or {}).get("messages", []) if m.get("role") == "user"]
                found = TOKEN.search(str(users[-1]) if users else "")
                tokens.append(found.group(0) if found else None)
            conn.send({"tokens": tokens, "failures": server.failures})


@contextlib.contextmanager
def model_server() -> Iterator[tuple[str, Any, int]]:
    """(base URL, pipe for reports, pid): the server's threads do not share the interpreter lock
    with the emulator that measures the acks (a real model is another machine anyway)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_model, args=(child, MODEL_LATENCY_S), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError(f"the model server process did not start (exit code {process.exitcode})")
        yield parent.recv(), parent, process.pid or 0
    finally:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join()


# -- the bot process -----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


class Bot:
    """`python -m bot run` as a subprocess, its output in a log file."""

    def __init__(self, emu: SlackEmulator, model_url: str, db_url: str, log_path: Path, *, socket_mode: bool,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port, self.log_path, self.socket_mode = free_port(), log_path, socket_mode
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))}
        env.update({"DATABASE_URL": db_url, "BOT_KB__PATH": str(Path(REPO) / "kb"), "PYTHONUNBUFFERED": "1",
                    "SLACK_BOT_TOKEN": emu.config.bot_token, "SLACK_API_URL": emu.api_url,
                    "OPENAI_BASE_URL": model_url, "OPENAI_API_KEY": "bench-key",
                    "BOT_SLACK__MAX_CONCURRENT_RUNS": str(MAX_RUNS),
                    # Three people at 50 actions/s: counted (its cost is in the figures), never refused.
                    "BOT_LIMITS__REQUESTS_PER_MINUTE": "100000", "BOT_LIMITS__TOKENS_PER_DAY": "0",
                    "BOT_LIMITS__WORKSPACE_TOKENS_PER_DAY": "0",
                    # The cards are on demo companies of every owner: the clickers (reps, who see their
                    # team's records) must see them all, or a fifth of the clicks is refused, not executed.
                    "BOT_ACCESS__ROLES__REP__SEE": "all"})
        env["SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET"] = (
            emu.config.app_token if socket_mode else emu.config.signing_secret)
        env.update(extra_env or {})
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--port", str(self.port),
                                      "--ops-port", "0"], cwd=REPO,
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT)

    async def ready(self, emu: SlackEmulator, timeout: float = 90.0) -> None:
        import aiohttp

        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the bot exited with {self.proc.returncode}; see {self.log_path}")
                if self.socket_mode and emu.connected:
                    return
                if not self.socket_mode:
                    with contextlib.suppress(aiohttp.ClientError, OSError):
                        async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                            if response.status == 200:
                                return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the bot was not ready within {timeout} s; see {self.log_path}")

    async def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)
        self._log.close()
        return self.proc.returncode


def log_summary(path: Path) -> dict[str, Any]:
    """Counts of the bot log's warning and error lines, and the first few distinct ones."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    bad = [ln for ln in lines if any(w in ln for w in ("WARNING", "ERROR", "CRITICAL", "Traceback"))]
    distinct = list(dict.fromkeys(re.sub(r"^\S+ \S+ ", "", ln)[:300] for ln in bad))
    return {"lines": len(lines), "warnings": sum("WARNING" in ln for ln in lines),
            "errors": sum(("ERROR" in ln or "CRITICAL" in ln) for ln in lines),
            "tracebacks": sum("Traceback" in ln for ln in lines), "first": distinct[:8]}


# -- preparing the world -------------------------------------------------------------------------


def prepare_database(db_url: str) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))},
           "DATABASE_URL": db_url, "BOT_KB__PATH": str(Path(REPO) / "kb")}
    for args in (["migrate"], ["seed-demo", "--scale", "1", "--today", "2026-11-02"], ["kb-reindex"]):
        subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO, env=env, check=True, capture_output=True)


def approvals_for(db_url: str) -> Any:
    from bot.config import load_settings
    from bot.wiring import build, build_approvals

    settings = load_settings(Path(REPO) / "app.toml", env={"DATABASE_URL": db_url})
    return build_approvals(build(settings))


async def post_cards(emu: SlackEmulator, approvals: Any, letter: str, count: int) -> list[tuple[str, str]]:
    """(proposal id, card ts) of `count` pending create_task proposals whose cards sit in #sales.

    Creates are used because each needs no record version: the demo CRM has too few open deals for
    ~900 distinct update_deal proposals, and one deal's second update would (rightly) go stale."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.blocks.cards import proposal_card
    from bot.slack.blocks.links import Links

    client = AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url)
    cards = []
    for i in range(count):
        args = {"deal_id": 1 + i % 600, "subject": f"Bench follow-up {letter}-{i:04d}", "due_date": "2026-11-20"}
        view = approvals.propose_call("create_task", args, requester="U02BOB", channel=SALES)
        card_text, blocks = proposal_card(view, Links())
        posted = await client.chat_postMessage(channel=SALES, text=card_text, blocks=blocks)
        approvals.card_posted(view.id, channel=SALES, message_ts=posted["ts"])
        cards.append((view.id, str(posted["ts"])))
    return cards


def plan(seed: int) -> list[str]:
    """The kind of every slot: exact shares of mentions, finds, helps, clicks and double clicks."""
    slots = RATE * DURATION_S
    mentions, commands = round(slots * MENTIONS), round(slots * COMMANDS)
    clicks = slots - mentions - commands
    kinds = (["mention"] * mentions + ["find"] * (commands - commands // 2) + ["help"] * (commands // 2)
             + ["click"] * (clicks - DOUBLE_CLICKS) + ["double"] * DOUBLE_CLICKS)
    random.Random(seed).shuffle(kinds)
    return kinds


# -- the load ------------------------------------------------------------------------------------


class Load:
    """Sends the planned actions at their slot times and keeps what came back."""

    def __init__(self, emu: SlackEmulator, letter: str, cards: list[tuple[str, str]], names: list[str]) -> None:
        self.emu, self.letter, self.cards, self.names = emu, letter, cards, names
        self.samples: list[tuple[str, Delivery]] = []
        self.mentions: list[tuple[str, str, str]] = []  # (channel, root ts, token)
        self.finds: list[str] = []  # response_url ids
        self.clicked: list[str] = []  # proposal ids
        self.doubles: list[str] = []
        self.errors: list[str] = []
        self.lateness: list[float] = []
        self.started: list[float] = []
        self._n = {"mention": 0, "command": 0, "click": 0}

    async def run(self, kinds: list[str]) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.1
        tasks = []
        for i, kind in enumerate(kinds):
            slot = t0 + i / RATE
            if slot > loop.time():
                await asyncio.sleep(slot - loop.time())
            tasks.append(loop.create_task(self._one(kind, slot)))
        await asyncio.gather(*tasks)

    async def _one(self, kind: str, slot: float) -> None:
        now = asyncio.get_running_loop().time()
        self.lateness.append(now - slot)
        self.started.append(now)
        users = ("alice", "bob", "carol")
        try:
            if kind == "mention":
                n = self._next("mention")
                token, channel = f"Q-{self.letter}-{n:04d}", (SALES, GENERAL)[n % 2]
                posted = await self.emu.user_message(users[n % 3], channel,
                                                     f"<@UBOT> {token}: how is the pipeline looking this week?")
                self.mentions.append((posted.channel, posted.ts, token))
                self.samples += [(d.event_type or "?", d) for d in posted.deliveries]
            elif kind in ("find", "help"):
                n = self._next("command")
                words = f"find {self.names[n % len(self.names)]}" if kind == "find" else "help"
                delivery = await self.emu.slash_command(users[n % 3], (SALES, GENERAL)[n % 2], words)
                if kind == "find":
                    self.finds.append((delivery.response_url or "").rsplit("/", 1)[-1])
                self.samples.append(("command", delivery))
            else:
                pid, ts = self.cards[self._next("click")]
                clickers = ("alice", "bob") if kind == "double" else (("alice", "carol")[len(self.clicked) % 2],)
                self.clicked.append(pid)
                if kind == "double":
                    self.doubles.append(pid)
                done = await asyncio.gather(*(self.emu.click(u, channel=SALES, message_ts=ts, action_id=APPROVE)
                                              for u in clickers))
                self.samples += [("click", d) for d in done]
        except (EmulatorError, OSError) as exc:
            self.errors.append(f"{kind}: {exc}"[:300])

    def _next(self, kind: str) -> int:
        self._n[kind] += 1
        return self._n[kind] - 1


async def loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """How late a 5 ms timer fires in the bench's own loop: the share of an ack latency that may be
    the emulator's (measuring) side rather than the bot's."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        lags.append(time.perf_counter() - started - 0.005)


# -- checking the outcome ------------------------------------------------------------------------


def thread_counts(emu: SlackEmulator, mentions: list[tuple[str, str, str]]) -> dict[str, tuple[int, int]]:
    """token -> (bot messages in its thread carrying its answer, other bot messages there)."""
    by_thread: dict[tuple[str, str], list[str]] = {}
    for channel in (SALES, GENERAL):
        for m in emu.messages(channel):
            if m.bot_id and m.thread_ts and m.thread_ts != m.ts:
                by_thread.setdefault((channel, m.thread_ts), []).append(m.text + json.dumps(m.blocks))
    out = {}
    for channel, ts, token in mentions:
        texts = by_thread.get((channel, ts), [])
        answers = sum(f"Answer to {token}" in t for t in texts)
        out[token] = (answers, len(texts) - answers)
    return out


def proposal_facts(engine: Engine, ids: list[str], letter: str) -> dict[str, dict[str, Any]]:
    """Per proposal: status, 'executing'/'executed' transitions in the audit, tasks created."""
    facts: dict[str, dict[str, Any]] = {i: {"status": None, "executing": 0, "executed": 0, "tasks": 0} for i in ids}
    with engine.connect() as conn:
        subject_of = {}
        for pid, status, args in conn.execute(text("SELECT id, status, args FROM proposal")):
            if pid in facts:
                facts[pid]["status"] = status
                subject_of[pid] = (json.loads(args) if isinstance(args, str) else args or {}).get("subject")
        rows = conn.execute(text("SELECT proposal_id, to_status, count(*) FROM audit_event "
                                 "WHERE kind = 'proposal.transition' AND to_status IN ('executing', 'executed') "
                                 "GROUP BY proposal_id, to_status"))
        for pid, to_status, n in rows:
            if pid in facts:
                facts[pid][to_status] = n
        subjects = dict(conn.execute(text("SELECT subject, count(*) FROM crm_activity WHERE subject LIKE :p "
                                          "GROUP BY subject"), {"p": f"Bench follow-up {letter}-%"}).all())
        for pid, subject in subject_of.items():
            facts[pid]["tasks"] = subjects.get(subject, 0)
    return facts


async def settle(emu: SlackEmulator, load: Load, engine: Engine) -> float:
    """Wait (bounded) until every mention is answered, every find replied to and every clicked
    proposal decided; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_TIMEOUT_S:
        answered = all(a >= 1 for a, _ in thread_counts(emu, load.mentions).values())
        replied = {r.url_id for r in emu.responses()} >= set(load.finds)
        facts = await asyncio.to_thread(proposal_facts, engine, load.clicked, load.letter)
        decided = all(f["status"] not in (None, "pending", "executing") for f in facts.values())
        if answered and replied and decided:
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started


def latency_stats(samples: list[tuple[str, Delivery]]) -> dict[str, dict[str, Any]]:
    """Per kind and overall: n, p50/p99/max in ms; an unacknowledged request counts as 3 s."""
    out = {}
    for kind in (*KINDS, "all"):
        chosen = [d for k, d in samples if kind in ("all", k)]
        if not chosen:
            continue
        ms = sorted(d.latency * 1000 if d.acked and d.latency is not None else SLACK_LIMIT_MS for d in chosen)
        out[kind] = {"n": len(ms), "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "max_ms": ms[-1],
                     "mean_ms": sum(ms) / len(ms), "not_acked": sum(not d.acked for d in chosen),
                     "non_2xx": sum(d.http_status is not None and not 200 <= d.http_status < 300 for d in chosen),
                     "over_1s": sum(v > 1000 for v in ms)}
    return out


# -- one mode ------------------------------------------------------------------------------------


async def run_mode(mode: str, workdir: Path, db_url: str, engine: Engine, model: tuple[str, Any, int],
                   names: list[str], *, extra_env: dict[str, str] | None = None, tag: str = "") -> dict[str, Any]:
    """One load against one bot process; extra_env (settings) and tag (of its log file) serve the ops suite."""
    model_url, pipe, model_pid = model
    letter = "H" if mode == "http" else "S"
    kinds = plan(seed=5 if mode == "http" else 6)
    clicks = sum(k in ("click", "double") for k in kinds)
    approvals = await asyncio.to_thread(approvals_for, db_url)
    async with SlackEmulator() as emu:
        emu.default_mode = mode
        cards = await post_cards(emu, approvals, letter, clicks)
        bot_log = workdir / f"bot-{mode}{tag}.log"
        boot = time.monotonic()
        bot = Bot(emu, model_url, db_url, bot_log, socket_mode=mode == "socket", extra_env=extra_env)
        try:
            await bot.ready(emu)
            boot_s = time.monotonic() - boot
            if mode == "http":
                emu.http_target = f"http://127.0.0.1:{bot.port}/slack/events"
            await asyncio.sleep(1.0)  # let start-up work (recovery, first sweep) finish
            load = Load(emu, letter, cards, names)
            lags: list[float] = []
            stop_lag = asyncio.Event()
            lag_task = asyncio.get_running_loop().create_task(loop_lag(stop_lag, lags))
            load_start = load_average()
            cpu0 = (cpu_seconds(bot.proc.pid), sum(os.times()[:2]), cpu_seconds(model_pid), time.monotonic())
            log(f"slack/{mode}: {len(kinds)} actions at {RATE}/s for {DURATION_S} s")
            # The emulator's records grow by thousands of objects a second, and a full collection of
            # them stalled this loop for 110-150 ms: the measuring side's pause, not the bot's.
            gc.collect()
            gc.disable()
            try:
                await load.run(kinds)
            finally:
                gc.enable()
            cpu1 = (cpu_seconds(bot.proc.pid), sum(os.times()[:2]), cpu_seconds(model_pid), time.monotonic())
            stop_lag.set()
            await lag_task
            load_end = load_average()
            waited = await settle(emu, load, engine)
            await asyncio.sleep(GRACE_S)  # late duplicates (a retried event run twice) would show up now
            threads = thread_counts(emu, load.mentions)
            facts = await asyncio.to_thread(proposal_facts, engine, load.clicked, letter)
            pipe.send("report")
            if not pipe.poll(60):
                raise RuntimeError("the model server process does not answer")
            report = pipe.recv()
            responses = emu.responses()
            retries = [d for d in emu.deliveries() if d.retry_attempt > 0]
            late_acks = sum(a.late for a in emu.acks())
        finally:
            code = await bot.stop()
    return measure(mode, load, threads, facts, report, responses, retries, late_acks, code,
                   boot_s=boot_s, waited=waited, lags=lags, cpu=(cpu0, cpu1), load_avg=(load_start, load_end),
                   bot_log=log_summary(bot_log))


def measure(mode: str, load: Load, threads: dict[str, tuple[int, int]], facts: dict[str, dict[str, Any]],
            report: dict[str, Any], responses: list[Any], retries: list[Delivery], late_acks: int, code: int,
            **extra: Any) -> dict[str, Any]:
    tokens = [t for t in report["tokens"] if t and t[2] == load.letter]
    calls = {t: tokens.count(t) for t in set(tokens)}
    mention_tokens = [token for _, _, token in load.mentions]
    replies = {}
    for r in responses:
        replies[r.url_id] = replies.get(r.url_id, 0) + 1
    (cpu0, cpu1), span = extra.pop("cpu"), max(load.started) - min(load.started)
    wall = cpu1[3] - cpu0[3]
    lags = sorted(extra.pop("lags")) or [0.0]
    clicked = set(load.clicked)
    counts = {
        "mentions": len(mention_tokens),
        "answered_once": sum(threads[t] == (1, 0) for t in mention_tokens),
        "unanswered": sum(threads[t][0] == 0 for t in mention_tokens),
        "extra_answers": sum(max(0, threads[t][0] - 1) for t in mention_tokens),
        "other_bot_messages": sum(threads[t][1] for t in mention_tokens),
        "model_calls": len(tokens),
        "mentions_without_model_call": sum(calls.get(t, 0) == 0 for t in mention_tokens),
        "extra_model_calls": sum(max(0, n - 1) for n in calls.values()),
        "finds": len(load.finds),
        "finds_replied_once": sum(replies.get(u, 0) == 1 for u in load.finds),
        "finds_unreplied": sum(replies.get(u, 0) == 0 for u in load.finds),
        "find_extra_replies": sum(max(0, replies.get(u, 0) - 1) for u in load.finds),
        "proposals_clicked": len(clicked),
        "click_requests": sum(k == "click" for k, _ in load.samples),
        "double_clicked": len(load.doubles),
        "executed_once": sum(f["status"] == "executed" and f["executed"] == 1 and f["executing"] == 1
                             and f["tasks"] == 1 for f in facts.values()),
        "not_executed": sum(f["status"] != "executed" or f["tasks"] == 0 for f in facts.values()),
        "executed_twice": sum(f["executed"] > 1 or f["executing"] > 1 or f["tasks"] > 1 for f in facts.values()),
        "statuses": {s: sum(f["status"] == s for f in facts.values()) for s in {f["status"] for f in facts.values()}},
    }
    counts["lost"] = counts["unanswered"] + counts["mentions_without_model_call"] + counts["finds_unreplied"] + \
        counts["not_executed"]
    counts["duplicated"] = counts["extra_answers"] + counts["extra_model_calls"] + counts["find_extra_replies"] + \
        counts["executed_twice"]
    return {
        "mode": mode, "latency": latency_stats(load.samples), "counts": counts,
        "actions": len(load.started), "requests": len(load.samples), "span_s": span,
        "actions_per_s": (len(load.started) - 1) / span, "requests_per_s": len(load.samples) / (span or 1),
        "slot_lateness_ms": {"p99": percentile(sorted(load.lateness), 99) * 1000, "max": max(load.lateness) * 1000},
        "loop_lag_ms": {"p50": percentile(lags, 50) * 1000, "p99": percentile(lags, 99) * 1000, "max": lags[-1] * 1000},
        "cpu_percent": {"bot": 100 * (cpu1[0] - cpu0[0]) / wall, "bench": 100 * (cpu1[1] - cpu0[1]) / wall,
                        "model_server": 100 * (cpu1[2] - cpu0[2]) / wall},
        "emulator_retries": len(retries), "late_socket_acks": late_acks, "action_errors": load.errors[:10],
        "action_error_count": len(load.errors), "model_server_failures": report["failures"][:5],
        "bot_exit_code": code, **extra,
    }


# -- the suite -----------------------------------------------------------------------------------


def run() -> dict[str, Any]:
    started = time.perf_counter()
    machine = machine_info(databases=False, libraries=("slack_bolt", "slack_sdk", "aiohttp", "openai"))
    machine["sqlite"] = sqlite3.sqlite_version
    workdir = Path(tempfile.mkdtemp(prefix="bench_slack_"))
    try:
        db_url = f"sqlite:///{workdir / 'bot.db'}"
        log("slack: preparing the database (migrate, seed-demo --scale 1, kb-reindex)")
        prepare_database(db_url)
        from bot.store.engine import make_engine

        engine = make_engine(db_url)
        with engine.connect() as conn:
            names = [n for (n,) in conn.execute(text("SELECT name FROM crm_company ORDER BY id LIMIT 40"))]
        results = {}
        with model_server() as model:
            for mode, _ in MODES:
                results[mode] = asyncio.run(run_mode(mode, workdir, db_url, engine, model, names))
        engine.dispose()
    finally:
        if os.environ.get("BENCH_KEEP_TMP"):
            log(f"slack: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    machine["load_avg_1m_at_end"] = load_average()
    data = {"rate": RATE, "duration_s": DURATION_S, "model_latency_s": MODEL_LATENCY_S, "max_concurrent_runs": MAX_RUNS,
            **results}
    return {"suite": "slack", "title": "Slack: acknowledgements under load, nothing lost or run twice",
            "machine": machine, "duration_s": time.perf_counter() - started, "sections": _sections(data, machine),
            "data": data}


def _sections(d: dict[str, Any], machine: dict[str, Any]) -> list[dict[str, Any]]:
    cols = [label for _, label in MODES]
    by = {label: d[mode] for mode, label in MODES}

    def row(measure: str, target: str | None, fn: Any) -> dict[str, Any]:
        return {"measure": measure, "target": target, "cells": {c: fn(r) for c, r in by.items()}}

    def info(fn: Any) -> Any:
        return lambda r: {"text": fn(r), "pass": None}

    ack_rows = [row(f"Ack p99, {LABELS[k]}", f"≤ {ACK_P99_MS:g} ms", lambda r, k=k: at_most(r["latency"][k]["p99_ms"], "ms", ACK_P99_MS))
                for k in ("all", *KINDS)]
    ack_rows[1:1] = [row("  p50 / max, all requests", None, info(lambda r: "{:.1f} / {:.1f} ms".format(
        r["latency"]["all"]["p50_ms"], r["latency"]["all"]["max_ms"])))]
    ack_rows += [
        row("Slowest acknowledgement", "≤ 3,000 ms (Slack's limit)", lambda r: at_most(r["latency"]["all"]["max_ms"], "ms", SLACK_LIMIT_MS)),
        row("Requests not acknowledged (timeouts, non-2xx), emulator retries", "0", lambda r: at_most(
            r["latency"]["all"]["not_acked"] + r["latency"]["all"]["non_2xx"] + r["emulator_retries"], "", 0, digits=0)),
        row("Achieved rate: user actions/s (requests/s)", f"{RATE}/s", info(lambda r: f"{r['actions_per_s']:.1f} ({r['requests_per_s']:.1f})")),
        row("Bench loop lag p99 / max (part of every measured latency)", None, info(
            lambda r: f"{r['loop_lag_ms']['p99']:.1f} / {r['loop_lag_ms']['max']:.1f} ms")),
        row("CPU during the load: bot / bench (emulator) / model server", None, info(
            lambda r: " / ".join(f"{r['cpu_percent'][k]:.0f}%" for k in ("bot", "bench", "model_server")))),
    ]
    count_rows = [
        row("Lost: mentions unanswered or never sent to the model, finds unreplied, clicked proposals not executed",
            "0", lambda r: at_most(r["counts"]["lost"], "", 0, digits=0)),
        row("Duplicated: extra answers or model requests, extra find replies, proposals executed twice", "0",
            lambda r: at_most(r["counts"]["duplicated"], "", 0, digits=0)),
        row("Mentions → answered exactly once → model requests", None, info(lambda r: "{mentions} → {answered_once} → {model_calls}".format(**r["counts"]))),
        row("/crm find → replied exactly once", None, info(lambda r: "{finds} → {finds_replied_once}".format(**r["counts"]))),
        row("Proposals clicked (click requests, double-clicked) → executed exactly once", None, info(
            lambda r: "{proposals_clicked} ({click_requests}, {double_clicked}) → {executed_once}".format(**r["counts"]))),
        row("Wait after the load until all of it was done", None, info(lambda r: f"{r['waited']:.1f} s")),
        row("Bot log: warnings / errors / tracebacks; exit code", None, info(lambda r: "{} / {} / {}; {}".format(
            r["bot_log"]["warnings"], r["bot_log"]["errors"], r["bot_log"]["tracebacks"], r["bot_exit_code"]))),
    ]
    table = {"caption": "Acknowledgement latency per kind (ms): n, p50 / p99 / max",
             "columns": ["kind", *cols],
             "rows": [[LABELS[k], *(("{n}: {p50_ms:.1f} / {p99_ms:.1f} / {max_ms:.1f}".format(**by[c]["latency"][k])
                                    if k in by[c]["latency"] else "—") for c in cols)] for k in (*KINDS, "all")]}
    h, s = d["http"], d["socket"]
    notes = [
        (f"Method: one bot process (`python -m bot run`, SQLite, demo CRM scale 1, `BOT_SLACK__MAX_CONCURRENT_RUNS="
         f"{MAX_RUNS}` so that ~{RATE * MENTIONS:.0f} runs/s of ~{MODEL_LATENCY_S:g} s each, ~40 at once, never "
         f"queue) per mode, against the Slack emulator in the bench process. An asyncio loop starts every action as a "
         f"task at its own slot ({RATE}/s for {DURATION_S} s, {RATE * DURATION_S} actions in a fixed shuffled order), "
         "so a slow acknowledgement never delays the next one; the achieved rate is measured from the actual start "
         f"times (latest start behind its slot: {h['slot_lateness_ms']['max']:.0f} ms HTTP, "
         f"{s['slot_lateness_ms']['max']:.0f} ms Socket Mode)."),
        ("Each mention is a message in #sales or #general that mentions the bot; as real Slack does, it reaches the "
         "app twice (`app_mention` and `message.channels`), so the bot receives about "
         f"{RATE * (1 + MENTIONS):.0f} requests/s for {RATE} user actions/s. The second event is the bot's no-op and "
         "is shown as its own kind. `/crm` is half `find <company name>` (answered through the response_url) and "
         "half `help` (answered in the ack). Clicks are Approve on cards posted beforehand for pending create_task "
         f"proposals (low risk; approved as channel member or requester); {DOUBLE_CLICKS} cards get two clicks by two "
         "people in the same instant."),
        ("Latency is what the emulator measures: in HTTP mode from sending the signed request to reading the response, "
         "in Socket Mode from writing the envelope to reading its ack frame. It includes the emulator's own loop; the "
         "loop-lag row shows how late a 5 ms timer fired in that loop during the load, a measure of that share "
         "(the bench process's garbage collector is off during the load: its full collections of the emulator's "
         "records paused the loop for 110-150 ms, a pause of the measuring side, not of the bot). "
         f"A request not acknowledged within 3 s would count as {SLACK_LIMIT_MS:.0f} ms. Bolt polls every 10 ms for a "
         "command or action listener's ack() when `process_before_response` is off, which sets a ~10 ms floor for "
         "/crm and clicks; events are acked before their listener runs."),
        ("Lost and duplicated: after the load the suite waits (at most "
         f"{SETTLE_TIMEOUT_S:.0f} s) until every mention's thread holds its answer, every find has a response_url "
         f"post and every clicked proposal left pending/executing, then {GRACE_S:.0f} s more for late duplicates. "
         "A mention counts once only if its thread holds exactly one bot message, carrying the answer to that "
         "mention's token, and the model server received exactly one request with that token; a proposal counts once "
         "only if it is `executed`, its audit trail has one `executing` and one `executed` transition and exactly one "
         "task with its subject exists in the CRM."),
        ("The model is the scripted OpenAI-compatible server answering every request after "
         f"{MODEL_LATENCY_S:g} s, run in a spawned process of its own: in the bench process its threads would compete "
         "with the emulator, which measures the acks, for the interpreter lock."),
        (f"Machine: {machine['cores']} cores shared with other work; 1-minute load average {machine['load_avg_1m_at_start']} "
         f"at the start of the suite and {machine['load_avg_1m_at_end']} at its end; at the start / end of the load: "
         f"HTTP {h['load_avg'][0]} / {h['load_avg'][1]}, Socket Mode {s['load_avg'][0]} / {s['load_avg'][1]}. The bot, "
         "the emulator and the model server share those cores, so every figure includes their competition."),
    ]
    for label, r in by.items():
        if r["bot_log"]["first"] or r["action_errors"] or r["model_server_failures"]:
            notes.append(f"{label}: bot log lines worth reading: {r['bot_log']['first'][:3]}; action errors: "
                         f"{r['action_errors'][:3]}; model server failures: {r['model_server_failures'][:3]}.")
    return [
        {"title": "Acknowledgement latency at 50 actions/s", "description": __doc__.split("\n\n", 1)[1].strip(),
         "columns": cols, "rows": ack_rows, "tables": [table], "notes": notes},
        {"title": "Nothing lost, nothing run twice", "description": "Counts after the same load, once every request "
         "had been worked off.", "columns": cols, "rows": count_rows, "notes": []},
    ]
