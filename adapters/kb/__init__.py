"""Knowledge-base adapters: the protocol in base.py, the local Markdown folder beside it."""
