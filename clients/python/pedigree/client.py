"""The Pedigree client: one registry, one API key."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from typing import Any, Literal, TypeVar, overload

from ._http import Response, Stream, Transport, path_escape
from .errors import ExportError, PedigreeError, ProblemError
from .progress import TextProgress
from .refs import _AnsweredIds, _is_id, _lookup_key, _names_items, _place
from .records import (
    APIKey,
    Candidates,
    Checkpoint,
    Decision,
    DryRun,
    IngestedSample,
    Lineage,
    Mix,
    Model,
    Page,
    Policy,
    PolicyVersion,
    Sample,
)

T = TypeVar("T")

#: The most samples the registry takes in one batch.
MAX_BATCH_SAMPLES = 10_000
#: The most keys (ids and external ids) the registry looks up in one request.
MAX_LOOKUP_KEYS = 1000
#: The default cap on one batch request's body. The server's own default cap is 256 MiB
#: (``--max-batch-bytes``); staying well below it keeps each request, and each retry, short.
DEFAULT_MAX_BATCH_BYTES = 64 << 20

#: Export formats whose body is JSON Lines, one object per line.
LINE_FORMATS = frozenset({"jsonl", "chat"})

ProgressCallback = Callable[[int, "int | None"], None]


def best_of_k(objective: str, *, source: str = "multi", models: Sequence[str] | None = None) -> dict[str, Any]:
    """A ``best_of_k`` mix strategy: only the best candidate of each prompt group, for ``objective``
    (``mtld``, ``length`` or ``toxicity``), across models (``source="multi"``) or per model
    (``"single"``), optionally among ``models`` only."""
    s: dict[str, Any] = {"name": "best_of_k", "objective": objective, "source": source}
    if models is not None:
        s["models"] = list(models)
    return s


def random_strategy() -> dict[str, Any]:
    """The ``random`` mix strategy: a seeded draw from the admitted pool."""
    return {"name": "random"}


def _dumps(v: Any) -> bytes:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _loads(r: Response) -> Any:
    try:
        return json.loads(r.body)
    except ValueError as e:
        raise PedigreeError(f"the registry answered {r.status} with a body that is not JSON: {e}") from e


def _obj(v: Any, what: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise PedigreeError(f"the registry answered {what} with JSON that is not an object")
    return v


class Client:
    """A client of one Pedigree registry, authenticated by one API key.

    ``timeout`` is the socket timeout of one attempt, in seconds. ``retries`` is how many times a
    request is sent again after a connection error or a 429, 502, 503 or 504 answer, waiting
    ``backoff`` seconds doubled at each attempt (with jitter, at most ``max_backoff``), or what the
    answer's ``Retry-After`` asks (at most ``max_retry_after``). Every write that can carry an
    ``Idempotency-Key`` carries one, the same on every attempt (a new UUID per call unless you give
    one), so a retried write is applied once.

    The client holds no connection between calls and is safe to share between threads.
    """

    def __init__(
        self,
        base_url: str,
        key: str | None,
        *,
        timeout: float = 300.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 300.0,
    ) -> None:
        self._t = Transport(
            base_url, key, timeout=timeout, retries=retries, backoff=backoff,
            max_backoff=max_backoff, max_retry_after=max_retry_after,
        )

    @property
    def base_url(self) -> str:
        return self._t.base_url

    def __repr__(self) -> str:
        return f"pedigree.Client({self._t.base_url!r})"

    # -- plumbing ---------------------------------------------------------------------------------

    def _get(self, path: str, query: Mapping[str, Any] | None = None, *, accept: str = "application/json") -> Response:
        r = self._t.request("GET", self._t.target(path, query), accept=accept)
        assert isinstance(r, Response)
        return r

    def _get_json(self, path: str, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return _obj(_loads(self._get(path, query)), f"GET {path}")

    def _write(
        self,
        method: str,
        path: str,
        body: bytes,
        *,
        query: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        idempotency_key: str | None = None,
        safe: bool = True,
    ) -> Response:
        r = self._t.request(
            method, self._t.target(path, query), body=body, content_type=content_type,
            idempotency_key=idempotency_key, safe=safe,
        )
        assert isinstance(r, Response)
        return r

    def _page(self, path: str, field: str, conv: Callable[[dict[str, Any]], T], query: Mapping[str, Any]) -> Page[T]:
        d = self._get_json(path, query)
        items = d.get(field)
        nc = d.get("next_cursor")
        return Page(
            items=[conv(x) for x in items if isinstance(x, dict)] if isinstance(items, list) else [],
            next_cursor=nc if isinstance(nc, str) and nc else None,
        )

    def _iterate(self, fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            page = fetch(cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # -- operations -------------------------------------------------------------------------------

    def healthy(self) -> bool:
        """Whether the server answers ``/healthz`` (its process serves HTTP)."""
        try:
            self._get("/healthz")
            return True
        except PedigreeError:
            return False

    def ready(self) -> bool:
        """Whether the server answers ``/readyz`` (its database answers)."""
        try:
            self._get("/readyz")
            return True
        except PedigreeError:
            return False

    # -- samples ----------------------------------------------------------------------------------

    def create_sample(self, sample: Mapping[str, Any], *, idempotency_key: str | None = None) -> IngestedSample:
        """Registers one sample (``POST /v1/samples``, role ``ingest``). An identical sample already
        registered comes back with ``duplicate=True``. Its ``parents`` and ``prompt_id`` name
        registered samples by :func:`ref` or :func:`ext`."""
        r = self._write("POST", "/v1/samples", _dumps(dict(sample)), idempotency_key=idempotency_key or str(uuid.uuid4()))
        return IngestedSample.from_json(_obj(_loads(r), "POST /v1/samples"))

    def ingest_batch(self, samples: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None) -> list[IngestedSample]:
        """Registers up to 10,000 samples in one request, all or nothing (``POST /v1/samples/batch``).
        Results come in request order. A sample may name an earlier one of the list by
        :func:`item` (its index in ``samples``) or by :func:`ext`; the list is sent as it is, so
        naming a later item is the registry's 422."""
        items = [_dumps(dict(s)) for s in samples]
        return self._post_batch(items, idempotency_key or str(uuid.uuid4()))

    def _post_batch(self, items: list[bytes], idempotency_key: str) -> list[IngestedSample]:
        body = b'{"samples":[' + b",".join(items) + b"]}"
        r = self._write("POST", "/v1/samples/batch", body, idempotency_key=idempotency_key)
        d = _obj(_loads(r), "POST /v1/samples/batch")
        out = d.get("samples")
        if not isinstance(out, list) or len(out) != len(items):
            got = len(out) if isinstance(out, list) else "no"
            raise PedigreeError(f"the registry answered a batch of {len(items)} samples with {got} results")
        return [IngestedSample.from_json(_obj(x, "POST /v1/samples/batch")) for x in out]

    def ingest_iter(
        self,
        samples: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | bool | None = None,
        total: int | None = None,
        idempotency_key: str | None = None,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    ) -> Iterator[IngestedSample]:
        """Like :meth:`ingest`, but lazy: yields each result, in input order, as its batch is
        answered; the input is read one batch ahead, never whole. Nothing is sent until you iterate.
        To let :func:`item` name any earlier item, the ids of the items answered are kept, 16 bytes
        each (160 MB for ten million samples)."""
        if not 1 <= batch_size <= MAX_BATCH_SAMPLES:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SAMPLES}")
        if max_batch_bytes < 1:
            raise ValueError("max_batch_bytes must be positive")
        if total is None and isinstance(samples, Sized):
            total = len(samples)
        report: ProgressCallback | None = TextProgress() if progress is True else (progress or None)
        start = getattr(report, "start", None)
        if callable(start):
            start()
        done = 0
        batch_no = 0
        buf: list[bytes] = []
        size = 0
        answered = _AnsweredIds()

        def send() -> list[IngestedSample]:
            nonlocal done, batch_no, buf, size
            key = f"{idempotency_key}/{batch_no}" if idempotency_key else str(uuid.uuid4())
            try:
                results = self._post_batch(buf, key)
            except ProblemError as e:
                e.batch_offset = done
                raise
            answered.extend(r.id for r in results)
            done += len(buf)
            batch_no += 1
            buf, size = [], 0
            if report is not None:
                report(done, total)
            return results

        def encode(d: dict[str, Any], i: int) -> bytes:
            try:
                return _dumps(d)
            except (TypeError, ValueError) as e:
                raise ValueError(f"item {i} cannot be sent as JSON: {e}") from e

        for i, s in enumerate(samples):
            try:
                d = dict(s)
            except (TypeError, ValueError) as e:
                raise ValueError(f"item {i} cannot be sent as JSON: it is not a mapping ({e})") from e
            # Item references count in the caller's input: placed in the batch being filled
            # (which starts at input item i - len(buf)), or, if this item opens the next batch,
            # placed again there, where the items of the batch just sent are named by their ids.
            items = _names_items(d)
            enc = encode(_place(d, i, i - len(buf), answered) if items else d, i)
            if buf and (len(buf) >= batch_size or size + len(enc) + 1 > max_batch_bytes):
                yield from send()
                if items:
                    enc = encode(_place(d, i, i, answered), i)
            buf.append(enc)
            size += len(enc) + 1
        if buf:
            yield from send()
        finish = getattr(report, "finish", None)
        if callable(finish):
            finish()

    def ingest(
        self,
        samples: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | bool | None = None,
        total: int | None = None,
        idempotency_key: str | None = None,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    ) -> list[IngestedSample]:
        """Registers samples from any iterable (a list, a generator, a file read line by line) in
        batches of ``batch_size`` (and at most ``max_batch_bytes`` of JSON each), one
        ``POST /v1/samples/batch`` per batch, and answers one result per sample, in input order:
        its ``id``, ``generation``, ``metrics``, ``log_index`` and whether it was a ``duplicate``.

        ``progress(done, total)`` is called after each batch; ``total`` is ``len(samples)`` when the
        iterable has a length, else the ``total`` you give, else ``None``. ``progress=True`` writes
        progress to standard error (:class:`TextProgress`).

        A sample's ``parents`` and ``prompt_id`` name other samples by :func:`ref` (an id),
        :func:`ext` (an ``external_id``: one stored earlier, or an earlier item of this input) or
        :func:`item`, whose position counts in *this iterable*, not in a batch: the client sends
        ``item(j)`` as ``{"item": j - <first item of the batch>}`` when item *j* is in the same
        batch, and as the id item *j* was answered with when it went in an earlier one, so batch
        boundaries never change what a reference names. An ``item(j)`` that is not before the
        naming item is a ``ValueError``, raised when that item is read, before its batch is sent.

        Each batch is all or nothing and carries its own ``Idempotency-Key``, the same on each retry.
        With ``idempotency_key`` given, batch *n* uses ``<idempotency_key>/<n>``: running the same
        ingest again (same samples, same batch size) after a crash replays the batches already
        stored instead of sending them again. A refused batch raises :class:`ProblemError` with
        ``batch_offset`` set to the index of its first item; the batches before it are stored.

        Use :meth:`ingest_iter` to handle results as they come instead of collecting them.
        """
        return list(self.ingest_iter(
            samples, batch_size=batch_size, progress=progress, total=total,
            idempotency_key=idempotency_key, max_batch_bytes=max_batch_bytes,
        ))

    def lookup(
        self,
        ids: Iterable[str | Sample] = (),
        external_ids: Iterable[Mapping[str, Any] | tuple[str, str]] = (),
        contents: Iterable[Mapping[str, Any]] = (),
    ) -> list[Sample]:
        """The registered samples with these ids, external ids or contents (``POST
        /v1/samples/lookup``, roles ``ingest`` and ``auditor``): how a pipeline finds what its own
        ids became without listing the registry. ``ids`` are id strings (or records, for their
        ids). ``external_ids`` are :func:`ext` references with their dataset (a lookup has no
        sample whose dataset to default to; ``""`` is the samples without one) or ``(dataset,
        external_id)`` pairs. ``contents`` name samples by content: mappings with ``text`` (hashed
        here; the text is not sent) or ``content_sha256``, and the ``origin``, ``model``,
        ``parents``, ``prompt_id`` and ``dataset`` the sample was ingested with — the key by which
        the registry knows a re-sent item, so an ingest item can be passed as it is (its other
        fields are left out). A text alone finds human text with no parents and no prompt; an
        unknown model or reference raises :class:`ProblemError` (422).

        Unknown keys are left out; each sample comes once, in the order of the first key that
        found it (the ids, then the external ids, then the contents). Keys beyond the registry's 1,000 per request
        are sent in further requests. To map keys to samples::

            by_ext = {(s.dataset or "", s.external_id): s for s in found if s.external_id}
        """
        if isinstance(ids, (str, bytes)):
            raise ValueError("ids is a list of ids, not one string")
        id_keys: list[str] = []
        seen_ids: set[str] = set()
        for n, sid in enumerate(ids):
            sid = getattr(sid, "id", sid)  # a Sample record stands for its id
            if not _is_id(sid):
                raise ValueError(f"ids[{n}] is {sid!r}, not a sample id (a UUID in canonical lowercase form)")
            if sid not in seen_ids:
                seen_ids.add(sid)
                id_keys.append(sid)
        ext_keys: list[tuple[str, str]] = []
        seen_ext: set[tuple[str, str]] = set()
        for n, k in enumerate(external_ids):
            key = _lookup_key(k, n)
            if key not in seen_ext:
                seen_ext.add(key)
                ext_keys.append(key)
        content_keys: list[dict[str, Any]] = []
        for n, item in enumerate(contents):
            if not isinstance(item, Mapping):
                raise ValueError(f"contents[{n}] is {type(item).__name__}, not a mapping with text or content_sha256")
            key = {f: item[f] for f in ("origin", "model", "parents", "prompt_id", "dataset") if item.get(f) is not None}
            if "text" in item:
                if not isinstance(item["text"], str):
                    raise ValueError(f"contents[{n}].text is not a string")
                key["content_sha256"] = hashlib.sha256(item["text"].encode("utf-8")).hexdigest()
            elif isinstance(item.get("content_sha256"), str):
                key["content_sha256"] = item["content_sha256"]
            else:
                raise ValueError(f"contents[{n}] has neither text nor content_sha256")
            content_keys.append(key)
        keys: list[tuple[str, Any]] = ([("id", x) for x in id_keys] + [("ext", x) for x in ext_keys]
                                       + [("content", x) for x in content_keys])
        out: list[Sample] = []
        found: set[str] = set()
        for c in range(0, len(keys), MAX_LOOKUP_KEYS):
            chunk = keys[c: c + MAX_LOOKUP_KEYS]
            body: dict[str, Any] = {}
            chunk_ids = [v for kind, v in chunk if kind == "id"]
            chunk_ext = [{"dataset": v[0], "external_id": v[1]} for kind, v in chunk if kind == "ext"]
            if chunk_ids:
                body["ids"] = chunk_ids
            if chunk_ext:
                body["external_ids"] = chunk_ext
            chunk_contents = [v for kind, v in chunk if kind == "content"]
            if chunk_contents:
                body["contents"] = chunk_contents
            r = self._write("POST", "/v1/samples/lookup", _dumps(body))
            d = _obj(_loads(r), "POST /v1/samples/lookup")
            got = d.get("samples")
            if not isinstance(got, list):
                raise PedigreeError("the registry answered POST /v1/samples/lookup without a samples list")
            for x in got:
                smp = Sample.from_json(_obj(x, "POST /v1/samples/lookup"))
                if smp.id not in found:
                    found.add(smp.id)
                    out.append(smp)
        return out

    def get_sample(self, sample_id: str) -> Sample:
        """One sample by id (``GET /v1/samples/{id}``)."""
        return Sample.from_json(self._get_json("/v1/samples/" + path_escape(sample_id)))

    def list_samples(
        self,
        *,
        origin: str | None = None,
        model: str | None = None,
        dataset: str | None = None,
        prompt_id: str | None = None,
        min_generation: int | None = None,
        max_generation: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[Sample]:
        """One page of samples in id order, filtered (``GET /v1/samples``; filters combine with AND)."""
        q = {"origin": origin, "model": model, "dataset": dataset, "prompt_id": prompt_id,
             "min_generation": min_generation, "max_generation": max_generation, "cursor": cursor, "limit": limit}
        return self._page("/v1/samples", "samples", Sample.from_json, q)

    def iter_samples(
        self,
        *,
        origin: str | None = None,
        model: str | None = None,
        dataset: str | None = None,
        prompt_id: str | None = None,
        min_generation: int | None = None,
        max_generation: int | None = None,
        page_size: int = 1000,
    ) -> Iterator[Sample]:
        """Every sample matching the filters, page after page."""
        return self._iterate(lambda c: self.list_samples(
            origin=origin, model=model, dataset=dataset, prompt_id=prompt_id, min_generation=min_generation,
            max_generation=max_generation, cursor=c, limit=page_size))

    def lineage(
        self, sample_id: str, *, direction: str | None = None, max_depth: int | None = None, max_nodes: int | None = None
    ) -> Lineage:
        """The lineage graph around a sample: ``direction`` ``ancestors`` (default), ``descendants``
        or ``both``."""
        q = {"direction": direction, "max_depth": max_depth, "max_nodes": max_nodes}
        return Lineage.from_json(self._get_json("/v1/samples/" + path_escape(sample_id) + "/lineage", q))

    def candidates(self, prompt_id: str, *, objective: str | None = None, model: str | None = None) -> Candidates:
        """A prompt's best-of-k group ranked for ``objective`` (``mtld`` by default, ``length``,
        ``toxicity``), best first; with ``model``, that model's candidates only."""
        q = {"objective": objective, "model": model}
        return Candidates.from_json(self._get_json("/v1/prompts/" + path_escape(prompt_id) + "/candidates", q))

    # -- models -----------------------------------------------------------------------------------

    def create_model(
        self,
        name: str,
        version: str,
        *,
        provider: str | None = None,
        trained_on: Sequence[str] | None = None,
        declared_generation: int | None = None,
        idempotency_key: str | None = None,
    ) -> Model:
        """Registers a model (``POST /v1/models``). Give ``trained_on`` (mix ids) for a model trained
        on this registry's mixes, or ``declared_generation`` for one trained elsewhere; not both."""
        body: dict[str, Any] = {"name": name, "version": version}
        if provider is not None:
            body["provider"] = provider
        if trained_on is not None:
            body["trained_on"] = list(trained_on)
        if declared_generation is not None:
            body["declared_generation"] = declared_generation
        r = self._write("POST", "/v1/models", _dumps(body), idempotency_key=idempotency_key or str(uuid.uuid4()))
        return Model.from_json(_obj(_loads(r), "POST /v1/models"))

    def get_model(self, ref: str) -> Model:
        """A model by id or ``name@version``."""
        return Model.from_json(self._get_json("/v1/models/" + path_escape(ref)))

    def list_models(self, *, cursor: str | None = None, limit: int | None = None) -> Page[Model]:
        return self._page("/v1/models", "models", Model.from_json, {"cursor": cursor, "limit": limit})

    def iter_models(self, *, page_size: int = 1000) -> Iterator[Model]:
        return self._iterate(lambda c: self.list_models(cursor=c, limit=page_size))

    # -- policies ---------------------------------------------------------------------------------

    def put_policy(self, name: str, module: str) -> PolicyVersion:
        """Uploads a Rego module as the next version of policy ``name`` (role ``admin``). The text of
        the latest version again creates nothing and answers that version."""
        r = self._write("PUT", "/v1/policies/" + path_escape(name), module.encode("utf-8"),
                        content_type="text/plain; charset=utf-8")
        return PolicyVersion.from_json(_obj(_loads(r), "PUT /v1/policies"))

    def get_policy(self, name: str) -> Policy:
        return Policy.from_json(self._get_json("/v1/policies/" + path_escape(name)))

    def get_policy_version(self, name: str, version: int) -> PolicyVersion:
        return PolicyVersion.from_json(self._get_json(f"/v1/policies/{path_escape(name)}/versions/{int(version)}"))

    def list_policies(self) -> list[PolicyVersion]:
        """The latest version of every policy, without module texts."""
        d = self._get_json("/v1/policies")
        ps = d.get("policies")
        return [PolicyVersion.from_json(p) for p in ps if isinstance(p, dict)] if isinstance(ps, list) else []

    # -- mixes ------------------------------------------------------------------------------------

    @overload
    def build_mix(
        self, size: int, *, policy: str | None = ..., strategy: Mapping[str, Any] | None = ...,
        filter: Mapping[str, Any] | None = ..., seed: int | None = ..., min_size: int | None = ...,
        synthetic_ratio: float | None = ..., base_model: str | None = ..., dry_run: Literal[False] = ...,
        idempotency_key: str | None = ...,
    ) -> Mix: ...

    @overload
    def build_mix(
        self, size: int, *, policy: str | None = ..., strategy: Mapping[str, Any] | None = ...,
        filter: Mapping[str, Any] | None = ..., seed: int | None = ..., min_size: int | None = ...,
        synthetic_ratio: float | None = ..., base_model: str | None = ..., dry_run: Literal[True],
        idempotency_key: str | None = ...,
    ) -> DryRun: ...

    def build_mix(
        self,
        size: int,
        *,
        policy: str | None = None,
        strategy: Mapping[str, Any] | None = None,
        filter: Mapping[str, Any] | None = None,
        seed: int | None = None,
        min_size: int | None = None,
        synthetic_ratio: float | None = None,
        base_model: str | None = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> Mix | DryRun:
        """Builds a training mix of at most ``size`` samples under ``policy`` (``name`` or
        ``name@version``; the registry's ``default`` when ``None``), with ``strategy`` (see
        :func:`best_of_k`), ``filter`` (``datasets``, ``models``, ``origins``, ``as_of``) and
        ``seed``. ``base_model`` names the model whose successor the mix trains: under an
        accumulating policy (the default) the mix keeps every human sample of that model's
        training mixes that the policy still admits, and ``stats.raw["accumulated"]`` says how many
        were kept and dropped.

        A refusal raises :class:`PolicyDeniedError` (422 ``policy_denied``) with the policy's
        ``violations`` and the recorded ``decision_id``. With ``dry_run=True`` nothing is saved and
        the answer is a :class:`DryRun`, whose refusal is ``allowed=False``, not an error.
        """
        body: dict[str, Any] = {"size": size}
        for k, v in (("policy", policy), ("strategy", strategy), ("filter", filter), ("seed", seed),
                     ("min_size", min_size), ("synthetic_ratio", synthetic_ratio), ("base_model", base_model)):
            if v is not None:
                body[k] = dict(v) if isinstance(v, Mapping) else v
        data = _dumps(body)
        if dry_run:
            r = self._write("POST", "/v1/mixes:dry-run", data)
            return DryRun.from_json(_obj(_loads(r), "POST /v1/mixes:dry-run"))
        key = idempotency_key or str(uuid.uuid4())
        attempts = 0
        while True:
            try:
                r = self._write("POST", "/v1/mixes", data, idempotency_key=key)
                return Mix.from_json(_obj(_loads(r), "POST /v1/mixes"))
            except ProblemError as e:
                # 409 conflict: an earlier attempt with this key (one whose answer was lost) finished
                # while this one was building. Sending it again reads that attempt's answer.
                if e.status == 409 and e.code == "conflict" and attempts < max(1, self._t.retries):
                    attempts += 1
                    continue
                raise

    def get_mix(self, mix_id: str) -> Mix:
        return Mix.from_json(self._get_json("/v1/mixes/" + path_escape(mix_id)))

    def list_mixes(self, *, cursor: str | None = None, limit: int | None = None) -> Page[Mix]:
        return self._page("/v1/mixes", "mixes", Mix.from_json, {"cursor": cursor, "limit": limit})

    def iter_mixes(self, *, page_size: int = 1000) -> Iterator[Mix]:
        return self._iterate(lambda c: self.list_mixes(cursor=c, limit=page_size))

    def mix_lineage(self, mix_id: str) -> dict[str, Any]:
        """A mix's composition: counts by origin, generation, dataset, source kind and licence, and
        each generating model with its generation and the mixes it was trained on."""
        return self._get_json("/v1/mixes/" + path_escape(mix_id) + "/lineage")

    def _export_stream(self, mix_id: str, format: str, accept: str) -> Stream:
        # jsonl is the server's default: it is not sent, so the call works with registries that
        # predate format=.
        q = None if format == "jsonl" else {"format": format}
        st = self._t.request("GET", self._t.target("/v1/mixes/" + path_escape(mix_id) + "/samples", q), accept=accept, stream=True)
        assert isinstance(st, Stream)
        return st

    def export(self, mix_id: str, format: str = "jsonl") -> ExportLines:
        """Streams a mix's samples in manifest order as dicts, one per JSON line of
        ``GET /v1/mixes/{id}/samples``, in constant memory. ``format`` is passed to the registry
        (``jsonl``, the default, with every provenance column; ``chat`` for SFT messages); binary
        formats such as ``parquet`` go to a file with :meth:`export_to_file`.

        The request is sent now (an unknown mix raises here); the lines are read as you iterate. An
        export the server cut short raises :class:`ExportError` after the last complete line. Use
        it as a context manager, or call ``close()``, to stop reading early.
        """
        if format == "parquet":
            raise ValueError(f"format {format!r} is binary: use export_to_file")
        st = self._export_stream(mix_id, format, "application/jsonl, application/x-ndjson;q=0.9, */*;q=0.1")
        ct = st.content_type.split(";")[0].strip().lower()
        if format not in LINE_FORMATS and "json" not in ct:
            st.close()
            raise PedigreeError(f"the {format!r} export is {ct or 'untyped'}, not JSON Lines: use export_to_file")
        return ExportLines(st)

    def export_to_file(self, mix_id: str, path: str | os.PathLike[str], format: str = "jsonl", *, chunk_size: int = 1 << 20) -> int:
        """Streams a mix's export in ``format`` (``jsonl``, ``chat``, ``parquet``, …) to ``path`` and
        answers the number of bytes written. The file is written next to ``path`` and renamed into
        place when complete, so ``path`` never holds a partial export. A stream the server cut short
        raises :class:`ExportError` and leaves no file."""
        path = os.fspath(path)
        tmp = f"{path}.part-{uuid.uuid4().hex[:8]}"
        st = self._export_stream(mix_id, format, "*/*")
        n = 0
        last = b""
        try:
            with open(tmp, "wb") as f:
                while True:
                    try:
                        chunk = st.response.read1(chunk_size)
                    except (OSError, ValueError, http.client.HTTPException) as e:
                        raise ExportError(f"the export of mix {mix_id} broke after {n} bytes: {e}", lines=0) from e
                    if not chunk:
                        break
                    f.write(chunk)
                    n += len(chunk)
                    last = (last + chunk)[-4:]
                f.flush()
                os.fsync(f.fileno())
            if format in LINE_FORMATS and n and not last.endswith(b"\n"):
                raise ExportError(f"the export of mix {mix_id} was cut short after {n} bytes (no final newline)", lines=0)
            if format == "parquet" and last != b"PAR1":
                raise ExportError(f"the parquet export of mix {mix_id} was cut short after {n} bytes (no PAR1 footer)", lines=0)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        finally:
            st.close()
        return n

    def card(self, mix_id: str) -> str:
        """The mix's Hugging Face dataset card (``GET /v1/mixes/{id}/card``): a README.md with YAML
        front matter."""
        r = self._get("/v1/mixes/" + path_escape(mix_id) + "/card", accept="text/markdown, */*;q=0.1")
        return r.body.decode("utf-8")

    def croissant(self, mix_id: str) -> dict[str, Any]:
        """The mix's Croissant JSON-LD metadata (``GET /v1/mixes/{id}/croissant``)."""
        r = self._get("/v1/mixes/" + path_escape(mix_id) + "/croissant", accept="application/ld+json, application/json;q=0.9")
        return _obj(_loads(r), "GET /v1/mixes/{id}/croissant")

    def get_decision(self, decision_id: str) -> Decision:
        """A recorded policy decision (a mix's ``decision_id``, or a refusal's)."""
        return Decision.from_json(self._get_json("/v1/decisions/" + path_escape(decision_id)))

    def openlineage_events(self, *, mix: str | None = None, decision: str | None = None,
                           model: str | None = None) -> list[dict[str, Any]]:
        """The OpenLineage run events the registry emitted (role ``auditor``), as the JSON objects
        an OpenLineage consumer receives: a mix build's START and COMPLETE (``mix=``), a decision's
        run, also for a refusal, whose events end in FAIL (``decision=``), or the run linking a model
        to its training mixes (``model=``, empty for a model without ``trained_on``). Name exactly
        one. Post them to Marquez's ``/api/v1/lineage`` to backfill what its receiver missed."""
        named = [(k, v) for k, v in (("mixes", mix), ("decisions", decision), ("models", model)) if v is not None]
        if len(named) != 1:
            raise ValueError("name exactly one of mix, decision or model")
        kind, ident = named[0]
        d = self._get_json(f"/v1/{kind}/" + path_escape(ident) + "/openlineage")
        events = d.get("events")
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise PedigreeError(f"the registry answered GET /v1/{kind}/{{id}}/openlineage without an events list")
        return events

    # -- reports and the log ----------------------------------------------------------------------

    @overload
    def eu_ai_act_report(self, *, model: str | None = ..., mix: str | None = ..., format: Literal["json"] = ...) -> dict[str, Any]: ...

    @overload
    def eu_ai_act_report(self, *, model: str | None = ..., mix: str | None = ..., format: Literal["markdown", "html"]) -> str: ...

    def eu_ai_act_report(self, *, model: str | None = None, mix: str | None = None, format: str = "json") -> dict[str, Any] | str:
        """The EU AI Act public summary of training content for a ``model`` (through the mixes it was
        trained on) or one ``mix``: a dict for ``format="json"``, text for ``"markdown"`` or
        ``"html"``."""
        accept = {"json": "application/json", "markdown": "text/markdown", "html": "text/html"}.get(format)
        if accept is None:
            raise ValueError('format must be "json", "markdown" or "html"')
        if (model is None) == (mix is None):
            raise ValueError("give exactly one of model and mix")
        r = self._get("/v1/reports/eu-ai-act", {"model": model, "mix": mix}, accept=accept)
        if format == "json":
            return _obj(_loads(r), "GET /v1/reports/eu-ai-act")
        return r.body.decode("utf-8")

    def put_disclosure(self, model: str, disclosure: Mapping[str, Any]) -> dict[str, Any]:
        """States a model's disclosure for its EU AI Act summary (role ``ingest``): provider and
        contact, authorised representative, market date, dependencies, modalities, crawlers and the
        narrative sections, as ``PUT /v1/models/{id}/disclosure`` takes them. A change is a new
        logged version; the same body again answers the latest. The answer lists every version."""
        r = self._write("PUT", "/v1/models/" + path_escape(model) + "/disclosure", _dumps(dict(disclosure)))
        return _obj(_loads(r), "PUT /v1/models/{id}/disclosure")

    def get_disclosure(self, model: str, version: int | None = None) -> dict[str, Any]:
        """A version of a model's disclosure: the latest when ``version`` is None."""
        path = "/v1/models/" + path_escape(model) + "/disclosure"
        if version is not None:
            path += "/versions/" + str(int(version))
        return self._get_json(path)

    def eu_ai_act_completeness(self, model: str) -> dict[str, Any]:
        """What a model's public summary still lacks: ``{"publishable": bool, "missing": [{"section",
        "field", "fill"}, …], …}``. The summary may be published when ``missing`` is empty."""
        return self._get_json("/v1/reports/eu-ai-act/completeness", {"model": model})

    def checkpoint(self) -> Checkpoint:
        """The log's current signed checkpoint. Verify it with ``registryd verify`` and a verifier
        key obtained out of band; this client does not check signatures."""
        return Checkpoint.parse(self._get("/v1/log/checkpoint", accept="text/plain").body.decode("utf-8"))

    def log_key(self) -> str:
        """The verifier key the server says it signs with (compare it with one obtained out of band)."""
        return self._get("/v1/log/key", accept="text/plain").body.decode("utf-8").strip()

    def log_entry(self, index: int) -> bytes:
        """The leaf bytes at ``index`` (every record's ``log_index`` points at one)."""
        import base64

        d = self._get_json(f"/v1/log/entries/{int(index)}")
        leaf = d.get("leaf")
        if not isinstance(leaf, str):
            raise PedigreeError("the log entry has no leaf")
        return base64.b64decode(leaf)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The hashes proving that leaf ``index`` is in the tree of ``size`` leaves."""
        return self._proof("/v1/log/proof/inclusion", {"index": int(index), "size": int(size)})

    def consistency_proof(self, from_size: int, to_size: int) -> list[bytes]:
        """The hashes proving that the tree of ``from_size`` leaves is a prefix of ``to_size``'s."""
        return self._proof("/v1/log/proof/consistency", {"from": int(from_size), "to": int(to_size)})

    def _proof(self, path: str, q: Mapping[str, Any]) -> list[bytes]:
        import base64

        proof = self._get_json(path, q).get("proof")
        return [base64.b64decode(h) for h in proof if isinstance(h, str)] if isinstance(proof, list) else []

    # -- keys -------------------------------------------------------------------------------------

    def create_key(self, role: str) -> APIKey:
        """Creates an API key for ``role`` (``ingest``, ``auditor`` or ``admin``; role ``admin``).
        The secret is in ``key`` and is never shown again. This write takes no Idempotency-Key, so
        it is retried only when the server cannot have applied it."""
        r = self._write("POST", "/v1/keys", _dumps({"role": role}), safe=False)
        return APIKey.from_json(_obj(_loads(r), "POST /v1/keys"))

    def list_keys(self, *, cursor: str | None = None, limit: int | None = None) -> Page[APIKey]:
        return self._page("/v1/keys", "keys", APIKey.from_json, {"cursor": cursor, "limit": limit})

    def revoke_key(self, key_id: str) -> APIKey:
        """Revokes a key; revoking a revoked key changes nothing."""
        r = self._t.request("DELETE", self._t.target("/v1/keys/" + path_escape(key_id)))
        assert isinstance(r, Response)
        return APIKey.from_json(_obj(_loads(r), "DELETE /v1/keys/{id}"))


class ExportLines(Iterator[dict[str, Any]]):
    """The lines of a streamed export, decoded one at a time. ``lines`` counts those yielded."""

    _CHUNK = 1 << 16

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._buf = bytearray()
        self._eof = False
        self._closed = False
        self.lines = 0

    def __iter__(self) -> ExportLines:
        return self

    def __next__(self) -> dict[str, Any]:
        while True:
            if self._closed:
                raise StopIteration
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                if not line.strip():
                    continue
                return self._decode(line)
            if self._eof:
                rest = bytes(self._buf)
                self.close()
                if rest.strip():
                    raise ExportError(
                        f"the export was cut short after {self.lines} lines: the last line has no newline", lines=self.lines
                    )
                raise StopIteration
            try:
                chunk = self._stream.response.read1(self._CHUNK)
            except (OSError, ValueError, http.client.HTTPException) as e:
                self.close()
                raise ExportError(f"the export broke after {self.lines} lines: {e}", lines=self.lines) from e
            if chunk:
                self._buf += chunk
            else:
                self._eof = True

    def _decode(self, line: bytes) -> dict[str, Any]:
        try:
            v = json.loads(line)
        except ValueError as e:
            self.close()
            raise ExportError(f"line {self.lines + 1} of the export is not JSON: {e}", lines=self.lines) from e
        if not isinstance(v, dict):
            self.close()
            raise ExportError(f"line {self.lines + 1} of the export is not a JSON object", lines=self.lines)
        self.lines += 1
        return v

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._buf = bytearray()
            self._stream.close()

    def __enter__(self) -> ExportLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
