"""The local CRM: its tables live in the bot's own database (SQLite or PostgreSQL)."""
