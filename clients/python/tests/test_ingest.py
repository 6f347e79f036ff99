"""Batch ingest from iterables, with progress and per-item results."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from typing import Any

import pedigree

from .base import ServerTestCase, human


class IngestTest(ServerTestCase):
    def test_generator_is_sent_in_batches_without_being_read_whole(self) -> None:
        consumed = 0

        def gen() -> Iterator[dict[str, Any]]:
            nonlocal consumed
            for i in range(25):
                consumed += 1
                yield human(f"Generator sample number {i}: the quick brown fox.", "gen")

        calls: list[tuple[int, int | None, int]] = []
        results = self.ingest.ingest(gen(), batch_size=10, progress=lambda done, total: calls.append((done, total, consumed)))

        # One callback per batch, with the running count, no total for a generator, and the
        # generator read at most one item past the batch just sent.
        self.assertEqual([(d, t) for d, t, _ in calls], [(10, None), (20, None), (25, None)])
        self.assertLessEqual(calls[0][2], 11)
        self.assertLessEqual(calls[1][2], 21)
        # One result per input, in input order, each a new record with what the registry assigned.
        self.assertEqual(len(results), 25)
        for i, r in enumerate(results):
            text = f"Generator sample number {i}: the quick brown fox."
            self.assertIsInstance(r, pedigree.IngestedSample)
            self.assertEqual(r.text, text)
            self.assertEqual(r.content_sha256, hashlib.sha256(text.encode()).hexdigest())
            self.assertFalse(r.duplicate)
            self.assertEqual(r.generation, 0)
            self.assertEqual(r.generation_basis, "human")
            self.assertEqual(r.metrics.tokens, 8)
            self.assertGreater(r.log_index, 0)
            uuid.UUID(r.id)
        self.assertEqual(len({r.id for r in results}), 25)
        self.assertEqual(len({r.log_index for r in results}), 25)
        # The registry holds exactly these.
        stored = list(self.auditor.iter_samples(dataset="gen", page_size=7))
        self.assertEqual(sorted(s.id for s in stored), sorted(r.id for r in results))

        # Sent again: the same records, marked duplicate, nothing written.
        again = self.ingest.ingest(gen(), batch_size=10)
        self.assertEqual([r.id for r in again], [r.id for r in results])
        self.assertTrue(all(r.duplicate for r in again))
        self.assertEqual(len(list(self.auditor.iter_samples(dataset="gen"))), 25)

    def test_a_sized_input_reports_its_total(self) -> None:
        samples = [human(f"Sized sample {i} about rivers and hills.", "sized") for i in range(7)]
        calls: list[tuple[int, int | None]] = []
        out = self.ingest.ingest(samples, batch_size=3, progress=lambda d, t: calls.append((d, t)))
        self.assertEqual(calls, [(3, 7), (6, 7), (7, 7)])
        self.assertEqual(len(out), 7)

    def test_batches_are_also_cut_by_bytes(self) -> None:
        seen: list[int] = []
        big = "word " * 400  # about 2 KB of JSON each
        samples = [human(f"{i} {big}", "bytes") for i in range(5)]
        out = self.ingest.ingest(samples, batch_size=100, max_batch_bytes=5000, progress=lambda d, t: seen.append(d))
        self.assertEqual(seen, [2, 4, 5])
        self.assertEqual(len(out), 5)

    def test_ingest_iter_is_lazy(self) -> None:
        it = self.ingest.ingest_iter((human(f"Lazy sample {i}, nothing sent yet.", "lazy") for i in range(4)), batch_size=2)
        self.assertEqual(self.auditor.list_samples(dataset="lazy").items, [])
        first = next(it)
        self.assertEqual(first.text, "Lazy sample 0, nothing sent yet.")
        self.assertEqual(len(self.auditor.list_samples(dataset="lazy").items), 2)
        rest = list(it)
        self.assertEqual([r.text for r in rest], [f"Lazy sample {i}, nothing sent yet." for i in (1, 2, 3)])

    def test_text_progress_reports_to_a_stream(self) -> None:
        buf = io.StringIO()
        self.ingest.ingest([human(f"Progress sample {i} on a log.", "progress") for i in range(5)], batch_size=2,
                           progress=pedigree.TextProgress(buf, label="samples", interval=0))
        lines = buf.getvalue().splitlines()
        self.assertEqual([ln.split(" (")[0] for ln in lines], ["samples 2/5", "samples 4/5", "samples 5/5"])
        self.assertIn("100.0%", lines[-1])

    def test_a_given_idempotency_key_makes_a_rerun_replay_each_batch(self) -> None:
        samples = [human(f"Resumable sample {i} of a long job.", "resume") for i in range(6)]
        key = "job-" + uuid.uuid4().hex
        first = self.ingest.ingest(samples, batch_size=4, idempotency_key=key)
        self.assertTrue(not any(r.duplicate for r in first))
        # The same job run again: each batch's key (<key>/<n>) replays the first answer, so the
        # results are the first run's, not duplicates. A new key would have answered duplicates.
        again = self.ingest.ingest(samples, batch_size=4, idempotency_key=key)
        self.assertEqual([(r.id, r.duplicate, r.log_index) for r in again], [(r.id, r.duplicate, r.log_index) for r in first])
        fresh = self.ingest.ingest(samples, batch_size=4)
        self.assertTrue(all(r.duplicate for r in fresh))
        # The same key with other samples is refused.
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.ingest([human("Something else entirely.", "resume")], idempotency_key=key)
        self.assertEqual((cm.exception.status, cm.exception.code), (422, "unprocessable"))

    def test_single_sample_and_lookup(self) -> None:
        r = self.ingest.create_sample(human("One sample, one request.", "single",
                                            source={"kind": "public_dataset", "license": "CC-BY-4.0"},
                                            metadata={"lang": "en"}))
        self.assertFalse(r.duplicate)
        got = self.auditor.get_sample(r.id)
        self.assertIsInstance(got, pedigree.Sample)
        self.assertEqual((got.id, got.text, got.dataset, got.metadata), (r.id, "One sample, one request.", "single", {"lang": "en"}))
        self.assertEqual(got.source, {"kind": "public_dataset", "license": "CC-BY-4.0"})
        self.assertEqual(self.ingest.create_sample(human("One sample, one request.", "single",
                                                         source={"kind": "public_dataset", "license": "CC-BY-4.0"},
                                                         metadata={"lang": "en"})).duplicate, True)

    def test_bad_arguments_are_refused_before_sending(self) -> None:
        with self.assertRaises(ValueError):
            self.ingest.ingest([], batch_size=0)
        with self.assertRaises(ValueError):
            self.ingest.ingest([], batch_size=10_001)
        with self.assertRaises(ValueError) as cm:
            self.ingest.ingest([human("fine", "x"), {"text": float("nan"), "origin": "human"}])
        self.assertIn("item 1", str(cm.exception))
        self.assertEqual(self.ingest.ingest([]), [])
