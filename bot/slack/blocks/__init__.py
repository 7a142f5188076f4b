"""Block Kit builders: pure functions from data to Slack payloads (no I/O, no clients)."""
