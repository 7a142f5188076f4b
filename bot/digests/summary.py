"""The optional model-written summary at the top of a digest, through the privacy gateway.

The digest's lines are masked before they reach the model (placeholders such as <PERSON_1>), and
the placeholders in the reply are put back for the channel. If masking fails the model is not
called and the digest goes out without a summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.agent.model import Message, Model
from bot.privacy.gateway import Gateway
from bot.privacy.vault import Vault
from bot.records import Digest

PROMPT = ("You summarise a CRM digest for a sales team in two or three short sentences: what matters most "
          "today and what to do first. Use only the facts given; keep placeholders such as <PERSON_1> exactly "
          "as written. No greeting, no lists.")
MAX_INPUT_LINES = 60  # lines of facts sent, at most 10 per section


class ModelSummarizer:
    """The digest service's Summarizer: masked facts in, unmasked summary out."""

    def __init__(self, model: Model, gateway: Gateway, vaults: Callable[[str], Vault]) -> None:
        self._model, self._gateway, self._vaults = model, gateway, vaults

    async def summarize(self, digest: Digest) -> str | None:
        vault = self._vaults(f"digest:{digest.name}:{digest.slot.isoformat()}")
        lines = [f"{s.title} ({s.total}): {s.note}" for s in digest.sections]
        lines += [f"- {s.title}: {line.text}" for s in digest.sections for line in s.lines[:10]]
        facts = "\n".join(lines[:MAX_INPUT_LINES])
        masked = (await asyncio.to_thread(self._gateway.mask_text, vault, facts)).text
        reply = await self._model.complete([Message("system", PROMPT), Message("user", masked)], [])
        text = (reply.content or "").strip()
        return await asyncio.to_thread(self._gateway.unmask_text, vault, text) if text else None
