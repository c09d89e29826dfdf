"""The Slack adapter: slash command, DM conversation, message shortcut and App Home, on
slack-bolt's asyncio app.

``ids`` and ``mrkdwn`` are the vocabulary (button ids, escaping, Slack's size limits);
``translate`` turns payloads into core events, ``blocks`` turns core actions into Block
Kit; ``app`` wires both to Bolt listeners; ``server`` and ``main`` run it over HTTP or
Socket Mode.
"""
