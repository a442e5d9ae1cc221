"""Fault injection (429, 5xx, latency, "applied but the response was lost") and call counters.

With a seed, each Twilio call draws from its own generator, keyed by the seed, the request
(method, path, query and form) and how many times that same request came before. A run with the
same seed therefore sees the same faults on every run, however its calls interleave: a client
that works on many resources from several threads cannot be lucky on one run and not the next.
Without a seed the draws come from one unseeded generator.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Any

FAULT_KINDS = ("429", "500", "503", "lost")
LOST_MODES = ("500", "drop")


@dataclass(frozen=True)
class FaultConfig:
    """Shares (0..1) of Twilio calls that fail, and how.

    `rate_lost` calls are applied (the change is stored) and then answered 500, or the
    connection is closed without a response (`lost_mode="drop"`); on a GET nothing is stored.
    `methods` limits faults to those HTTP methods (empty = all).
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_lost: float = 0.0
    lost_mode: str = "500"
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    retry_after: int = 1
    seed: int | None = None
    methods: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        rates = (self.rate_429, self.rate_500, self.rate_503, self.rate_lost)
        if any(r < 0 or r > 1 for r in rates) or sum(rates) > 1:
            raise ValueError(f"fault rates must be in 0..1 and sum to at most 1, got {rates}")
        if self.lost_mode not in LOST_MODES:
            raise ValueError(f"lost_mode must be one of {LOST_MODES}, got {self.lost_mode!r}")
        if self.latency_ms < 0 or self.latency_jitter_ms < 0 or self.retry_after < 0:
            raise ValueError("latency_ms, latency_jitter_ms and retry_after must be >= 0")

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> FaultConfig:
        """Build from JSON (admin API); unknown keys are an error that names them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings {unknown}; known: {sorted(known)}")
        values = dict(data)
        if "methods" in values:
            values["methods"] = tuple(str(m).upper() for m in values["methods"])
        return cls(**values)

    def to_mapping(self) -> dict[str, Any]:
        data = asdict(self)
        data["methods"] = list(self.methods)
        return data


@dataclass(frozen=True)
class Decision:
    fault: str | None
    latency_s: float


class Faults:
    """Thread-safe fault decisions, reproducible per request when a seed is set."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._seen: Counter[tuple[str, str]] = Counter()

    def decide(self, method: str, request_key: str = "") -> Decision:
        """One call's fault and latency; `request_key` names the request (path, query, form)."""
        config = self._config
        if config.methods and method.upper() not in config.methods:
            return Decision(None, 0.0)
        with self._lock:
            rng = self._rng
            if config.seed is not None:
                occurrence = self._seen[(method, request_key)]
                self._seen[(method, request_key)] = occurrence + 1
                # A str seed is hashed with SHA-512: the same on every run and interpreter.
                rng = random.Random(f"{config.seed}|{method}|{request_key}|{occurrence}")
            draw = rng.random()
            jitter = rng.random() * config.latency_jitter_ms
        latency = (config.latency_ms + jitter) / 1000.0
        threshold = 0.0
        for kind, rate in zip(
            FAULT_KINDS,
            (config.rate_429, config.rate_500, config.rate_503, config.rate_lost),
            strict=True,
        ):
            threshold += rate
            if draw < threshold:
                return Decision(kind, latency)
        return Decision(None, latency)


class Counters:
    """Calls seen by the emulator: total, per `METHOD /route/template`, per status, per fault."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.routes: Counter[str] = Counter()
            self.statuses: Counter[str] = Counter()
            self.faults: Counter[str] = Counter()

    def count(self, route: str, status: int, fault: str | None) -> None:
        with self._lock:
            self.total += 1
            self.routes[route] += 1
            self.statuses[str(status)] += 1
            if fault:
                self.faults[fault] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "routes": dict(sorted(self.routes.items())),
                "statuses": dict(sorted(self.statuses.items())),
                "faults": {kind: self.faults.get(kind, 0) for kind in FAULT_KINDS},
            }


__all__ = ["FAULT_KINDS", "Counters", "Decision", "FaultConfig", "Faults"]
