"""`twilio-voice transfer --stack NAME --customer CA… --agent +1… [--supervisor +1… [--coach]]`.

The warm transfer's missing half: the customer waits in the conference room of their call
(flow `conference_transfer`, `?leg=customer`); this places the agent's leg into that room
(`conference_transfer?leg=agent&customer=CA…`, the agent's entry starts the conference) and,
with `--supervisor`, a supervisor's leg, which the app joins muted. With `--coach`, the
supervisor is then switched to coaching the agent over the Participants API (the agent hears
them, the customer does not). Calls come from `--from`, a number the stack declares.
Exit 0 placed, 1 Twilio refused a call, 2 unusable input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from infra.client import TwilioApi
from infra.commands.call import stack_placer
from infra.commands.command import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Command, add_stack_arguments
from infra.errors import TwilioApiError
from infra.outbound import OutboundError

FLOW = "conference_transfer"
COACH_WAIT_SECONDS = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument("--customer", required=True, help="the customer's CallSid (CA…)")
    parser.add_argument("--agent", required=True, help="the agent's number or sip: URI")
    parser.add_argument("--supervisor", help="a supervisor's number or sip: URI (joins muted)")
    parser.add_argument(
        "--coach", action="store_true", help="switch the supervisor to coaching the agent"
    )
    parser.add_argument("--from", dest="from_", required=True, help="a declared number (E.164)")


def run(args: argparse.Namespace) -> int:
    return transfer(
        args.project_dir,
        args.stack,
        customer=args.customer,
        agent=args.agent,
        supervisor=args.supervisor,
        coach=args.coach,
        from_=args.from_,
        out=sys.stdout,
        err=sys.stderr,
    )


def transfer(
    project_dir: Path,
    stack: str,
    *,
    customer: str,
    agent: str,
    from_: str,
    supervisor: str | None = None,
    coach: bool = False,
    environ: Mapping[str, str] | None = None,
    out: TextIO,
    err: TextIO,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    environ = os.environ if environ is None else environ
    if not (customer.startswith("CA") and len(customer) == 34):
        print(f"{stack}: --customer must be the customer's CallSid (CA + 32 hex)", file=err)
        return EXIT_ERROR
    if coach and not supervisor:
        print(f"{stack}: --coach needs --supervisor", file=err)
        return EXIT_ERROR
    placer = stack_placer(project_dir, stack, environ, err)
    if placer is None:
        return EXIT_ERROR
    api = placer.api
    legs = [("agent", agent)] + ([("supervisor", supervisor)] if supervisor else [])
    try:
        for leg, to in legs:  # refuse before dialling anyone
            placer.form(to, from_=from_, flow=FLOW, query={"leg": leg, "customer": customer})
    except OutboundError as exc:
        print(f"{stack}: {exc}", file=err)
        return EXIT_ERROR
    placed: dict[str, dict[str, Any]] = {}
    try:
        for leg, to in legs:
            record = placer.place(
                to, from_=from_, flow=FLOW, query={"leg": leg, "customer": customer}
            )
            placed[leg] = record
            out.write(f"{leg}: {to} {record.get('sid')} {record.get('status')}\n")
        if coach and supervisor:
            _coach(api, customer, placed, out, sleep)
    except (TwilioApiError, LookupError) as exc:
        print(f"{stack}: transfer failed: {exc}", file=err)
        return EXIT_INVALID
    return EXIT_OK


def _coach(
    api: TwilioApi,
    customer: str,
    placed: Mapping[str, Mapping[str, Any]],
    out: TextIO,
    sleep: Callable[[float], None],
) -> None:
    """Once the supervisor is in the customer's conference, make them coach the agent."""
    account = api.account_sid
    supervisor, agent = str(placed["supervisor"]["sid"]), str(placed["agent"]["sid"])
    conferences = f"/2010-04-01/Accounts/{account}/Conferences"
    deadline = time.monotonic() + COACH_WAIT_SECONDS
    while True:
        for conference in api.list("api", f"{conferences}.json", {"Status": "in-progress"}):
            path = f"{conferences}/{conference['sid']}/Participants"
            sids = {p["call_sid"] for p in api.list("api", f"{path}.json")}
            if {supervisor, agent, customer} <= sids:
                api.update(
                    "api",
                    f"{path}/{supervisor}.json",
                    {"Coaching": "true", "CallSidToCoach": agent},
                )
                out.write(f"supervisor: coaching the agent in {conference['sid']}\n")
                return
        if time.monotonic() > deadline:
            raise LookupError(
                f"the supervisor's leg did not join the customer's conference within "
                f"{COACH_WAIT_SECONDS:.0f} s"
            )
        sleep(0.2)


COMMAND = Command(
    name="transfer",
    help="Warm transfer: place the agent's (and a supervisor's) leg into the customer's room.",
    add_arguments=add_arguments,
    run=run,
)
