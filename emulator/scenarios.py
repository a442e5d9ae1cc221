"""Call scenarios: YAML files that script a call and state what must happen.

One scenario per file::

    name: IVR to sales, answered
    call:                               # emulator.calls.CallSpec, see docs/simulator.md
      from: "+12125550199"
      to: "+14155550120"                # an owned number, a SIP URI, or with byoc_trunk a number
      caller: [{press: "1"}]            # press / say / silence / message / hangup, in order
      parties: {"+14155550101": answered}
    expect:
      status: completed
      heard: [Press 1 for sales]        # substrings, in this order
      dialled: [{to: "+14155550101", answer: answered}]
      requests:                         # in this order (others may come between)
        - {path: /voice/menu, params: {Digits: "1"}, status: 200}
      alerts: []                        # the default: any Monitor alert fails the scenario

A warm transfer adds ``transfer: {from, agent, supervisor, coach}`` (the legs
`twilio-voice transfer` places once the caller waits in a conference room) and
``expect.conference: {participants: [{label, muted, hold, coaching}], events: [...]}``; the
runner (``infra.commands.simulate``) adds the room to the result as ``conference``.

:func:`check` compares a call's result (``emulator.simulate.Simulator.place``) with the
expectations and returns what failed, in words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.calls import CallSpec, SpecError
from emulator.simulate import iter_trace_lines

MAX_FILE_BYTES = 256 * 1024
_EXPECT_KEYS = {
    "status",
    "heard",
    "not_heard",
    "dialled",
    "not_dialled",
    "requests",
    "not_requested",
    "recordings",
    "alerts",
    "fallback",
    "conference",
}
_TRANSFER_KEYS = {"from", "agent", "supervisor", "coach"}
_CONFERENCE_KEYS = {"participants", "events"}
_PARTICIPANT_KEYS = {"label", "muted", "hold", "coaching"}
_EVENT_KEYS = {"event", "label"}
_REQUEST_KEYS = {"purpose", "path", "method", "status", "query", "params", "error", "url"}
_DIAL_KEYS = {"to", "noun", "answer", "status", "from"}
_RECORDING_KEYS = {"duration", "source", "channels", "status"}


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases (no alias bombs in scenario files)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event: Any = self.peek_event()  # type: ignore[no-untyped-call]
            raise SpecError(f"line {event.start_mark.line + 1}: YAML aliases are not allowed")
        return super().compose_node(parent, index)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path | None
    call: Mapping[str, Any]
    expect: Mapping[str, Any] = field(default_factory=dict)
    # Once the caller waits in a conference room: the legs `twilio-voice transfer` places.
    transfer: Mapping[str, Any] | None = None

    @property
    def spec(self) -> CallSpec:
        return CallSpec.from_mapping(self.call)


def parse(data: object, path: Path | None = None) -> Scenario:
    """A scenario from parsed YAML (SpecError names what is wrong)."""
    where = path.name if path else "scenario"
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}: a scenario is a mapping with name, call and expect")
    unknown = sorted(set(data) - {"name", "description", "call", "expect", "transfer"})
    if unknown:
        raise SpecError(
            f"{where}: unknown keys {unknown}; known: call, description, expect, name, transfer"
        )
    call = data.get("call")
    if not isinstance(call, Mapping):
        raise SpecError(f"{where}: call: required, a mapping (to, from, caller, parties...)")
    CallSpec.from_mapping(call, f"{where}: call")  # validate now, not when it runs
    expect = data.get("expect") or {}
    if not isinstance(expect, Mapping):
        raise SpecError(f"{where}: expect: a mapping")
    bad = sorted(set(expect) - _EXPECT_KEYS)
    if bad:
        raise SpecError(f"{where}: expect: unknown keys {bad}; known: {sorted(_EXPECT_KEYS)}")
    _check_expect_shape(expect, f"{where}: expect")
    transfer = data.get("transfer")
    if transfer is not None:
        _check_transfer(transfer, call, f"{where}: transfer")
    name = data.get("name") or (path.stem if path else "scenario")
    return Scenario(str(name), path, dict(call), dict(expect), dict(transfer) if transfer else None)


def _check_transfer(transfer: object, call: Mapping[str, Any], where: str) -> None:
    if not isinstance(transfer, Mapping):
        raise SpecError(f"{where}: a mapping of {sorted(_TRANSFER_KEYS)}")
    extra = sorted(set(transfer) - _TRANSFER_KEYS)
    if extra:
        raise SpecError(f"{where}: unknown keys {extra}; known: {sorted(_TRANSFER_KEYS)}")
    for key in ("from", "agent"):
        if not isinstance(transfer.get(key), str) or not transfer[key]:
            raise SpecError(f"{where}.{key}: required, a number (E.164) or sip: URI")
    if "supervisor" in transfer and not isinstance(transfer["supervisor"], str):
        raise SpecError(f"{where}.supervisor: a number (E.164) or sip: URI")
    if not isinstance(transfer.get("coach", False), bool):
        raise SpecError(f"{where}.coach: true or false")
    if transfer.get("coach") and not transfer.get("supervisor"):
        raise SpecError(f"{where}.coach: needs a supervisor")
    if call.get("direction", "inbound") != "inbound":
        raise SpecError(f"{where}: only an inbound call waits in a transfer room")


def load(path: Path) -> Scenario:
    """Read one scenario file (SpecError when unreadable or malformed)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_NoAliasLoader)  # noqa: S506 - safe loader
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not YAML: {exc}") from None
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None
    return parse(data, path)


def _check_expect_shape(expect: Mapping[str, Any], where: str) -> None:
    for key in ("heard", "not_heard"):
        value = expect.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SpecError(f"{where}.{key}: a list of texts")
    for key, known in (
        ("requests", _REQUEST_KEYS),
        ("not_requested", _REQUEST_KEYS),
        ("dialled", _DIAL_KEYS),
        ("not_dialled", _DIAL_KEYS),
    ):
        value = expect.get(key, [])
        if not isinstance(value, list):
            raise SpecError(f"{where}.{key}: a list of mappings")
        for i, item in enumerate(value):
            if not isinstance(item, Mapping) or not item:
                raise SpecError(f"{where}.{key}[{i}]: a mapping of {sorted(known)}")
            extra = sorted(set(item) - known)
            if extra:
                raise SpecError(f"{where}.{key}[{i}]: unknown keys {extra}; known: {sorted(known)}")
            if "params" in item and not isinstance(item["params"], Mapping):
                raise SpecError(f"{where}.{key}[{i}].params: a mapping of parameter -> value")
    alerts = expect.get("alerts", [])
    if not isinstance(alerts, list) or not all(isinstance(a, int) for a in alerts):
        raise SpecError(f"{where}.alerts: a list of Twilio error codes (numbers)")
    recordings = expect.get("recordings", 0)
    if isinstance(recordings, bool) or not isinstance(recordings, int | list):
        raise SpecError(
            f"{where}.recordings: a count or a list of {{duration, source, channels, status}}"
        )
    for i, item in enumerate(recordings if isinstance(recordings, list) else []):
        if not isinstance(item, Mapping) or not item:
            raise SpecError(f"{where}.recordings[{i}]: a mapping of {sorted(_RECORDING_KEYS)}")
        extra = sorted(set(item) - _RECORDING_KEYS)
        if extra:
            raise SpecError(
                f"{where}.recordings[{i}]: unknown keys {extra}; known: {sorted(_RECORDING_KEYS)}"
            )
    fallback = expect.get("fallback")
    if fallback is not None and not isinstance(fallback, Mapping):
        raise SpecError(f"{where}.fallback: null (no fallback) or {{error_code: 11200}}")
    if "conference" in expect:
        _check_conference_shape(expect["conference"], f"{where}.conference")


def _check_conference_shape(conference: object, where: str) -> None:
    if not isinstance(conference, Mapping):
        raise SpecError(f"{where}: a mapping of {sorted(_CONFERENCE_KEYS)}")
    extra = sorted(set(conference) - _CONFERENCE_KEYS)
    if extra:
        raise SpecError(f"{where}: unknown keys {extra}; known: {sorted(_CONFERENCE_KEYS)}")
    for key, known in (("participants", _PARTICIPANT_KEYS), ("events", _EVENT_KEYS)):
        value = conference.get(key, [])
        if not isinstance(value, list):
            raise SpecError(f"{where}.{key}: a list")
        for i, item in enumerate(value):
            if key == "events" and isinstance(item, str):
                continue
            if not isinstance(item, Mapping) or not item:
                raise SpecError(f"{where}.{key}[{i}]: a mapping of {sorted(known)}")
            bad = sorted(set(item) - known)
            if bad:
                raise SpecError(f"{where}.{key}[{i}]: unknown keys {bad}; known: {sorted(known)}")
            for flag in ("muted", "hold", "coaching"):
                if flag in item and not isinstance(item[flag], bool):
                    raise SpecError(f"{where}.{key}[{i}].{flag}: true or false")


# --- checking ---------------------------------------------------------------------------------


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _matches(item: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    for key, expected in want.items():
        if key == "params":
            params = item.get("params") or {}
            if any(_text(params.get(k)) != _text(v) for k, v in expected.items()):
                return False
        elif key == "query":
            if _text(expected) not in _text(item.get("query")):
                return False
        elif key in ("status",) and isinstance(expected, int):
            if item.get("status") != expected:
                return False
        elif _text(item.get(key)) != _text(expected):
            return False
    return True


def _in_order(
    items: Sequence[Mapping[str, Any]], wanted: Sequence[Mapping[str, Any]]
) -> tuple[int, Mapping[str, Any]] | None:
    """The first of ``wanted`` that is not found after the previous one's match, if any."""
    position = 0
    for index, want in enumerate(wanted):
        for offset, item in enumerate(items[position:]):
            if _matches(item, want):
                position += offset + 1
                break
        else:
            return index, want
    return None


def _describe(item: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in item.items())


def _request_line(request: Mapping[str, Any]) -> str:
    url = request.get("url", "")
    answer = request.get("status") or request.get("error")
    return f"{request.get('purpose')} {request.get('method')} {url} -> {answer}"


def check(result: Mapping[str, Any], expect: Mapping[str, Any]) -> list[str]:
    """What the call did that the scenario does not allow (empty: it passed)."""
    failures: list[str] = []
    if "status" in expect and result.get("status") != expect["status"]:
        failures.append(f"call status: expected {expect['status']}, got {result.get('status')}")
    heard: list[str] = list(result.get("heard", []))
    position = 0
    for text in expect.get("heard", []):
        found = next((i for i in range(position, len(heard)) if text in heard[i]), None)
        if found is None:
            where = "at all" if not any(text in h for h in heard) else "in this order"
            failures.append(f"not heard {where}: {text!r} (heard: {heard})")
            break
        position = found + 1
    for text in expect.get("not_heard", []):
        if any(text in h for h in heard):
            failures.append(f"heard, but must not be: {text!r}")
    dialled = list(result.get("dialled", []))
    missing = _in_order(dialled, expect.get("dialled", []))
    if missing is not None:
        legs = [f"{leg.get('noun')} {leg.get('to')} {leg.get('answer')}" for leg in dialled]
        failures.append(f"not dialled: {_describe(missing[1])} (dialled: {legs or 'nothing'})")
    for want in expect.get("not_dialled", []):
        if any(_matches(leg, want) for leg in dialled):
            failures.append(f"dialled, but must not be: {_describe(want)}")
    requests = list(result.get("requests", []))
    missing = _in_order(requests, expect.get("requests", []))
    if missing is not None:
        made = "\n      ".join(_request_line(r) for r in requests) or "none"
        failures.append(
            f"request not made (in this order): {_describe(missing[1])}\n"
            f"    requests made:\n      {made}"
        )
    for want in expect.get("not_requested", []):
        hit = next((r for r in requests if _matches(r, want)), None)
        if hit is not None:
            failures.append(f"requested, but must not be: {_request_line(hit)}")
    recordings = list(result.get("recordings", []))
    wanted_recordings = expect.get("recordings", None)
    if isinstance(wanted_recordings, int) and len(recordings) != wanted_recordings:
        failures.append(f"recordings: expected {wanted_recordings}, got {len(recordings)}")
    elif isinstance(wanted_recordings, list):
        if len(recordings) != len(wanted_recordings):
            failures.append(f"recordings: expected {len(wanted_recordings)}, got {len(recordings)}")
        for want, got in zip(wanted_recordings, recordings, strict=False):
            if not _matches(got, want):
                failures.append(f"recording: expected {_describe(want)}, got {_describe(got)}")
    codes = [int(a["error_code"]) for a in result.get("alerts", [])]
    wanted_codes = list(expect.get("alerts", []))
    if codes != wanted_codes:
        texts = "; ".join(f"{a['error_code']} {a['alert_text']}" for a in result.get("alerts", []))
        failures.append(f"Monitor alerts: expected {wanted_codes}, got {codes} ({texts or 'none'})")
    if "fallback" in expect:
        want_fb, got_fb = expect["fallback"], result.get("fallback")
        if want_fb is None and got_fb is not None:
            failures.append(f"fell back to {got_fb['url']} (ErrorCode {got_fb['error_code']})")
        elif want_fb is not None and got_fb is None:
            failures.append("expected the fallback URL to be requested; it was not")
        elif want_fb is not None and got_fb is not None and not _matches(got_fb, want_fb):
            failures.append(f"fallback: expected {_describe(want_fb)}, got {_describe(got_fb)}")
    if "conference" in expect or "conference" in result:
        failures += _check_conference(result.get("conference"), expect.get("conference") or {})
    return failures


def _label_is(label: object, want: object) -> bool:
    """``agent`` matches the app's ``agent-<call SID tail>`` labels too."""
    text, wanted = _text(label), _text(want)
    return text == wanted or text.startswith(wanted + "-")


def _check_conference(room: Mapping[str, Any] | None, want: Mapping[str, Any]) -> list[str]:
    """The transfer room: participants present (as they were once every leg joined), its
    status callbacks delivered in order, each answered 2xx by the app and sent once."""
    if not room or not room.get("sid"):
        why = (room or {}).get("error") or "the call was in no conference room"
        return [f"conference: {why}"]
    failures = [f"conference: {problem}" for problem in room.get("problems", [])]
    present: list[Mapping[str, Any]] = list(room.get("participants", []))
    for item in want.get("participants", []):
        same = [p for p in present if _label_is(p.get("label"), item.get("label", ""))]
        if "label" not in item:
            same = present
        flags = {k: v for k, v in item.items() if k != "label"}
        if not any(all(p.get(k) is v for k, v in flags.items()) for p in same):
            got = [
                f"{p.get('label')} muted={p.get('muted')} hold={p.get('hold')} "
                f"coaching={p.get('coaching')}"
                for p in present
            ]
            failures.append(
                f"conference participant not present: {_describe(item)} "
                f"(present: {got or 'nobody'})"
            )
    sent = [e for e in room.get("events", []) if "callback" in e]
    for event in sent:
        answer = event.get("callback")
        if not (isinstance(answer, int) and 200 <= answer < 300):
            failures.append(
                f"conference callback {event.get('event')} (#{event.get('sequence_number')}) "
                f"answered {answer or 'nothing'}"
            )
    keys = [(e.get("event"), e.get("call_sid"), e.get("sequence_number")) for e in sent]
    if len(set(keys)) != len(keys):
        failures.append("conference callbacks: an event was sent more than once")
    wanted = [{"event": e} if isinstance(e, str) else dict(e) for e in want.get("events", [])]
    rows = [{"event": e.get("event"), "label": e.get("label") or ""} for e in sent]
    position = 0
    for item in wanted:
        for offset, row in enumerate(rows[position:]):
            if row["event"] == item["event"] and (
                "label" not in item or _label_is(row["label"], item["label"])
            ):
                position += offset + 1
                break
        else:
            made = ", ".join(
                f"{r['event']}({r['label']})" if r["label"] else r["event"] for r in rows
            )
            failures.append(
                f"conference callback not sent (in this order): {_describe(item)} "
                f"(sent: {made or 'none'})"
            )
            break
    return failures


@dataclass
class Outcome:
    scenario: Scenario
    result: Mapping[str, Any]
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures

    def lines(self, trace: bool = True) -> Iterator[str]:
        mark = "PASS" if self.passed else "FAIL"
        where = f" ({self.scenario.path})" if self.scenario.path else ""
        yield f"{mark} {self.scenario.name}{where}"
        result = self.result
        target = result.get("target", {})
        yield (
            f"  call {result.get('call_sid')} {result.get('from')} -> {result.get('to')} "
            f"({target.get('kind')} {target.get('name')}): {result.get('status')}, "
            f"{result.get('duration')}s"
        )
        if trace:
            yield from iter_trace_lines(result)
            yield from _conference_lines(result.get("conference"))
        for failure in self.failures:
            yield f"  expected: {failure}"


def _conference_lines(room: Mapping[str, Any] | None) -> Iterator[str]:
    if not room:
        return
    for line in room.get("transfer", []):
        yield f"  transfer   {line}"
    if not room.get("sid"):
        return
    yield f"  conference {room.get('sid')} {room.get('name')}: {room.get('status')}"
    for p in room.get("participants", []):
        yield (
            f"    participant {p.get('label')} {p.get('call_sid')} muted={p.get('muted')} "
            f"hold={p.get('hold')} coaching={p.get('coaching')}"
        )
    for e in room.get("events", []):
        answer = e.get("callback", "not sent (not asked for)")
        who = f" {e.get('label')}" if e.get("label") else ""
        yield f"    event #{e.get('sequence_number', '-')} {e.get('event')}{who} -> {answer}"


Placer = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def run(scenario: Scenario, place: Placer) -> Outcome:
    """Place the scenario's call with ``place`` (call mapping -> result) and check it.

    A scenario with ``transfer`` or ``expect.conference`` needs a placer that keeps the call
    live in its conference room and adds the room (``result["conference"]``).
    """
    result = place(scenario.call)
    return Outcome(scenario, result, check(result, scenario.expect))


__all__ = ["Outcome", "Placer", "Scenario", "check", "load", "parse", "run"]
