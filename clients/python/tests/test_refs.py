"""Ids a pipeline controls: external_id on samples, references by ref()/ext()/item() in parents and
prompt_id, lookup by id, external id and content, and the registry's refusals of each."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pedigree

from .base import ServerTestCase, human
from .proxy import Proxy

TEACHER = "ref-teacher@1"


def answer(text: str, dataset: str, prompt: Any, **kw: Any) -> dict[str, Any]:
    return {"text": text, "origin": "model", "model": TEACHER, "dataset": dataset, "prompt_id": prompt, **kw}


class RefTest(ServerTestCase):
    proxy: Proxy

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.proxy = Proxy(cls.server.url)
        cls.addClassCleanup(cls.proxy.close)
        name, version = TEACHER.split("@")
        cls.ingest.create_model(name, version, declared_generation=0)

    def setUp(self) -> None:
        self.proxy.reset()

    def via_proxy(self) -> pedigree.Client:
        return self.client(self.ingest_key, self.proxy.url)

    def sent_batches(self) -> list[list[dict[str, Any]]]:
        return [json.loads(r.body)["samples"] for r in self.proxy.requests("POST", "/v1/samples/batch")]

    def stored(self, dataset: str) -> list[pedigree.Sample]:
        return list(self.auditor.iter_samples(dataset=dataset))

    # -- external_id --------------------------------------------------------------------------

    def test_external_id_round_trip(self) -> None:
        [r] = self.ingest.ingest([human("A prompt with the pipeline's own id.", "rt", external_id="rt-1")])
        self.assertEqual((r.external_id, r.dataset, r.duplicate), ("rt-1", "rt", False))
        self.assertEqual(r.raw["external_id"], "rt-1")
        got = self.auditor.get_sample(r.id)
        self.assertEqual((got.id, got.external_id), (r.id, "rt-1"))
        [found] = self.ingest.lookup(external_ids=[pedigree.ext("rt-1", dataset="rt")])
        self.assertEqual((found.id, found.external_id, found.text), (r.id, "rt-1", "A prompt with the pipeline's own id."))
        # The same sample with the same external_id again: the stored record, a duplicate.
        again = self.ingest.create_sample(human("A prompt with the pipeline's own id.", "rt", external_id="rt-1"))
        self.assertEqual((again.id, again.external_id, again.duplicate), (r.id, "rt-1", True))
        # A sample without one has none.
        plain = self.ingest.create_sample(human("A prompt without an id of its own.", "rt"))
        self.assertIsNone(plain.external_id)
        self.assertIsNone(self.auditor.get_sample(plain.id).external_id)

    def test_answers_name_their_prompts_by_ext_in_one_ingest(self) -> None:
        def work() -> Iterator[dict[str, Any]]:
            for q in range(5):
                yield human(f"Ext prompt {q}: name the colour of the sea at dawn.", "ext-prompts", external_id=f"q{q}")
                for k in range(3):
                    yield answer(f"Answer {k} to ext prompt {q}: grey, then silver, then blue {k}.", "ext-answers",
                                 pedigree.ext(f"q{q}", dataset="ext-prompts"), external_id=f"q{q}/{k}")

        progress: list[int] = []
        results = self.via_proxy().ingest(work(), batch_size=3, progress=lambda d, t: progress.append(d))
        # Groups of four in batches of three: most answers are sent in a later batch than their
        # prompt, and one request holds a prompt and its first answers.
        self.assertEqual(progress, [3, 6, 9, 12, 15, 18, 20])
        self.assertEqual(len(results), 20)
        for q in range(5):
            prompt = results[4 * q]
            self.assertEqual((prompt.external_id, prompt.dataset), (f"q{q}", "ext-prompts"))
            for k in range(3):
                a = results[4 * q + 1 + k]
                self.assertEqual(a.external_id, f"q{q}/{k}")
                self.assertEqual(a.prompt_id, prompt.id)
                self.assertIn(prompt.id, a.parents)
                self.assertEqual(a.generation, 1)
            last = results[4 * q + 3]
            assert last.best_of_k is not None
            self.assertEqual(last.best_of_k.k, 3)
        # The references went as written: the registry resolved them, the client did not.
        self.assertEqual(self.sent_batches()[0][1]["prompt_id"], {"external_id": "q0", "dataset": "ext-prompts"})
        # The stored answers say the same.
        for s in self.stored("ext-answers"):
            assert s.external_id is not None
            self.assertEqual(s.prompt_id, results[4 * int(s.external_id[1])].id)

    def test_ext_without_a_dataset_looks_in_the_naming_samples_own(self) -> None:
        results = self.ingest.ingest([
            human("Own-dataset prompt: what is a tide?", "own", external_id="tide"),
            answer("The sea rising and falling with the moon.", "own", pedigree.ext("tide")),
        ])
        self.assertEqual(results[1].prompt_id, results[0].id)

    # -- item ---------------------------------------------------------------------------------

    def test_item_within_a_batch(self) -> None:
        samples = [
            human("Item prompt: why do cats purr?", "items"),
            answer("To calm themselves and others.", "items", pedigree.item(0)),
            {"text": "A rewrite of the purring answer.", "origin": "model", "model": TEACHER, "dataset": "items",
             "parents": [pedigree.item(1), pedigree.item(0)]},
        ]
        for results in (self.ingest.ingest_batch(samples), self.ingest.ingest(samples)):
            self.assertEqual(results[1].prompt_id, results[0].id)
            self.assertEqual(sorted(results[2].parents), sorted([results[0].id, results[1].id]))
        # The second call stored nothing new.
        self.assertEqual(len(self.stored("items")), 3)

    def test_item_counts_in_the_input_not_in_the_batch(self) -> None:
        # Item 0 is named by every answer; groups of three (prompt, two answers) in batches of
        # four: references stay within a batch, reach into the previous one, and further back.
        def work() -> Iterator[dict[str, Any]]:
            yield human("Shared seed: a style guide for answers.", "cross")
            for q in range(6):
                p = 1 + 3 * q
                yield human(f"Cross prompt {q}: describe a bridge in fog.", "cross")
                for k in range(2):
                    yield {"text": f"Cross answer {k} to prompt {q}: steel fading into white {k}.", "origin": "model",
                           "model": TEACHER, "dataset": "cross", "prompt_id": pedigree.item(p), "parents": [pedigree.item(0)]}

        client = self.via_proxy()
        for results in (client.ingest(work(), batch_size=4), list(client.ingest_iter(work(), batch_size=4))):
            self.assertEqual(len(results), 19)
            for q in range(6):
                p = 1 + 3 * q
                for a in results[p + 1: p + 3]:
                    self.assertEqual(a.prompt_id, results[p].id)
                    self.assertEqual(sorted(a.parents), sorted([results[0].id, results[p].id]))
        # What was sent: within a batch an item reference is made relative to the batch; an item
        # of an earlier batch is named by the id it was answered with.
        batches = self.sent_batches()[:5]
        self.assertEqual([len(b) for b in batches], [4, 4, 4, 4, 3])
        self.assertEqual((batches[0][2]["prompt_id"], batches[0][2]["parents"]), ({"item": 1}, [{"item": 0}]))  # input item 2
        self.assertEqual((batches[1][1]["prompt_id"], batches[1][1]["parents"]), ({"item": 0}, [results[0].id]))  # item 5 names 4 and 0
        self.assertEqual(batches[2][0]["prompt_id"], results[7].id)  # input item 8 names item 7, of the batch before
        self.assertEqual(batches[3][0]["prompt_id"], results[10].id)  # input item 12 names item 10
        self.assertEqual((batches[4][1]["prompt_id"], batches[4][1]["parents"]), ({"item": 0}, [results[0].id]))  # item 17
        self.assertEqual(len(self.stored("cross")), 19)

    def test_item_naming_a_duplicate_names_the_stored_sample(self) -> None:
        stored = self.ingest.create_sample(human("Dup prompt: what is rain?", "dup-items"))
        results = self.ingest.ingest([
            human("Dup prompt: what is rain?", "dup-items"),
            human("Filler between the prompt and its answer.", "dup-items"),
            answer("Water falling from clouds.", "dup-items", pedigree.item(0)),
        ], batch_size=2)
        self.assertTrue(results[0].duplicate)
        self.assertEqual(results[0].id, stored.id)
        self.assertEqual(results[2].prompt_id, stored.id)

    def test_an_idempotent_rerun_with_items_across_batches_replays(self) -> None:
        samples = [human("Replay prompt: what is a comet?", "replay-items"),
                   answer("Ice and dust with a tail.", "replay-items", pedigree.item(0)),
                   answer("A dirty snowball near the sun.", "replay-items", pedigree.item(0))]
        key = "items-" + uuid.uuid4().hex
        first = self.ingest.ingest(samples, batch_size=2, idempotency_key=key)
        again = self.ingest.ingest(samples, batch_size=2, idempotency_key=key)
        # Replays, not duplicates: the second batch's body (which names item 0 by its id) was the
        # same, and the caller's samples were not changed.
        self.assertEqual([(r.id, r.duplicate, r.log_index) for r in again], [(r.id, r.duplicate, r.log_index) for r in first])
        self.assertEqual(first[2].prompt_id, first[0].id)
        self.assertEqual(samples[2]["prompt_id"], {"item": 0})

    def test_helpers_refuse_what_cannot_be_a_reference(self) -> None:
        sid = str(uuid.uuid4())
        self.assertEqual(pedigree.ref(sid), sid)
        self.assertEqual(pedigree.ext("q1"), {"external_id": "q1"})
        self.assertEqual(pedigree.ext("q1", dataset=""), {"external_id": "q1", "dataset": ""})
        self.assertEqual(pedigree.item(0), {"item": 0})
        for bad in (lambda: pedigree.ref("q1"), lambda: pedigree.ref(sid.upper()), lambda: pedigree.ext(""),
                    lambda: pedigree.ext(" q1"), lambda: pedigree.ext("a\nb"), lambda: pedigree.ext("x" * 257),
                    lambda: pedigree.item(-1), lambda: pedigree.item(True)):
            with self.assertRaises(ValueError):
                bad()

    # -- refusals -----------------------------------------------------------------------------

    def test_a_later_item_is_refused_by_the_registry_with_422(self) -> None:
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.ingest_batch([
                answer("An answer that names what comes after it.", "later", pedigree.item(1)),
                human("The prompt, listed too late.", "later"),
            ])
        e = cm.exception
        self.assertEqual((e.status, e.code), (422, "unprocessable"))
        self.assertIn("samples/0/prompt_id", e.field_errors)
        self.assertIn("item 1", e.field_errors["samples/0/prompt_id"])
        self.assertEqual(self.stored("later"), [])

    def test_ingest_refuses_a_later_item_before_sending_its_batch(self) -> None:
        client = self.via_proxy()
        samples = [human("Before 0: a fine prompt.", "later-local"), human("Before 1: a fine prompt.", "later-local"),
                   human("Before 2: in the refused batch.", "later-local"),
                   answer("Names item 4, after it.", "later-local", pedigree.item(4)),
                   human("Item 4.", "later-local")]
        with self.assertRaises(ValueError) as cm:
            client.ingest(samples, batch_size=2)
        self.assertIn("item 3: prompt_id names item 4, which is not before it", str(cm.exception))
        # The first batch went; the batch holding the bad item did not.
        self.assertEqual(len(self.proxy.requests("POST", "/v1/samples/batch")), 1)
        self.assertEqual(sorted(s.text for s in self.stored("later-local")), ["Before 0: a fine prompt.", "Before 1: a fine prompt."])
        # An item naming itself, in a parent, in the first batch: nothing is sent.
        self.proxy.reset()
        with self.assertRaises(ValueError) as cm:
            client.ingest([human("Self 0.", "later-self"),
                           {"text": "Self 1.", "origin": "human", "dataset": "later-self", "parents": [pedigree.item(1)]}])
        self.assertIn("item 1: parents/0 names item 1", str(cm.exception))
        self.assertEqual(self.proxy.requests("POST", "/v1/samples/batch"), [])
        # A malformed item reference is not passed on as a batch-relative one.
        with self.assertRaises(ValueError):
            client.ingest([human("Odd 0.", "later-self"), answer("Odd 1.", "later-self", {"item": 0, "dataset": "x"})])
        self.assertEqual(self.proxy.requests("POST", "/v1/samples/batch"), [])

    def test_an_unknown_external_reference_is_422_naming_the_field(self) -> None:
        samples = [human("Unknown-ref prompt: what is fog?", "unknown-ref"),
                   answer("Cloud at ground level.", "unknown-ref", pedigree.ext("no-such-prompt", dataset="unknown-ref"))]
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.ingest(samples)
        e = cm.exception
        self.assertEqual((e.status, e.code, e.batch_offset), (422, "unprocessable", 0))
        self.assertIn("samples/1/prompt_id", e.field_errors)
        self.assertIn("no-such-prompt", e.field_errors["samples/1/prompt_id"])
        # In parents, the field names the parent; a single sample's field has no samples/ prefix.
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.create_sample({"text": "A rewrite of nothing.", "origin": "human", "dataset": "unknown-ref",
                                       "parents": [pedigree.ext("ghost")]})
        self.assertEqual(cm.exception.status, 422)
        self.assertIn("parents/0", cm.exception.field_errors)
        # All or nothing: the prompt of the refused batch was not stored either.
        self.assertEqual(self.stored("unknown-ref"), [])

    def test_an_external_id_reused_for_other_text_is_409_conflict(self) -> None:
        first = self.ingest.create_sample(human("The text that holds reuse-1.", "reuse", external_id="reuse-1"))
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.ingest([human("Other text that wants reuse-1.", "reuse", external_id="reuse-1")])
        e = cm.exception
        self.assertEqual((e.status, e.code, e.existing), (409, "conflict", first.id))
        self.assertIn("reuse-1", e.detail or "")
        # The stored sample sent again with another external_id: the same refusal.
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.create_sample(human("The text that holds reuse-1.", "reuse", external_id="reuse-2"))
        self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.existing), (409, "conflict", first.id))
        self.assertEqual([(s.id, s.external_id) for s in self.stored("reuse")], [(first.id, "reuse-1")])
        # Unique within a dataset only: another dataset may use the same external_id.
        other = self.ingest.create_sample(human("Other text that wants reuse-1.", "reuse-elsewhere", external_id="reuse-1"))
        self.assertFalse(other.duplicate)
        self.assertNotEqual(other.id, first.id)

    # -- lookup -------------------------------------------------------------------------------

    def test_lookup_by_id_and_external_id(self) -> None:
        a, b, c = self.ingest.ingest([human("Lookup A.", "look", external_id="a"), human("Lookup B.", "look", external_id="b"),
                                      human("Lookup C, no external id.", "look")])
        unknown = str(uuid.uuid4())
        for who in (self.ingest, self.auditor):
            found = who.lookup(ids=[c.id, unknown, a.id],
                               external_ids=[pedigree.ext("b", dataset="look"), ("look", "a"), ("look", "nope"),
                                             pedigree.ext("b", dataset="elsewhere")])
            # Unknown keys are left out; a found by id and by external id comes once; order is the
            # keys' (ids, then external ids).
            self.assertEqual([s.id for s in found], [c.id, a.id, b.id])
            self.assertTrue(all(isinstance(s, pedigree.Sample) for s in found))
            self.assertEqual([(s.text, s.external_id) for s in found],
                             [("Lookup C, no external id.", None), ("Lookup A.", "a"), ("Lookup B.", "b")])
        self.assertEqual(self.ingest.lookup(ids=[unknown]), [])
        self.assertEqual(self.ingest.lookup(), [])
        self.assertEqual([s.id for s in self.ingest.lookup(ids=[a])], [a.id])  # a record stands for its id
        with self.assertRaises(ValueError) as cm:
            self.ingest.lookup(external_ids=[pedigree.ext("a")])  # no dataset to default to
        self.assertIn("dataset", str(cm.exception))
        with self.assertRaises(ValueError):
            self.ingest.lookup(ids=["not-an-id"])
        with self.assertRaises(ValueError):
            self.ingest.lookup(ids=a.id)  # type: ignore[arg-type]
        # The empty dataset is a dataset of its own, named "".
        bare = self.ingest.create_sample({"text": "Lookup D, in no dataset.", "origin": "human", "external_id": "look-d"})
        self.assertEqual([s.id for s in self.ingest.lookup(external_ids=[("", "look-d")])], [bare.id])

    def test_lookup_by_content(self) -> None:
        prompt = human("What does a lookup by content need?", "look-content", external_id="lc-q")
        reply = answer("The text with its origin, model and prompt.", "look-content",
                       pedigree.ext("lc-q"), external_id="lc-a")
        p, a = self.ingest.ingest([prompt, reply])
        # The ingest items themselves are keys: the text is hashed here, the rest is the record's key.
        found = self.ingest.lookup(contents=[reply, prompt])
        self.assertEqual([s.id for s in found], [a.id, p.id])
        sent = self.via_proxy().lookup(contents=[{"text": prompt["text"]}])
        self.assertEqual([s.id for s in sent], [p.id])
        [body] = [json.loads(r.body) for r in self.proxy.requests("POST", "/v1/samples/lookup")]
        self.assertEqual(body, {"contents": [{"content_sha256": hashlib.sha256(prompt["text"].encode()).hexdigest()}]})
        # The answer's text as human text, or under another prompt, is another record.
        self.assertEqual(self.ingest.lookup(contents=[{"text": reply["text"]},
                                                      {**reply, "prompt_id": a.id}]), [])
        with self.assertRaises(ValueError):
            self.ingest.lookup(contents=[{"origin": "human"}])
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.lookup(contents=[{**reply, "model": "nobody@1"}])
        self.assertEqual(cm.exception.status, 422)

    def test_lookup_of_more_than_1000_keys_is_chunked(self) -> None:
        results = self.ingest.ingest(
            (human(f"Chunked lookup sample {i}.", "look-many", external_id=f"m{i}") for i in range(1100)), batch_size=1100)
        ids = [str(uuid.uuid4()) for _ in range(5)] + [r.id for r in results[:900]]
        keys = [pedigree.ext(f"m{i}", dataset="look-many") for i in range(800, 1100)] + [pedigree.ext("m-none", dataset="look-many")]
        found = self.client(self.ingest_key, self.proxy.url).lookup(ids=ids, external_ids=keys)
        # Every sample once, in key order, unknown keys left out: 800..899 are named both ways, in
        # the same request (800..894) and in the next one (895..899).
        self.assertEqual([s.id for s in found], [r.id for r in results])
        sent = [json.loads(r.body) for r in self.proxy.requests("POST", "/v1/samples/lookup")]
        self.assertEqual([len(b.get("ids", [])) + len(b.get("external_ids", [])) for b in sent], [1000, 206])
        self.assertEqual(sent[1]["external_ids"][0], {"dataset": "look-many", "external_id": "m895"})
