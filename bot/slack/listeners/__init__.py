"""Bolt listeners: module-level functions, registered in bot.slack.app."""
