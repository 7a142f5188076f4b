"""CRM adapters: the protocol and typed records in base.py, implementations beside it."""
