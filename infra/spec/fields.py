"""Field types of the environment spec: each one checks what Twilio would reject, with a fix."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StrictBool, StrictInt, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from infra.spec.context import SpecContext
from webhook_app.callflow.model import NAME_PATTERN, check_name
from webhook_app.e164 import e164_problem
from webhook_app.routes import ROUTES_BY_FLOW, RouteKind

# Twilio's edge locations (REST and SIP); https://www.twilio.com/docs/global-infrastructure/edge-locations
EDGES: tuple[str, ...] = (
    "ashburn",
    "dublin",
    "frankfurt",
    "sao-paulo",
    "singapore",
    "sydney",
    "tokyo",
    "umatilla",
    "roaming",
    "ashburn-ix",
    "frankfurt-ix",
    "london-ix",
    "san-jose-ix",
    "singapore-ix",
    "sydney-ix",
    "tokyo-ix",
    "sao-paulo-ix",
)
# Twilio Regions (inbound processing region, routes v2 `voice_region`).
REGIONS: tuple[str, ...] = ("us1", "us2", "ie1", "de1", "au1", "jp1", "sg1", "br1")
SIP_TRANSPORTS: tuple[str, ...] = ("udp", "tcp", "tls")
MIN_PASSWORD_LENGTH = 12
MAX_USERNAME_LENGTH = 32
MIN_IPV4_PREFIX = 8

_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_SIP_URI_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):"
    r"(?:(?P<user>[^@\s;?]+)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:;?\s\[\]@]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<params>(?:;[^;?\s]+)*)$"
)
_USERNAME_FORBIDDEN = re.compile(r"[\s:@;]")


def _fail(error_type: str, message: str, /, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(error_type, message, ctx or None)


def twilio_flows() -> list[str]:
    """Flow names a Twilio resource may point at (routes the app serves to Twilio)."""
    return sorted(flow for flow, route in ROUTES_BY_FLOW.items() if route.twilio)


def flows_of_kind(kind: RouteKind) -> list[str]:
    """Flow names whose route answers as ``kind`` (TwiML for calls, or a 204 callback)."""
    return sorted(flow for flow, route in ROUTES_BY_FLOW.items() if route.kind == kind)


# What each kind of URL slot needs from the route it points at, in the user's words.
_SLOT_NEEDS: dict[RouteKind, str] = {
    "twiml": "a voice, fallback or disaster-recovery URL must answer a new call with TwiML",
    "status_callback": "a status callback URL receives call progress events",
}
# What a route of each kind is, in the user's words.
_KIND_IS: dict[RouteKind, str] = {
    "twiml": "answers a call with TwiML",
    "action": "continues a flow the app's own TwiML started",
    "status_callback": "takes call progress events",
    "conference_callback": "takes the app's own conference events",
    "recording_callback": "takes the app's own recording events",
    "operational": "is for monitoring",
}


def _flow_checker(kind: RouteKind) -> Callable[[str], str]:
    """A check that a flow exists, is served to Twilio, and answers as a ``kind`` URL must."""

    def check(value: str) -> str:
        value = _check_flow(value)
        if ROUTES_BY_FLOW[value].kind != kind:
            raise _fail(
                "flow_kind",
                "flow '{value}' {actual}; {needs}: use {valid}",
                value=value,
                actual=_KIND_IS[ROUTES_BY_FLOW[value].kind],
                needs=_SLOT_NEEDS[kind],
                valid=", ".join(flows_of_kind(kind)),
            )
        return value

    return check


def _check_flow(value: str) -> str:
    route = ROUTES_BY_FLOW.get(value)
    valid = ", ".join(twilio_flows())
    if route is None:
        raise _fail(
            "flow",
            "unknown flow '{value}'; use one of the app's flows: {valid}",
            value=value,
            valid=valid,
        )
    if not route.twilio:
        raise _fail(
            "flow",
            "flow '{value}' is not a Twilio webhook route ({path}); use one of: {valid}",
            value=value,
            path=route.path,
            valid=valid,
        )
    return value


def _check_e164(value: str) -> str:
    problem = e164_problem(value)
    if problem is None:
        return value
    if problem.kind == "unparsable":
        raise _fail(
            "e164",
            "'{value}' is not a phone number in E.164 form; write it as +<country code><number>, "
            "e.g. +14155550100",
            value=value,
        )
    if problem.kind == "invalid":
        raise _fail(
            "e164",
            "'{value}' is not a valid phone number (phonenumbers rejects it for its country); "
            "check the digits",
            value=value,
        )
    raise _fail(
        "e164",
        "'{value}' is not in E.164 form; write it as '{formatted}'",
        value=value,
        formatted=problem.formatted,
    )


def _domain_checker(suffix: str, kind: str) -> Any:
    def check(value: str) -> str:
        example = f"acme-prod.{suffix}"
        head, _, tail = suffix.partition(".")
        if re.fullmatch(rf"[^.]+\.{head}\.[a-z]{{2}}[0-9]\.{re.escape(tail)}", value):
            raise _fail(
                "domain_name",
                "{kind} domain name '{value}' is regional; Twilio documents only "
                "<label>.{suffix} names: use e.g. '{example}' and set region: instead",
                kind=kind,
                value=value,
                suffix=suffix,
                example=example,
            )
        if not value.endswith("." + suffix):
            raise _fail(
                "domain_name",
                "{kind} domain name '{value}' must be <label>.{suffix} (e.g. '{example}')",
                kind=kind,
                value=value,
                suffix=suffix,
                example=example,
            )
        label = value[: -len(suffix) - 1]
        if not _LABEL_RE.fullmatch(label):
            raise _fail(
                "domain_name",
                "{kind} domain name '{value}': '{label}' must be one DNS label of lowercase "
                "letters, digits and '-' (1-63 characters, no dots, not starting or ending in '-')",
                kind=kind,
                value=value,
                label=label,
            )
        return value

    return check


def _check_edge(value: str) -> str:
    if value not in EDGES:
        raise _fail(
            "edge",
            "unknown edge '{value}'; use one of: {valid}",
            value=value,
            valid=", ".join(EDGES),
        )
    return value


def _check_region(value: str) -> str:
    if value not in REGIONS:
        raise _fail(
            "region",
            "unknown region '{value}'; use one of: {valid}",
            value=value,
            valid=", ".join(REGIONS),
        )
    return value


def _check_ipv4(value: str) -> str:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        raise _fail(
            "ip_address",
            "'{value}' is not an IP address; write a dotted IPv4 address such as 203.0.113.10 "
            "(put the prefix length in cidr_prefix_length)",
            value=value,
        ) from None
    if ip.version != 4:
        raise _fail(
            "ip_address",
            "'{value}' is IPv6; Twilio accepts IPv4 addresses only here",
            value=value,
        )
    return value


def _check_port_number(value: int) -> int:
    if not 0 <= value <= 65535:
        raise _fail("range", "{value} is out of range; Twilio accepts 0..65535", value=value)
    return value


def _check_prefix(value: int) -> int:
    if not MIN_IPV4_PREFIX <= value <= 32:
        raise _fail(
            "cidr_prefix_length",
            "cidr_prefix_length {value} is out of range; Twilio accepts 8..32 for IPv4",
            value=value,
        )
    return value


def _hostname_ok(host: str) -> bool:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return True
    labels = host.rstrip(".").split(".")
    if all(part.isdigit() for part in labels):
        return False  # looks like an IPv4 address but is not one
    return len(host) <= 253 and all(_HOST_LABEL_RE.fullmatch(label) for label in labels)


def check_sip_uri(value: str) -> str:
    """A `sip:` URI as Twilio accepts for origination URLs and connection-policy targets."""
    match = _SIP_URI_RE.fullmatch(value)
    if match is None:
        raise _fail(
            "sip_uri",
            "'{value}' is not a SIP URI; write sip:<host>[:<port>][;transport=udp|tcp|tls], "
            "e.g. 'sip:sbc1.example.com:5061;transport=tls'",
            value=value,
        )
    scheme = match["scheme"]
    if scheme.lower() == "sips":
        raise _fail(
            "sip_uri",
            "'{value}' uses sips:, which Twilio does not support here; write sip:<host>:5061;"
            "transport=tls for TLS",
            value=value,
        )
    if scheme != "sip":
        raise _fail(
            "sip_uri",
            "'{value}' must use the sip: scheme (e.g. 'sip:sbc1.example.com')",
            value=value,
        )
    host = match["host"]
    if not _hostname_ok(host):
        raise _fail(
            "sip_uri",
            "'{value}': '{host}' is not a valid host name or IP address",
            value=value,
            host=host,
        )
    port = match["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        raise _fail("sip_uri", "'{value}': port must be 1..65535", value=value)
    for param in filter(None, match["params"].split(";")):
        key, _, val = param.partition("=")
        allowed = {"transport": SIP_TRANSPORTS, "edge": EDGES, "region": REGIONS}.get(key.lower())
        if allowed is not None and val.lower() not in allowed:
            raise _fail(
                "sip_uri",
                "'{value}': {key}='{val}' is not valid; use one of: {valid}",
                value=value,
                key=key,
                val=val,
                valid=", ".join(allowed),
            )
    return value


def _check_public_url(value: str, info: ValidationInfo) -> str:
    ctx = SpecContext.of(info)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise _fail("url", "'{value}' is not a valid URL", value=value) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(
            "url",
            "'{value}' must be an absolute https:// URL of the webhook app "
            "(e.g. https://voice.example.com)",
            value=value,
        )
    if parts.scheme == "http" and not ctx.is_local:
        raise _fail(
            "url",
            "'{value}' uses plain http; Twilio webhooks outside the `local` stack must use "
            "https://",
            value=value,
        )
    if parts.username or parts.password:
        raise _fail(
            "url",
            "public_base_url must not embed credentials; the app validates Twilio signatures",
        )
    if parts.query or parts.fragment:
        raise _fail(
            "url",
            "'{value}' must not have a query or fragment; flows are joined onto it as paths",
            value=value,
        )
    return value


def _sid_checker(prefix: str, what: str) -> Any:
    pattern = re.compile(rf"^{prefix}[0-9a-f]{{32}}$")

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise _fail(
                "sid",
                "'{value}' is not {what}; expected {prefix} followed by 32 lowercase hex digits",
                value=value,
                what=what,
                prefix=prefix,
            )
        return value

    return check


def _check_username(value: str) -> str:
    if not value:
        raise _fail("username", "username must not be empty")
    if len(value) > MAX_USERNAME_LENGTH:
        raise _fail(
            "username",
            "username '{value}' is {length} characters; Twilio allows up to 32",
            value=value,
            length=len(value),
        )
    if _USERNAME_FORBIDDEN.search(value):
        raise _fail(
            "username",
            "username '{value}' must not contain whitespace, ':', '@' or ';'",
            value=value,
        )
    return value


def _schema(**schema: Any) -> WithJsonSchema:
    """The JSON schema editors see (the validators above stay the source of truth)."""
    return WithJsonSchema({"type": "string", **schema})


Name = Annotated[str, AfterValidator(check_name), _schema(pattern=NAME_PATTERN)]
FriendlyName = Annotated[str, Field(min_length=1, max_length=64)]
Flow = Annotated[str, AfterValidator(_flow_checker("twiml")), _schema(enum=flows_of_kind("twiml"))]
CallbackFlow = Annotated[
    str,
    AfterValidator(_flow_checker("status_callback")),
    _schema(enum=flows_of_kind("status_callback")),
]
E164 = Annotated[str, AfterValidator(_check_e164), _schema(pattern=r"^\+[1-9][0-9]{1,14}$")]
SipDomainName = Annotated[
    str,
    AfterValidator(_domain_checker("sip.twilio.com", "SIP")),
    _schema(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.sip\.twilio\.com$"),
]
TrunkDomainName = Annotated[
    str,
    AfterValidator(_domain_checker("pstn.twilio.com", "trunk")),
    _schema(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.pstn\.twilio\.com$"),
]
SipUri = Annotated[str, AfterValidator(check_sip_uri), _schema(pattern="^sip:")]
Edge = Annotated[str, AfterValidator(_check_edge), _schema(enum=list(EDGES))]
Region = Annotated[str, AfterValidator(_check_region), _schema(enum=list(REGIONS))]
IPv4 = Annotated[str, AfterValidator(_check_ipv4), _schema(format="ipv4")]
CidrPrefix = Annotated[StrictInt, AfterValidator(_check_prefix), Field(ge=8, le=32)]
Priority = Annotated[StrictInt, AfterValidator(_check_port_number), Field(ge=0, le=65535)]
Weight = Annotated[StrictInt, AfterValidator(_check_port_number), Field(ge=0, le=65535)]
PublicUrl = Annotated[str, AfterValidator(_check_public_url), _schema(format="uri")]
AccountSid = Annotated[
    str, AfterValidator(_sid_checker("AC", "an Account SID")), _schema(pattern="^AC[0-9a-f]{32}$")
]
ApiKeySid = Annotated[
    str, AfterValidator(_sid_checker("SK", "an API key SID")), _schema(pattern="^SK[0-9a-f]{32}$")
]
Username = Annotated[str, AfterValidator(_check_username), _schema(minLength=1, maxLength=32)]
Bool = StrictBool
