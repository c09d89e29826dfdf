"""The Discord adapter, built on discord.py.

``/should-i-take-it`` (in servers, DMs and as a user-installed app), the "Should I take it?"
message menu, and the conversation itself in the user's DMs: buttons for choices, a modal or
plain typing for text, and the ready-to-send reply at the end.

Button ids come from the core's one control codec (``core.controls``): the step and
version travel with the button, so clicks still work after a restart.

* ``text`` — Discord's length limits and making user text inert.
* ``render`` — a core turn → message content, embeds and buttons.
* ``adapter`` — interactions and DMs → core events → rendered replies.
* ``commands`` — the slash commands, the message menu and their translations.
* ``client`` — the discord.py client wiring it together; ``main`` — the entry point.
"""
