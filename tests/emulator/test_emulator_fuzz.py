"""Property: no input gives a 500 unless injected; every 4xx has Twilio's error shape.

Malformed form bodies, unknown parameters, bad SIDs, odd methods and oversized bodies are
generated against every route of the kind table, in-process (werkzeug's test client).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from emulator.app import Emulator
from emulator.catalog import KINDS
from emulator.config import EmulatorConfig

CONFIG = EmulatorConfig(record_path=None)
AUTH = "Basic " + base64.b64encode(f"{CONFIG.account_sid}:{CONFIG.auth_token}".encode()).decode()
EMULATOR = Emulator(CONFIG, numbers=["+14155550100", "+14155550101"])
CLIENT = Client(EMULATOR)
TEMPLATES = sorted({k.list_path for k in KINDS if k.list_path} | {k.instance_path for k in KINDS})
SUBS = {k.list_path or k.instance_path: k.sub for k in KINDS} | {
    k.instance_path: k.sub for k in KINDS
}
PARAMS = sorted({f.param for k in KINDS for f in k.fields} | {"PhoneNumber", "AreaCode"})
PREFIXES = sorted({k.prefix for k in KINDS if k.prefix} | {"AC"})


def _seed() -> dict[str, str]:
    """A few real resources so generated paths can hit existing SIDs too."""
    post = lambda path, data: CLIENT.post(path, data=data, headers={"Authorization": AUTH})  # noqa: E731
    acct = f"/api/2010-04-01/Accounts/{CONFIG.account_sid}"
    sids = {
        "domain": post(f"{acct}/SIP/Domains.json", {"DomainName": "f.sip.twilio.com"}),
        "cl": post(f"{acct}/SIP/CredentialLists.json", {"FriendlyName": "f"}),
        "acl": post(f"{acct}/SIP/IpAccessControlLists.json", {"FriendlyName": "f"}),
        "trunk": post("/trunking/v1/Trunks", {"DomainName": "f.pstn.twilio.com"}),
        "policy": post("/voice/v1/ConnectionPolicies", {"FriendlyName": "f"}),
        "record": post("/voice/v1/IpRecords", {"IpAddress": "10.1.1.1"}),
    }
    return {name: response.get_json()["sid"] for name, response in sids.items()}


SEEDED = _seed()
EXISTING = sorted(SEEDED.values())
# Path parameters filled with real values most of the time, so requests reach the handlers.
GOOD = {
    "AccountSid": CONFIG.account_sid,
    "DomainSid": SEEDED["domain"],
    "CredentialListSid": SEEDED["cl"],
    "IpAccessControlListSid": SEEDED["acl"],
    "TrunkSid": SEEDED["trunk"],
    "ConnectionPolicySid": SEEDED["policy"],
    "PhoneNumber": "+14155550100",
    "SipDomain": "f.sip.twilio.com",
    "SipTrunkDomain": "f.pstn.twilio.com",
}

sid_like = st.one_of(
    st.sampled_from(EXISTING),
    st.builds(
        lambda p, h: p + h,
        st.sampled_from(PREFIXES),
        st.text("0123456789abcdef", min_size=32, max_size=32),
    ),
    st.just(CONFIG.account_sid),
    st.text(min_size=0, max_size=40).map(lambda s: quote(s, safe="")),
    st.sampled_from(["+14155550100", "f.sip.twilio.com", "f.pstn.twilio.com", "..", "%00"]),
)
values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            "true",
            "false",
            "POST",
            "GET",
            "sip:a.example",
            "https://a.example/x",
            "10.0.0.1",
            "-1",
            "99999999999999999999",
        ]
    ),
    st.sampled_from(EXISTING),
)
form_bodies = st.dictionaries(
    st.one_of(st.sampled_from(PARAMS), st.text(min_size=1, max_size=20)), values, max_size=8
)


@st.composite
def requests_(draw: Any) -> dict[str, Any]:
    template = draw(st.sampled_from(TEMPLATES))
    path = template
    while "{" in path:
        name = path[path.index("{") : path.index("}") + 1]
        good = GOOD.get(name[1:-1])
        choice = st.sampled_from([good] * 3) if good else st.sampled_from(EXISTING)
        path = path.replace(name, draw(st.one_of(choice, choice, choice, sid_like)), 1)
    sub = draw(st.sampled_from([SUBS[template]] * 6 + ["api", "voice", "nope"]))
    method = draw(st.sampled_from(["GET", "GET", "POST", "POST", "POST", "DELETE", "PUT"]))
    query = draw(
        st.dictionaries(
            st.sampled_from(["PageSize", "Page", "PageToken", "PhoneNumber", "X"]),
            values,
            max_size=3,
        )
    )
    raw = draw(st.one_of(form_bodies.map(lambda d: None), st.binary(max_size=300)))
    return {
        "method": method,
        "path": f"/{sub}{path}",
        "query": query,
        "form": draw(form_bodies),
        "raw": raw,
        "content_type": draw(
            st.sampled_from(
                [
                    "application/x-www-form-urlencoded",
                    "application/x-www-form-urlencoded; charset=latin-1",
                    "multipart/form-data; boundary=zz",
                    "multipart/form-data",
                    "application/json",
                    "text/plain",
                ]
            )
        ),
        "auth": draw(st.sampled_from([AUTH] * 8 + ["Basic Zm9vOmJhcg==", "Bearer x", ""])),
    }


def assert_twilio_shaped(status: int, body: bytes) -> None:
    assert status < 500, body[:300]
    if status == 204:
        return
    data = json.loads(body)
    if status >= 400:
        assert set(data) == {"code", "message", "more_info", "status"}
        assert data["status"] == status
        assert isinstance(data["code"], int)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests_())
def test_no_input_gives_a_500(request: dict[str, Any]) -> None:
    headers = {"Authorization": request["auth"]} if request["auth"] else {}
    if request["raw"] is not None:
        headers["Content-Type"] = request["content_type"]
        response = CLIENT.open(
            request["path"],
            method=request["method"],
            query_string=request["query"],
            data=request["raw"],
            headers=headers,
        )
    else:
        response = CLIENT.open(
            request["path"],
            method=request["method"],
            query_string=request["query"],
            data=request["form"],
            headers=headers,
        )
    assert_twilio_shaped(response.status_code, response.get_data())


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=(1 << 20) + 1, max_value=3 << 20), st.sampled_from(TEMPLATES))
def test_oversized_bodies_get_413(size: int, template: str) -> None:
    path = "/" + SUBS[template] + template.replace("{AccountSid}", CONFIG.account_sid)
    response = CLIENT.post(
        path,
        data=b"FriendlyName=" + b"x" * size,
        headers={"Authorization": AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (404, 405, 413)
    assert_twilio_shaped(response.status_code, response.get_data())
