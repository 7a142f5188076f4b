"""The trust boundary: who may use the bot (the door), what each person may do (roles) and see (scopes)."""
