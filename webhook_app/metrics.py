"""Prometheus metrics of one app instance (its own registry, so tests can build many apps).

With several worker processes (gunicorn, granian ``--workers``), a scrape reaches one worker
at random and would see only its counts. Setting ``PROMETHEUS_MULTIPROC_DIR`` before the
server starts switches prometheus_client to its multiprocess mode: each worker writes its
values to files in that directory, and ``/metrics`` adds up every worker's (then the registry
is the process's files, not one instance's). prometheus_client chooses the mode once, when
it is imported; so does this module, so a variable set later changes nothing.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

# The folder the worker processes' values live in, if prometheus_client runs in multiprocess mode.
_MULTIPROCESS_DIR = (
    # prometheus_client still honours the old lower-case name too.
    os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")  # noqa: SIM112
    if getattr(values.ValueClass, "_multiprocess", False)
    else None
)

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """Requests, latency, signature failures, flow outcomes, fallbacks and call failures."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "voice_webhook_requests",
            "Webhook requests by flow and HTTP status.",
            ("flow", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "voice_webhook_request_seconds",
            "Time spent handling a webhook request, by flow.",
            ("flow",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.signature_failures = Counter(
            "voice_webhook_signature_failures",
            "Requests refused because X-Twilio-Signature was missing or wrong.",
            ("flow",),
            registry=self.registry,
        )
        self.outcomes = Counter(
            "voice_flow_outcomes",
            "Call-flow decisions (IVR step, dial target, duplicate callback...).",
            ("flow", "outcome"),
            registry=self.registry,
        )
        # Labels take only bounded values: a known status or "other"; an error code of up to
        # five digits (Twilio's are five, SIP's three) or "other"; "none" when there is none.
        self.fallbacks = Counter(
            "voice_fallbacks",
            "Fallback requests (voice fallback URL, trunk disaster recovery) by Twilio ErrorCode.",
            ("flow", "error_code"),
            registry=self.registry,
        )
        self.call_failures = Counter(
            "voice_call_failures",
            "Calls (status callbacks) and dials (<Dial> actions) that failed, by status and "
            "Twilio ErrorCode.",
            ("flow", "status", "error_code"),
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The exposition text for ``GET /metrics``: every worker's, in multiprocess mode."""
        if _MULTIPROCESS_DIR:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=_MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
            return bytes(generate_latest(registry))
        return bytes(generate_latest(self.registry))
