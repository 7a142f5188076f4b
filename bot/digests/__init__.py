"""Scheduled digests: sections computed from the CRM, claimed once per slot, posted to channels."""
