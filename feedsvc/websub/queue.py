"""The retry queue behind deliveries and hub notifications.

One job per key (a subscription, or a hub and topic): a newer version of a topic
replaces what a waiting job would have sent, so memory is bounded by the number
of keys, not of changes, and a subscriber never gets an old version after a new
one. A failed attempt is retried after an exponential backoff until the job's
deadline (the end of a subscription's lease); time comes from the caller, so
tests step it instead of sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

Key = tuple[Any, ...]  # ("subscriber", id) or ("hub", hub URL, topic URL)

BACKOFF_FIRST = 5.0  # seconds before the first retry
BACKOFF_MAX = 3600.0  # retries never wait longer than this


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: 5, 10, 20, … up to an hour."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (attempts - 1))


@dataclass(eq=False)
class Job:
    key: Key
    payload: Any
    deadline: float  # no attempt starts after this
    queued_at: float  # when the payload was queued, for delivery latency
    due: float
    attempts: int = 0
    seq: int = 0
    running: bool = False
    newer: tuple[Any, float, float] | None = field(default=None, repr=False)


class Queue:
    """Jobs by key, handed out when due; thread-safe."""

    def __init__(self) -> None:
        self._jobs: dict[Key, Job] = {}
        self._heap: list[tuple[float, int, Key]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._jobs)

    def put(self, key: Key, payload: Any, deadline: float, now: float) -> None:
        """Send ``payload`` for ``key`` as soon as possible, replacing a waiting one."""
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = Job(key, payload, deadline, now, now)
            elif job.running:
                job.newer = (payload, deadline, now)  # sent once the attempt in flight ends
                return
            else:
                job.payload, job.deadline, job.queued_at, job.attempts = payload, deadline, now, 0
            self._schedule(job, now)

    def take(self, now: float, limit: int) -> list[Job]:
        """Up to ``limit`` jobs that are due, marked running."""
        taken: list[Job] = []
        with self._lock:
            while self._heap and len(taken) < limit and self._heap[0][0] <= now:
                _, seq, key = heapq.heappop(self._heap)
                job = self._jobs.get(key)
                if job is None or job.seq != seq or job.running:
                    continue  # superseded by a later schedule
                job.running = True
                taken.append(job)
        return taken

    def done(self, job: Job, ok: bool, now: float, deadline: float | None = None) -> str:
        """Record an attempt: "done", "retry" or "dropped" (past its deadline).

        ``deadline`` replaces the job's when the attempt learnt a newer one (a renewed lease).
        """
        with self._lock:
            job.running = False
            job.attempts += 1
            if deadline is not None:
                job.deadline = deadline
            if job.newer is not None:
                (job.payload, job.deadline, job.queued_at), job.newer = job.newer, None
                job.attempts = 0
                self._schedule(job, now)
                return "done" if ok else "retry"
            if ok:
                del self._jobs[job.key]
                return "done"
            due = now + backoff(job.attempts)
            if due > job.deadline:
                del self._jobs[job.key]
                return "dropped"
            self._schedule(job, due)
            return "retry"

    def drop(self, job: Job) -> None:
        """Forget ``job`` after its attempt (its subscription is gone)."""
        with self._lock:
            job.running = False
            self._jobs.pop(job.key, None)

    def next_due(self) -> float | None:
        with self._lock:
            while self._heap:
                due, seq, key = self._heap[0]
                job = self._jobs.get(key)
                if job is not None and job.seq == seq and not job.running:
                    return due
                heapq.heappop(self._heap)
            return None

    def _schedule(self, job: Job, due: float) -> None:
        job.due = due
        job.seq = next(self._seq)
        heapq.heappush(self._heap, (due, job.seq, job.key))
