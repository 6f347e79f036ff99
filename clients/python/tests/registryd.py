"""A real registryd for the tests: built once per test run (or taken from REGISTRYD_BIN), served on
loopback from a temporary data directory."""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

# clients/python/tests/registryd.py -> the repository root.
REPO_ROOT = Path(__file__).resolve().parents[3]

_lock = threading.Lock()
_built: str | None = None


def binary() -> str:
    """The registryd binary: $REGISTRYD_BIN, or one built from this checkout into a temporary
    directory the first time it is asked for."""
    global _built
    env = os.environ.get("REGISTRYD_BIN")
    if env:
        if not os.access(env, os.X_OK):
            raise RuntimeError(f"REGISTRYD_BIN={env} is not an executable file")
        return env
    with _lock:
        if _built is None:
            out = tempfile.mkdtemp(prefix="pedigree-py-bin-")
            atexit.register(shutil.rmtree, out, True)
            path = os.path.join(out, "registryd")
            proc = subprocess.run(
                ["go", "build", "-o", path, "./cmd/registryd"],
                cwd=REPO_ROOT, capture_output=True, text=True,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"go build ./cmd/registryd failed:\n{proc.stderr}")
            _built = path
        return _built


class Registryd:
    """One registryd serve process on 127.0.0.1, with its own data directory.

    It listens on a port the kernel picks (--addr 127.0.0.1:0) and the URL is read from the
    "listening on http://…" line it prints; the admin key is the one it writes to
    <data-dir>/admin.key on its first start; readiness is /readyz answering 200.
    """

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pedigree-py-")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "registryd.log")
        self.url = ""
        self.admin_key = ""
        self._proc: subprocess.Popen[str] | None = None
        self._log = open(self.log_path, "w")

    def start(self, timeout: float = 30.0) -> Registryd:
        self._proc = subprocess.Popen(
            [binary(), "serve", "--addr", "127.0.0.1:0", "--data-dir", self.data_dir, "--audit-interval", "0"],
            stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def read(stream: Any) -> None:
            for line in stream:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, args=(self._proc.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self.url:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._fail(f"registryd did not say where it listens within {timeout}s")
            if line is None:
                self._fail("registryd exited before listening")
            if line.startswith("listening on "):
                self.url = line.split()[-1].strip()
        with open(os.path.join(self.data_dir, "admin.key")) as f:
            self.admin_key = f.read().strip()
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self._fail(f"registryd was not ready within {timeout}s")
            time.sleep(0.05)
        return self

    def create_key(self, role: str) -> str:
        """A new API key for role, made with the admin key through the REST API (independently of
        the client under test)."""
        req = urllib.request.Request(
            self.url + "/v1/keys", data=json.dumps({"role": role}).encode(), method="POST",
            headers={"Authorization": "Bearer " + self.admin_key, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return str(json.loads(r.read())["key"])

    def _fail(self, why: str) -> NoReturn:
        log = self.log()
        self.stop()
        raise RuntimeError(f"{why}; its log:\n{log}")

    def log(self) -> str:
        """The end of the server's log (its standard error)."""
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
