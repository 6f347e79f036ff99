"""Errors raised by the Pedigree client."""

from __future__ import annotations

from typing import Any


class PedigreeError(Exception):
    """The base of every error this package raises."""


class TransportError(PedigreeError):
    """The registry could not be reached, or the connection failed, after every retry.

    ``attempts`` is how many times the request was sent (or tried to be). For a write, the request
    may or may not have been applied: send it again with the same ``idempotency_key`` to find out
    without applying it twice.
    """

    def __init__(self, message: str, *, attempts: int, idempotency_key: str | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.idempotency_key = idempotency_key


class ExportError(PedigreeError):
    """A streamed export stopped early: the server cut the stream (its last line has no newline),
    the connection broke, or a line was not JSON. Lines already yielded were complete."""

    def __init__(self, message: str, *, lines: int) -> None:
        super().__init__(message)
        self.lines = lines


class ProblemError(PedigreeError):
    """The registry answered with an error: an RFC 9457 problem (``application/problem+json``).

    ``problem`` is the problem object as the server sent it. For an error response that is not a
    problem (Go's HTTP server answers a few malformed requests in plain text, and a proxy may answer
    502), ``problem`` is empty, ``code`` is ``None`` and ``detail`` holds the start of the body.
    """

    def __init__(
        self,
        status: int,
        problem: dict[str, Any],
        *,
        body: str = "",
        method: str = "",
        path: str = "",
        idempotency_key: str | None = None,
    ) -> None:
        self.status: int = status
        self.problem: dict[str, Any] = problem
        self.code: str | None = _str_or_none(problem.get("code"))
        self.title: str | None = _str_or_none(problem.get("title"))
        detail = _str_or_none(problem.get("detail"))
        if detail is None and not problem and body:
            detail = body[:1000]
        self.detail: str | None = detail
        self.type: str | None = _str_or_none(problem.get("type"))
        self.request_id: str | None = _str_or_none(problem.get("request_id"))
        violations = problem.get("violations")
        self.violations: list[str] = [str(v) for v in violations] if isinstance(violations, list) else []
        errors = problem.get("errors")
        self.errors: list[dict[str, Any]] = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
        self.decision_id: str | None = _str_or_none(problem.get("decision_id"))
        self.existing: str | None = _str_or_none(problem.get("existing"))
        self.method = method
        self.path = path
        self.idempotency_key = idempotency_key
        # Set by Client.ingest when a batch fails: the index, in the caller's iterable, of the failing
        # batch's first item. Field errors name items as samples/<i>/..., relative to that batch.
        self.batch_offset: int | None = None
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        code = f" {self.code}" if self.code else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{where}{self.status}{code}{detail}"

    def __str__(self) -> str:
        msg = self._message()
        if self.batch_offset is not None:
            msg += f" (in the batch starting at item {self.batch_offset})"
        return msg

    @property
    def field_errors(self) -> dict[str, str]:
        """The problem's ``errors`` as ``{field: message}``."""
        return {str(e.get("field", "")): str(e.get("message", "")) for e in self.errors}


class PolicyDeniedError(ProblemError):
    """A policy refused a mix (422 ``policy_denied``): ``violations`` says why and ``decision_id``
    names the recorded decision."""


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def problem_error(
    status: int,
    content_type: str,
    body: bytes,
    *,
    method: str = "",
    path: str = "",
    idempotency_key: str | None = None,
) -> ProblemError:
    """Builds the error for a non-2xx response."""
    import json

    text = body.decode("utf-8", "replace")
    problem: dict[str, Any] = {}
    if "json" in content_type.lower():
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            problem = parsed
    cls = PolicyDeniedError if problem.get("code") == "policy_denied" else ProblemError
    return cls(status, problem, body=text.strip(), method=method, path=path, idempotency_key=idempotency_key)
