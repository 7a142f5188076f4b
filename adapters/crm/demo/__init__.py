"""Deterministic demo CRM data (generate.py) for any adapter to load."""
