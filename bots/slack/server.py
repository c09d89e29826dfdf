"""Connecting to Slack, until told to stop: HTTP mode (an aiohttp application) or Socket
Mode (a WebSocket that Slack pushes requests into).

HTTP routes: ``POST /slack/events`` (events, commands, clicks and shortcuts; Bolt checks each
signature), ``GET /slack/install`` and ``GET /slack/oauth_redirect`` when installs are
multi-workspace, ``GET /healthz`` (200 ``{"ok": true}`` while the store answers, 503
otherwise; the answer of a database probe made at most once a second, so a storm of
calls costs the database nothing) for the load balancer, and ``GET /readyz`` (the same,
probing the database on every call) for a readiness check.

Stopping: stop taking requests (close the listening socket, or the WebSocket), let those
in progress finish, then wait for the work Bolt runs after its acks. The caller closes the
store afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import yarl
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bots.health import Probe
from bots.retry import OneLine
from bots.slack.app import SlackBot
from bots.slack.credentials import INSTALL_PATH, REDIRECT_PATH
from bots.slack.inflight import InFlight
from bots.slack.outbox import BODY_JSON
from bots.slack.shape import well_formed

log = logging.getLogger("should_i_take_it.slack")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
MAX_AGE = 5 * 60  # seconds: Slack's replay window for a signed request
BOLT_HEADERS = frozenset({"content-type", "x-slack-retry-num", "x-slack-retry-reason"})
PING_TIMEOUT = 2.0
# All the waits together stay well inside the 10 s a platform gives after SIGTERM.
REQUESTS_TIMEOUT = 3.5
CLEANUP_TIMEOUT = 1.0  # connections still open after the requests' wait
WORK_TIMEOUT = 3.5
# A slow or half-open client must not hold a socket (and a file descriptor) for long:
# Slack sends a whole request within milliseconds.
HEADER_TIMEOUT = 5.0  # a new (or idle keep-alive) connection must send its headers by then
BODY_TIMEOUT = 5.0  # then its whole body


def server_options(header_timeout: float = HEADER_TIMEOUT) -> dict[str, Any]:
    """aiohttp's per-connection settings (for :class:`web.AppRunner` or a TestServer).
    aiohttp's keep-alive timer starts when a connection opens and stops only once a
    request's headers are complete, so it is also the header timeout. No lingering: a
    body not read by then (a client too slow to send it) is not waited for either."""
    return {"keepalive_timeout": header_timeout, "lingering_time": 0, "access_log": None}


def web_app(bot: SlackBot, *, body_timeout: float = BODY_TIMEOUT) -> web.Application:
    secret = bot.signing_secret.encode()

    async def events(request: web.Request) -> web.Response:
        raw = await request.read()  # already read, within the time allowed (bounded_body)
        # Checked here, on the raw bytes, before anything parses them: a forged request
        # gets 401 whatever its body, and a signed one that cannot be read gets 400. The
        # only check: Bolt's own is off (it would hash the same bytes again). No secret,
        # no request: HTTP mode never runs without one (credentials.choose_mode).
        if not secret or not _signed(secret, raw, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            text = raw.decode("utf-8")
            json_body = _json_body(text)
            incoming = AsyncBoltRequest(
                body=text if json_body is None else json_body,
                query=request.query_string,
                # Only what Bolt and the listeners read (the signature is checked above):
                # fewer to normalise, and no x-slack-bolt-* switch from outside.
                headers={k: v for k, v in request.headers.items() if k.lower() in BOLT_HEADERS},
                # The inbox stores the body as this JSON text (no need to encode it again).
                context=None if json_body is None else {BODY_JSON: json_body},
            )
            if not well_formed(incoming.body):
                raise ValueError("not shaped like a Slack request")
            response = await bot.bolt.async_dispatch(incoming)
        except Exception:
            # A payload of a shape Slack never sends (a middleware or the body parser
            # choked on it): the sender's fault, so a 4xx without a trace, not a 500.
            log.info("malformed request refused", exc_info=log.isEnabledFor(logging.DEBUG))
            return web.json_response({"error": "malformed request"}, status=400)
        if "set-cookie" in response.headers:  # none of our listeners sets one
            return await to_aiohttp_response(response)
        return _answer(response)

    probe = Probe(lambda: bot.store.ping(), timeout=PING_TIMEOUT)

    async def health(request: web.Request) -> web.Response:
        return _health(await probe.cached())

    async def ready(request: web.Request) -> web.Response:
        return _health(await probe.fresh())

    @web.middleware
    async def bounded_body(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Read the whole body within ``body_timeout`` (handlers then get it from memory),
        and drop the connection of a client too slow to send it."""
        if request.body_exists:
            try:
                if request.content.is_eof():  # all in already (Slack's are): nothing to time
                    await request.read()
                else:
                    async with asyncio.timeout(body_timeout):
                        await request.read()
            except web.HTTPException:
                raise  # 413 for a body over the limit: aiohttp answers it
            except TimeoutError:
                log.info("request body not sent within %.0f s: connection dropped", body_timeout)
                return _closing(web.json_response({"error": "request timeout"}, status=408))
            except (ConnectionError, aiohttp.ClientError) as exc:
                # The client went away mid-upload: nobody is left to answer.
                log.debug("client disconnected during its upload (%s)", type(exc).__name__)
                return _closing(web.Response(status=400))
        return await handler(request)

    app = web.Application(middlewares=[bounded_body])
    app.router.add_post(EVENTS_PATH, events)
    app.router.add_get(HEALTH_PATH, health)
    app.router.add_get(READY_PATH, ready)
    flow = bot.bolt.oauth_flow
    if flow is not None:

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_installation(await to_bolt_request(request))
            )

        async def redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_callback(await to_bolt_request(request))
            )

        app.router.add_get(INSTALL_PATH, install)
        app.router.add_get(REDIRECT_PATH, redirect)
    return app


async def serve_http(bot: SlackBot, *, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set, then shut down gracefully."""
    app = web_app(bot)
    requests = InFlight()

    @web.middleware
    async def counted(request: web.Request, handler: Handler) -> web.StreamResponse:
        async with requests:
            return await handler(request)

    app.middlewares.insert(0, counted)  # outermost: a request still uploading counts
    runner = web.AppRunner(
        app, handle_signals=False, shutdown_timeout=CLEANUP_TIMEOUT, **server_options()
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
        log.info("HTTP mode: listening on http://%s:%d%s", host, port, EVENTS_PATH)
        await stop.wait()
        log.info("stopping: finishing requests in progress")
        # Stop accepting connections first, and let requests already in (even one still
        # uploading its body) finish before the server is torn down.
        await site.stop()
        if not await requests.wait(REQUESTS_TIMEOUT):
            log.warning("stopped with %d request(s) unfinished", requests.running)
    finally:
        await runner.cleanup()
        if not await bot.work.wait(WORK_TIMEOUT):
            log.warning("stopped with %d listener(s) still running", bot.work.running)


socket_log = logging.getLogger("should_i_take_it.slack.socket")
socket_log.setLevel(logging.WARNING)  # its INFO lines name sessions, nothing to act on
socket_log.addFilter(OneLine())  # a failed reconnection: one line, no traceback


async def serve_socket(
    bot: SlackBot, app_token: str, *, stop: asyncio.Event, wss_url: str | None = None
) -> None:
    """Hold a Socket Mode connection until ``stop`` is set, then shut down gracefully.
    ``wss_url`` is one already obtained by trying the app token (saves a call)."""
    handler = AsyncSocketModeHandler(bot.bolt, app_token, logger=socket_log)
    if wss_url:
        handler.client.wss_uri = wss_url
    # The client retries a failed connection forever: race it against stop, so SIGTERM
    # is honoured while connecting too.
    connect = handler.connect_async()  # type: ignore[no-untyped-call]
    connecting = asyncio.create_task(connect, name="slack-socket-connect")
    stopping = asyncio.create_task(stop.wait(), name="slack-socket-stop")
    try:
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done():
            connecting.result()
            log.info("Socket Mode: connected")
            await stop.wait()
            log.info("stopping: finishing work in progress")
        else:
            log.info("stopping while connecting to Slack")
    finally:
        stopping.cancel()
        await handler.close_async()  # type: ignore[no-untyped-call]
        if not connecting.done():
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
        if not await bot.work.wait(WORK_TIMEOUT):
            log.warning("stopped with %d listener(s) still running", bot.work.running)


def _answer(response: BoltResponse) -> web.Response:
    """Bolt's answer as aiohttp's, as ``to_aiohttp_response`` makes it (same status, body,
    headers and content type, no charset), but from bytes: aiohttp wraps a text body in
    a payload object, a third of an ack's cost. Without cookies: a listener sets none."""
    headers = response.first_headers_without_set_cookie()
    default = "application/json" if response.body.startswith("{") else "text/plain"
    content_type = headers.pop("content-type", default).split(";")[0]
    return web.Response(
        status=response.status,
        body=response.body.encode(),
        headers=headers,
        content_type=content_type,
    )


def _health(healthy: bool) -> web.Response:
    return web.json_response({"ok": healthy}, status=200 if healthy else 503)


def _closing(response: web.Response) -> web.Response:
    response.force_close()
    return response


class ClientFaults(logging.Filter):
    """aiohttp's server logs a client's fault (a header over the size limit, a connection
    dropped mid-upload) as an ERROR with a traceback, and the exception's text can quote
    the sender's bytes. Those become one DEBUG line naming the fault, nothing more."""

    # Narrow on purpose: a ConnectionRefusedError from our own database is no client's fault.
    FAULTS: tuple[type[BaseException], ...] = (
        HttpProcessingError,
        ConnectionResetError,
        BrokenPipeError,
        aiohttp.ClientConnectionResetError,
        aiohttp.ClientPayloadError,
    )

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.levelno < logging.ERROR or not isinstance(exc, self.FAULTS):
            return True
        logger = logging.getLogger(record.name)
        if not logger.isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.msg, record.args = "client fault: %s", (type(exc).__name__,)
        record.exc_info, record.exc_text = None, None
        return True


logging.getLogger("aiohttp.server").addFilter(ClientFaults())


def _json_body(text: str) -> str | None:
    """The request body as the JSON text Bolt would parse it from: the body itself (events),
    or the ``payload`` form field (clicks, shortcuts) decoded here with yarl's compiled
    query parser, as Bolt's ``urllib`` one costs ~0.3 ms for a click's 2.5 KB. None for
    other form bodies (commands: a few short fields), which Bolt parses itself. Bolt takes
    any body that starts with ``{`` for JSON, whatever its content type."""
    if text.startswith("{"):
        return text
    if "payload" not in text:
        return None
    # The same pairs as urllib.parse.parse_qsl(keep_blank_values=True); the last one wins,
    # as in Bolt's dict(parse_qsl(...)).
    fields = dict(yarl.URL.build(query_string=text, encoded=True).query.items())
    payload = fields.get("payload")
    # Bolt parses anything else (no payload field, or not a JSON object) its own way.
    return payload if payload is not None and payload.startswith("{") else None


def _signed(secret: bytes, raw: bytes, headers: Mapping[str, str]) -> bool:
    """Slack's v0 signature over the raw bytes. Done here rather than with slack_sdk's
    SignatureVerifier, which decodes the body as UTF-8 first and raises on bytes that are not."""
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not (stamp.isascii() and stamp.isdigit()) or abs(time.time() - int(stamp)) > MAX_AGE:
        return False
    digest = hmac.new(secret, b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}", signature)
