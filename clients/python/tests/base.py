"""A test case with its own registryd, its keys by role, and clients."""

from __future__ import annotations

import unittest
from typing import Any

import pedigree

from .registryd import Registryd


class ServerTestCase(unittest.TestCase):
    """Starts one registryd for the test class, with an admin, an ingest and an auditor key."""

    server: Registryd
    admin: pedigree.Client
    ingest: pedigree.Client
    auditor: pedigree.Client
    ingest_key: str
    auditor_key: str

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.server = Registryd().start()
        cls.addClassCleanup(cls.server.stop)
        cls.ingest_key = cls.server.create_key("ingest")
        cls.auditor_key = cls.server.create_key("auditor")
        cls.admin = cls.client(cls.server.admin_key)
        cls.ingest = cls.client(cls.ingest_key)
        cls.auditor = cls.client(cls.auditor_key)

    @classmethod
    def client(cls, key: str | None, url: str | None = None, **kw: Any) -> pedigree.Client:
        kw.setdefault("retries", 3)
        kw.setdefault("backoff", 0.01)
        kw.setdefault("timeout", 60)
        return pedigree.Client(url or cls.server.url, key, **kw)


def human(text: str, dataset: str, **kw: Any) -> dict[str, Any]:
    return {"text": text, "origin": "human", "dataset": dataset, **kw}
