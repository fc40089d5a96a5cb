"""What the hub keeps, in one SQLite file: subscriptions, the last version of each
topic told to hubs and subscribers, and publish requests waiting for the leader.

Every process of a deployment opens the same file. WAL lets them read while one
writes; ``synchronous=FULL`` makes each commit durable before it returns, so a
verified subscription survives a crash of the process or the machine right after
the hub said yes. A connection is opened per thread and process: SQLite
connections cross neither threads nor ``fork``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    callback TEXT NOT NULL,
    callback_host TEXT NOT NULL,
    secret TEXT,
    lease_seconds INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    verified_at REAL NOT NULL,
    UNIQUE (topic, callback)
);
CREATE INDEX IF NOT EXISTS subscriptions_by_host ON subscriptions (callback_host);
CREATE TABLE IF NOT EXISTS topics (
    url TEXT PRIMARY KEY,
    etag TEXT NOT NULL,
    changed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS publishes (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    asked_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS leader (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    pid INTEGER NOT NULL,
    since REAL NOT NULL,
    beat REAL NOT NULL,
    pending INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    topic: str
    callback: str
    secret: str | None
    lease_seconds: int
    expires_at: float


class Storage:
    """The hub's SQLite file."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)  # each statement commits by itself
        self.close()  # a process that forks (gunicorn's master) keeps no connection

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            local.db, local.pid = db, os.getpid()
        return local.db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None and self._local.pid == os.getpid():
            db.close()
        self._local = threading.local()

    # --- subscriptions ---------------------------------------------------------

    def subscribe(
        self,
        topic: str,
        callback: str,
        host: str,
        secret: str | None,
        lease: int,
        now: float,
        per_host: int,
    ) -> bool:
        """Keep a verified subscription (a renewal replaces the lease and secret);
        False when the callback's host already has ``per_host`` others."""
        with self._transaction() as db:
            known = db.execute(
                "SELECT 1 FROM subscriptions WHERE topic = ? AND callback = ?", (topic, callback)
            ).fetchone()
            if known is None:
                (count,) = db.execute(
                    "SELECT count(*) FROM subscriptions WHERE callback_host = ?", (host,)
                ).fetchone()
                if count >= per_host:
                    return False
            db.execute(
                "INSERT INTO subscriptions"
                " (topic, callback, callback_host, secret, lease_seconds, expires_at, verified_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (topic, callback) DO UPDATE SET secret = excluded.secret,"
                " lease_seconds = excluded.lease_seconds, expires_at = excluded.expires_at,"
                " verified_at = excluded.verified_at",
                (topic, callback, host, secret, lease, now + lease, now),
            )
        return True

    def unsubscribe(self, topic: str, callback: str) -> bool:
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM subscriptions WHERE topic = ? AND callback = ?", (topic, callback)
            )
        return cursor.rowcount > 0

    def remove(self, subscription_id: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))

    def find(self, topic: str, callback: str) -> Subscription | None:
        row = (
            self._connection()
            .execute(_SELECT + " WHERE topic = ? AND callback = ?", (topic, callback))
            .fetchone()
        )
        return Subscription(*row) if row else None

    def active(self, topic: str, now: float) -> list[Subscription]:
        rows = self._connection().execute(
            _SELECT + " WHERE topic = ? AND expires_at > ? ORDER BY id", (topic, now)
        )
        return [Subscription(*row) for row in rows]

    def get(self, subscription_id: int) -> Subscription | None:
        row = self._connection().execute(_SELECT + " WHERE id = ?", (subscription_id,)).fetchone()
        return Subscription(*row) if row else None

    def count_host(self, host: str) -> int:
        (count,) = (
            self._connection()
            .execute("SELECT count(*) FROM subscriptions WHERE callback_host = ?", (host,))
            .fetchone()
        )
        return count

    def count(self, now: float) -> int:
        (count,) = (
            self._connection()
            .execute("SELECT count(*) FROM subscriptions WHERE expires_at > ?", (now,))
            .fetchone()
        )
        return count

    def expire(self, now: float) -> int:
        """Forget subscriptions whose lease has ended; how many."""
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM subscriptions WHERE expires_at <= ?", (now,))
        return cursor.rowcount

    # --- topics: the version last told -------------------------------------------

    def topic_etags(self) -> dict[str, str]:
        return dict(self._connection().execute("SELECT url, etag FROM topics"))

    def changed(self, url: str, etag: str, now: float, new_counts: bool = True) -> bool:
        """Record ``etag`` as the topic's version; True if it differs from the last one
        (or, with ``new_counts``, if there was none)."""
        with self._transaction() as db:
            row = db.execute("SELECT etag FROM topics WHERE url = ?", (url,)).fetchone()
            if row is not None and row[0] == etag:
                return False
            db.execute(
                "INSERT INTO topics (url, etag, changed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,"
                " changed_at = excluded.changed_at",
                (url, etag, now),
            )
        return row is not None or new_counts

    # --- publish requests, from any process to the leader --------------------------

    def ask_publish(self, url: str, now: float) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO publishes (url, asked_at) VALUES (?, ?)", (url, now))

    def take_publishes(self) -> list[str]:
        # Asked twice a second: a read when there is nothing, no write lock taken.
        if self._connection().execute("SELECT 1 FROM publishes LIMIT 1").fetchone() is None:
            return []
        with self._transaction() as db:
            urls = [url for (url,) in db.execute("SELECT DISTINCT url FROM publishes")]
            db.execute("DELETE FROM publishes")
        return urls

    # --- the leader's state, for /readyz -----------------------------------------------

    def beat(self, pid: int, since: float, now: float, pending: int) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO leader (one, pid, since, beat, pending) VALUES (1, ?, ?, ?, ?)"
                " ON CONFLICT (one) DO UPDATE SET pid = excluded.pid, since = excluded.since,"
                " beat = excluded.beat, pending = excluded.pending",
                (pid, since, now, pending),
            )

    def leader(self) -> dict | None:
        row = self._connection().execute("SELECT pid, since, beat, pending FROM leader").fetchone()
        if row is None:
            return None
        return dict(zip(("pid", "since", "beat", "pending"), row, strict=True))


_SELECT = "SELECT id, topic, callback, secret, lease_seconds, expires_at FROM subscriptions"
