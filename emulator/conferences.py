"""Conferences in the call simulator: rooms, participants, control over REST, status callbacks.

A call's ``<Dial><Conference>`` joins the room of that name (created on first join, ``init``
until a participant with ``startConferenceOnEnter`` is there, then ``in-progress``). A call
placed by a scenario leaves after its scripted time; a *live* call (an outbound call, or an
inbound one placed with ``"wait": false``) stays until it is kicked, the conference ends (a
participant with ``endConferenceOnExit`` leaves, or ``Status=completed`` over REST), or its
scripted seconds pass in real time.

REST, as Twilio's (``/2010-04-01/Accounts/AC…/Conferences…``): conferences list (filters
``FriendlyName``, ``Status``), fetch, update (``Status=completed``, ``AnnounceUrl``);
participants create (dial someone into the room), list (``Muted``, ``Hold``, ``Coaching``),
fetch, update (``Muted``, ``Hold``, ``Coaching`` + ``CallSidToCoach``, ``AnnounceUrl``,
``EndConferenceOnExit``) and delete (kick), by call SID or label.

The room's ``statusCallback`` gets the events ``statusCallbackEvent`` names (``start end join
leave mute hold modify speaker announcement``; default ``start end``) as Twilio sends them:
``conference-start``, ``participant-join``, ``participant-mute``… with ``ConferenceSid``,
``FriendlyName``, ``StatusCallbackEvent``, ``SequenceNumber``, ``Timestamp`` and the
participant's ``CallSid``, ``Muted``, ``Hold``, ``Coaching``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin

from emulator import errors
from emulator.alerts import add_alert
from emulator.calls import Party, new_sid
from emulator.errors import TwilioError
from emulator.kinds import Kind
from emulator.render import Renderer, format_date, twilio_path
from emulator.signing import signature
from emulator.store import Record
from emulator.twiml_interpreter import TwimlError, parse_twiml

if TYPE_CHECKING:
    from emulator.simulate import CallState, Simulator
    from emulator.twiml_interpreter import Verb

CONFERENCE = "conference"
PARTICIPANT = "conference_participant"
LIVE_CAP = 120.0  # real seconds a live participant stays at most
_EVENT_NAMES = {
    "start": ("conference-start",),
    "end": ("conference-end",),
    "join": ("participant-join",),
    "leave": ("participant-leave",),
    "mute": ("participant-mute", "participant-unmute"),
    "hold": ("participant-hold", "participant-unhold"),
    "modify": ("participant-modify",),
    "speaker": ("participant-speech-start", "participant-speech-stop"),
    "announcement": ("announcement-end", "announcement-fail"),
}
_BOOL = {"true": True, "false": False}


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() == "true"


class Event:
    """One conference status callback to send (after the state lock is released)."""

    def __init__(
        self, url: str, method: str, params: dict[str, str], entry: dict[str, Any] | None = None
    ) -> None:
        self.url = url
        self.method = method
        self.params = params
        self.entry = entry  # the event log's entry: gets the app's answer once sent


class Conferences:
    """Every conference of one simulator; state lives in the account's store tables."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.store = simulator.store
        self.changed = threading.Condition(self.store.lock)
        # Per conference SID: (callback URL, method, wanted events, sequence), event log.
        self.callbacks: dict[str, tuple[str, str, frozenset[str]]] = {}
        self.sequence: dict[str, int] = {}
        self.log: dict[str, list[dict[str, Any]]] = {}
        self.heard: dict[str, list[str]] = {}  # call SID -> announcements it heard
        self._recorded: set[str] = set()
        with self.store.lock:  # rooms left open by a restart have nobody in them any more
            for _, record in list(self.store.items(CONFERENCE)):
                if record["status"] != "completed":
                    for participant in self._participants(str(record["sid"])):
                        participant["status"] = "complete"
                    record.update(
                        status="completed", reason_conference_ended="last-participant-left"
                    )

    def record_once(self, conference: Record) -> bool:
        """True once per conference, when it has ended: its recording is made then."""
        with self.store.lock:
            sid = str(conference["sid"])
            if conference["status"] != "completed" or sid in self._recorded:
                return False
            self._recorded.add(sid)
            return True

    # --- state ------------------------------------------------------------------------------

    def _room(self, name: str) -> Record:
        for _, record in self.store.items(CONFERENCE):
            if record["friendly_name"] == name and record["status"] != "completed":
                return record
        now = self.store.clock()
        record = {
            "sid": new_sid("CF"),
            "account_sid": self.store.account_sid,
            "friendly_name": name,
            "status": "init",
            "region": "us1",
            "api_version": "2010-04-01",
            "reason_conference_ended": None,
            "call_sid_ending_conference": None,
            "date_created": now,
            "date_updated": now,
        }
        self.store.put(CONFERENCE, "", record)
        return record

    def _participants(self, conference_sid: str) -> list[Record]:
        return [record for _, record in self.store.items(PARTICIPANT, conference_sid)]

    def _participant(self, conference_sid: str, key: str) -> Record | None:
        for record in self._participants(conference_sid):
            if key in (record["call_sid"], record.get("label")):
                return record
        return None

    def _event(
        self, conference: Record, name: str, participant: Record | None = None, **extra: str
    ) -> list[Event]:
        sid = str(conference["sid"])
        entry: dict[str, Any] = {
            "event": name,
            "call_sid": participant["call_sid"] if participant else None,
            **extra,
        }
        self.log.setdefault(sid, []).append(entry)
        callback = self.callbacks.get(sid)
        if callback is None or name not in callback[2]:
            return []
        sequence = self.sequence.get(sid, 0) + 1
        self.sequence[sid] = sequence
        params = {
            "AccountSid": self.store.account_sid,
            "ConferenceSid": sid,
            "FriendlyName": str(conference["friendly_name"]),
            "StatusCallbackEvent": name,
            "SequenceNumber": str(sequence),
            "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            **extra,
        }
        if participant is not None:
            params.update(
                CallSid=str(participant["call_sid"]),
                Muted=str(participant["muted"]).lower(),
                Hold=str(participant["hold"]).lower(),
                Coaching=str(participant["coaching"]).lower(),
                EndConferenceOnExit=str(participant["end_conference_on_exit"]).lower(),
                StartConferenceOnEnter=str(participant["start_conference_on_enter"]).lower(),
            )
            if participant.get("label"):
                params["ParticipantLabel"] = str(participant["label"])
        entry.update(sequence_number=sequence, label=params.get("ParticipantLabel"), callback=None)
        return [Event(callback[0], callback[1], params, entry)]

    def _send(self, events: Sequence[Event]) -> None:
        """POST (or GET) each event, signed; a failure is a Monitor alert (never raised)."""
        sim = self.simulator
        for event in events:
            pairs = sorted(event.params.items())
            if event.method.upper() == "GET":
                url = event.url + ("&" if "?" in event.url else "?") + urlencode(pairs)
                headers = {"X-Twilio-Signature": signature(sim.auth_token, url)}
                result = sim.transport("GET", url, None, headers, 15.0)
            else:
                headers = {
                    "X-Twilio-Signature": signature(sim.auth_token, event.url, pairs),
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                body = urlencode(pairs).encode()
                result = sim.transport("POST", event.url, body, headers, 15.0)
            if event.entry is not None:  # what the app answered (GET /_admin/calls shows it)
                with self.store.lock:
                    event.entry["callback"] = result.error or result.status
            if result.error or not 200 <= result.status < 300:
                with self.store.lock:
                    add_alert(
                        self.store,
                        {
                            "error_code": "11200",
                            "request_url": event.url,
                            "request_method": event.method.upper(),
                            "resource_sid": event.params.get("ConferenceSid", ""),
                            "alert_text": f"conference callback failed: "
                            f"{result.error or result.status}",
                        },
                    )

    def _end(self, conference: Record, reason: str, ending: str | None) -> list[Event]:
        if conference["status"] == "completed":
            return []
        events = []
        for participant in self._participants(str(conference["sid"])):
            if participant["status"] == "connected":
                participant["status"] = "complete"
                events += self._event(conference, "participant-leave", participant)
        conference.update(
            status="completed",
            reason_conference_ended=reason,
            call_sid_ending_conference=ending,
            date_updated=self.store.clock(),
        )
        events += self._event(
            conference,
            "conference-end",
            None,
            ReasonConferenceEnded=reason,
            **({"CallSidEndingConference": ending} if ending else {}),
        )
        self.changed.notify_all()
        return events

    def _leave(self, conference: Record, participant: Record, kicked: bool) -> list[Event]:
        if participant["status"] != "connected":
            return []
        participant["status"] = "complete"
        participant["date_updated"] = self.store.clock()
        events = self._event(conference, "participant-leave", participant)
        left = [p for p in self._participants(str(conference["sid"])) if p["status"] == "connected"]
        how = "kicked" if kicked else "left"
        if participant["end_conference_on_exit"]:
            events += self._end(
                conference,
                f"participant-with-end-conference-on-exit-{how}",
                str(participant["call_sid"]),
            )
        elif not left:
            events += self._end(conference, f"last-participant-{how}", str(participant["call_sid"]))
        self.changed.notify_all()
        return events

    # --- a call joins -----------------------------------------------------------------------

    def join(self, call: CallState, noun: Verb, document: str, live: bool) -> Record:
        """Put ``call`` in the room ``noun`` names until it leaves; the conference record."""
        room = noun.text
        party = call.spec.parties.get(room, Party())
        with self.store.lock:
            conference = self._room(room)
            sid = str(conference["sid"])
            callback = noun.attr("statusCallback")
            if callback and sid not in self.callbacks:
                wanted = noun.attr("statusCallbackEvent", "start end").replace(",", " ").split()
                names = frozenset(n for w in wanted for n in _EVENT_NAMES.get(w, ()))
                self.callbacks[sid] = (
                    urljoin(document, callback),
                    noun.attr("statusCallbackMethod", "POST"),
                    names,
                )
            now = self.store.clock()
            participant: Record = {
                "sid": call.sid,
                "account_sid": self.store.account_sid,
                "call_sid": call.sid,
                "conference_sid": sid,
                "label": noun.attr("participantLabel") or None,
                "call_sid_to_coach": noun.attr("callSidToCoach") or None,
                "coaching": bool(noun.attr("coach") or noun.attr("callSidToCoach")),
                "end_conference_on_exit": noun.flag("endConferenceOnExit"),
                "muted": noun.flag("muted"),
                "hold": False,
                "start_conference_on_enter": noun.flag("startConferenceOnEnter", True),
                "status": "connected",
                "queue_time": "0",
                "date_created": now,
                "date_updated": now,
            }
            self.store.put(PARTICIPANT, sid, participant)
            events: list[Event] = []
            if conference["status"] == "init" and participant["start_conference_on_enter"]:
                conference["status"] = "in-progress"
                events += self._event(conference, "conference-start")
            events += self._event(conference, "participant-join", participant)
            waiting = conference["status"] == "init"
            self.changed.notify_all()
        self._send(events)
        call.note(
            "conference",
            room=room,
            conference_sid=sid,
            label=participant["label"],
            muted=participant["muted"],
            coaching=participant["coaching"] or None,
            start_on_enter=participant["start_conference_on_enter"],
            end_on_exit=participant["end_conference_on_exit"],
            live=live or None,
        )
        if waiting:
            call.note(
                "conference-waiting",
                room=room,
                note="no participant with startConferenceOnEnter=true yet: the caller is on hold",
            )
        if live:
            deadline = time.monotonic() + min(float(party.seconds), LIVE_CAP)
            with self.store.lock:
                while participant["status"] == "connected":
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self.changed.wait(remaining)
        call.clock += party.seconds
        with self.store.lock:
            kicked = participant["status"] != "connected"
            events = self._leave(conference, participant, kicked=False)
            heard = self.heard.pop(call.sid, [])
        self._send(events)
        for text in heard:
            call.heard.append(text)
            call.note("announcement", text=text)
        call.note(
            "conference-left",
            room=room,
            reason=conference.get("reason_conference_ended") or ("removed" if kicked else "left"),
        )
        return conference

    # --- REST -------------------------------------------------------------------------------

    def handle(
        self,
        kind: Kind,
        operation: str,
        params: Mapping[str, str],
        query: Mapping[str, str],
        form: Sequence[tuple[str, str]],
        base_url: str,
        path: str,
    ) -> tuple[int, Any]:
        renderer = _Renderer(self.store, base_url)
        values = dict(reversed(form))  # the first value of each name
        events: list[Event] = []
        body: dict[str, object] | None
        with self.store.lock:
            if kind.name == CONFERENCE:
                if operation == "list":
                    records = [
                        r
                        for _, r in self.store.items(CONFERENCE)
                        if query.get("FriendlyName") in (None, "", r["friendly_name"])
                        and query.get("Status") in (None, "", r["status"])
                    ]
                    return 200, renderer.page(kind, records, params, query)
                conference = self._conference(params, path)
                if operation == "update":
                    events = self._update_conference(conference, values, base_url)
                body = renderer.instance(kind, conference, params)
            else:
                conference = self._conference(params, path, create=operation == "create")
                if operation == "list":
                    records = [
                        r
                        for r in self._participants(str(conference["sid"]))
                        if all(
                            query.get(q) in (None, "") or str(r[f]).lower() == query[q].lower()
                            for q, f in (
                                ("Muted", "muted"),
                                ("Hold", "hold"),
                                ("Coaching", "coaching"),
                            )
                        )
                    ]
                    return 200, renderer.page(kind, records, params, query)
                if operation == "create":
                    dialled = self._dial_in(conference, values, form, base_url)
                    return 201, renderer.instance(kind, dialled, params)
                found = self._participant(str(conference["sid"]), params["CallSid"])
                if found is None:
                    raise errors.not_found(path)
                participant = found
                if operation == "delete":
                    events = self._leave(conference, participant, kicked=True)
                    self.store.save()
                    body = None
                else:
                    if operation == "update":
                        events = self._update_participant(conference, participant, values, base_url)
                    body = renderer.instance(kind, participant, params)
            self.store.save()
        self._send(events)
        return (204, None) if body is None else (200, body)

    def _conference(self, params: Mapping[str, str], path: str, create: bool = False) -> Record:
        sid = params.get("Sid") or params.get("ConferenceSid", "")
        record = self.store.get(CONFERENCE, "", sid)
        if record is None and create and not sid.startswith("CF"):
            record = self._room(sid)  # Twilio: a friendly name in place of the SID
        if record is None:
            raise errors.not_found(path)
        return record

    def _update_conference(
        self, conference: Record, values: Mapping[str, str], base_url: str
    ) -> list[Event]:
        events: list[Event] = []
        status = values.get("Status")
        if status not in (None, "completed"):
            raise errors.invalid("Status must be completed")
        if values.get("AnnounceUrl"):
            targets = [
                p for p in self._participants(str(conference["sid"])) if p["status"] == "connected"
            ]
            events += self._announce(conference, None, targets, values, base_url)
        if status == "completed":
            events += self._end(conference, "conference-ended-via-api", None)
        conference["date_updated"] = self.store.clock()
        return events

    def _update_participant(
        self, conference: Record, participant: Record, values: Mapping[str, str], base_url: str
    ) -> list[Event]:
        if participant["status"] != "connected":
            raise TwilioError(404, errors.NOT_FOUND, "The participant is not in the conference")
        events: list[Event] = []
        for param, field, on, off in (
            ("Muted", "muted", "participant-mute", "participant-unmute"),
            ("Hold", "hold", "participant-hold", "participant-unhold"),
        ):
            if param in values:
                value = _BOOL.get(values[param].lower())
                if value is None:
                    raise errors.invalid(f"{param} must be true or false")
                if participant[field] != value:
                    participant[field] = value
                    events += self._event(conference, on if value else off, participant)
        modified = False
        if "Coaching" in values:
            coaching = _flag(values["Coaching"], False)
            to_coach = values.get("CallSidToCoach") or participant.get("call_sid_to_coach")
            if coaching and not to_coach:
                raise errors.invalid("CallSidToCoach is required when Coaching is true")
            participant["coaching"] = coaching
            participant["call_sid_to_coach"] = to_coach if coaching else None
            modified = True
        if "EndConferenceOnExit" in values:
            participant["end_conference_on_exit"] = _flag(values["EndConferenceOnExit"], False)
            modified = True
        if modified:
            events += self._event(conference, "participant-modify", participant)
        if values.get("AnnounceUrl"):
            events += self._announce(conference, participant, [participant], values, base_url)
        participant["date_updated"] = self.store.clock()
        return events

    def _announce(
        self,
        conference: Record,
        participant: Record | None,
        targets: Sequence[Record],
        values: Mapping[str, str],
        base_url: str,
    ) -> list[Event]:
        """Fetch the announcement's TwiML (Say/Play) and let ``targets`` hear it."""
        url, method = values["AnnounceUrl"], values.get("AnnounceMethod", "POST")
        params = {"AccountSid": self.store.account_sid, "ConferenceSid": str(conference["sid"])}
        pairs = sorted(params.items())
        headers = {"X-Twilio-Signature": signature(self.simulator.auth_token, url, pairs)}
        if method.upper() == "GET":
            full = url + ("&" if "?" in url else "?") + urlencode(pairs)
            headers["X-Twilio-Signature"] = signature(self.simulator.auth_token, full)
            result = self.simulator.transport("GET", full, None, headers, 15.0)
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            result = self.simulator.transport("POST", url, urlencode(pairs).encode(), headers, 15.0)
        texts: list[str] = []
        failed = bool(result.error) or not 200 <= result.status < 300
        if not failed:
            try:
                verbs = parse_twiml(result.body, result.content_type, url)
            except TwimlError:
                failed = True
            else:
                texts = [
                    v.text if v.name == "Say" else f"[play {v.text}]"
                    for v in verbs
                    if v.name in ("Say", "Play")
                ]
        for target in targets:
            self.heard.setdefault(str(target["call_sid"]), []).extend(texts)
        name = "announcement-fail" if failed else "announcement-end"
        return self._event(conference, name, participant)

    def _dial_in(
        self,
        conference: Record,
        values: Mapping[str, str],
        form: Sequence[tuple[str, str]],
        base_url: str,
    ) -> Record:
        """Participants create: an outbound leg that joins the room when the callee answers."""
        to, from_ = values.get("To", ""), values.get("From", "")
        if not to or not from_:
            raise errors.missing("To" if not to else "From")
        label = values.get("Label")
        if label and self._participant(str(conference["sid"]), label) is not None:
            raise errors.invalid(f"Participant label {label} already in use", 16025)
        start = str(_flag(values.get("StartConferenceOnEnter"), True)).lower()
        end = str(_flag(values.get("EndConferenceOnExit"), False)).lower()
        muted = str(_flag(values.get("Muted"), False)).lower()
        attrs = f' startConferenceOnEnter="{start}" endConferenceOnExit="{end}" muted="{muted}"'
        if label:
            attrs += f' participantLabel="{_xml(label)}"'
        if _flag(values.get("Coaching"), False) and values.get("CallSidToCoach"):
            attrs += f' coach="true" callSidToCoach="{_xml(values["CallSidToCoach"])}"'
        if values.get("ConferenceStatusCallback"):
            attrs += f' statusCallback="{_xml(values["ConferenceStatusCallback"])}"'
            events = (
                " ".join(v for k, v in form if k == "ConferenceStatusCallbackEvent") or "start end"
            )
            attrs += f' statusCallbackEvent="{_xml(events)}"'
        room = _xml(str(conference["friendly_name"]))
        twiml = f"<Response><Dial><Conference{attrs}>{room}</Conference></Dial></Response>"
        call_form = [
            ("To", to),
            ("From", from_),
            ("Twiml", twiml),
            *[
                (k, v)
                for k, v in form
                if k in ("StatusCallback", "StatusCallbackMethod", "StatusCallbackEvent")
            ],
        ]
        record = self.simulator.outbound.create(call_form, base_url)
        now = self.store.clock()
        participant: Record = {
            "sid": record["sid"],
            "account_sid": self.store.account_sid,
            "call_sid": record["sid"],
            "conference_sid": conference["sid"],
            "label": label,
            "call_sid_to_coach": values.get("CallSidToCoach"),
            "coaching": _flag(values.get("Coaching"), False),
            "end_conference_on_exit": _flag(values.get("EndConferenceOnExit"), False),
            "muted": _flag(values.get("Muted"), False),
            "hold": False,
            "start_conference_on_enter": _flag(values.get("StartConferenceOnEnter"), True),
            "status": "queued",
            "queue_time": "0",
            "date_created": now,
            "date_updated": now,
        }
        # Stored now (fetchable while it rings); replaced when the callee joins.
        self.store.put(PARTICIPANT, str(conference["sid"]), participant)
        return participant


def _xml(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


# The fields an instance shows as stored (besides its dates, URI and subresources).
_CONFERENCE_FIELDS = (
    "account_sid",
    "api_version",
    "friendly_name",
    "region",
    "sid",
    "status",
    "reason_conference_ended",
    "call_sid_ending_conference",
)
_PARTICIPANT_FIELDS = (
    "account_sid",
    "call_sid",
    "label",
    "call_sid_to_coach",
    "coaching",
    "conference_sid",
    "end_conference_on_exit",
    "muted",
    "hold",
    "start_conference_on_enter",
    "status",
    "queue_time",
)


def _shown(record: Record, kind: Kind, path: str, fields: tuple[str, ...]) -> dict[str, object]:
    return {
        **{k: record.get(k) for k in fields},
        "date_created": format_date(record["date_created"], kind),
        "date_updated": format_date(record["date_updated"], kind),
        "uri": path,
    }


class _Renderer(Renderer):
    """Conferences and participants: participants are addressed by their call's SID."""

    def instance(self, kind: Kind, record: Record, params: Mapping[str, str]) -> dict[str, object]:
        account = self.store.account_sid
        if kind.name == CONFERENCE:
            path = twilio_path(
                kind.instance_path, {"AccountSid": account, "Sid": str(record["sid"])}
            )
            base = path.removesuffix(".json")
            return {
                **_shown(record, kind, path, _CONFERENCE_FIELDS),
                "subresource_uris": {
                    "participants": f"{base}/Participants.json",
                    "recordings": f"{base}/Recordings.json",
                },
            }
        path = twilio_path(
            kind.instance_path,
            {
                "AccountSid": account,
                "ConferenceSid": str(record["conference_sid"]),
                "CallSid": str(record["call_sid"]),
            },
        )
        return _shown(record, kind, path, _PARTICIPANT_FIELDS)

    def _special(self, kind: Kind, record: Record, *, instance: bool) -> dict[str, object] | None:
        return None


__all__ = ["CONFERENCE", "PARTICIPANT", "Conferences"]
