"""Bolt listeners; each module registers its handlers on the app with `register(app, deps)`."""
