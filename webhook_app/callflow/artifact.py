"""The artifact the app serves: a stack's call flows as JSON, with their content hash.

``twilio-voice app-config --stack prod > flows.json`` writes it; the app loads it from
``VOICE_SETTINGS_FILE`` and reports its hash on ``/healthz``; the Pulumi program exports the
same hash (``call_flows_hash``) computed from the stack, so an operator sees at a glance
whether the app serves what the stack declares. It holds no secret and needs no stack file.

The hash covers what the app serves (the call flows and the countries a SIP user may dial),
canonical JSON of them: key order, whitespace and the stack's name do not change it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from webhook_app.callflow.model import CallFlows

FORMAT = "twilio-voice/call-flows@1"


class ArtifactError(ValueError):
    """The artifact cannot be served; the message says where and how to fix it."""


@dataclass(frozen=True)
class Served:
    """What the app serves: the flows, the dialable countries (None: all), and their hash."""

    call_flows: CallFlows
    dial_countries: tuple[str, ...] | None
    hash: str
    source: str  # the artifact's path, or "built-in"


def content(call_flows: CallFlows, dial_countries: Collection[str] | None) -> dict[str, Any]:
    """The served content as plain JSON data (what the hash covers)."""
    return {
        "call_flows": call_flows.model_dump(mode="json", exclude_none=True),
        "dial_countries": sorted(dial_countries) if dial_countries is not None else None,
    }


def content_hash(call_flows: CallFlows, dial_countries: Collection[str] | None) -> str:
    """``sha256:<hex>`` of the canonical JSON of :func:`content`."""
    canonical = json.dumps(
        content(call_flows, dial_countries),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render(call_flows: CallFlows, dial_countries: Collection[str] | None, *, stack: str) -> str:
    """The artifact's JSON text (stable: the same stack gives the same bytes)."""
    data = {
        "format": FORMAT,
        "stack": stack,
        "hash": content_hash(call_flows, dial_countries),
        **content(call_flows, dial_countries),
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse(text: str, source: str) -> Served:
    """An artifact's text as what the app serves; ArtifactError says what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{source}: not JSON ({exc}); {_REGENERATE}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArtifactError(
            f'{source}: not a call-flows artifact (no "format": "{FORMAT}"). The app\'s '
            f"settings now come from the stack: {_REGENERATE}; the old settings file's menu, "
            "SIP users and messages go into the stack's call_flows section "
            '(docs/call-flows.md, "Migrating")'
        )
    try:
        flows = CallFlows.model_validate(data.get("call_flows"))
    except ValidationError as exc:
        raise ArtifactError(f"{source}: {_describe(exc)}; {_REGENERATE}") from None
    countries = data.get("dial_countries")
    if countries is not None and (
        not isinstance(countries, list) or not all(isinstance(c, str) for c in countries)
    ):
        raise ArtifactError(f"{source}: dial_countries must be a list of ISO codes or null")
    served_countries = tuple(countries) if countries is not None else None
    expected = content_hash(flows, served_countries)
    if data.get("hash") != expected:
        raise ArtifactError(
            f"{source}: its hash does not match its content (edited by hand?): the artifact "
            f"must be what the stack declares; {_REGENERATE}"
        )
    return Served(flows, served_countries, expected, source)


def read(path: Path) -> Served:
    """Load the artifact at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read it ({exc.strerror}); fix the path") from None
    return parse(text, str(path))


def serve(
    call_flows: CallFlows, dial_countries: Collection[str] | None = None, source: str = "test"
) -> Served:
    """What the app serves for ``call_flows`` (the artifact's content without the file)."""
    countries = tuple(sorted(dial_countries)) if dial_countries is not None else None
    return Served(call_flows, countries, content_hash(call_flows, countries), source)


def built_in() -> Served:
    """What an app without an artifact serves: the built-in flow (``DEFAULT_CALL_FLOWS``)."""
    return Served(DEFAULT_CALL_FLOWS, None, content_hash(DEFAULT_CALL_FLOWS, None), "built-in")


_REGENERATE = "regenerate it with `twilio-voice app-config --stack NAME > flows.json`"


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"call_flows.{where}: {err['msg']}")
    return "; ".join(lines[:5])


# The app's built-in flow, for an app started without an artifact (a quick try, the benchmark):
# one menu (1 sales, 2 the caller's conference room, 9 voicemail), an operator, one SIP user.
DEFAULT_CALL_FLOWS = CallFlows.model_validate(
    {
        "operator": {"numbers": ["+14155550100"]},
        "sip_users": {
            "alice": {"uri": "sip:alice@pbx.example.com", "pstn_fallback": "+14155550102"}
        },
        "voicemail_boxes": {"general": {}},
        "flows": {
            "main": {
                "start": {"menu": "main"},
                "menus": {
                    "main": {
                        "prompt": "Press 1 for sales. Press 2 for support.",
                        "first_silence": "hangup",
                        "options": [
                            {
                                "digit": "1",
                                "label": "sales",
                                "keywords": ["sales", "buy"],
                                "action": {
                                    "dial": {
                                        "numbers": ["+14155550101"],
                                        "no_answer": {"voicemail": "general"},
                                    }
                                },
                            },
                            {
                                "digit": "2",
                                "label": "support",
                                "keywords": ["support", "help"],
                                "action": {"conference": {}},
                            },
                            {
                                "digit": "9",
                                "label": "voicemail",
                                "keywords": ["message"],
                                "action": {"voicemail": "general"},
                            },
                        ],
                    }
                },
            }
        },
    }
)
