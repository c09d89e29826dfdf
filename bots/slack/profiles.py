"""What Slack's users.info says about a person, cached: the language to start in, the
name to sign the reply with, and the time zone that decides whose "today" a typed date is.

A DM that starts a conversation needs the profile, and users.info on every message would
cost a Web API call per turn, so profiles are kept for ten minutes (a cache of profiles,
never of conversations: those live in the store).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cachetools import TTLCache

PROFILE_TTL = 600.0
PROFILES_KEPT = 4096


@dataclass(frozen=True, slots=True)
class Profile:
    lang: str | None = None
    name: str | None = None
    tz_offset: int | None = None  # seconds east of UTC
    locale: str | None = None  # "en-GB": the language and how dates are written
    tz: str | None = None  # "Europe/Paris": when follow-up reminders are due


def profile_from(user: Mapping[str, Any], languages: tuple[str, ...]) -> Profile:
    locale = str(user.get("locale") or "")
    code = locale.replace("_", "-").split("-")[0].lower()
    profile = user.get("profile") or {}
    name = str(
        profile.get("real_name") or user.get("real_name") or profile.get("display_name") or ""
    )
    offset = user.get("tz_offset")
    tz = offset if isinstance(offset, int) and abs(offset) <= 14 * 3600 else None
    known = code in languages
    zone = user.get("tz")
    zone = zone if isinstance(zone, str) and 0 < len(zone) <= 64 else None
    return Profile(
        code if known else None, name.strip() or None, tz, locale if known else None, zone
    )


class Profiles:
    """``lookup(user)`` is the users.info call (None when it failed: not cached)."""

    def __init__(
        self,
        languages: tuple[str, ...],
        lookup: Callable[[str], Awaitable[Mapping[str, Any] | None]],
    ) -> None:
        self.languages = languages
        self.lookup = lookup
        self._cache: TTLCache[str, Profile] = TTLCache(PROFILES_KEPT, PROFILE_TTL)

    async def get(self, user: str) -> Profile:
        cached = self._cache.get(user)
        if cached is not None:
            return cached
        found = await self.lookup(user)
        profile = profile_from(found or {}, self.languages)
        if found is not None:
            self._cache[user] = profile
        return profile

    def today(self, user: str, now: datetime) -> date:
        """The user's calendar day when their profile is known (a date typed as today must
        not be "already past" because the server runs on UTC), else the server's."""
        cached = self._cache.get(user)
        if cached is not None and cached.tz_offset is not None:
            now += timedelta(seconds=cached.tz_offset)
        return now.date()
