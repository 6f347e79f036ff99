"""Retries through a proxy that loses answers, refuses for a while, or is not there at all."""

from __future__ import annotations

import socket
import time
import uuid

import pedigree

from .base import ServerTestCase, human
from .proxy import Proxy, Rule


class RetryTest(ServerTestCase):
    proxy: Proxy

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.proxy = Proxy(cls.server.url)
        cls.addClassCleanup(cls.proxy.close)

    def setUp(self) -> None:
        self.proxy.reset()

    def via_proxy(self, key: str, **kw: object) -> pedigree.Client:
        return self.client(key, self.proxy.url, **kw)  # type: ignore[arg-type]

    def test_a_batch_whose_answer_is_lost_is_stored_once(self) -> None:
        self.proxy.add(Rule("POST", "/v1/samples/batch", "drop"))
        samples = [human(f"Retried batch sample {i}, sent twice, stored once.", "retry-batch") for i in range(5)]
        results = self.via_proxy(self.ingest_key).ingest(samples, batch_size=10)

        attempts = self.proxy.requests("POST", "/v1/samples/batch")
        self.assertEqual([a.action for a in attempts], ["drop", "forward"])
        # Both attempts reached the registry with the same body and the same Idempotency-Key...
        self.assertEqual([a.status for a in attempts], [201, 201])
        key = attempts[0].idempotency_key
        self.assertTrue(key)
        uuid.UUID(key or "")
        self.assertEqual(attempts[1].idempotency_key, key)
        self.assertEqual(attempts[1].body, attempts[0].body)
        # ...so the second was a replay of the first: its answer is the first one's (new records,
        # not duplicates), and the registry holds each sample once.
        self.assertFalse(attempts[0].replayed)
        self.assertTrue(attempts[1].replayed)
        self.assertEqual(len(results), 5)
        self.assertFalse(any(r.duplicate for r in results))
        stored = list(self.auditor.iter_samples(dataset="retry-batch"))
        self.assertEqual(sorted(s.id for s in stored), sorted(r.id for r in results))

    def test_each_batch_has_its_own_key(self) -> None:
        samples = [human(f"Keyed batch sample {i}.", "retry-keys") for i in range(4)]
        self.via_proxy(self.ingest_key).ingest(samples, batch_size=2)
        keys = [a.idempotency_key for a in self.proxy.requests("POST", "/v1/samples/batch")]
        self.assertEqual(len(keys), 2)
        self.assertTrue(all(keys))
        self.assertNotEqual(keys[0], keys[1])

    def test_a_model_whose_answer_is_lost_is_registered_once(self) -> None:
        # Without the same key, the second attempt would be a 409: the name is taken by the first.
        self.proxy.add(Rule("POST", "/v1/models", "drop"))
        m = self.via_proxy(self.ingest_key).create_model("retried-teacher", "1", provider="Acme", declared_generation=0)
        attempts = self.proxy.requests("POST", "/v1/models")
        self.assertEqual(len(attempts), 2)
        self.assertEqual(attempts[0].idempotency_key, attempts[1].idempotency_key)
        self.assertEqual(m.ref, "retried-teacher@1")
        self.assertEqual(self.auditor.get_model("retried-teacher@1").id, m.id)

    def test_a_given_key_is_sent(self) -> None:
        self.via_proxy(self.ingest_key).create_sample(human("A sample with my own key.", "retry-own"), idempotency_key="my-key-1")
        self.assertEqual([a.idempotency_key for a in self.proxy.requests("POST", "/v1/samples")], ["my-key-1"])

    def test_retry_after_is_honoured(self) -> None:
        s = self.ingest.create_sample(human("Read after a pause.", "retry-after"))
        self.proxy.add(Rule("GET", "/v1/samples/*", "status", status=503, headers={"Retry-After": "1"}))
        start = time.monotonic()
        got = self.via_proxy(self.auditor_key, backoff=0.001).get_sample(s.id)
        elapsed = time.monotonic() - start
        self.assertEqual(got.id, s.id)
        self.assertGreaterEqual(elapsed, 0.95)
        self.assertEqual([a.action for a in self.proxy.requests("GET", "/v1/samples/*")], ["status", "forward"])

    def test_429_502_504_are_retried(self) -> None:
        s = self.ingest.create_sample(human("Read through a flaky gateway.", "retry-gw"))
        for status in (429, 502, 504):
            self.proxy.add(Rule("GET", "/v1/samples/*", "status", status=status, headers={"Retry-After": "0"}))
        got = self.via_proxy(self.auditor_key).get_sample(s.id)
        self.assertEqual(got.id, s.id)
        self.assertEqual(len(self.proxy.requests("GET", "/v1/samples/*")), 4)

    def test_retries_run_out(self) -> None:
        self.proxy.add(Rule("GET", "/v1/models/*", "status", status=503, times=100))
        with self.assertRaises(pedigree.ProblemError) as cm:
            self.via_proxy(self.auditor_key, retries=2).get_model("x@1")
        self.assertEqual((cm.exception.status, cm.exception.code), (503, "unavailable"))
        self.assertEqual(len(self.proxy.requests("GET", "/v1/models/*")), 3)

    def test_a_lost_answer_to_a_read_is_retried(self) -> None:
        s = self.ingest.create_sample(human("Read twice, answered once.", "retry-read"))
        self.proxy.add(Rule("GET", "/v1/samples/*", "drop"))
        self.assertEqual(self.via_proxy(self.auditor_key).get_sample(s.id).id, s.id)
        self.assertEqual(len(self.proxy.requests("GET", "/v1/samples/*")), 2)

    def test_a_write_without_an_idempotency_key_is_not_sent_twice(self) -> None:
        # POST /v1/keys takes no Idempotency-Key: after a lost answer the client cannot know whether
        # the key was made, so it does not make a second one.
        self.proxy.add(Rule("POST", "/v1/keys", "drop"))
        with self.assertRaises(pedigree.TransportError) as cm:
            self.via_proxy(self.server.admin_key).create_key("auditor")
        self.assertEqual(cm.exception.attempts, 1)
        self.assertEqual(len(self.proxy.requests("POST", "/v1/keys")), 1)
        # A 502 from a gateway is not retried either (the request may have gone through)...
        self.proxy.add(Rule("POST", "/v1/keys", "status", status=502, body=b"upstream hiccup", content_type="text/plain"))
        with self.assertRaises(pedigree.ProblemError) as cm2:
            self.via_proxy(self.server.admin_key).create_key("auditor")
        e = cm2.exception
        self.assertEqual((e.status, e.code, e.problem, e.detail), (502, None, {}, "upstream hiccup"))
        # ...but a 503, which says nothing was done, is.
        self.proxy.add(Rule("POST", "/v1/keys", "status", status=503))
        k = self.via_proxy(self.server.admin_key).create_key("auditor")
        self.assertEqual(k.role, "auditor")
        self.assertTrue(k.key and k.key.startswith("pdg_"))

    def test_connection_refused_is_retried_then_a_transport_error(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        c = pedigree.Client(f"http://127.0.0.1:{port}", "k", retries=2, backoff=0.001)
        with self.assertRaises(pedigree.TransportError) as cm:
            c.create_model("nobody", "1", idempotency_key="refused-1")
        self.assertEqual(cm.exception.attempts, 3)
        self.assertEqual(cm.exception.idempotency_key, "refused-1")
        self.assertIsInstance(cm.exception, pedigree.PedigreeError)
        self.assertFalse(c.healthy())
