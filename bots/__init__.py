"""Adapters and entry points: terminal, Slack and Discord, each a thin translation layer
around :class:`core.session.Session`."""
