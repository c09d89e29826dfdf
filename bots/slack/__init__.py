"""The Slack adapter: slash command, DM conversation, message shortcut and App Home, on
slack-bolt's asyncio app.

``mrkdwn`` is the vocabulary (escaping, Slack's size limits); ``translate`` turns payloads
into core events (button ids are read by the core's control codec, ``core.controls``),
``blocks`` draws a core turn as Block Kit; ``profiles`` caches users.info; ``app`` wires
them to Bolt listeners; ``server`` and ``main`` run it over HTTP or Socket Mode.
"""
