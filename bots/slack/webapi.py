"""Slack's Web API on the process's shared HTTP session: one request per call.

What ``AsyncWebClient`` does for a call, minus its per-call bookkeeping (argument
conversion, URL joining, retry state, response wrapping), which cost as much CPU as the
request itself: the bot token in the header, a JSON body (or query parameters for the
methods that read), and the same retries (after a 429, as long as Slack asks, at most
``RATE_LIMIT_RETRIES`` times; once after a dropped connection). Bolt's own calls
(``auth.test``, ``views.publish``) still go through ``AsyncWebClient``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

API_TIMEOUT = aiohttp.ClientTimeout(total=30)  # AsyncWebClient's default
RATE_LIMIT_RETRIES = 3
RESPOND_TIMEOUT = aiohttp.ClientTimeout(total=10)  # a response_url post (see post_json)
CONNECTION_RETRIES = 1
# What AsyncConnectionErrorRetryHandler retries: the connection dropped or was refused.
RETRIED_ERRORS = (aiohttp.ServerConnectionError, aiohttp.ClientOSError)
_OK = re.compile(rb'\s*\{\s*"ok"\s*:\s*true\s*[,}]')


@dataclass(frozen=True, slots=True)
class Reply:
    """Slack's answer to a call: its HTTP status and JSON body ({} when it had none)."""

    status: int
    data: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.data.get("ok"))

    def why(self) -> tuple[str, str | None]:
        """The error code (or the HTTP status) and the scope it needed, if it says."""
        error = self.data.get("error") or f"HTTP {self.status}"
        needed = self.data.get("needed")
        return str(error), None if needed is None else str(needed)


class WebApi:
    def __init__(self, api_url: str, token: str | None, http: aiohttp.ClientSession | None):
        """``api_url`` ends with "/"; ``token``: the single workspace's bot token (None for
        installs in several workspaces: each call names its own); ``http``: the shared
        session (None: one session per call)."""
        self.api_url, self.token, self.http = api_url, token, http

    async def call(
        self,
        method: str,
        token: str | None = None,
        *,
        body: bytes | None = None,
        query: Mapping[str, str] | None = None,
        read: bool = True,
    ) -> Reply:
        """POST ``body`` (JSON) to ``method``, or GET it with ``query``. ``read=False``: a
        success is not parsed past its ``ok`` (Slack echoes a whole message in it)."""
        headers = {}
        if token or self.token:
            headers["Authorization"] = f"Bearer {token or self.token}"
        if body is not None:
            headers["Content-Type"] = "application/json;charset=utf-8"
        url = self.api_url + method
        if self.http is None:
            async with aiohttp.ClientSession() as http:
                return await _request(http, url, body, query, headers, read)
        return await _request(self.http, url, body, query, headers, read)

    async def post_json(self, url: str, body: bytes, timeout: aiohttp.ClientTimeout) -> int:
        """POST ``body`` (JSON) to a URL of Slack's (a response_url); its HTTP status."""
        headers = {"Content-Type": "application/json"}
        if self.http is None:
            async with aiohttp.ClientSession() as http:
                return await _post(http, url, body, headers, timeout)
        return await _post(self.http, url, body, headers, timeout)


async def _post(
    http: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: aiohttp.ClientTimeout,
) -> int:
    async with http.post(url, data=body, headers=headers, timeout=timeout) as response:
        return response.status


async def _request(
    http: aiohttp.ClientSession,
    url: str,
    body: bytes | None,
    query: Mapping[str, str] | None,
    headers: Mapping[str, str],
    read: bool,
) -> Reply:
    verb = "GET" if body is None else "POST"
    attempt = 0  # one count for both kinds of retry, as slack_sdk keeps it
    while True:
        try:
            request = http.request(
                verb, url, data=body, params=query, headers=headers, timeout=API_TIMEOUT
            )
            async with request as r:
                if r.status == 429 and attempt < RATE_LIMIT_RETRIES:
                    delay = _retry_after(r.headers.get("Retry-After"))
                else:
                    return Reply(r.status, _data(await r.read(), read))
        except RETRIED_ERRORS:
            if attempt >= CONNECTION_RETRIES:
                raise
            delay = 0.5 + random.random()
        attempt += 1
        await asyncio.sleep(delay)


def _retry_after(header: str | None) -> float:
    """Slack's Retry-After (whole seconds), plus up to a second of jitter."""
    try:
        seconds = float(header or "1")
    except ValueError:
        seconds = 1.0
    return max(seconds, 0.0) + random.random()


def _data(raw: bytes, read: bool) -> Mapping[str, Any]:
    if not read and _OK.match(raw):  # Slack opens every answer with "ok"
        return {"ok": True}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
