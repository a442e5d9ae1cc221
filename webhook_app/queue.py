"""``python -m webhook_app.queue``: list, take, acknowledge or inspect the queued items.

The callbacks only enqueue; whatever processes recordings (download, transcription,
retention) or call events (billing, analytics, alerting) takes them from here in batches, as
JSON lines on stdout. Taking lends the items for ``--lease`` seconds, each with a ``receipt``;
``--ack`` with the receipts removes them. Items not acknowledged in time are lent again (a
consumer that crashed loses nothing), and after ``--max-attempts`` leases ran out an item is
parked (``--parked`` lists them, ``--requeue-parked`` makes them wait again).

Exit status: 0 done, 1 the store failed or a receipt is malformed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

from webhook_app.settings import DEFAULT_STORE_URL
from webhook_app.store import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    CallEvent,
    R,
    RecordingJob,
    Store,
    StoreError,
    open_store,
)

QUEUES = ("recording-jobs", "call-events")


def drain(
    store: Store,
    kind: type[R],
    take: int | None,
    out: TextIO,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> int:
    """Write the queue's items to ``out`` (lending them if ``take``); return how many."""
    if take is None:
        items: Sequence[CallEvent | RecordingJob] = (
            store.recording_jobs() if kind is RecordingJob else store.call_events()
        )
        lines = [item.encode() for item in items]
    else:
        lines = [leased.encode() for leased in store.take(kind, take, lease_seconds, max_attempts)]
    for line in lines:
        out.write(line + "\n")
    return len(lines)


def _run(store: Store, kind: type[R], args: argparse.Namespace) -> str:
    """Do what the arguments ask on one queue; return the summary line for stderr."""
    if args.ack is not None:
        receipts = read_receipts(args.ack)
        done = store.ack(kind, receipts)
        message = f"acknowledged {done} of {len(receipts)} {args.queue}"
        if done < len(receipts):
            message += (
                f"; {len(receipts) - done} no longer held (the lease ran out and the item was "
                "taken again or parked, or it was acknowledged already)"
            )
        return message
    if args.parked:
        parked = store.parked(kind)
        for item in parked:
            sys.stdout.write(item.encode() + "\n")
        return f"{len(parked)} parked {args.queue}"
    if args.requeue_parked:
        return f"{store.requeue_parked(kind)} parked {args.queue} wait again"
    count = drain(store, kind, args.take, sys.stdout, args.lease, args.max_attempts)
    return f"{count} {args.queue}{' taken' if args.take else ''}"


def read_receipts(words: Iterable[str]) -> list[str]:
    """Receipts given as words, or lines (``-``: stdin) of receipts or of taken JSON lines."""
    receipts: list[str] = []
    for word in words:
        lines = sys.stdin.read().splitlines() if word == "-" else [word]
        for line in (text.strip() for text in lines):
            if line.startswith("{"):
                try:
                    receipts.append(str(json.loads(line)["receipt"]))
                except (ValueError, KeyError, TypeError) as exc:
                    raise StoreError(f"not a taken item's JSON line: {line[:100]!r}") from exc
            elif line:
                receipts.append(line)
    return receipts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m webhook_app.queue",
        description="List, take and acknowledge the webhook app's queued recording jobs or "
        "call events (VOICE_STORE_URL selects the store).",
        epilog="A consumer loop: take a batch, process each item, ack its receipt; an item "
        "not acked within --lease seconds is taken again (so processing must be idempotent).",
    )
    parser.add_argument("queue", choices=QUEUES)
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--take",
        type=int,
        metavar="N",
        help="lend up to N oldest items and print them, each with its receipt and attempts "
        "(default: list the waiting and lent items, change nothing)",
    )
    action.add_argument(
        "--ack",
        nargs="+",
        metavar="RECEIPT",
        help="acknowledge (remove) the items of these receipts; '-' reads receipts, or the "
        "JSON lines --take printed, from stdin",
    )
    action.add_argument("--parked", action="store_true", help="list the parked items")
    action.add_argument(
        "--requeue-parked",
        action="store_true",
        help="make every parked item wait again, with its attempts reset",
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=DEFAULT_LEASE_SECONDS,
        metavar="SECONDS",
        help=f"with --take: how long the items are lent (default {DEFAULT_LEASE_SECONDS:g})",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=DEFAULT_MAX_ATTEMPTS,
        metavar="N",
        help="with --take: park an item once N of its leases ran out without an ack "
        f"(default {DEFAULT_MAX_ATTEMPTS})",
    )
    args = parser.parse_args(argv)
    if args.take is not None and args.take < 1:
        parser.error("--take must be at least 1")
    if args.lease <= 0 or args.max_attempts < 1:
        parser.error("--lease must be positive and --max-attempts at least 1")
    url = os.environ.get("VOICE_STORE_URL", DEFAULT_STORE_URL)
    try:
        store = open_store(url)
        try:
            if args.queue == "recording-jobs":
                summary = _run(store, RecordingJob, args)
            else:
                summary = _run(store, CallEvent, args)
        finally:
            store.close()
    except StoreError as exc:
        print(f"webhook_app.queue: {exc}", file=sys.stderr)
        return 1
    print(summary, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
