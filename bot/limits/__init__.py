"""Limits and budgets: requests per minute and model tokens per day, per person and per workspace."""
