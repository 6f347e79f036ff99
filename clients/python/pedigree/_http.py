"""HTTP transport: one request, sent again on transient failures with the same bytes and headers."""

from __future__ import annotations

import email.utils
import http.client
import random
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from .errors import ProblemError, TransportError, problem_error

# Statuses that say "not now": a rate limit, or a gateway or server that could not take the request.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

# The most of an error body read into a ProblemError; problems are small.
_MAX_ERROR_BODY = 1 << 20

USER_AGENT = "pedigree-python/0.1"


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "") or ""


class Stream:
    """An open 2xx response whose body the caller reads, then closes."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self._conn = conn
        self.response = resp

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def content_type(self) -> str:
        return self.response.getheader("Content-Type", "") or ""

    def close(self) -> None:
        try:
            self.response.close()
        finally:
            self._conn.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def path_escape(segment: str) -> str:
    """Escapes one path segment as Go's url.PathEscape does: ``/`` and ``?`` are escaped, ``@`` and
    ``:`` are kept (so ``name@version`` reads as written)."""
    return urllib.parse.quote(segment, safe="$&+,:;=@")


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. None if absent or
    unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now())


class Transport:
    def __init__(
        self,
        base_url: str,
        key: str | None,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        max_backoff: float,
        max_retry_after: float,
        ssl_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        u = urllib.parse.urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"base_url must be an http:// or https:// URL, not {base_url!r}")
        if u.query or u.fragment:
            raise ValueError("base_url must not have a query or a fragment")
        if retries < 0:
            raise ValueError("retries must be at least 0")
        self.base_url = base_url.rstrip("/")
        self._https = u.scheme == "https"
        self._host = u.hostname
        self._port = u.port
        self._prefix = u.path.rstrip("/")
        self._key = key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._ssl = ssl_context
        self._sleep = sleep

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout, context=self._ssl or ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def _delay(self, attempt: int) -> float:
        # Exponential backoff with jitter in [d/2, d], so clients that failed together spread out.
        d = min(self.max_backoff, self.backoff * (2**attempt))
        return d * random.uniform(0.5, 1.0)

    def target(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        t = self._prefix + path
        if query:
            pairs = []
            for k, v in query.items():
                if v is None:
                    continue
                if isinstance(v, bool):
                    v = "true" if v else "false"
                pairs.append((k, str(v)))
            if pairs:
                t += "?" + urllib.parse.urlencode(pairs)
        return t

    def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
        idempotency_key: str | None = None,
        safe: bool = True,
        stream: bool = False,
    ) -> Response | Stream:
        """Sends a request and answers its 2xx response; any other status is a ProblemError.

        ``safe`` says that sending the request twice cannot apply it twice (a read, a write with an
        Idempotency-Key, an upsert): it is then retried on every transient failure. An unsafe request
        is retried only when the server cannot have applied it (connection refused, 429, 503).
        """
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        if self._key:
            headers["Authorization"] = "Bearer " + self._key
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        attempt = 0
        while True:
            conn = self._connect()
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
                status = resp.status
                if status in RETRY_STATUSES and attempt < self.retries and (safe or status in (429, 503)):
                    wait = parse_retry_after(resp.getheader("Retry-After"))
                    resp.read(_MAX_ERROR_BODY)
                    conn.close()
                    wait = self._delay(attempt) if wait is None else min(wait, self.max_retry_after)
                    attempt += 1
                    self._sleep(wait)
                    continue
                if status >= 300:
                    data = resp.read(_MAX_ERROR_BODY)
                    conn.close()
                    raise problem_error(
                        status, resp.getheader("Content-Type", "") or "", data,
                        method=method, path=target, idempotency_key=idempotency_key,
                    )
                if stream:
                    return Stream(conn, resp)
                data = resp.read()
                conn.close()
                return Response(status, resp.headers, data)
            except ProblemError:
                raise
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                retryable = safe or isinstance(e, ConnectionRefusedError)
                if retryable and attempt < self.retries:
                    attempt += 1
                    self._sleep(self._delay(attempt - 1))
                    continue
                raise TransportError(
                    f"{method} {self.base_url}{target[len(self._prefix):]}: {_describe(e)} (after {attempt + 1} attempt{'s' if attempt else ''})",
                    attempts=attempt + 1,
                    idempotency_key=idempotency_key,
                ) from e


def _describe(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "timed out"
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
