"""Adapters to the outside systems the bot reads and writes: CRM, knowledge base, e-mail."""
