"""HTTP side of the call simulator: ``/_admin/calls`` and the recordings' media URLs.

- ``POST /_admin/calls`` (JSON :class:`~emulator.calls.CallSpec` mapping) places a simulated
  call and answers its result: status, trace, what was heard, dialled, recorded, requested and
  alerted. 400 with ``{"error": ...}`` when the call cannot be placed (no such number...).
- ``POST /_admin/calls`` with ``"wait": false`` starts a live call and answers 202 with its
  SID; ``GET /_admin/calls/CA…`` waits for it (or an outbound call) to end and answers its result.
- ``GET /_admin/calls`` lists the calls, recordings and conferences simulated so far (the
  calls and recordings are the account's: ``Calls.json``, ``Recordings.json``; alerts are
  Monitor alerts: ``monitor/v1/Alerts``); ``DELETE /_admin/calls`` forgets them.
- ``PUT /_admin/calls/outbound`` sets the outbound calls' rate limit and how each callee
  behaves (``emulator.outbound``).
- ``GET /api/2010-04-01/Accounts/AC…/Recordings/RE…[.wav|.mp3]`` serves a recording's media
  (one second of silence), without auth, as Twilio serves recording media by default.

The admin guard is the admin API's own (Host/Origin refusal, ``X-Admin-Token``, JSON writes).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from emulator.calls import CallSpec, SpecError
from emulator.simulate import Simulator, recording_media

if TYPE_CHECKING:
    from emulator.app import Emulator

CALLS_PATH = "/_admin/calls"
_MEDIA = re.compile(
    r"^/api/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/Recordings/"
    r"(?P<sid>RE[0-9a-fA-F]{32})(?P<ext>\.wav|\.mp3)?$"
)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, indent=1), status, mimetype="application/json")


class SimulatorEndpoints:
    """The simulator of one emulator, and its HTTP endpoints."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        config = emulator.config
        self.simulator = Simulator(emulator.store, config.account_sid, config.auth_token)

    def is_media(self, path: str) -> bool:
        return _MEDIA.match(path) is not None

    def handles(self, path: str) -> bool:
        return path == CALLS_PATH or path.startswith(CALLS_PATH + "/")

    def dispatch(self, request: Request) -> Response:
        refused = self.emulator.admin.refused(request)  # the admin API's own guard
        if refused is not None:
            return refused
        if request.path == CALLS_PATH + "/outbound":
            return self._outbound(request)
        tail = request.path.removeprefix(CALLS_PATH + "/")
        if tail.startswith("CA") and request.method == "GET":
            # A background call's result, once it ended (waits up to ?timeout= seconds, 30).
            try:
                timeout = min(float(request.args.get("timeout", "30")), 120.0)
            except ValueError:
                timeout = 30.0
            result = self.simulator.join(tail, timeout)
            if result is None:
                return _json({"call_sid": tail, "status": "in-progress"}, 202)
            return _json(result)
        if request.path != CALLS_PATH:
            return _json({"error": f"no such endpoint {request.path}"}, 404)
        store = self.emulator.store
        if request.method == "GET":
            conferences = self.simulator.conferences
            with store.lock:
                calls = [record for _, record in store.items("call")]
                recordings = [record for _, record in store.items("call_recording")]
                rooms = [
                    {
                        **record,
                        "participants": [r for _, r in store.items("conference_participant", sid)],
                        "events": list(conferences.log.get(sid, [])),
                    }
                    for (_, sid), record in store.items("conference")
                ]
            return _json({"calls": calls, "recordings": recordings, "conferences": rooms})
        if request.method == "DELETE":
            with store.lock:
                for kind in ("call", "call_recording", "conference", "conference_participant"):
                    store.tables[kind].clear()
                store.save()
            return _json({"cleared": True})
        if request.method != "POST":
            response = _json({"error": "use GET, POST or DELETE"}, 405)
            response.headers["Allow"] = "GET, POST, DELETE"
            return response
        if request.mimetype != "application/json":
            return _json(
                {"error": "POST a JSON call spec with Content-Type: application/json"}, 415
            )
        try:
            data = json.loads(request.get_data(as_text=True) or "{}")
        except json.JSONDecodeError as exc:
            return _json({"error": f"body is not JSON: {exc}"}, 400)
        if not isinstance(data, dict):
            return _json({"error": "body must be a JSON object (a call spec)"}, 400)
        wait = data.pop("wait", True)
        try:
            spec = CallSpec.from_mapping(data)
            if wait is False:  # a live call: it runs on; GET /_admin/calls/<sid> waits for it
                sid = self.simulator.place_async(spec, request.host_url)
                return _json({"call_sid": sid, "status": "queued"}, 202)
            if spec.direction == "outbound":
                result = self.simulator.outbound.place(spec, request.host_url)
            else:
                result = self.simulator.place(spec, request.host_url)
        except SpecError as exc:
            return _json({"error": str(exc)}, 400)
        return _json(result)

    def _outbound(self, request: Request) -> Response:
        """GET: the outbound settings; PUT: ``{"cps": n, "parties": {callee: behaviour}}``."""
        outbound = self.simulator.outbound
        if request.method == "GET":
            with outbound._lock:
                results = dict(outbound.results)
            return _json(
                {"cps": outbound.cps, "parties": sorted(outbound.callees), "calls": results}
            )
        if request.method not in ("PUT", "POST"):
            return _json({"error": "use GET or PUT"}, 405)
        if request.mimetype != "application/json":
            return _json({"error": "PUT a JSON object with Content-Type: application/json"}, 415)
        try:
            data = json.loads(request.get_data(as_text=True) or "{}")
            if not isinstance(data, dict):
                raise SpecError("the body must be a JSON object")
            return _json(outbound.configure(data))
        except (json.JSONDecodeError, SpecError) as exc:
            return _json({"error": str(exc)}, 400)

    def media(self, request: Request) -> Response | None:
        """The media of a simulated recording, or None when the path is no recording URL."""
        match = _MEDIA.match(request.path)
        if match is None or request.method not in ("GET", "HEAD"):
            return None
        if match["account"] != self.emulator.config.account_sid:
            return None
        with self.emulator.store.lock:
            if self.emulator.store.get("call_recording", "", match["sid"]) is None:
                return None
        # WAV whatever the extension: a stand-in, no encoder here (.mp3 is not transcoded).
        return Response(recording_media(), 200, mimetype="audio/x-wav")


__all__ = ["CALLS_PATH", "SimulatorEndpoints"]
