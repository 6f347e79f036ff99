"""Typed records of the registry's responses.

Each record keeps the JSON object it was read from in ``raw``, so a field that a newer registry adds
is never lost: ``record.raw["new_field"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

JSON = dict[str, Any]


def _opt_str(d: JSON, k: str) -> str | None:
    v = d.get(k)
    return v if isinstance(v, str) else None


def _int(d: JSON, k: str, default: int = 0) -> int:
    v = d.get(k)
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _opt_int(d: JSON, k: str) -> int | None:
    v = d.get(k)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _float(d: JSON, k: str, default: float = 0.0) -> float:
    v = d.get(k)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else default


def _opt_float(d: JSON, k: str) -> float | None:
    v = d.get(k)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _dict(d: JSON, k: str) -> JSON:
    v = d.get(k)
    return v if isinstance(v, dict) else {}


def _strs(d: JSON, k: str) -> list[str]:
    v = d.get(k)
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _counts(d: JSON, k: str) -> dict[str, int]:
    return {str(a): b for a, b in _dict(d, k).items() if isinstance(b, int)}


@dataclass(frozen=True, kw_only=True)
class Metrics:
    """Scores computed at ingest. ``toxicity`` is ``None`` when the scorer was unavailable and the
    server stores a null score. ``extra`` holds numeric metrics this client does not name."""

    tokens: int
    mtld: float
    toxicity: float | None
    metrics_version: str
    toxicity_scorer: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, d: JSON) -> Metrics:
        known = {"tokens", "mtld", "toxicity", "metrics_version", "toxicity_scorer"}
        return cls(
            tokens=_int(d, "tokens"),
            mtld=_float(d, "mtld"),
            toxicity=_opt_float(d, "toxicity"),
            metrics_version=_opt_str(d, "metrics_version") or "",
            toxicity_scorer=_opt_str(d, "toxicity_scorer") or "",
            extra={k: v for k, v in d.items() if k not in known},
        )


@dataclass(frozen=True, kw_only=True)
class BestOfK:
    """A candidate's place in its prompt's group: the group size ``k`` and its rank (1 is best) per
    objective: ``mtld``, ``length``, ``toxicity``."""

    k: int
    rank: dict[str, int]

    @classmethod
    def from_json(cls, d: JSON) -> BestOfK:
        return cls(k=_int(d, "k"), rank=_counts(d, "rank"))


@dataclass(frozen=True, kw_only=True)
class Sample:
    """A registered sample with its provenance. ``external_id`` is the pipeline's own id of it,
    unique within its ``dataset`` and set for good when the sample was first registered."""

    id: str
    text: str
    content_sha256: str
    origin: str
    generation: int
    generation_basis: str
    metrics: Metrics
    model: str | None = None
    parents: list[str] = field(default_factory=list)
    prompt_id: str | None = None
    dataset: str | None = None
    external_id: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    best_of_k: BestOfK | None = None
    created_at: str = ""
    log_index: int = 0
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def _fields(cls, d: JSON) -> dict[str, Any]:
        bok = d.get("best_of_k")
        md = d.get("metadata")
        return dict(
            id=_opt_str(d, "id") or "",
            text=_opt_str(d, "text") or "",
            content_sha256=_opt_str(d, "content_sha256") or "",
            origin=_opt_str(d, "origin") or "",
            generation=_int(d, "generation"),
            generation_basis=_opt_str(d, "generation_basis") or "",
            metrics=Metrics.from_json(_dict(d, "metrics")),
            model=_opt_str(d, "model"),
            parents=_strs(d, "parents"),
            prompt_id=_opt_str(d, "prompt_id"),
            dataset=_opt_str(d, "dataset"),
            external_id=_opt_str(d, "external_id"),
            source=_dict(d, "source"),
            metadata=md if isinstance(md, dict) else None,
            best_of_k=BestOfK.from_json(bok) if isinstance(bok, dict) else None,
            created_at=_opt_str(d, "created_at") or "",
            log_index=_int(d, "log_index"),
            raw=d,
        )

    @classmethod
    def from_json(cls, d: JSON) -> Sample:
        return cls(**cls._fields(d))


@dataclass(frozen=True, kw_only=True)
class IngestedSample(Sample):
    """A sample as an ingest answers it: ``duplicate`` is true when an identical sample was already
    registered (or came earlier in the same batch) and nothing was written for this one."""

    duplicate: bool = False

    @classmethod
    def from_json(cls, d: JSON) -> IngestedSample:
        return cls(**cls._fields(d), duplicate=d.get("duplicate") is True)


@dataclass(frozen=True, kw_only=True)
class Model:
    """A registered model. ``generation`` is derived from ``trained_on`` (basis ``mixes``) or from
    ``declared_generation`` (basis ``declared``)."""

    id: str
    name: str
    version: str
    generation: int
    generation_basis: str
    provider: str | None = None
    trained_on: list[str] = field(default_factory=list)
    declared_generation: int | None = None
    created_at: str = ""
    log_index: int = 0
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def ref(self) -> str:
        """``name@version``, how samples and mixes name the model."""
        return f"{self.name}@{self.version}"

    @classmethod
    def from_json(cls, d: JSON) -> Model:
        return cls(
            id=_opt_str(d, "id") or "",
            name=_opt_str(d, "name") or "",
            version=_opt_str(d, "version") or "",
            generation=_int(d, "generation"),
            generation_basis=_opt_str(d, "generation_basis") or "",
            provider=_opt_str(d, "provider"),
            trained_on=_strs(d, "trained_on"),
            declared_generation=_opt_int(d, "declared_generation"),
            created_at=_opt_str(d, "created_at") or "",
            log_index=_int(d, "log_index"),
            raw=d,
        )


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One candidate of a prompt's best-of-k group. ``model`` is ``None`` for a human answer;
    ``score`` is ``None`` for an unscored toxicity."""

    id: str
    rank: int
    score: float | None
    model: str | None = None


@dataclass(frozen=True, kw_only=True)
class Candidates:
    """A prompt's best-of-k group ranked for one objective, best first."""

    prompt_id: str
    objective: str
    candidates: list[Candidate]
    model: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> Candidates:
        cands = d.get("candidates")
        return cls(
            prompt_id=_opt_str(d, "prompt_id") or "",
            objective=_opt_str(d, "objective") or "",
            model=_opt_str(d, "model"),
            candidates=[
                Candidate(id=_opt_str(c, "id") or "", rank=_int(c, "rank"), score=_opt_float(c, "score"), model=_opt_str(c, "model"))
                for c in (cands if isinstance(cands, list) else [])
                if isinstance(c, dict)
            ],
            raw=d,
        )


@dataclass(frozen=True, kw_only=True)
class Lineage:
    """A bounded lineage graph: nodes ``{id, origin, model?, generation, depth}`` and edges
    ``{from, to, kind}`` pointing from parent to child."""

    root: str
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    truncated: bool
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> Lineage:
        nodes = d.get("nodes")
        edges = d.get("edges")
        return cls(
            root=_opt_str(d, "root") or "",
            nodes=[n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else [],
            edges=[e for e in edges if isinstance(e, dict)] if isinstance(edges, list) else [],
            truncated=d.get("truncated") is True,
            raw=d,
        )


@dataclass(frozen=True, kw_only=True)
class PolicyRef:
    """One immutable policy version."""

    name: str
    version: int
    sha256: str

    @classmethod
    def from_json(cls, d: JSON) -> PolicyRef:
        return cls(name=_opt_str(d, "name") or "", version=_int(d, "version"), sha256=_opt_str(d, "sha256") or "")

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, kw_only=True)
class PolicyVersion:
    """A stored policy version; ``module`` is ``None`` in listings."""

    name: str
    version: int
    sha256: str
    limits: dict[str, Any]
    module: str | None = None
    created_at: str = ""
    log_index: int = 0
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> PolicyVersion:
        return cls(
            name=_opt_str(d, "name") or "",
            version=_int(d, "version"),
            sha256=_opt_str(d, "sha256") or "",
            limits=_dict(d, "limits"),
            module=_opt_str(d, "module"),
            created_at=_opt_str(d, "created_at") or "",
            log_index=_int(d, "log_index"),
            raw=d,
        )


@dataclass(frozen=True, kw_only=True)
class Policy:
    """A policy: its latest version (with the module text) and every version, oldest first."""

    name: str
    latest: PolicyVersion
    versions: list[PolicyVersion]

    @classmethod
    def from_json(cls, d: JSON) -> Policy:
        versions = d.get("versions")
        return cls(
            name=_opt_str(d, "name") or "",
            latest=PolicyVersion.from_json(_dict(d, "latest")),
            versions=[PolicyVersion.from_json(v) for v in versions if isinstance(v, dict)] if isinstance(versions, list) else [],
        )


@dataclass(frozen=True, kw_only=True)
class MixStats:
    """The summary of a mix's samples, what a policy's ``deny`` sees as ``input.mix.stats``.
    ``generations`` is keyed by the generation as an ``int`` (the JSON keys are strings);
    ``models`` by ``name@version``. Every other statistic is in ``raw``."""

    human: int
    synthetic: int
    synthetic_ratio: float
    generations: dict[int, int]
    models: dict[str, int]
    max_model_share: float
    max_generation: int
    pool: int
    datasets: dict[str, int] = field(default_factory=dict)
    licenses: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> MixStats:
        gens: dict[int, int] = {}
        for k, v in _counts(d, "generations").items():
            try:
                gens[int(k)] = v
            except ValueError:
                pass
        return cls(
            human=_int(d, "human"),
            synthetic=_int(d, "synthetic"),
            synthetic_ratio=_float(d, "synthetic_ratio"),
            generations=gens,
            models=_counts(d, "models"),
            max_model_share=_float(d, "max_model_share"),
            max_generation=_int(d, "max_generation"),
            pool=_int(d, "pool"),
            datasets=_counts(d, "datasets"),
            licenses=_counts(d, "licenses"),
            metrics=_dict(d, "metrics"),
            raw=d,
        )


@dataclass(frozen=True, kw_only=True)
class Mix:
    """A built, immutable training mix."""

    id: str
    policy: PolicyRef
    decision_id: str
    size: int
    seed: int
    strategy: dict[str, Any]
    request: dict[str, Any]
    stats: MixStats
    manifest_sha256: str
    created_at: str = ""
    log_index: int = 0
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> Mix:
        return cls(
            id=_opt_str(d, "id") or "",
            policy=PolicyRef.from_json(_dict(d, "policy")),
            decision_id=_opt_str(d, "decision_id") or "",
            size=_int(d, "size"),
            seed=_int(d, "seed"),
            strategy=_dict(d, "strategy"),
            request=_dict(d, "request"),
            stats=MixStats.from_json(_dict(d, "stats")),
            manifest_sha256=_opt_str(d, "manifest_sha256") or "",
            created_at=_opt_str(d, "created_at") or "",
            log_index=_int(d, "log_index"),
            raw=d,
        )


@dataclass(frozen=True, kw_only=True)
class DryRun:
    """The decision a mix request would get and the mix it would build; nothing was saved. A refusal
    is ``allowed=False`` with ``violations``, not an error."""

    allowed: bool
    violations: list[str]
    policy: PolicyRef
    size: int
    strategy: dict[str, Any]
    stats: MixStats
    manifest_sha256: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> DryRun:
        return cls(
            allowed=d.get("allowed") is True,
            violations=_strs(d, "violations"),
            policy=PolicyRef.from_json(_dict(d, "policy")),
            size=_int(d, "size"),
            strategy=_dict(d, "strategy"),
            stats=MixStats.from_json(_dict(d, "stats")),
            manifest_sha256=_opt_str(d, "manifest_sha256"),
            raw=d,
        )


@dataclass(frozen=True, kw_only=True)
class Decision:
    """A recorded policy decision on a mix request, with the summary (``input``) the policy saw."""

    id: str
    policy: PolicyRef
    allowed: bool
    violations: list[str]
    input: dict[str, Any]
    evaluated_at: str
    log_index: int
    mix_id: str | None = None
    error: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> Decision:
        return cls(
            id=_opt_str(d, "id") or "",
            policy=PolicyRef.from_json(_dict(d, "policy")),
            allowed=d.get("allowed") is True,
            violations=_strs(d, "violations"),
            input=_dict(d, "input"),
            evaluated_at=_opt_str(d, "evaluated_at") or "",
            log_index=_int(d, "log_index"),
            mix_id=_opt_str(d, "mix_id"),
            error=_opt_str(d, "error"),
            raw=d,
        )


@dataclass(frozen=True, kw_only=True)
class APIKey:
    """An API key's record. ``key`` (the secret) is set only in the answer that created it."""

    id: str
    role: str
    created_at: str = ""
    revoked_at: str | None = None
    log_index: int = 0
    key: str | None = field(default=None, repr=False)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> APIKey:
        return cls(
            id=_opt_str(d, "id") or "",
            role=_opt_str(d, "role") or "",
            created_at=_opt_str(d, "created_at") or "",
            revoked_at=_opt_str(d, "revoked_at"),
            log_index=_int(d, "log_index"),
            key=_opt_str(d, "key"),
            raw=d,
        )


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """The log's signed checkpoint (a C2SP ``tlog-checkpoint`` note). ``note`` is the text exactly as
    served, for ``registryd verify`` or a note verifier; this client does not check the signature."""

    origin: str
    tree_size: int
    root_hash: str
    note: str

    @classmethod
    def parse(cls, note: str) -> Checkpoint:
        lines = note.split("\n")
        if len(lines) < 3:
            raise ValueError("not a checkpoint note: fewer than three lines")
        try:
            size = int(lines[1])
        except ValueError as e:
            raise ValueError(f"not a checkpoint note: tree size {lines[1]!r}") from e
        return cls(origin=lines[0], tree_size=size, root_hash=lines[2], note=note)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing. ``next_cursor`` is ``None`` on the last page."""

    items: list[T]
    next_cursor: str | None
