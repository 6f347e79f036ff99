"""The EU AI Act summary from Python: a model's disclosure in versions and the completeness check."""

from __future__ import annotations

import pedigree

from .base import ServerTestCase, human

OPEN_POLICY = "package pedigree.mix\n\nlimits := {}\n\ninclude if true\n"

DISCLOSURE = {
    "provider": {"name": "Example Labs", "contact": "ai-act@example.com"},
    "provider_established_in_eu": True,
    "market_placement_date": "2025-09-01",
    "dependencies": [],
    "modalities": [{"modality": "text", "content_types": ["minutes"]}],
    "data_sources": "Minutes of meetings, written by the committee's secretary.",
    "tdm_opt_outs": "robots.txt and TDMRep are honoured.",
    "illegal_content": "Texts are screened against hash lists before registration.",
}


class DisclosureTest(ServerTestCase):
    def test_disclosure_makes_the_summary_publishable(self) -> None:
        self.admin.put_policy("py-open", OPEN_POLICY)
        self.ingest.ingest([
            human(f"The minutes of meeting {i} record that the committee agreed on the budget.", "py-minutes",
                  metadata={"lang": "en"}, collected_at="2025-03-0%dT12:00:00Z" % (i + 1))
            for i in range(3)
        ])
        mix = self.ingest.build_mix(10, policy="py-open")
        self.ingest.create_model("py-student", "1", trained_on=[mix.id])

        before = self.auditor.eu_ai_act_completeness("py-student@1")
        self.assertFalse(before["publishable"])
        self.assertIn("processing.tdm_opt_outs", [m["field"] for m in before["missing"]])

        with self.assertRaises(pedigree.ProblemError) as refused:
            self.ingest.put_disclosure("py-student@1", {"market_placement_date": "01/09/2025"})
        self.assertEqual(refused.exception.status, 400)

        first = self.ingest.put_disclosure("py-student@1", DISCLOSURE)
        again = self.ingest.put_disclosure("py-student@1", DISCLOSURE)
        self.assertEqual((first["version"], again["version"]), (1, 1))
        second = self.ingest.put_disclosure("py-student@1", {**DISCLOSURE, "other_measures": "Pseudonymised."})
        self.assertEqual([v["version"] for v in second["versions"]], [1, 2])
        self.assertEqual(self.auditor.get_disclosure("py-student@1")["other_measures"], "Pseudonymised.")
        self.assertNotIn("other_measures", self.auditor.get_disclosure("py-student@1", 1))

        after = self.auditor.eu_ai_act_completeness("py-student@1")
        self.assertEqual((after["publishable"], after["missing"], after["disclosure_version"]), (True, [], 2))
