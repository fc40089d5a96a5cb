"""One process per deployment pushes: it notifies external hubs and runs the delivery loop.

Every serving process tries to take an exclusive ``flock`` on a file in
WEBSUB_DIR; the one that holds it is the leader until it exits, when the kernel
releases the lock and another process takes it within ``RETRY`` seconds. The
leader watches its own store's snapshots (every process reads the same folder),
renders what changed, and queues one job per subscriber and per external hub;
a pool of threads sends them, each failure retried with backoff.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..content.index import Snapshot
from ..content.store import Store
from ..content.threads import PerProcessThread
from .delivery import Content, deliver, notify
from .metrics import WebSubMetrics
from .publisher import Changes
from .queue import Job, Queue
from .safety import Client
from .settings import LOCK_NAME, WebSubSettings
from .storage import Storage

log = logging.getLogger("feedsvc.websub")

RETRY = 1.0  # seconds between a follower's tries to become the leader
POLL = 0.5  # the leader's longest sleep: publish requests from other processes wait this long
HOUSEKEEPING = 30.0  # seconds between expiring leases and refreshing the gauges
SEND_THREADS = 32  # deliveries in flight at once: they wait on the network, not the CPU
NOTIFY_FOR = 6 * 3600.0  # a hub that keeps failing is told of a change for this long


class Leader:
    def __init__(
        self,
        settings: WebSubSettings,
        storage: Storage,
        store: Store,
        changes: Changes,
        client: Client,
        hub_client: Client,
        metrics: WebSubMetrics,
        clock: Callable[[], float],
        on_lead: Callable[[], None] = lambda: None,
    ):
        self.settings = settings
        self.on_lead = on_lead
        self.storage = storage
        self.store = store
        self.changes = changes
        self.client = client
        self.hub_client = hub_client
        self.metrics = metrics
        self.clock = clock
        self.queue = Queue()
        self.lock_path = os.path.join(settings.directory, LOCK_NAME)
        self._lock_file: int | None = None
        self._lock_pid = 0
        self._since = 0.0
        self._wake = threading.Event()
        self._thread = PerProcessThread(self._run, "feedsvc-websub")
        self._snapshot: Snapshot | None = None
        self._seen: Snapshot | None = None
        self._housekept = 0.0
        self._stopped = False
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight = 0
        self._idle = threading.Condition()

    # --- election ----------------------------------------------------------------------

    @property
    def leading(self) -> bool:
        return self._lock_file is not None and self._lock_pid == os.getpid()

    def try_lead(self) -> bool:
        """Take the deployment's lock if no other process holds it; True while held here."""
        if self.leading:
            return True
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_file, self._lock_pid = fd, os.getpid()
        self._since = self.clock()
        log.info("websub leader: this process (%s) notifies hubs and delivers", os.getpid())
        return True

    def ensure_running(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._lock_file is not None and self.leading:
            os.close(self._lock_file)  # releases the lock
            self._lock_file = None

    # --- what wakes the loop -------------------------------------------------------------

    def saw(self, snapshot: Snapshot) -> None:
        """A store listener: a new snapshot may have changed some topics."""
        self._snapshot = snapshot
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    # --- the loop ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopped and not self.try_lead():
            self._wake.wait(RETRY)
            self._wake.clear()
        if self._stopped:
            return
        # A leader must see every edit even if no request reaches its process.
        self.on_lead()
        self._pool = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="websub-send")
        while not self._stopped:
            try:
                self.step()
            except Exception:  # noqa: BLE001 - the loop must go on; the next step retries
                log.exception("websub loop failed")
            due = self.queue.next_due()
            timeout = POLL if due is None else min(POLL, max(0.0, due - self.clock()))
            self._wake.wait(timeout)
            self._wake.clear()

    def step(self) -> None:
        """One round: find changes, queue them, send what is due (in the pool, or here)."""
        now = self.clock()
        snapshot = self._snapshot if self._snapshot is not None else None
        if snapshot is None and self.store.ready:
            snapshot = self._snapshot = self.store.snapshot
        if snapshot is not None and snapshot is not self._seen:
            self._seen = snapshot
            self.publish(self.changes.since_last(snapshot))
        urls = self.storage.take_publishes()
        if urls and self._seen is not None:
            self.publish(self.changes.of_urls(urls, self._seen))
        for job in self.queue.take(now, SEND_THREADS * 4):
            if self._pool is None:
                self._attempt(job)
            else:
                with self._idle:
                    self._in_flight += 1
                self._pool.submit(self._attempt, job)
        if now - self._housekept >= HOUSEKEEPING:
            self._housekeeping(now)

    def publish(self, changed: list[Content]) -> None:
        """Queue a job per external hub and per active subscriber of each changed topic."""
        now = self.clock()
        for content in changed:
            self.metrics.changes.inc()
            log.info("websub topic changed", extra={"topic": content.topic})
            for hub in self.settings.external:
                self.queue.put(("hub", hub, content.topic), content, now + NOTIFY_FOR, now)
            if self.settings.self_hub:
                for subscription in self.storage.active(content.topic, now):
                    self.queue.put(
                        ("subscriber", subscription.id), content, subscription.expires_at, now
                    )
        self.metrics.pending.set(len(self.queue))
        if changed:
            self._wake.set()

    def _attempt(self, job: Job) -> None:
        try:
            if job.key[0] == "hub":
                self._notify(job)
            else:
                self._deliver(job)
        except Exception:  # noqa: BLE001 - counted as a failure and retried
            log.exception("websub push failed")
            self.queue.done(job, False, self.clock())
        finally:
            with self._idle:
                self._in_flight = max(0, self._in_flight - 1)
                self._idle.notify_all()
            self._wake.set()

    def _notify(self, job: Job) -> None:
        _, hub, topic = job.key
        ok = notify(self.hub_client, hub, topic)
        result = self.queue.done(job, ok, self.clock())
        outcome = "sent" if ok else ("dropped" if result == "dropped" else "failed")
        self.metrics.notifications.labels(outcome).inc()
        log.info("websub publish", extra={"hub": hub, "topic": topic, "outcome": outcome})

    def _deliver(self, job: Job) -> None:
        now = self.clock()
        subscription = self.storage.get(job.key[1])
        if subscription is None:  # unsubscribed or gone since it was queued
            self.queue.drop(job)
            return
        if subscription.expires_at <= now:
            self.queue.drop(job)
            self.metrics.deliveries.labels("expired").inc()
            return
        outcome = deliver(self.client, self.storage, self.settings.hubs, subscription, job.payload)
        now = self.clock()
        if outcome == "gone":
            self.queue.drop(job)
        else:
            ok = outcome == "delivered"
            if ok:
                self.metrics.latency.observe(max(0.0, now - job.queued_at))
            if self.queue.done(job, ok, now, subscription.expires_at) == "dropped":
                self.metrics.deliveries.labels("expired").inc()
        self.metrics.deliveries.labels(outcome).inc()

    def _housekeeping(self, now: float) -> None:
        self._housekept = now
        self.storage.expire(now)
        self.metrics.subscriptions.set(self.storage.count(now))
        self.metrics.pending.set(len(self.queue))
        self.storage.beat(os.getpid(), self._since, now, len(self.queue))

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is due or in flight (tests, benchmarks); True if so."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while True:
                due = self.queue.next_due()
                busy = self._in_flight or (due is not None and due <= self.clock())
                if not busy:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
