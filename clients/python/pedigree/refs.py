"""References to samples, for ``parents`` and ``prompt_id``, and the keys of a lookup.

A reference is plain JSON, what the registry reads:

- ``ref(id)``: the id string itself;
- ``ext(external_id, dataset=None)``: ``{"external_id": …}``, with ``"dataset"`` when given (the
  registry looks in the naming sample's own dataset otherwise);
- ``item(i)``: ``{"item": i}``, an earlier item of the same call: the *i*-th item (0-based) of the
  iterable given to :meth:`Client.ingest` or :meth:`Client.ingest_iter`, wherever the client cuts
  it into batches; of the list given to :meth:`Client.ingest_batch`.

Hand-written dicts of the same shapes (say, read from a JSON Lines file) are the same references.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from .records import Sample

#: A sample reference as sent: an id string, or an ``external_id`` or ``item`` object.
SampleRef = Union[str, dict[str, Any]]

_MAX_EXTERNAL_ID_BYTES = 256


def _external_id_problem(v: object) -> str | None:
    """What the registry's ExternalId schema says is wrong with ``v``, or ``None``."""
    if not isinstance(v, str):
        return f"must be a string, not {type(v).__name__}"
    if not v:
        return "must not be empty"
    try:
        n = len(v.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid UTF-8 (it holds a lone surrogate)"
    if n > _MAX_EXTERNAL_ID_BYTES:
        return f"is {n} bytes long, more than {_MAX_EXTERNAL_ID_BYTES}"
    if any(c < " " or c == "\x7f" for c in v):
        return "contains a control character"
    if v.strip() != v:
        return "starts or ends with a space"
    return None


def _is_id(v: object) -> bool:
    """Whether ``v`` is a registry id: a UUID in canonical lowercase form."""
    if not isinstance(v, str) or len(v) != 36:
        return False
    try:
        return str(uuid.UUID(v)) == v
    except ValueError:
        return False


def ref(sample: str | Sample) -> str:
    """A reference to a registered sample by its id (or by a :class:`Sample` record's id)."""
    sid = getattr(sample, "id", sample)
    if not _is_id(sid):
        raise ValueError(f"{sid!r} is not a sample id (a UUID in canonical lowercase form)")
    return str(sid)


def ext(external_id: str, dataset: str | None = None) -> dict[str, str]:
    """A reference to the sample whose ``external_id`` this is within ``dataset``; without a
    dataset the registry looks in the naming sample's own dataset.

    In :meth:`Client.lookup`, which has no naming sample, the dataset must be given (``""`` for the
    samples registered without one)."""
    problem = _external_id_problem(external_id)
    if problem:
        raise ValueError(f"external_id {external_id!r} {problem}")
    out = {"external_id": external_id}
    if dataset is not None:
        if not isinstance(dataset, str):
            raise ValueError(f"dataset must be a string, not {type(dataset).__name__}")
        out["dataset"] = dataset
    return out


def item(i: int) -> dict[str, int]:
    """A reference to an earlier item of the same call, by its 0-based position in the input."""
    if not isinstance(i, int) or isinstance(i, bool) or i < 0:
        raise ValueError(f"item({i!r}): the position of an item is an int, 0 or more")
    return {"item": i}


def _item_of(v: object, what: str) -> int | None:
    """The position ``v`` names if it is an item reference; ``None`` for any other value."""
    if not isinstance(v, Mapping) or "item" not in v:
        return None
    j = v["item"]
    if len(v) != 1 or not isinstance(j, int) or isinstance(j, bool) or j < 0:
        raise ValueError(f"{what} {dict(v)!r} is not an item reference: that is {{\"item\": i}} alone, i >= 0")
    return j


def _names_items(s: Mapping[str, Any]) -> bool:
    """Whether a sample's ``parents`` or ``prompt_id`` hold an item reference (cheap, no copy)."""
    p = s.get("prompt_id")
    if isinstance(p, Mapping) and "item" in p:
        return True
    ps = s.get("parents")
    return isinstance(ps, (list, tuple)) and any(isinstance(x, Mapping) and "item" in x for x in ps)


class _AnsweredIds:
    """The ids the registry gave the items already answered, in input order: 16 bytes per id (they
    are UUIDs), so that an ``item()`` reference may name an item of any earlier batch without the
    input, or the results, being kept."""

    def __init__(self) -> None:
        self._packed = bytearray()
        self._strs: list[str] | None = None  # used instead if an id is not a canonical UUID

    def __len__(self) -> int:
        return len(self._strs) if self._strs is not None else len(self._packed) // 16

    def extend(self, ids: Iterable[str]) -> None:
        for sid in ids:
            if self._strs is None:
                b = _pack(sid)
                if b is not None:
                    self._packed += b
                    continue
                self._strs = [self[k] for k in range(len(self))]
                self._packed = bytearray()
            self._strs.append(sid)

    def __getitem__(self, j: int) -> str:
        if self._strs is not None:
            return self._strs[j]
        h = self._packed[16 * j: 16 * j + 16].hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _pack(sid: str) -> bytes | None:
    """The 16 bytes of a canonical lowercase UUID string, or ``None`` for any other string."""
    if len(sid) != 36 or sid[8] != "-" or sid[13] != "-" or sid[18] != "-" or sid[23] != "-":
        return None
    h = sid[:8] + sid[9:13] + sid[14:18] + sid[19:23] + sid[24:]
    if h != h.lower():
        return None
    try:
        b = bytes.fromhex(h)
    except ValueError:
        return None
    return b if len(b) == 16 else None


def _place(s: dict[str, Any], i: int, start: int, answered: _AnsweredIds) -> dict[str, Any]:
    """Sample ``s``, item ``i`` of the caller's input, as sent in the batch whose first item is
    input item ``start``: each ``{"item": j}`` becomes ``{"item": j - start}`` when item ``j`` is in
    the same batch, or the id item ``j`` was answered with when it was in an earlier one. A
    reference to item ``i`` itself or a later one is a ValueError."""

    def one(v: Any, field: str) -> Any:
        j = _item_of(v, f"item {i}: {field}")
        if j is None:
            return v
        if j >= i:
            raise ValueError(
                f"item {i}: {field} names item {j}, which is not before it: list what a sample refers to "
                f"first (nothing from item {start} on was sent)")
        if j >= start:
            return {"item": j - start}
        return answered[j]

    out = dict(s)
    if "prompt_id" in out:
        out["prompt_id"] = one(out["prompt_id"], "prompt_id")
    ps = out.get("parents")
    if isinstance(ps, (list, tuple)):
        out["parents"] = [one(p, f"parents/{k}") for k, p in enumerate(ps)]
    return out


def _lookup_key(k: object, n: int) -> tuple[str, str]:
    """An external key of a lookup as ``(dataset, external_id)``: from ``ext(…, dataset=…)``, a
    mapping of that shape, or a ``(dataset, external_id)`` pair."""
    if isinstance(k, Mapping):
        ds, eid = k.get("dataset"), k.get("external_id")
        extra = set(k) - {"dataset", "external_id"}
        if extra:
            raise ValueError(f"external_ids[{n}] has keys {sorted(extra)}: a key is dataset and external_id")
    elif isinstance(k, tuple) and len(k) == 2:
        ds, eid = k
    else:
        raise ValueError(f"external_ids[{n}] is {k!r}: give ext(external_id, dataset=...) or a (dataset, external_id) pair")
    if ds is None:
        raise ValueError(f"external_ids[{n}] ({eid!r}) has no dataset: a lookup has no sample whose dataset "
                         "it could default to; give dataset=\"\" for samples registered without one")
    if not isinstance(ds, str):
        raise ValueError(f"external_ids[{n}]: dataset must be a string, not {type(ds).__name__}")
    problem = _external_id_problem(eid)
    if problem:
        raise ValueError(f"external_ids[{n}]: external_id {eid!r} {problem}")
    return ds, str(eid)
