"""Word lists the demo generator draws from: markets, titles, products and note templates."""

from __future__ import annotations

# (Faker locale, ISO country, country name, top-level domain, currency)
MARKETS = (
    ("en_US", "US", "United States", "com", "USD"),
    ("en_GB", "GB", "United Kingdom", "co.uk", "GBP"),
    ("de_DE", "DE", "Germany", "de", "EUR"),
    ("fr_FR", "FR", "France", "fr", "EUR"),
    ("es_ES", "ES", "Spain", "es", "EUR"),
    ("nl_NL", "NL", "Netherlands", "nl", "EUR"),
    ("it_IT", "IT", "Italy", "it", "EUR"),
    ("sv_SE", "SE", "Sweden", "se", "SEK"),
    ("en_IE", "IE", "Ireland", "ie", "EUR"),
    ("en_AU", "AU", "Australia", "com.au", "AUD"),
)
MARKET_WEIGHTS = (24, 16, 14, 10, 7, 7, 6, 5, 5, 6)

# Sales reps (Slack user ids) who own accounts and deals in the demo.
# The demo's CRM users: the people of the local workspace (`python -m bot dev`) by e-mail, and two more.
OWNER_PEOPLE = (
    ("alice", "Alice Archer", "alice@example.com", "sales"),
    ("bob", "Bob Baker", "bob@example.com", "sales"),
    ("carol", "Carol Chen", "carol@example.com", "sales"),
    ("dave", "Dave Diaz", "dave@example.com", "sales"),
    ("emma", "Emma Evans", "emma@example.com", "sales"),
)
OWNERS = tuple(owner_id for owner_id, *_ in OWNER_PEOPLE)

INDUSTRIES = (
    "Software", "Retail", "Logistics", "Healthcare", "Financial services", "Manufacturing",
    "Education", "Travel", "Telecommunications", "Energy", "Media", "Public sector",
)
TITLES = (
    "Head of Customer Support", "Support Team Lead", "VP Customer Experience", "IT Manager",
    "Chief Operating Officer", "Procurement Manager", "Customer Success Director", "CTO",
    "Service Desk Manager", "Operations Analyst", "Head of IT", "Finance Director",
)
LEAD_SOURCES = ("website", "referral", "event", "partner", "outbound", "webinar")
PRODUCTS = (
    ("Brightdesk Starter", 19), ("Brightdesk Pro", 49), ("Brightdesk Enterprise", 89),
)
NICKNAMES = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Katherine": "Kate",
    "Jennifer": "Jen", "Michael": "Mike", "Christopher": "Chris", "Alexander": "Alex",
    "Margaret": "Maggie", "Thomas": "Tom", "Daniel": "Dan", "Matthew": "Matt",
    "Johannes": "Hannes", "Giuseppe": "Beppe", "Francesco": "Checco", "Jonathan": "Jon",
    "Nicholas": "Nick", "Samantha": "Sam", "Richard": "Rick", "Susan": "Sue",
}

NOTE_TEMPLATES = (
    "Spoke with {contact} about the {product} rollout; they want {seats} agents live by {date}.",
    "{contact} asked whether the Insights add-on is included for the first year. Sent the price sheet to {email}.",
    "Budget confirmed at {amount} {currency}. {contact} needs sign-off from the CFO before {date}.",
    "Renewal risk: {contact} mentioned slow response times on P2 tickets last month.",
    "Competitor evaluation in progress; {contact} shared their shortlist. Follow up by {date}.",
    "Procurement wants a 3-year term with a 12% discount. Deal Desk review needed.",
    "{contact} prefers calls on {phone} in the morning; do not email the general inbox.",
    "Security questionnaire received from {contact}; due {date}.",
)
CALL_TEMPLATES = (
    "Discovery call with {contact}: {seats} agents, current tool is email only.",
    "Called {contact} on {phone}; left a voicemail about the {product} proposal.",
    "Pricing call: {contact} pushed back on {amount} {currency}; offered annual billing.",
    "Check-in call with {contact} about onboarding progress and SSO set-up.",
)
MEETING_TEMPLATES = (
    "Demo of {product} for {contact} and two team leads; strong interest in Automations.",
    "Quarterly business review with {contact}; usage up, two open escalations discussed.",
    "Onboarding kickoff with {contact}; go-live planned for {date}.",
)
EMAIL_TEMPLATES = (
    "Sent proposal for {product} ({seats} agents, {amount} {currency}) to {email}.",
    "{contact} replied from {email}: legal review of the MSA starts next week.",
    "Emailed {contact} the SLA summary and the data processing agreement.",
)
TASK_TEMPLATES = (
    "Send revised quote to {contact}",
    "Book QBR with {contact}",
    "Chase signed order form from {contact}",
    "Prepare security answers for {contact}",
)
TICKET_SUBJECTS = (
    "Emails not syncing from shared inbox", "SSO login fails for new agents",
    "API returns 429 during nightly import", "Automations rule fires twice",
    "Insights dashboard shows no data", "Cannot export tickets to CSV",
    "Invoice shows wrong number of seats", "Agent cannot be deactivated",
    "Webhook deliveries delayed", "Attachment upload times out",
)
TICKET_BODY = (
    "Reported by {contact} ({email}). {detail} Impact: {impact}. Please call back on {phone}."
)
TICKET_DETAILS = (
    "Started after yesterday's maintenance window.", "Happens for about a third of the agents.",
    "Reproducible in the sandbox as well.", "Only on the EU data region.",
)
TICKET_IMPACTS = ("whole support team blocked", "some agents affected", "workaround available", "cosmetic")
