"""The results store: SQLite in WAL mode, one committed (fsynced) row per graded submission.

A row is keyed by ``sha256(submission sha256 + settings)``: the same bytes graded
with the same settings are never graded twice, however many submissions share
them and however many times ``gradcheck grade`` runs on the same ``--out``.
``graded_count`` counts how often a key was graded (1 unless something is wrong):
the resume tests read it. The coordinator never puts an internal error (``outcome="error"``)
here: it is no verdict on the submission, so the next run grades it again. The file is 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    settings TEXT NOT NULL,
    outcome TEXT NOT NULL,
    result TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    graded_count INTEGER NOT NULL,
    finished_at REAL NOT NULL
)
"""


def result_key(sha256: str, settings: dict[str, Any]) -> str:
    """The store key of a submission's bytes graded with ``settings``."""
    text = json.dumps({"sha256": sha256, "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Store:
    """``DIR/grades.sqlite``: ``get(key)``, ``put(key, ...)`` (committed before it returns)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # the grader's alone (SQLite gives its -wal and -shm files the same mode)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync at every commit
        self._db.execute(SCHEMA)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result of ``key`` (``outcome``, ``result``, ``attempts``...) or None."""
        row = self._db.execute(
            "SELECT outcome, result, attempts, graded_count FROM results WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return {"outcome": row[0], "result": json.loads(row[1]), "attempts": row[2], "graded_count": row[3]}

    def keys(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT key FROM results")}

    def done_keys(self) -> set[str]:
        """The keys with a result to reuse: every one but an internal error's (``outcome="error"``,
        which a store written before gradcheck stopped storing them may hold): graded again."""
        return {row[0] for row in self._db.execute("SELECT key FROM results WHERE outcome != 'error'")}

    def put(self, key: str, sha256: str, settings: dict[str, Any], result: dict[str, Any], attempts: int) -> None:
        """Record (and commit) one finished task; grading a key again increments ``graded_count``.

        Rendered report files (``result["files"]``) are not stored: they are re-rendered from
        the stored report if the output folder lacks them."""
        self._db.execute(
            "INSERT INTO results (key, sha256, settings, outcome, result, attempts, graded_count, finished_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, ?)"
            " ON CONFLICT(key) DO UPDATE SET outcome = excluded.outcome, result = excluded.result,"
            " attempts = excluded.attempts, graded_count = graded_count + 1, finished_at = excluded.finished_at",
            (key, sha256, json.dumps(settings, sort_keys=True), result["outcome"],
             json.dumps({k: v for k, v in result.items() if k != "files"}, allow_nan=False), attempts, time.time()),
        )

    def graded_counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT key, graded_count FROM results").fetchall())

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
