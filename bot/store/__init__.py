"""The bot's own state: SQLModel tables, the engine factory and schema checks."""
