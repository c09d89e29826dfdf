"""A conversation key's string: the plain join when no part holds ':' or '%', escaped
otherwise, and the same either way as the escaped join of its parts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.ports import ConversationKey

parts = st.text(alphabet=st.sampled_from("ab:%3AU1é"), max_size=6)


def escaped(key: ConversationKey) -> str:
    return ":".join(p.replace("%", "%25").replace(":", "%3A") for p in key.parts())


@given(parts, parts, parts)
def test_the_string_is_the_escaped_join_and_tells_keys_apart(p: str, w: str, u: str) -> None:
    key = ConversationKey(p, w, u)
    assert key.as_string() == escaped(key)
    assert key.as_string().count(":") == 2  # the parts' own ':' are escaped


keys = st.builds(ConversationKey, parts, parts, parts)


@given(keys, keys)
def test_two_keys_share_a_string_only_when_equal(
    one: ConversationKey, other: ConversationKey
) -> None:
    assert (one.as_string() == other.as_string()) == (one == other)
