"""Models, best-of-k groups, a mix under the default policy, its export in every format the server
has, a student trained on it, decisions, reports and the log."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import tempfile
import uuid
from typing import Any

import pedigree

from .base import ServerTestCase, human
from .proxy import Proxy, Rule

WORDS = "river stone light garden signal cloud engine market letter bridge winter orbit pattern forest".split()
PROMPTS = 110  # the default policy requires at least 100 human samples in a mix
TEACHERS = ["t-alpha@1", "t-beta@1"]
DATASETS = ["p-prompts", "p-answers"]


class PipelineTest(ServerTestCase):
    prompts: list[pedigree.IngestedSample]
    answers: list[pedigree.IngestedSample]
    mix: pedigree.Mix
    proxy: Proxy

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.proxy = Proxy(cls.server.url)
        cls.addClassCleanup(cls.proxy.close)
        for ref in TEACHERS:
            name, version = ref.split("@")
            cls.ingest.create_model(name, version, provider="Acme", declared_generation=0)
        cls.prompts = cls.ingest.ingest(
            (human(f"Prompt {i}: describe the {WORDS[i % len(WORDS)]} near house number {i}.", "p-prompts",
                   source={"kind": "public_dataset", "name": "prompt-set", "license": "CC-BY-4.0"})
             for i in range(PROMPTS)),
            batch_size=40,
        )
        rng = random.Random(11)

        def answers() -> Any:
            for p in cls.prompts:
                for model in TEACHERS:
                    for k in range(2):
                        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
                        yield {"text": f"{model} says ({k}) about '{p.text}': {words}.", "origin": "model",
                               "model": model, "prompt_id": p.id, "dataset": "p-answers"}

        cls.answers = cls.ingest.ingest(answers(), batch_size=150)
        cls.mix = cls.ingest.build_mix(size=5000, seed=3, strategy=pedigree.best_of_k("mtld"),
                                       filter={"datasets": DATASETS})

    def setUp(self) -> None:
        self.proxy.reset()

    # -- ingest results and best-of-k groups --------------------------------------------------

    def test_answers_carry_generation_and_their_group(self) -> None:
        self.assertEqual(len(self.answers), PROMPTS * 4)
        for a in self.answers:
            self.assertEqual((a.origin, a.generation, a.generation_basis), ("model", 1, "declared"))
            self.assertIn(a.model, TEACHERS)
            self.assertIsNotNone(a.prompt_id)
            self.assertIn(a.prompt_id, a.parents)
        last = self.answers[-1]  # the fourth answer of its prompt: the group is whole
        assert last.best_of_k is not None
        self.assertEqual(last.best_of_k.k, 4)
        self.assertEqual(set(last.best_of_k.rank), {"mtld", "length", "toxicity"})

        group = self.auditor.candidates(last.prompt_id or "", objective="mtld")
        self.assertEqual(group.objective, "mtld")
        self.assertEqual([c.rank for c in group.candidates], [1, 2, 3, 4])
        scores = [c.score for c in group.candidates]
        self.assertEqual(scores, sorted(scores, reverse=True))  # type: ignore[type-var]
        mine = {a.id for a in self.answers if a.prompt_id == last.prompt_id}
        self.assertEqual({c.id for c in group.candidates}, mine)
        single = self.auditor.candidates(last.prompt_id or "", objective="length", model="t-beta@1")
        self.assertEqual(single.model, "t-beta@1")
        self.assertEqual({c.model for c in single.candidates}, {"t-beta@1"})
        self.assertEqual(len(single.candidates), 2)

    def test_listing_pages_and_filters(self) -> None:
        page = self.auditor.list_samples(dataset="p-prompts", limit=50)
        self.assertEqual(len(page.items), 50)
        self.assertIsNotNone(page.next_cursor)
        nxt = self.auditor.list_samples(dataset="p-prompts", limit=50, cursor=page.next_cursor)
        self.assertFalse({s.id for s in page.items} & {s.id for s in nxt.items})
        every = list(self.auditor.iter_samples(dataset="p-prompts", page_size=30))
        self.assertEqual(sorted(s.id for s in every), sorted(p.id for p in self.prompts))
        beta = list(self.auditor.iter_samples(model="t-beta@1", min_generation=1, max_generation=1))
        self.assertEqual(len(beta), PROMPTS * 2)
        group = list(self.auditor.iter_samples(prompt_id=self.prompts[0].id))
        self.assertEqual(len(group), 4)
        models = {m.ref: m for m in self.auditor.iter_models(page_size=1)}
        self.assertLessEqual(set(TEACHERS), set(models))
        self.assertEqual((models["t-alpha@1"].generation, models["t-alpha@1"].generation_basis,
                          models["t-alpha@1"].declared_generation, models["t-alpha@1"].provider), (0, "declared", 0, "Acme"))

    # -- the mix ------------------------------------------------------------------------------

    def test_best_of_k_mix_obeys_the_default_policy(self) -> None:
        m, s = self.mix, self.mix.stats
        self.assertEqual((m.policy.name, m.seed, m.strategy["name"], m.strategy["objective"]), ("default", 3, "best_of_k", "mtld"))
        self.assertEqual(m.size, s.human + s.synthetic)
        self.assertEqual(s.human, PROMPTS)
        self.assertGreaterEqual(s.human, 100)
        self.assertGreater(s.synthetic, 0)
        self.assertLessEqual(s.synthetic_ratio, 0.5)
        self.assertLessEqual(s.max_model_share, 0.25)
        self.assertLessEqual(s.synthetic, PROMPTS)  # one winner per prompt at most
        self.assertEqual(set(s.models), set(TEACHERS))
        self.assertEqual(s.generations, {0: s.human, 1: s.synthetic})
        self.assertEqual(len(m.manifest_sha256), 64)

        d = self.auditor.get_decision(m.decision_id)
        self.assertTrue(d.allowed)
        self.assertEqual((d.mix_id, d.violations, d.policy), (m.id, [], m.policy))
        got = self.auditor.get_mix(m.id)
        self.assertEqual((got.manifest_sha256, got.size, got.stats.models), (m.manifest_sha256, m.size, s.models))
        self.assertIn(m.id, {x.id for x in self.auditor.iter_mixes()})
        comp = self.auditor.mix_lineage(m.id)
        self.assertEqual(comp["origins"], {"human": s.human, "model": s.synthetic})
        self.assertEqual({x["model"] for x in comp["models"]}, set(TEACHERS))

    def test_a_dry_run_predicts_the_mix_and_saves_nothing(self) -> None:
        before = len(list(self.auditor.iter_mixes()))
        dry = self.ingest.build_mix(size=5000, seed=3, strategy=pedigree.best_of_k("mtld"), filter={"datasets": DATASETS}, dry_run=True)
        self.assertTrue(dry.allowed)
        self.assertEqual((dry.manifest_sha256, dry.size, dry.stats.synthetic), (self.mix.manifest_sha256, self.mix.size, self.mix.stats.synthetic))
        self.assertEqual(len(list(self.auditor.iter_mixes())), before)

    def test_a_mix_whose_answer_is_lost_is_built_once(self) -> None:
        before = {x.id for x in self.auditor.iter_mixes()}
        self.proxy.add(Rule("POST", "/v1/mixes", "drop"))
        m = self.client(self.ingest_key, self.proxy.url).build_mix(
            size=150, seed=99, strategy=pedigree.best_of_k("length"), filter={"datasets": DATASETS})
        attempts = self.proxy.requests("POST", "/v1/mixes")
        self.assertEqual(len(attempts), 2)
        self.assertEqual([a.status for a in attempts], [201, 201])
        self.assertTrue(attempts[0].idempotency_key)
        self.assertEqual(attempts[0].idempotency_key, attempts[1].idempotency_key)
        after = {x.id for x in self.auditor.iter_mixes()}
        self.assertEqual(after - before, {m.id})
        self.assertLessEqual(m.size, 150)

    # -- export -------------------------------------------------------------------------------

    def test_export_streams_the_manifest_in_order(self) -> None:
        with self.ingest.export(self.mix.id) as lines:
            rows = list(lines)
            self.assertEqual(lines.lines, self.mix.size)
        self.assertEqual(len(rows), self.mix.size)
        manifest = "".join(f"{r['id']} {hashlib.sha256(r['text'].encode()).hexdigest()}\n" for r in rows)
        self.assertEqual(hashlib.sha256(manifest.encode()).hexdigest(), self.mix.manifest_sha256)
        by_origin = {"human": 0, "model": 0}
        for r in rows:
            by_origin[r["origin"]] += 1
            self.assertEqual(r["generation"], 0 if r["origin"] == "human" else 1)
            self.assertIn("mtld", r["metrics"])
        self.assertEqual(by_origin, {"human": self.mix.stats.human, "model": self.mix.stats.synthetic})
        # Every model answer in the mix is its prompt group's best by MTLD.
        answers = {a.id: a for a in self.answers}
        for r in [r for r in rows if r["origin"] == "model"][:15]:
            prompt = answers[r["id"]].prompt_id or ""
            self.assertEqual(self.auditor.candidates(prompt, objective="mtld").candidates[0].id, r["id"])

    def test_export_can_stop_early(self) -> None:
        it = self.ingest.export(self.mix.id)
        first = next(it)
        it.close()
        self.assertEqual(it.lines, 1)
        self.assertIn("id", first)
        self.assertEqual(list(it), [])

    def test_export_to_file_matches_the_stream(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "mix.jsonl")
            n = self.ingest.export_to_file(self.mix.id, path)
            with open(path, "rb") as f:
                data = f.read()
            self.assertEqual(n, len(data))
            self.assertEqual([json.loads(x) for x in data.splitlines()], list(self.ingest.export(self.mix.id)))
            self.assertEqual(os.listdir(d), ["mix.jsonl"])

    def test_an_export_cut_short_is_an_error_not_a_short_dataset(self) -> None:
        self.proxy.add(Rule("GET", "/v1/mixes/*", "truncate", cut=5, times=2))
        c = self.client(self.ingest_key, self.proxy.url)
        rows: list[dict[str, Any]] = []
        with self.assertRaises(pedigree.ExportError) as cm:
            for r in c.export(self.mix.id):
                rows.append(r)
        self.assertEqual(len(rows), self.mix.size - 1)
        self.assertEqual(cm.exception.lines, self.mix.size - 1)
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(pedigree.ExportError):
                c.export_to_file(self.mix.id, os.path.join(d, "mix.jsonl"))
            self.assertEqual(os.listdir(d), [])

    def _probe(self, what: str, fn: Any) -> Any:
        """Calls fn; skips the test when the server does not have the route or format yet."""
        try:
            return fn()
        except pedigree.ProblemError as e:
            if e.status == 404 and what.startswith("route"):
                self.skipTest(f"{what} is not in this registryd yet (404: {e.detail})")
            if e.status == 400 and "format" in e.field_errors:
                self.skipTest(f"{what} is not in this registryd yet (400: {e.detail})")
            raise

    def test_export_chat_format(self) -> None:
        rows = self._probe("format=chat", lambda: list(self.ingest.export(self.mix.id, format="chat")))
        # Each answer in the mix is a user turn (its prompt) and an assistant turn (the answer).
        prompt_of = {a.text: a.prompt_id for a in self.answers}
        text_of = {p.id: p.text for p in self.prompts}
        pairs = 0
        for r in rows:
            msgs = r["messages"]
            self.assertIsInstance(msgs, list)
            roles = [m["role"] for m in msgs]
            if "user" in roles and roles[-1] == "assistant":
                answer = msgs[-1]["content"]
                self.assertIn(answer, prompt_of)
                self.assertEqual(msgs[roles.index("user")]["content"], text_of[prompt_of[answer] or ""])
                pairs += 1
        self.assertEqual(pairs, self.mix.stats.synthetic)

    def test_export_parquet_to_file(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "mix.parquet")
            n = self._probe("format=parquet", lambda: self.ingest.export_to_file(self.mix.id, path, format="parquet"))
            with open(path, "rb") as f:
                data = f.read()
            self.assertEqual(len(data), n)
            self.assertEqual((data[:4], data[-4:]), (b"PAR1", b"PAR1"))
        with self.assertRaises(ValueError):
            self.ingest.export(self.mix.id, format="parquet")

    def test_dataset_card(self) -> None:
        card = self._probe("route GET /v1/mixes/{id}/card", lambda: self.auditor.card(self.mix.id))
        self.assertTrue(card.startswith("---\n"), card[:80])
        self.assertIn(self.mix.manifest_sha256, card)

    def test_croissant(self) -> None:
        doc = self._probe("route GET /v1/mixes/{id}/croissant", lambda: self.auditor.croissant(self.mix.id))
        self.assertIn("@context", doc)
        types = doc.get("@type")
        self.assertIn("Dataset", json.dumps(types))

    # -- the student --------------------------------------------------------------------------

    def test_a_student_trained_on_the_mix_writes_generation_two(self) -> None:
        student = self.ingest.create_model("p-student", "1", provider="us", trained_on=[self.mix.id])
        self.assertEqual((student.generation, student.generation_basis, student.trained_on), (1, "declared", [self.mix.id]))
        self.assertIsNone(student.declared_generation)
        # New prompts, so that the teachers' best-of-k groups the other tests read stay as they are.
        prompts = self.ingest.ingest([human(f"A new prompt for the student, number {i}.", "p-student-prompts") for i in range(3)])
        outs = self.ingest.ingest(
            [{"text": f"p-student answers '{p.text}' in its own words.", "origin": "model", "model": student.ref,
              "prompt_id": p.id, "dataset": "p-student"} for p in prompts])
        self.assertEqual([(o.generation, o.generation_basis, o.model) for o in outs], [(2, "declared", "p-student@1")] * 3)
        g = self.auditor.lineage(outs[0].id, direction="ancestors")
        self.assertEqual(g.root, outs[0].id)
        self.assertIn({"from": prompts[0].id, "to": outs[0].id, "kind": "prompt"}, g.edges)
        depth = {n["id"]: n["depth"] for n in g.nodes}
        self.assertEqual(depth[prompts[0].id], -1)
        report = self.auditor.eu_ai_act_report(model=student.ref, format="markdown")
        self.assertIsInstance(report, str)
        self.assertIn(self.mix.manifest_sha256, report)

    def test_a_successor_mix_keeps_its_base_models_human_data(self) -> None:
        base = self.ingest.create_model("p-base", "1", provider="us", trained_on=[self.mix.id])
        humans = self.mix.stats.human
        # Dry runs, so the other tests' registry stays as it is: too small a mix is refused...
        small = self.ingest.build_mix(size=humans - 1, seed=5, base_model=base.ref, dry_run=True)
        self.assertFalse(small.allowed)
        self.assertIn("(accumulate)", " ".join(small.violations))
        # ...and a large enough one keeps every human sample the base model was trained on.
        big = self.ingest.build_mix(size=5000, seed=5, base_model=base.ref, filter={"datasets": DATASETS}, dry_run=True)
        self.assertTrue(big.allowed, big.violations)
        self.assertEqual(big.stats.raw["accumulated"],
                         {"base_model": "p-base@1", "prior_human": humans, "admitted": humans, "kept": humans, "dropped": 0})

    def test_openlineage_events(self) -> None:
        events = self.auditor.openlineage_events(mix=self.mix.id)
        self.assertEqual([e["eventType"] for e in events], ["START", "COMPLETE"])
        self.assertEqual({e["job"]["name"] for e in events}, {"pedigree/mix"})
        self.assertEqual(events[0]["run"]["runId"], self.mix.decision_id)
        self.assertEqual(self.auditor.openlineage_events(decision=self.mix.decision_id), events)
        self.assertEqual(self.auditor.openlineage_events(model=TEACHERS[0]), [])  # no trained_on
        with self.assertRaises(ValueError):
            self.auditor.openlineage_events(mix=self.mix.id, model=TEACHERS[0])
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.ingest.openlineage_events(mix=self.mix.id)  # an auditor's read
        self.assertEqual(cm.exception.status, 403)

    # -- reports, the log, policies, keys -----------------------------------------------------

    def test_eu_ai_act_report_of_the_mix(self) -> None:
        r = self.auditor.eu_ai_act_report(mix=self.mix.id)
        self.assertLessEqual({"title", "general", "sources", "processing", "evidence"}, set(r))
        self.assertIn(self.mix.manifest_sha256, json.dumps(r))
        html = self.auditor.eu_ai_act_report(mix=self.mix.id, format="html")
        self.assertIn("<html", html.lower())
        with self.assertRaises(ValueError):
            self.auditor.eu_ai_act_report()

    def test_log_checkpoint_entries_and_proofs(self) -> None:
        cp = self.auditor.checkpoint()
        self.assertEqual(cp.origin, "pedigree-registry")
        self.assertGreater(cp.tree_size, self.mix.log_index)
        self.assertEqual(len(base64.b64decode(cp.root_hash)), 32)
        self.assertIn("\n\n\u2014 pedigree-registry ", cp.note)
        leaf = json.loads(self.auditor.log_entry(self.mix.log_index))
        self.assertEqual((leaf["kind"], leaf["id"]), ("mix", self.mix.id))
        proof = self.auditor.inclusion_proof(self.mix.log_index, cp.tree_size)
        self.assertGreater(len(proof), 0)
        self.assertTrue(all(len(h) == 32 for h in proof))
        self.assertTrue(all(len(h) == 32 for h in self.auditor.consistency_proof(1, cp.tree_size)))
        self.assertTrue(self.auditor.log_key().startswith("pedigree-registry+"))

    def test_policies(self) -> None:
        default = self.auditor.get_policy("default")
        self.assertEqual(default.latest.limits["min_human_samples"], 100)
        self.assertIn("package pedigree.mix", default.latest.module or "")
        self.assertIn("default", {p.name for p in self.auditor.list_policies()})
        module = "package pedigree.mix\n\nlimits := {\"max_synthetic_ratio\": 0.3, \"min_human_samples\": 1}\n\ninclude if { input.sample.origin == \"human\" }\n"
        v1 = self.admin.put_policy("p-humans", module)
        self.assertEqual((v1.name, v1.version, v1.sha256), ("p-humans", 1, hashlib.sha256(module.encode()).hexdigest()))
        self.assertEqual(self.admin.put_policy("p-humans", module).version, 1)
        self.assertEqual(self.auditor.get_policy_version("p-humans", 1).module, module)
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.admin.put_policy("p-humans", "package pedigree.mix\n\ninclude if {")
        self.assertEqual((cm.exception.status, cm.exception.code), (400, "invalid"))
        self.assertIn("module", cm.exception.field_errors)
        m = self.ingest.build_mix(size=20, seed=1, policy="p-humans@1", filter={"datasets": DATASETS})
        self.assertEqual((m.policy.name, m.policy.version, m.stats.synthetic, m.size), ("p-humans", 1, 0, 20))

    def test_keys(self) -> None:
        k = self.admin.create_key("ingest")
        self.assertEqual(k.role, "ingest")
        assert k.key is not None
        self.assertNotIn(k.key, repr(k))
        self.assertIn(k.id, {x.id for x in self.admin.list_keys(limit=1000).items})
        c = self.client(k.key)
        c.create_sample(human(f"written with a short-lived key {uuid.uuid4()}", "p-keys"))
        revoked = self.admin.revoke_key(k.id)
        self.assertIsNotNone(revoked.revoked_at)
        with self.assertRaises(pedigree.ProblemError) as cm:
            c.create_sample(human("after revocation", "p-keys"))
        self.assertEqual(cm.exception.status, 401)
