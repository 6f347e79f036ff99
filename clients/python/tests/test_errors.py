"""Every error the registry answers comes back as a ProblemError with the problem's fields."""

from __future__ import annotations

import uuid

import pedigree

from .base import ServerTestCase, human


class ProblemTest(ServerTestCase):
    def test_a_bad_key_is_401(self) -> None:
        bad = self.client("pdg_" + "0" * 32 + "_" + "A" * 43)
        with self.assertRaises(pedigree.ProblemError) as cm:
            bad.ingest([human("never stored", "bad-key")])
        e = cm.exception
        self.assertIsInstance(e, pedigree.PedigreeError)
        self.assertEqual((e.status, e.code, e.title), (401, "unauthorized", "Unauthorized"))
        self.assertTrue(e.detail)
        self.assertTrue(e.request_id)
        self.assertEqual(e.problem["status"], 401)
        self.assertEqual(e.problem["type"], "https://pedigree.dev/problems/unauthorized")
        self.assertEqual(e.batch_offset, 0)
        self.assertIn("401 unauthorized", str(e))
        self.assertEqual(self.auditor.list_samples(dataset="bad-key").items, [])

    def test_a_role_without_the_right_is_403(self) -> None:
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.list_samples()
        self.assertEqual((cm.exception.status, cm.exception.code), (403, "forbidden"))

    def test_bad_input_is_400_with_its_fields(self) -> None:
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.create_sample({"text": "a robot wrote this", "origin": "robot"})
        e = cm.exception
        self.assertEqual((e.status, e.code), (400, "invalid"))
        self.assertIn("origin", e.field_errors)
        self.assertEqual(e.errors[0]["field"], "origin")
        self.assertNotIsInstance(e, pedigree.PolicyDeniedError)

    def test_a_refused_batch_names_its_first_item_and_the_earlier_batches_stay(self) -> None:
        samples = [human(f"Batch item {i} is fine.", "partial") for i in range(3)]
        samples.append({"text": "Batch item 3 is not.", "origin": "robot", "dataset": "partial"})
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.ingest(samples, batch_size=2)
        e = cm.exception
        self.assertEqual((e.status, e.code, e.batch_offset), (400, "invalid", 2))
        self.assertIn("samples/1/origin", e.field_errors)
        self.assertIn("batch starting at item 2", str(e))
        stored = {s.text for s in self.auditor.iter_samples(dataset="partial")}
        self.assertEqual(stored, {"Batch item 0 is fine.", "Batch item 1 is fine."})

    def test_unknown_references_are_422(self) -> None:
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.create_sample({"text": "from a ghost", "origin": "model", "model": "ghost@1"})
        self.assertEqual((cm.exception.status, cm.exception.code), (422, "unprocessable"))
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.create_model("orphan", "1", trained_on=[str(uuid.uuid4())])
        self.assertEqual((cm.exception.status, cm.exception.code), (422, "unprocessable"))
        self.assertIn("trained_on", cm.exception.field_errors)

    def test_not_found_is_404(self) -> None:
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.auditor.get_sample(str(uuid.uuid4()))
        self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.export(str(uuid.uuid4()))
        self.assertEqual(cm.exception.status, 404)

    def test_relabelling_model_text_as_human_is_409_naming_the_original(self) -> None:
        self.ingest.create_model("relabel", "1", declared_generation=0)
        m = self.ingest.create_sample({"text": "Text a model wrote, once.", "origin": "model", "model": "relabel@1"})
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.create_sample(human("Text a model wrote, once.", "relabel"))
        self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.existing), (409, "provenance_conflict", m.id))

    def test_a_taken_model_name_is_409(self) -> None:
        first = self.ingest.create_model("taken", "1", declared_generation=0)
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.create_model("taken", "1", declared_generation=0)
        self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.existing), (409, "conflict", first.id))

    def test_a_refused_mix_is_policy_denied_with_violations_and_a_recorded_decision(self) -> None:
        self.ingest.ingest([human(f"Only a few human samples, number {i}.", "too-few") for i in range(5)])
        req = dict(size=100, seed=1, filter={"datasets": ["too-few"]})
        with self.assertRaises(pedigree.PolicyDeniedError) as cm:
            self.ingest.build_mix(**req)  # type: ignore[call-overload]
        e = cm.exception
        self.assertIsInstance(e, pedigree.ProblemError)
        self.assertEqual((e.status, e.code), (422, "policy_denied"))
        self.assertTrue(any("at least 100" in v for v in e.violations), e.violations)
        self.assertTrue(e.decision_id)
        d = self.auditor.get_decision(e.decision_id or "")
        self.assertFalse(d.allowed)
        self.assertIsNone(d.mix_id)
        self.assertEqual(d.violations, e.violations)
        self.assertEqual(d.policy.name, "default")
        self.assertEqual(d.input["stats"]["human"], 5)
        # A dry run of the same request answers the refusal instead of raising it.
        dry = self.ingest.build_mix(**req, dry_run=True)  # type: ignore[call-overload]
        self.assertIsInstance(dry, pedigree.DryRun)
        self.assertFalse(dry.allowed)
        self.assertEqual(dry.violations, e.violations)
        self.assertEqual(dry.stats.human, 5)
