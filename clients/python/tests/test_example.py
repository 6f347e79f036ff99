"""The README's "Python pipelines" walkthrough, examples/pipeline.py, run against a real registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .base import ServerTestCase

PYTHON_DIR = Path(__file__).resolve().parents[1]
SCRIPT = PYTHON_DIR / "examples" / "pipeline.py"


class ExampleTest(ServerTestCase):
    def test_readme_pipeline_runs_end_to_end(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "mix.jsonl")
            env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR), PEDIGREE_KEY=self.ingest_key)
            proc = subprocess.run(
                [sys.executable, str(SCRIPT), "--server", self.server.url, "--out", out, "--json"],
                env=env, capture_output=True, text=True, timeout=300,
            )
            self.assertEqual(proc.returncode, 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
            summary = json.loads(proc.stdout.strip().splitlines()[-1])
            with open(out) as f:
                lines = [json.loads(x) for x in f]

        self.assertEqual((summary["prompts"], summary["answers"]), (120, 480))
        self.assertEqual(summary["human"], 120)
        self.assertGreater(summary["synthetic"], 0)
        self.assertEqual(set(summary["models"]), {"teacher-a@1", "teacher-b@1"})
        self.assertEqual(summary["export_lines"], summary["mix_size"])
        self.assertEqual(len(lines), summary["mix_size"])
        self.assertEqual(summary["export_generations"], {"0": summary["human"], "1": summary["synthetic"]})
        self.assertEqual((summary["student"], summary["student_generation"], summary["student_basis"]), ("student@1", 1, "declared"))
        self.assertEqual(summary["student_output_generations"], {"2": 120})
        # Prompts and answers went in one ingest (batches of 256: groups of five cross batches),
        # whose progress reporter wrote to standard error.
        self.assertIn("samples 256", proc.stderr)
        self.assertIn("samples 600", proc.stderr)

        # What the script says is what the registry holds.
        mix = self.auditor.get_mix(summary["mix_id"])
        self.assertEqual((mix.manifest_sha256, mix.size, mix.policy.name), (summary["manifest_sha256"], summary["mix_size"], "default"))
        self.assertEqual([x["id"] for x in lines], [x["id"] for x in self.auditor.export(mix.id)])
        student = self.auditor.get_model("student@1")
        self.assertEqual((student.trained_on, student.generation), ([mix.id], 1))
        for sid in summary["student_output_ids"]:
            s = self.auditor.get_sample(sid)
            self.assertEqual((s.generation, s.model, s.dataset), (2, "student@1", "pipeline-student"))

        # The answers and the student's outputs named their prompts by external_id: every prompt
        # is the prompt of its four answers and of one output, found under the ids the script gave.
        prompts = {(s.external_id, s.id) for s in self.auditor.iter_samples(dataset="pipeline-prompts")}
        self.assertEqual(len(prompts), 120)
        by_ext = dict(prompts)
        self.assertEqual(summary["q00-00"], by_ext["q00-00"])
        answers = list(self.auditor.iter_samples(dataset="pipeline-answers"))
        self.assertEqual(len(answers), 480)
        for a in answers:
            assert a.external_id is not None
            q = a.external_id.split("/")[0]
            self.assertEqual(a.prompt_id, by_ext[q], a.external_id)
            self.assertIn(by_ext[q], a.parents)
        outputs = list(self.auditor.iter_samples(dataset="pipeline-student"))
        self.assertEqual(sorted((o.external_id, o.prompt_id) for o in outputs),
                         sorted((f"{q}/student@1", pid) for q, pid in by_ext.items()))

        # Run again: the prompts and answers are duplicates, the teachers are kept, and a second
        # student@1 is refused with a message that says what to do.
        again = subprocess.run(
            [sys.executable, str(SCRIPT), "--server", self.server.url, "--out", os.devnull],
            env=env, capture_output=True, text=True, timeout=300,
        )
        self.assertEqual(again.returncode, 1, again.stdout + again.stderr)
        self.assertIn("--student-version", again.stderr)
