"""The Prometheus metrics ideabot exposes at /metrics, on a registry of its own."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True, slots=True)
class Metrics:
    """Every metric, created once in the composition root and passed where it is counted."""

    registry: CollectorRegistry
    messages_received: Counter
    duplicates_skipped: Counter
    handling_failures: Counter
    outbox_sent: Counter
    outbox_retries: Counter
    outbox_failed: Counter
    delivery_seconds: Histogram

    @classmethod
    def create(cls) -> Metrics:
        """A fresh registry with all of ideabot's metrics on it."""
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            messages_received=Counter(
                "ideabot_messages_received",
                "Customer events handled",
                ["platform"],
                registry=registry,
            ),
            duplicates_skipped=Counter(
                "ideabot_duplicates_skipped",
                "Redelivered events with no second effect",
                ["platform"],
                registry=registry,
            ),
            handling_failures=Counter(
                "ideabot_handling_failures",
                "Events whose handling raised an error",
                ["platform"],
                registry=registry,
            ),
            outbox_sent=Counter(
                "ideabot_outbox_sent",
                "Outbox messages accepted by the platform",
                ["platform"],
                registry=registry,
            ),
            outbox_retries=Counter(
                "ideabot_outbox_retries",
                "Outbox sends put off to later",
                ["platform", "reason"],
                registry=registry,
            ),
            outbox_failed=Counter(
                "ideabot_outbox_failed",
                "Outbox messages given up on",
                ["platform", "reason"],
                registry=registry,
            ),
            delivery_seconds=Histogram(
                "ideabot_delivery_seconds",
                "From enqueue to the platform accepting the message",
                ["platform"],
                registry=registry,
                buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            ),
        )
