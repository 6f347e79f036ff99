"""A small HTTP proxy in front of a real registryd that misbehaves on purpose: it can forward a
request and then drop the connection instead of answering (the answer is lost, the write is done),
answer a status itself without forwarding (503 with Retry-After, 429), or cut an answer's body
short. It records every request it sees."""

from __future__ import annotations

import http.client
import http.server
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None
    body: bytes
    status: int | None = None  # the upstream's status, None when not forwarded
    replayed: bool = False  # the upstream said Idempotent-Replayed: true
    action: str = "forward"


@dataclass
class Rule:
    """Misbehave on the first ``times`` requests whose method and path (without query) match; a
    ``path`` ending in ``*`` matches every path that starts with what comes before it."""

    method: str
    path: str
    action: str  # "drop": forward, then close without answering; "status": answer `status` without forwarding; "truncate": forward, then cut the body
    times: int = 1
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    cut: int = 10  # bytes cut from the end of the body with "truncate"
    body: bytes | None = None  # the body of a "status" answer; default a problem
    content_type: str = "application/problem+json"


class Proxy:
    def __init__(self, upstream: str) -> None:
        u = urllib.parse.urlsplit(upstream)
        self.upstream_host = u.hostname or "127.0.0.1"
        self.upstream_port = u.port or 80
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                seen = Seen(self.command, self.path, self.headers.get("Idempotency-Key"), body)
                rule = proxy._take(self.command, self.path)
                with proxy._lock:
                    proxy.seen.append(seen)
                if rule is not None:
                    seen.action = rule.action
                if rule is not None and rule.action == "status":
                    payload = rule.body
                    if payload is None:
                        payload = b'{"type":"https://pedigree.dev/problems/unavailable","title":"x","status":%d,"code":"unavailable","detail":"proxy says wait"}' % rule.status
                    self.send_response(rule.status)
                    self.send_header("Content-Type", rule.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in rule.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body if body or n else None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                seen.status = resp.status
                seen.replayed = resp.getheader("Idempotent-Replayed") == "true"
                if rule is not None and rule.action == "drop":
                    # The upstream did the work; its answer is lost on the way back.
                    self.close_connection = True
                    return
                if rule is not None and rule.action == "truncate":
                    data = data[: max(0, len(data) - rule.cut)]
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                            self.send_header(k, v)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    if data:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _take(self, method: str, path: str) -> Rule | None:
        p = path.split("?", 1)[0]
        with self._lock:
            for r in self.rules:
                if r.times > 0 and r.method == method and _match(r.path, p):
                    r.times -= 1
                    return r
        return None

    def add(self, rule: Rule) -> None:
        with self._lock:
            self.rules.append(rule)

    def requests(self, method: str, path: str) -> list[Seen]:
        """The requests seen with this method and path (``*`` as in Rule)."""
        with self._lock:
            return [s for s in self.seen if s.method == method and _match(path, s.path.split("?", 1)[0])]

    def reset(self) -> None:
        with self._lock:
            self.rules.clear()
            self.seen.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _match(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern
