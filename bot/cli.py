"""Command line: `python -m bot COMMAND`. User errors print one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from sqlalchemy.exc import OperationalError

from adapters.crm.base import CrmError
from bot import cli_access, cli_agent, cli_dev, cli_digest, cli_failed, cli_feedback, cli_hubspot, cli_run
from bot import config as config_module
from bot.config import ConfigError, Settings, load_settings, redact_url
from bot.ops import logs
from bot.privacy.spans import DetectionError
from bot.store import schema
from bot.wiring import build_checked, build_engine

log = logging.getLogger("bot")


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="CRM copilot for Slack.")
    parser.add_argument("--config", help="path of app.toml (default: $BOT_CONFIG or ./app.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cli_run.add_parsers(sub)
    migrate = sub.add_parser("migrate", help="upgrade the database schema to the newest version")
    migrate.add_argument("--revision", default="head", help="target revision (default head)")

    seed = sub.add_parser("seed-demo", help="fill the CRM with deterministic demo data")
    seed.add_argument("--scale", type=int, default=1, help="1 = 200 companies, 1,000 contacts, ... (1-100)")
    seed.add_argument("--seed", type=int, help="random seed (default: demo.seed in app.toml)")
    seed.add_argument("--today", type=date.fromisoformat, help="reference date YYYY-MM-DD (default today)")
    mode = seed.add_mutually_exclusive_group()
    mode.add_argument("--if-empty", action="store_true", help="do nothing when the CRM holds data")
    mode.add_argument("--replace", action="store_true", help="delete the CRM's data first")

    imp = sub.add_parser("import-crm", help="import companies, contacts or deals from a CSV file")
    imp.add_argument("file", type=Path, help="CSV file with a header row (columns: see README)")
    imp.add_argument("--kind", required=True, choices=("companies", "contacts", "deals"))

    sub.add_parser("kb-reindex", help="index new and changed knowledge-base files")

    mask = sub.add_parser("mask", help="mask personal data in text read from stdin")
    fmt = mask.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help='print {"masked": ..., "entities": [...]}')
    fmt.add_argument("--jsonl", action="store_true", help='read one {"text": ...} per line, write one result per line')

    cli_agent.add_parsers(sub)
    cli_access.add_parsers(sub)
    cli_digest.add_parsers(sub)
    cli_dev.add_parsers(sub)
    cli_hubspot.add_parsers(sub)
    cli_feedback.add_parsers(sub)
    cli_failed.add_parsers(sub)

    cfg = sub.add_parser("config", help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True, metavar="SUBCOMMAND")
    cfg_sub.add_parser("check", help="validate the config and print it with secrets hidden")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        logs.configure(settings.bot.log_level, settings.bot.log_format)
        for line in settings.deprecations():
            log.warning(line)
        handler = _COMMANDS[args.command]
        code = handler(settings, args)
        sys.stdout.flush()  # here, not at exit, so that a reader gone away is caught below
        return code
    except (ConfigError, UserError, schema.SchemaOutOfDate, CrmError, DetectionError,
            cli_digest.DigestCommandError, cli_run.RunError, cli_failed.FailedCommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"error: database unavailable ({_first_line(exc.orig)}); check DATABASE_URL or database.url",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """The reader of stdout went away (`… | head`): stop quietly. Python flushes stdout once more at
    exit, which would fail again; pointing stdout at /dev/null makes that flush harmless."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, as a shell reports a command ended by a closed pipe


def _first_line(exc: object) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    engine = build_engine(settings)
    before = schema.current_revision(engine)
    schema.upgrade(engine, args.revision)
    after = schema.current_revision(engine)
    where = redact_url(settings.database_url)
    if before == after:
        print(f"{where}: already at {after}")
    else:
        print(f"{where}: migrated {before or 'empty'} -> {after}")
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.crm.local import demo

    if not 1 <= args.scale <= 100:
        raise UserError(f"--scale must be between 1 and 100, got {args.scale}")
    components = build_checked(settings)
    existing = demo.company_count(components.engine)
    if existing and args.if_empty:
        print(f"the CRM already holds {existing} companies; nothing seeded")
        return 0
    if existing and not args.replace:
        raise UserError(
            f"the CRM already holds {existing} companies; use --replace to wipe it first or --if-empty"
        )
    if existing:
        demo.clear(components.engine)
    seed = settings.demo.seed if args.seed is None else args.seed
    counts = demo.seed(components.engine, scale=args.scale, seed=seed, today=args.today or date.today())
    print("seeded: " + ", ".join(f"{n:,} {kind}" for kind, n in counts.items()))
    return 0


def cmd_import_crm(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.crm.csv_import import CsvFormatError, import_csv

    components = build_checked(settings)
    try:
        report = import_csv(components.crm, args.file, args.kind)
    except CsvFormatError as exc:
        raise UserError(f"{args.file}: {exc}") from None
    for line, reason in report.errors:
        print(f"{args.file}:{line}: {reason}", file=sys.stderr)
    print(
        f"{args.file}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.errors)} rejected"
    )
    return 1 if report.errors else 0


def cmd_kb_reindex(settings: Settings, args: argparse.Namespace) -> int:
    components = build_checked(settings)
    try:
        report = components.kb.reindex()
    except FileNotFoundError as exc:
        raise UserError(f"{exc}; set kb.path in {settings.config_path}") from None
    for path, reason in report.failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(
        f"knowledge base: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged, "
        f"{len(report.failed)} skipped; {report.sections} sections indexed"
    )
    return 1 if report.failed else 0


def cmd_mask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.privacy.vault import MemoryVaultStore, Vault
    from bot.wiring import build_gateway

    components = build_checked(settings)
    gateway, detector, _ = build_gateway(settings, components.crm)
    for warning in detector.warnings:
        log.warning(warning)
    store = MemoryVaultStore()

    def result(text: str, n: int) -> dict[str, object]:
        masked = gateway.mask_text(Vault(f"cli-{n}", store), text)
        entities = [{"type": t, "start": b, "end": e, "placeholder": p} for t, b, e, p in masked.entities]
        return {"masked": masked.text, "entities": entities}

    if not args.jsonl:
        text = sys.stdin.read()
        print(json.dumps(result(text, 0), ensure_ascii=False) if args.json else result(text, 0)["masked"],
              end="" if not args.json and text.endswith("\n") else "\n")
        return 0
    failed = 0
    for n, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text = record["text"] if isinstance(record, dict) else None
            if not isinstance(text, str):
                raise ValueError
        except (ValueError, KeyError):
            failed += 1
            print(json.dumps({"line": n, "error": 'expected a JSON object {"text": "..."}'}))
            continue
        print(json.dumps(result(text, n), ensure_ascii=False))
    return 1 if failed else 0


def cmd_config(settings: Settings, args: argparse.Namespace) -> int:
    print(f"# {settings.config_path}: valid")
    print(json.dumps(config_module.redacted(settings), indent=2))
    return 0


_COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "migrate": cmd_migrate,
    "seed-demo": cmd_seed_demo,
    "import-crm": cmd_import_crm,
    "kb-reindex": cmd_kb_reindex,
    "mask": cmd_mask,
    "config": cmd_config,
    **cli_run.COMMANDS,
    **cli_agent.COMMANDS,
    **cli_access.COMMANDS,
    **cli_digest.COMMANDS,
    **cli_dev.COMMANDS,
    **cli_hubspot.COMMANDS,
    **cli_feedback.COMMANDS,
    **cli_failed.COMMANDS,
}
