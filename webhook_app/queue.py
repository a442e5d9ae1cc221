"""``python -m webhook_app.queue``: read or drain the stored call events and recording jobs.

The callbacks only enqueue; whatever processes recordings (download, transcription,
retention) or call events (billing, analytics) takes them from here, in batches, as JSON lines
on stdout. ``--take N`` removes what it prints, each item going to exactly one taker even with
several running; without it the queue is only listed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from webhook_app.settings import DEFAULT_STORE_URL
from webhook_app.store import CallEvent, RecordingJob, Store, StoreError, open_store

QUEUES = ("recording-jobs", "call-events")


def drain(store: Store, queue: str, take: int | None, out: TextIO) -> int:
    """Write the queue's items to ``out`` (removing them if ``take``); return how many."""
    items: Sequence[CallEvent | RecordingJob]
    if queue == "recording-jobs":
        items = store.recording_jobs() if take is None else store.take_recording_jobs(take)
    else:
        items = store.call_events() if take is None else store.take_call_events(take)
    for item in items:
        out.write(item.encode() + "\n")
    return len(items)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m webhook_app.queue",
        description="List or take the webhook app's queued recording jobs or call events "
        "(VOICE_STORE_URL selects the store).",
    )
    parser.add_argument("queue", choices=QUEUES)
    parser.add_argument(
        "--take",
        type=int,
        metavar="N",
        help="remove and print up to N oldest items (default: list all, remove nothing)",
    )
    args = parser.parse_args(argv)
    if args.take is not None and args.take < 1:
        parser.error("--take must be at least 1")
    url = os.environ.get("VOICE_STORE_URL", DEFAULT_STORE_URL)
    try:
        store = open_store(url)
        try:
            count = drain(store, args.queue, args.take, sys.stdout)
        finally:
            store.close()
    except StoreError as exc:
        print(f"webhook_app.queue: {exc}", file=sys.stderr)
        return 1
    print(f"{count} {args.queue}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
