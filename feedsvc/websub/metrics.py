"""WebSub's series in the app's /metrics registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DELIVERY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
DELIVERY_OUTCOMES = ("delivered", "failed", "gone", "refused", "expired")
NOTIFY_OUTCOMES = ("sent", "failed", "dropped")


class WebSubMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        # The latest value any process wrote is the answer.
        self.subscriptions = Gauge(
            "feedsvc_websub_subscriptions",
            "Active subscriptions at the built-in hub.",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.pending = Gauge(
            "feedsvc_websub_pending",
            "Deliveries and notifications waiting or retrying, in the leader.",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.requests = Counter(
            "feedsvc_websub_hub_requests",
            "Requests to the built-in hub, by hub.mode and status.",
            ["mode", "status"],
            registry=r,
        )
        self.verifications = Counter(
            "feedsvc_websub_verifications",
            "Verifications of intent, by mode and outcome (verified, failed, refused, denied).",
            ["mode", "outcome"],
            registry=r,
        )
        self.deliveries = Counter(
            "feedsvc_websub_deliveries",
            "Content distribution attempts to subscribers, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "feedsvc_websub_delivery_latency_seconds",
            "Time from a topic's change being seen to its delivery being acknowledged.",
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.changes = Counter(
            "feedsvc_websub_topic_changes",
            "Topic URLs whose bytes changed, as published to hubs and subscribers.",
            registry=r,
        )
        self.notifications = Counter(
            "feedsvc_websub_hub_notifications",
            "hub.mode=publish requests to external hubs, by outcome.",
            ["outcome"],
            registry=r,
        )
        for outcome in DELIVERY_OUTCOMES:
            self.deliveries.labels(outcome)
        for outcome in NOTIFY_OUTCOMES:
            self.notifications.labels(outcome)
