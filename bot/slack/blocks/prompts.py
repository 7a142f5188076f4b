"""The suggested prompts of the agent DM's Messages tab: four that work on any CRM, or, for a
person who owns open deals, prompts about their own deals first.

Pure: the caller reads the deals (through the person's own view of the CRM, so a prompt never
names a record they may not see). The same four general prompts are in manifest.yml.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.crm.base import Deal
from bot.slack.mrkdwn import truncate

TITLE = "Try asking"
MAX_PROMPTS = 4  # Slack shows at most four
GENERAL: tuple[tuple[str, str], ...] = (
    ("Deals closing soon", "Which open deals close in the next 30 days, and who owns them?"),
    ("Accounts at risk", "Which customers are most at risk of churning, and why?"),
    ("Urgent tickets", "Which open tickets have high or urgent priority?"),
    ("Discount policy", "What discount can I offer without approval?"),
)


def suggested(own_deals: Sequence[Deal] = ()) -> list[dict[str, Any]]:
    """Up to four {title, message} prompts; the first two about the person's own deals when they have some."""
    prompts: list[tuple[str, str]] = []
    if own_deals:
        deal = own_deals[0]
        prompts.append((truncate(f"Next step on {deal.name}", 75),
                        f"What is the status of deal {deal.id} ({deal.name}) and what should I do next?"))
        prompts.append(("My deals closing soon", "Which of my open deals close in the next 30 days?"))
    prompts.extend(GENERAL)
    return [{"title": title, "message": message} for title, message in prompts[:MAX_PROMPTS]]
