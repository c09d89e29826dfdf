"""What every profile editor does (the terminal's ``profile`` command, Discord's command,
Slack's form): read the user's saved profile, change it, save it. The rules of a change
are :mod:`core.profile`'s; this only does the store's I/O around them."""

from __future__ import annotations

from core.ports import ConversationKey
from core.profile import ProfileError, UserProfile, edit
from core.session import Session


async def load(session: Session, key: ConversationKey) -> UserProfile:
    return UserProfile.from_json(await session.store.load_profile(key), session.questionnaire)


async def save(session: Session, key: ConversationKey, profile: UserProfile) -> None:
    await session.store.save_profile(key, profile.to_json(), now=session.clock())


async def change(session: Session, key: ConversationKey, text: str) -> UserProfile | ProfileError:
    """Apply the one change ``text`` asks for (:func:`core.profile.edit`) and save it: the
    profile as saved, or why it was refused (nothing saved)."""
    # One change at a time per user in this process, so two quick edits both land.
    async with session.serialiser.hold(key.as_string()):
        changed = edit(session.questionnaire, await load(session, key), text)
        if isinstance(changed, UserProfile):
            await save(session, key, changed)
        return changed
