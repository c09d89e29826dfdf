"""What must hold whatever Slack or a person sends: signatures, exactly-once, ownership,
no mentions smuggled in, Slack's limits, rate limits, and no secrets in the logs."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from bots.slack.blocks import COMMAND
from bots.slack.translate import conversation_key
from core.actions import ControlKind as Kind
from core.ports import StoreError
from core.questionnaire import SKIP
from tests.fakes.slack_api import TEAM
from tests.slack.conftest import SECRET, TOKEN, USER, Slack, refs
from tests.slack.test_conversation import draft, reach, texts

OTHER = "U0002"


def key(user: str = USER):  # type: ignore[no-untyped-def]
    return conversation_key(TEAM, None, user)


@pytest.mark.parametrize(
    ("secret", "age"),
    [("not-the-secret", 0), (SECRET, 6 * 60)],
    ids=["forged signature", "stale timestamp"],
)
async def test_unsigned_requests_are_refused_and_change_nothing(
    slack: Slack, secret: str, age: int
) -> None:
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM,
            "event_id": "Ev1",
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": "DU0001",
                "user": USER,
                "text": "hi",
            },
        }
    )
    response = await slack.send(
        body, "application/json", secret=secret, timestamp=int(time.time()) - age
    )
    assert response.status == 401
    form = await slack.send_form(
        {"command": "/should-i-take-it", "user_id": USER, "team_id": TEAM},
        secret=secret,
        timestamp=int(time.time()) - age,
    )
    assert form.status == 401
    assert slack.api.calls == []
    assert await slack.bot.store.load(key()) is None


async def test_a_redelivered_event_advances_nothing(slack: Slack) -> None:
    await slack.command()
    await slack.dm("Acme", event_id="EvSame")
    before = len(slack.api.calls)
    state = await slack.bot.store.load(key())
    for retry in (1, 2):
        response = await slack.dm("Acme", event_id="EvSame", retry=retry)
        assert response.status == 200
    assert len(slack.api.calls) == before
    assert await slack.bot.store.load(key()) == state


async def test_a_double_click_advances_once(slack: Slack) -> None:
    await slack.command()
    await slack.choose(SKIP)
    question = slack.question()
    yes = next(a for a, r in refs(question).items() if r.value == "yes")
    posts, updates = len(slack.api.to("chat.postMessage")), len(slack.api.to("chat.update"))
    responses = len(slack.api.to("respond"))
    await asyncio.gather(slack.click(question, yes), slack.click(question, yes))
    await slack.click(question, yes)  # and once more, later, from the same old message
    assert len(slack.api.to("chat.update")) == updates + 1
    assert len(slack.api.to("chat.postMessage")) == posts + 1
    assert slack.q.question_text("en", "time") in slack.last()["text"]
    # The extra clicks only get a private "already answered" notice.
    notices = slack.api.to("respond")[responses:]
    assert [n.args["text"] for n in notices] == [slack.q.ui("en", "stale")] * 2


async def test_a_stale_click_gets_a_friendly_private_notice(slack: Slack) -> None:
    await slack.command()
    await slack.choose(SKIP)
    old = slack.question()
    await slack.dm("yes")  # answered by typing: the old message keeps its buttons
    calls = len(slack.api.calls)
    no = next(a for a, r in refs(old).items() if r.value == "no")
    await slack.click(old, no)
    (notice,) = [c.args for c in slack.api.calls[calls:]]
    assert notice["response_type"] == "ephemeral" and notice["replace_original"] is False
    assert notice["text"] == slack.q.ui("en", "stale")
    assert slack.q.question_text("en", "time") in slack.last()["text"]  # nothing moved


@pytest.mark.parametrize("kind", [Kind.RESTART, Kind.CANCEL, Kind.BACK])
async def test_navigation_buttons_of_an_older_message_are_stale(slack: Slack, kind: Kind) -> None:
    await slack.command()
    await slack.choose(SKIP)
    await slack.dm("yes")  # it deserves a reply
    await slack.dm("no")  # typed: the time question's message keeps its buttons
    old = next(m for m in slack.shown() if slack.q.question_text("en", "time") in m["text"])
    await slack.dm("yes")
    calls = len(slack.api.calls)
    button = next(a for a, r in refs(old).items() if r.kind is kind)
    await slack.click(old, button)
    (notice,) = [c.args for c in slack.api.calls[calls:]]
    assert notice["text"] == slack.q.ui("en", "stale")
    # The conversation was neither restarted, cancelled nor moved back.
    assert slack.q.question_text("en", "what_would_work") in slack.last()["text"]


async def test_someone_elses_buttons_are_refused_politely(slack: Slack) -> None:
    await slack.command()
    await slack.choose(SKIP)
    question = slack.question()
    state = await slack.bot.store.load(key())
    calls = len(slack.api.calls)
    yes = next(a for a, r in refs(question).items() if r.value == "yes")
    await slack.click(question, yes, user=OTHER, channel=f"D{USER}")
    (notice,) = [c.args for c in slack.api.calls[calls:]]
    assert notice["response_type"] == "ephemeral" and notice["text"] == slack.q.ui(
        "en", "not_yours"
    )
    assert await slack.bot.store.load(key()) == state
    assert await slack.bot.store.load(key(OTHER)) is None


async def test_typed_mentions_stay_text(slack: Slack) -> None:
    # Slack sends "@here" typed in the composer as <!here>, and a typed "<" as &lt;.
    client = "<!channel> &lt;!here&gt; <@U0999|boss> Acme &amp; Sons <https://evil.example|click>"
    await slack.command()
    await slack.dm(client)
    for value in ["yes", "no", "no", "yes"]:
        await slack.dm(value)
    await slack.dm("<!everyone> Sam <@U0999>")
    reply = draft(slack.last()) or ""
    assert reply.startswith("Hi @channel <!here> @boss Acme & Sons click,")  # verbatim in rich text
    assert "@everyone Sam @U0999" in reply
    assert "&lt;!here&gt;" in slack.last()["text"]  # escaped where Slack parses mrkdwn
    await slack.dm("back")
    assert "You answered: @everyone Sam @U0999" in texts(slack.last())
    await slack.home()  # the history line carries the client's name too
    # Every payload was checked for mentions by the api fixture.


async def test_very_long_input_gets_a_clear_reprompt(slack: Slack) -> None:
    await slack.command()
    await slack.dm("x" * 10_000)
    last = slack.last()
    assert "10000 characters" in last["text"]
    assert slack.q.question_text("en", "client") in last["text"]
    assert len(last["text"]) <= 3000


async def test_a_very_long_quoted_request_is_trimmed_with_a_note(slack: Slack) -> None:
    await slack.shortcut("word " * 2_500)
    quote = slack.last()["blocks"][0]["elements"][1]["elements"][0]["text"]
    assert len(quote) <= 1500 and quote.endswith(slack.q.ui("en", "trimmed"))


async def test_rate_limits_are_retried_after_the_delay_slack_asks(slack: Slack) -> None:
    slack.api.rate_limit("chat.postMessage", retry_after=1)
    started = time.monotonic()
    response = await slack.command()
    assert response.status == 200
    assert time.monotonic() - started >= 1.0
    first, second = slack.api.to("chat.postMessage")
    assert first.result["error"] == "ratelimited" and second.result["ok"] is True
    assert first.args == second.args


async def test_ignores_what_is_not_a_persons_dm(slack: Slack) -> None:
    await slack.dm("hello", subtype="message_changed")
    await slack.dm("hello", bot_id="B0999")
    await slack.dm("hello", channel_type="channel")
    await slack.event(
        {
            "type": "message",
            "channel": "DU0001",
            "user": "UBOT",
            "text": "mine",
            "channel_type": "im",
        }
    )
    assert not slack.api.to("chat.postMessage")


async def test_logs_hold_no_tokens_and_no_client_text(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await slack.command("Zanzibar Widgets wants a logo")
    await slack.dm("Zanzibar Widgets")
    await slack.choose("yes")
    await slack.choose("yes")
    assert "turn platform=slack" in caplog.text
    for secret in (TOKEN, SECRET, "Zanzibar"):
        assert secret not in caplog.text


async def test_healthz_reports_the_store(slack: Slack, monkeypatch: pytest.MonkeyPatch) -> None:
    response = await slack.client.get("/healthz")
    assert response.status == 200 and await response.json() == {"ok": True}

    async def down() -> None:
        raise StoreError("gone")

    monkeypatch.setattr(slack.bot.store, "ping", down)
    response = await slack.client.get("/readyz")  # probes now
    assert response.status == 503 and await response.json() == {"ok": False}
    response = await slack.client.get("/healthz")  # that probe's answer
    assert response.status == 503 and await response.json() == {"ok": False}


async def test_reply_buttons_after_the_conversation_moved_on(slack: Slack) -> None:
    await reach(slack, "accept")
    result = slack.last()
    await slack.dm("restart")
    tone = next(a for a, r in refs(result).items() if r.kind is Kind.TONE)
    await slack.click(result, tone)  # the old reply's tone button: applies to the open conversation
    assert slack.q.question_text("en", "client") in slack.last()["text"]


async def test_slack_gets_its_answer_before_the_work_is_done(slack: Slack) -> None:
    """The ack is the HTTP answer: it does not wait for the store or the Web API (nor for
    Bolt's ack polling), the work goes on after it and is awaited by a shutdown."""
    slack.api.delays["conversations.open"] = 0.5
    started = time.monotonic()
    response = await slack.send_form(
        {
            "team_id": TEAM,
            "channel_id": "C0001",
            "user_id": USER,
            "command": COMMAND,
            "text": "",
            "api_app_id": "A0001",
            "response_url": slack.api.response_url("fast"),
            "trigger_id": "t.fast",
        },
        settle=False,
    )
    answered = time.monotonic() - started
    assert response.status == 200 and answered < 0.4
    assert slack.bot.work.running == 1  # still opening the DM
    assert await slack.bot.work.wait(5)
    assert slack.q.question_text("en", "client") in slack.last()["text"]
