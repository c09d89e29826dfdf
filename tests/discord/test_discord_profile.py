"""``/should-i-take-it-profile [change]`` on the real discord.py client: the saved profile
shown privately, one change made with the edit grammar, a refusal worded in the user's
language; a conversation started afterwards uses it, and the forget command deletes it."""

from __future__ import annotations

from core import controls
from core.actions import ControlKind as Kind
from core.profile import UserProfile
from tests.core.paths import PATHS
from tests.discord.harness import ALICE, BOB, Harness, User, button, buttons
from tests.fakes.discord_api import EPHEMERAL

NBSP = "\u00a0"


async def profile(user: User, change: str | None = None, **kw: object) -> dict:
    name = user.h.q.ui("en", "discord_profile_name")
    options = {} if change is None else {user.h.q.ui("en", "discord_profile_option"): change}
    payload = user.h.fake.slash(user.payload, name, **{"in_guild": False, **kw}, **options)  # type: ignore[arg-type]
    await user.h.interact(payload)
    shown = user.h.reply(payload)
    assert shown["flags"] & EPHEMERAL  # only the user sees their profile
    return shown


async def saved(user: User) -> UserProfile:
    stored = await user.h.session.store.load_profile(user.key)
    return UserProfile.from_json(stored, user.h.q)


async def test_the_profile_is_shown_privately_with_how_to_change_it(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    shown = await profile(alice, in_guild=True)
    assert shown["content"].splitlines() == [
        "**Your profile**",
        "• Signature: not set",
        "• Default tone: not set",
        "• Default language: not set",
        "• Time zone: not set",
        "• Wait before a reminder: not set",
        "• Colleagues to refer to: not set",
        '-# To change it, write for example "tone formal", "language fr", "signature Camille '
        'Martin", "timezone Europe/Paris", "wait 5", "colleague add Sam Lee", "colleague '
        'remove Sam Lee" or "clear signature".',
    ]
    assert shown["components"] == []


async def test_one_change_at_a_time_and_refusals_in_the_users_language(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    shown = await profile(alice, "timezone America/New_York")
    assert shown["content"].splitlines()[:2] == ["Saved.", "**Your profile**"]
    # What was typed is shown inert: no underscore turns into italics.
    assert "• Time zone: America/New\\_York" in shown["content"].splitlines()
    shown = await profile(alice, "collègue ajouter _Zoé_ @everyone", locale="fr")
    assert shown["content"].splitlines()[0] == "C’est enregistré."
    assert f"• Collègues à recommander{NBSP}: \\_Zoé\\_ @\u200beveryone" in shown["content"]
    refused = await profile(alice, "wait 99", locale="fr")
    assert refused["content"].splitlines()[0] == (
        "Le délai est un nombre entier de jours ouvrés, de 1 à 20."
    )
    assert refused["content"].splitlines()[1].startswith("-# Pour le modifier, écrivez")
    assert await saved(alice) == UserProfile(tz="America/New_York", colleagues=("_Zoé_ @everyone",))
    # Someone else's profile is their own.
    bob = h.user(BOB, "bob")
    assert "• Time zone: not set" in (await profile(bob))["content"]


async def test_a_conversation_uses_the_profile_and_forget_deletes_it(h: Harness) -> None:
    alice = h.user(ALICE, "alice", global_name="Alice Martin")
    for change in ("signature Alice M., design studio", "tone brief", "colleague add Sam Lee"):
        await profile(alice, change)
    await profile(alice, "colleague add Marie Dupont")
    await alice.slash()
    for answer in ("ACME", *PATHS["refer"][:-1]):
        await alice.answer_with_buttons(answer)
    question = alice.with_buttons()
    labels = [b["label"] for b in buttons(question)]
    assert labels[:4] == ["Sam Lee", "Marie Dupont", "✎ Someone else: type a name", "Skip"]
    picked = next(
        b["custom_id"]
        for b in buttons(question)
        if (ref := controls.decode(b["custom_id"]))
        and ref.kind is Kind.ANSWER
        and b["label"] == "Marie Dupont"
    )
    await alice.click(question, picked)
    result = alice.last()
    assert "Marie Dupont" in result["content"]
    assert "Alice M., design studio" in result["content"]
    assert "Alice Martin" not in result["content"]
    assert (await alice.conversation()).tone == "brief"

    confirm = h.reply(await alice.command("discord_forget_name"))
    await alice.click(confirm, button(confirm, Kind.FORGET))
    assert await h.session.store.load_profile(alice.key) is None
    assert "• Colleagues to refer to: not set" in (await profile(alice))["content"]


async def test_forget_answers_in_the_language_its_confirmation_asked_in(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await profile(alice, "language fr")  # Discord speaks English to Alice; she saved French
    confirm = h.reply(await alice.command("discord_forget_name"))
    kept = await alice.click(confirm, button(confirm, Kind.KEEP))
    assert h.q.ui("fr", "kept") in h.reply(kept)["content"]
    confirm = h.reply(await alice.command("discord_forget_name"))
    assert h.q.ui("fr", "forget_confirm").split()[0] in confirm["content"]
    gone = await alice.click(confirm, button(confirm, Kind.FORGET))
    assert h.reply(gone)["content"] == h.q.ui("fr", "forgotten", count=0)
