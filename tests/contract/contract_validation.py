"""Validate recorded emulator traffic against Twilio's official OpenAPI specs (openapi-core).

A record (see `emulator.recording`) is mapped back to the Twilio URL it stands for
(`/trunking/v1/Trunks` -> `https://trunking.twilio.com/v1/Trunks`) and checked:
- requests answered 2xx, 429 or 5xx: unmarshalled with the V30 request unmarshaller;
- 2xx responses: validated with the V30 response validator, with every documented property
  required, and checked for undocumented top-level properties (unmarshalling a 1,000-item
  page takes ~40 s in openapi-core; validating it ~3 s, so pages over 100 items are checked
  on their first and last 50 items, all made by the same code);
- 4xx responses: Twilio's error shape (the specs declare no error responses). Requests that
  got a 4xx are the error-case tests' deliberate bad input, so they are not spec-checked.

Two documented leniencies, both Twilio's real behaviour that the spec schemas do not model:
- An empty form value clears a field (the SDK sends `VoiceUrl=`); the specs' patterns and
  enums reject "", so empty values are taken out before validation and counted in
  `Report.cleared` instead.
- 2010 `uri`/`*_page_uri` values are relative references (`/2010-04-01/...`, as Twilio sends
  them) although their schema says `format: uri`; the uri check accepts absolute URIs and
  `/`-relative references.

One spec erratum (`NULLABLE_ERRATA`): a conference's `reason_conference_ended` and
`call_sid_ending_conference` are null while it is in progress (the spec's own description
says so), but their schemas are not nullable; they are read as nullable strings.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from openapi_core import (
    Config,
    OpenAPI,
    V30RequestUnmarshaller,
    V30RequestValidator,
    V30ResponseUnmarshaller,
    V30ResponseValidator,
)
from openapi_core.testing import MockRequest, MockResponse

SPEC_FILES = {
    "api": "twilio_api_v2010.json",
    "trunking": "twilio_trunking_v1.json",
    "voice": "twilio_voice_v1.json",
    "routes": "twilio_routes_v2.json",
    "monitor": "twilio_monitor_v1.json",
}
# Validation needs an Authorization header (the specs require basic auth); never a real one.
DUMMY_AUTH = "Basic QUMwMDAwOmR1bW15"
ERROR_KEYS = {"code", "message", "more_info", "status"}


def _rfc2822(value: Any) -> bool:
    try:
        return parsedate_to_datetime(value) is not None
    except (TypeError, ValueError):
        return False


def _uri(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    # RFC 3986: scheme ":" hier-part (so `sip:host` is a URI too), or a `/`-relative reference.
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", value)) or value.startswith("/")


def _iso_datetime(value: Any) -> bool:
    return not isinstance(value, str) or bool(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value)
    )


# Twilio's custom formats (and strict versions of the standard ones) for openapi-core.
FORMATS = {
    "http-method": lambda v: not isinstance(v, str) or v in ("GET", "POST", "PUT", "DELETE"),
    "date-time-rfc-2822": lambda v: not isinstance(v, str) or _rfc2822(v),
    "date-time": _iso_datetime,
    "phone-number": lambda v: not isinstance(v, str) or bool(re.fullmatch(r"\+[1-9]\d{1,14}", v)),
    "uri": _uri,
    "uri-map": lambda v: not isinstance(v, dict) or all(_uri(u) for u in v.values()),
    "iso-country-code": lambda v: not isinstance(v, str) or bool(re.fullmatch(r"[A-Z]{2}", v)),
    "phone-number-capabilities": lambda v: (
        not isinstance(v, dict) or all(isinstance(x, bool) for x in v.values())
    ),
}


# Properties Twilio sends as null in some states whose schemas say otherwise (see above).
NULLABLE_ERRATA: dict[str, tuple[str, ...]] = {
    "api.v2010.account.conference": ("reason_conference_ended", "call_sid_ending_conference"),
}


@dataclass(frozen=True)
class Operation:
    sub: str
    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str]
    params: int
    responses: dict[str, Any]


@dataclass
class Report:
    checked: int = 0
    cleared: Counter[str] = field(default_factory=Counter)  # "operationId Param" -> count
    violations: list[str] = field(default_factory=list)
    exercised: Counter[str] = field(default_factory=Counter)  # "sub:operationId" -> 2xx count
    statuses: Counter[int] = field(default_factory=Counter)


class Specs:
    """The four specs, their operations, and V30 (un)marshallers for each."""

    def __init__(self, oai_dir: Path) -> None:
        self.apps: dict[str, OpenAPI] = {}
        self.schemas: dict[str, Any] = {}
        self.operations: list[Operation] = []
        config = Config(
            request_unmarshaller_cls=V30RequestUnmarshaller,
            response_unmarshaller_cls=V30ResponseUnmarshaller,
            request_validator_cls=V30RequestValidator,
            response_validator_cls=V30ResponseValidator,
            response_properties_default_policy="required",
            extra_format_validators=FORMATS,
            extra_format_unmarshallers={name: (lambda v: v) for name in FORMATS},
            spec_validator_cls=None,  # the published specs are taken as they are
        )
        for sub, name in SPEC_FILES.items():
            data = json.loads((oai_dir / name).read_text(encoding="utf-8"))
            for schema_name, names in NULLABLE_ERRATA.items():
                properties = data["components"]["schemas"].get(schema_name, {}).get("properties")
                for prop in names if properties else ():
                    properties[prop] = {"type": "string", "nullable": True}
            self.schemas.update(data["components"]["schemas"])
            self.apps[sub] = OpenAPI.from_dict(data, config=config)
            for template, item in data["paths"].items():
                regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
                for method, op in item.items():
                    if method in ("get", "post", "delete") and "operationId" in op:
                        self.operations.append(
                            Operation(
                                sub,
                                method.upper(),
                                template,
                                op["operationId"],
                                re.compile(f"{regex}$"),
                                template.count("{"),
                                op.get("responses", {}),
                            )
                        )
        # Static segments win over parameters (IncomingPhoneNumbers/Local.json vs /{Sid}.json).
        self.operations.sort(key=lambda o: o.params)

    def find(self, sub: str, method: str, path: str) -> Operation | None:
        for op in self.operations:
            if op.sub == sub and op.method == method and op.pattern.match(path):
                return op
        return None

    def undocumented_properties(self, op: Operation, status: int, body: str) -> list[str]:
        """Top-level keys of the resource (or of each list item) the schema does not declare."""
        schema = (
            op.responses.get(str(status), {})
            .get("content", {})
            .get("application/json", {})
            .get("schema")
        )
        if not schema or not body:
            return []
        data = json.loads(body)
        problems = []
        for obj, props in self._objects(self._resolve(schema), data):
            extra = sorted(set(obj) - set(props))
            if extra:
                problems.append(f"undocumented properties {extra}")
        return sorted(set(problems))

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def _objects(self, schema: dict[str, Any], data: Any) -> Iterator[tuple[dict[str, Any], Any]]:
        props = schema.get("properties")
        if not isinstance(data, dict) or props is None:
            return
        yield data, props
        for key, value in data.items():
            item_schema = props.get(key, {})
            if isinstance(value, list) and item_schema.get("type") == "array":
                inner = self._resolve(item_schema.get("items", {}))
                for item in value:
                    yield from self._objects(inner, item)

    def operation_for_template(self, sub: str, method: str, template: str) -> Operation | None:
        for op in self.operations:
            if (op.sub, op.method, op.template) == (sub, method, template):
                return op
        return None


def read_records(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def validate(specs: Specs, records: Iterable[dict[str, Any]]) -> Report:
    report = Report()
    for record in records:
        report.checked += 1
        status = int(record["status"])
        report.statuses[status] += 1
        where = f"{record['method']} {record['path']} -> {status}"
        sub, _, twilio_path = record["path"].lstrip("/").partition("/")
        twilio_path = "/" + twilio_path
        if 400 <= status < 500 and status != 429:
            problem = _error_shape_problem(record)
            if problem:
                report.violations.append(f"{where}: {problem}")
            continue
        op = specs.find(sub, record["method"], twilio_path) if sub in specs.apps else None
        if op is None:
            report.violations.append(f"{where}: no operation in the specs for this request")
            continue
        body = record["request_body"]
        if body:
            pairs = parse_qsl(body, keep_blank_values=True)
            for name, value in pairs:
                if value == "":
                    report.cleared[f"{op.operation_id} {name}"] += 1
            body = urlencode([(n, v) for n, v in pairs if v != ""])
        request = MockRequest(
            f"https://{sub}.twilio.com",
            record["method"].lower(),
            twilio_path,
            args=dict(parse_qsl(record["query"], keep_blank_values=True)),
            headers={"Authorization": DUMMY_AUTH},
            data=body.encode() if body else None,
            content_type=record["request_content_type"] or "application/x-www-form-urlencoded",
        )
        app = specs.apps[sub]
        result = app.unmarshal_request(request)
        for error in result.errors:
            report.violations.append(f"{where}: request ({op.operation_id}): {_describe(error)}")
        if not 200 <= status < 300:
            continue
        response_body = _sampled(record["response_body"])
        response = MockResponse(
            response_body.encode(),
            status_code=status,
            content_type=(record["response_content_type"] or "application/json").split(";")[0],
        )
        errors = [_describe(e) for e in app.response_validator.iter_errors(request, response)]
        errors += specs.undocumented_properties(op, status, response_body)
        for error in errors:
            report.violations.append(f"{where}: response ({op.operation_id}): {error}")
        if not result.errors and not errors:
            report.exercised[f"{sub}:{op.operation_id}"] += 1
    return report


def _sampled(body: str, keep: int = 50) -> str:
    """A list page with its items cut to the first and last `keep` (the envelope unchanged)."""
    if len(body) < 50_000:
        return body
    data = json.loads(body)
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, list) and len(value) > 2 * keep:
                data[key] = value[:keep] + value[-keep:]
    return json.dumps(data)


def _error_shape_problem(record: dict[str, Any]) -> str | None:
    try:
        body = json.loads(record["response_body"])
    except json.JSONDecodeError:
        return "error body is not JSON"
    if not isinstance(body, dict) or set(body) != ERROR_KEYS:
        return f"error body keys {sorted(body) if isinstance(body, dict) else body!r}"
    if body["status"] != record["status"] or not isinstance(body["code"], int):
        return f"error body status/code mismatch: {body}"
    return None


def _describe(error: Exception) -> str:
    details = [str(error)]
    for attr in ("schema_errors", "__cause__"):
        nested = getattr(error, attr, None)
        if isinstance(nested, Exception):
            nested_errors = getattr(nested, "schema_errors", None) or [nested]
            details.extend(str(getattr(e, "message", e))[:300] for e in nested_errors)
        elif nested:
            details.extend(str(getattr(e, "message", e))[:300] for e in nested)
    return " | ".join(details)
