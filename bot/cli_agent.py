"""Terminal front end of the agent and the approval service: ask, approve, reject, audit."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
from typing import Any

from bot.config import Settings
from bot.sources import used_sources

def add_parsers(sub: Any) -> None:
    ask = sub.add_parser("ask", help="ask the agent one question and print the answer and proposals")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--user", required=True, help="who is asking, a Slack user id: the answer uses only the records "
                                                  "they may see, and proposals need their role's right to propose")
    ask.add_argument("--conversation", help="continue this conversation (printed by an earlier ask)")
    ask.add_argument("--json", action="store_true", help="print the result as JSON")
    for verb in ("approve", "reject"):
        cmd = sub.add_parser(verb, help=f"{verb} a proposal (same rules as the Slack buttons)")
        cmd.add_argument("proposal", help="proposal id")
        cmd.add_argument("--user", required=True, help="who decides, a Slack user id")
        if verb == "reject":
            cmd.add_argument("--reason", help="why (optional)")
    audit = sub.add_parser("audit", help="show the audit trail of a conversation or a proposal")
    audit.add_argument("ref", help="conversation id or proposal id")
    audit.add_argument("--user", required=True, help="who reads it, a Slack user id whose role has the audit right")
    audit.add_argument("--json", action="store_true", help="print JSON lines")


def _services(settings: Settings) -> Any:
    from bot.wiring import build_checked, build_services

    return build_services(settings, build_checked(settings))


def _admit(settings: Settings, crm: Any, user: str) -> Any:
    """The person behind --user, through the same door as in Slack; None (and a line) when refused."""
    from bot.access.service import Admitted
    from bot.cli_access import slack_users
    from bot.wiring import build_access

    users = slack_users(settings)
    admitted = asyncio.run(build_access(settings, crm, users).admit(user))
    if not isinstance(admitted, Admitted):
        print(f"refused: {user} may not use the bot ({admitted.reason})")
        return None
    return admitted


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.access.scoped_crm import ScopedCrm
    from bot.agent.loop import Request

    services = _services(settings)
    crm = services.components.crm
    admitted = _admit(settings, crm, args.user)
    if admitted is None:
        return 1
    conversation = args.conversation or f"terminal-{secrets.token_hex(4)}"

    async def one_turn() -> Any:
        try:
            return await services.agent.run(Request(conversation, args.user, args.question,
                                                    reader=ScopedCrm(crm, admitted.scope),
                                                    may_propose=admitted.grant.propose))
        finally:
            await services.model.aclose()

    result = asyncio.run(one_turn())
    if args.json:
        print(json.dumps({
            "conversation": conversation, "answer": result.answer, "citations": list(result.citations),
            "proposals": [{"id": p.id, "tool": p.tool, "risk": p.risk, "summary": p.summary} for p in result.proposals],
            "steps": result.steps, "tool_calls": result.tool_calls, "stopped": result.stopped, "error": result.error,
            "usage": {"prompt_tokens": result.usage.prompt_tokens, "completion_tokens": result.usage.completion_tokens},
        }, ensure_ascii=False, indent=2))
        return 1 if result.error else 0
    print(result.answer)
    if result.unavailable and result.error:  # the terminal's user is the operator: the reason is theirs
        print(f"reason: {result.error}")
    used = used_sources(result.answer, result.citations, result.source_names)
    if used:
        print("\nSources: " + ", ".join(f"{result.source_names[c]} ({c})" if c in result.source_names else c
                                        for c in used))
    for p in result.proposals:
        print(f"\nProposal {p.id} ({p.risk} risk, awaiting approval): {p.summary}")
        for change in p.diff:
            if change["field"] == "warning":  # what to check before approving, not a change
                print(f"  warning: {change['after']}")
            else:
                print(f"  {change['field']}: {change['before']} -> {change['after']}")
        print(f"  approve: python -m bot approve {p.id} --user U...")
    print(f"\n[conversation {conversation}; {result.steps} model calls, {result.tool_calls} tool calls, "
          f"{result.usage.total_tokens} tokens]")
    return 1 if result.error else 0


def cmd_decide(settings: Settings, args: argparse.Namespace) -> int:
    from bot.wiring import build_approvals, build_checked

    from bot.actions.service import Actor

    # Deciding needs neither the detector nor the model: no Presidio start-up here.
    components = build_checked(settings)
    approvals = build_approvals(components)
    admitted = _admit(settings, components.crm, args.user)
    if admitted is None:
        return 1
    person = admitted.person
    actor = Actor(person.groups, person.owner.id if person.owner else None, admitted.scope)
    if args.command == "approve":
        decision = approvals.approve(args.proposal, user=args.user, actor=actor)
    else:
        decision = approvals.reject(args.proposal, user=args.user, reason=args.reason, actor=actor)
    print(f"{decision.outcome}: {decision.message}")
    if decision.proposal is not None and decision.proposal.result and decision.outcome == "executed":
        print(json.dumps(decision.proposal.result))
    return 0 if decision.outcome in ("executed", "rejected") else 1


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store.audit import SqlAuditLog
    from bot.wiring import build_checked

    components = build_checked(settings)
    admitted = _admit(settings, components.crm, args.user)
    if admitted is None:
        return 1
    if not admitted.grant.audit:
        print(f"refused: the {admitted.grant.role} role may not read audit trails")
        return 1
    trail = SqlAuditLog(components.engine).trail(args.ref)
    if not trail:
        print(f"no audit events for {args.ref}")
        return 1
    for event in trail:
        if args.json:
            print(json.dumps({"id": event.id, "at": event.at.isoformat(), "kind": event.kind, "actor": event.actor,
                              "conversation": event.conversation_id, "proposal": event.proposal_id,
                              "from": event.from_status, "to": event.to_status, "payload_hash": event.payload_hash,
                              "data": event.data}, ensure_ascii=False, default=str))
            continue
        move = f" {event.from_status or '-'} -> {event.to_status or '-'}" if event.proposal_id else ""
        print(f"{event.at:%Y-%m-%d %H:%M:%S} {event.kind:<20} {event.actor or '-':<10} "
              f"{event.proposal_id or ''}{move} {_brief(event.data)}")
    return 0


def _brief(data: dict[str, Any]) -> str:
    if "tool" in data:
        return f"{data['tool']}({data.get('arguments', '')[:80]}) {data.get('duration_ms', '')} ms" + (
            f" error: {data['error'][:80]}" if data.get("error") else "")
    if "usage" in data:
        calls = [c["name"] for c in data.get("reply", {}).get("tool_calls", [])]
        return (f"{data['model']} {data['latency_ms']} ms, {data['usage']['prompt_tokens']}+"
                f"{data['usage']['completion_tokens']} tokens" + (f", calls {', '.join(calls)}" if calls else ""))
    return json.dumps(data, ensure_ascii=False, default=str)[:120]


COMMANDS = {"ask": cmd_ask, "approve": cmd_decide, "reject": cmd_decide, "audit": cmd_audit}
