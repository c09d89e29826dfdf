"""Text quoted back (issue 12): invisible characters that could disguise it are dropped,
line breaks are kept."""

from __future__ import annotations

import pytest

from core.text import clean, clean_lines

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
ZERO_WIDTH = ["\u200b", "\u2060", "\ufeff", "\u180e"]


@pytest.mark.parametrize("ch", BIDI + ZERO_WIDTH, ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_controls_and_zero_width_characters_are_dropped(ch: str) -> None:
    assert clean(f"pay{ch}me 500") == "payme 500"
    assert clean_lines(f"pay{ch}me\n500{ch}") == "payme\n500"


def test_lines_are_kept_blank_runs_collapsed() -> None:
    # The writer's own no-break space stays (issue 10: French typography is theirs to keep).
    text = "\n\n  Hello\u00a0 there \r\n\n\n\nCan you\u2028help?\n  \n"
    assert clean_lines(text) == "Hello\u00a0there\n\nCan you\nhelp?"


def test_joiners_in_emoji_and_words_stay() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_lines(f"{family} from the team") == f"{family} from the team"
