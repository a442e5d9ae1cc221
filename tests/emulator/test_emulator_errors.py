"""Each error case answers Twilio's code, HTTP status and error JSON shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from devtools.emulator_testing import RunningEmulator

PASSWORD = "IWasAtSignal2018"


def error_of(call: Callable[[], Any]) -> tuple[int, int, str]:
    with pytest.raises(TwilioRestException) as info:
        call()
    return info.value.status, info.value.code, info.value.msg


def raw(emu: RunningEmulator, method: str, path: str, **kw: Any) -> requests.Response:
    kw.setdefault("auth", (emu.account_sid, emu.auth_token))
    return requests.request(method, emu.base_url + path, timeout=10, **kw)


def assert_twilio_error(response: requests.Response, status: int, code: int) -> None:
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (response.status_code, body["status"], body["code"]) == (status, status, code)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


def test_fetch_unknown_resources_is_20404(account: Any, client: Any) -> None:
    missing = "SD" + "0" * 32
    assert error_of(account.sip.domains(missing).fetch)[:2] == (404, 20404)
    assert error_of(client.trunking.v1.trunks("TK" + "a" * 32).fetch)[:2] == (404, 20404)
    assert error_of(client.voice.v1.byoc_trunks("BY" + "b" * 32).delete)[:2] == (404, 20404)
    assert error_of(client.routes.v2.phone_numbers("+19999999999").fetch)[:2] == (404, 20404)


def test_malformed_sid_in_path_is_20404(emu: RunningEmulator) -> None:
    response = raw(emu, "GET", "/trunking/v1/Trunks/not-a-sid")
    assert_twilio_error(response, 404, 20404)
    response = raw(emu, "GET", f"/api/2010-04-01/Accounts/{emu.account_sid}/SIP/Domains/PN1.json")
    assert_twilio_error(response, 404, 20404)


def test_children_of_missing_parent_are_20404(account: Any, client: Any) -> None:
    trunk = client.trunking.v1.trunks("TK" + "c" * 32)
    assert error_of(trunk.origination_urls("OU" + "c" * 32).fetch)[:2] == (404, 20404)
    assert error_of(trunk.recordings().fetch)[:2] == (404, 20404)
    creds = account.sip.credential_lists("CL" + "d" * 32).credentials
    assert error_of(lambda: creds.create(username="a", password=PASSWORD))[:2] == (404, 20404)


@pytest.mark.parametrize(
    "auth",
    [None, ("AC" + "0" * 31 + "1", "wrong-token"), ("SK" + "1" * 32, "nope"), ("", "")],
    ids=["none", "wrong-token", "unknown-key", "empty"],
)
def test_bad_credentials_are_20003(emu: RunningEmulator, auth: Any) -> None:
    response = requests.get(emu.base_url + "/voice/v1/ByocTrunks", auth=auth, timeout=10)
    assert_twilio_error(response, 401, 20003)


def test_path_account_must_be_this_account(emu: RunningEmulator) -> None:
    other = "AC" + "f" * 32
    response = raw(emu, "GET", f"/api/2010-04-01/Accounts/{other}/Applications.json")
    assert_twilio_error(response, 401, 20003)


def test_wrong_method_is_405(emu: RunningEmulator) -> None:
    response = raw(emu, "DELETE", "/trunking/v1/Trunks")
    assert_twilio_error(response, 405, 20004)
    assert "GET" in response.headers["Allow"]


def test_unknown_path_is_20404(emu: RunningEmulator) -> None:
    assert_twilio_error(raw(emu, "GET", "/messaging/v1/Services"), 404, 20404)


def test_missing_required_parameters_are_400(account: Any, client: Any) -> None:
    status, code, msg = error_of(lambda: account.sip.domains.create(domain_name=""))
    assert (status, code) == (400, 20001)
    assert "DomainName" in msg
    trunk = client.trunking.v1.trunks.create(friendly_name="t")
    urls = client.trunking.v1.trunks(trunk.sid).origination_urls
    status, code, msg = error_of(
        lambda: urls.create(weight=1, priority=1, enabled=True, friendly_name="o", sip_url="")
    )
    assert (status, code) == (400, 20001)
    assert "SipUrl" in msg
    cl = account.sip.credential_lists.create(friendly_name="x")
    status, _, msg = error_of(lambda: account.sip.credential_lists(cl.sid).update(friendly_name=""))
    assert status == 400
    assert "FriendlyName" in msg


@pytest.mark.parametrize(
    "domain_name",
    ["acme.example.com", "sip.twilio.com", "-bad.sip.twilio.com", "a b.sip.twilio.com"],
)
def test_sip_domain_name_must_end_in_sip_twilio_com(account: Any, domain_name: str) -> None:
    assert error_of(lambda: account.sip.domains.create(domain_name=domain_name))[:2] == (400, 21231)


def test_duplicate_sip_domain_is_21232(account: Any) -> None:
    account.sip.domains.create(domain_name="dup.sip.twilio.com")
    status, code, _ = error_of(lambda: account.sip.domains.create(domain_name="dup.sip.twilio.com"))
    assert (status, code) == (400, 21232)


def test_duplicate_trunk_domain_is_21248(client: Any) -> None:
    client.trunking.v1.trunks.create(domain_name="dup.pstn.twilio.com")
    status, code, _ = error_of(
        lambda: client.trunking.v1.trunks.create(domain_name="dup.pstn.twilio.com")
    )
    assert (status, code) == (400, 21248)
    bad = error_of(lambda: client.trunking.v1.trunks.create(domain_name="x.sip.twilio.com"))
    assert bad[:2] == (400, 20001)


@pytest.mark.parametrize(
    "password", ["short1A", "alllowercase2024", "ALLUPPERCASE2024", "NoDigitsAtAllHere"]
)
def test_weak_passwords_are_refused(account: Any, password: str) -> None:
    creds = account.sip.credential_lists(
        account.sip.credential_lists.create(friendly_name="u").sid
    ).credentials
    status, code, msg = error_of(lambda: creds.create(username="bob", password=password))
    assert (status, code) == (400, 20001)
    assert password not in msg  # secrets never echoed


def test_duplicate_username_in_a_list_is_refused(account: Any) -> None:
    cl = account.sip.credential_lists.create(friendly_name="u")
    creds = account.sip.credential_lists(cl.sid).credentials
    creds.create(username="bob", password=PASSWORD)
    assert error_of(lambda: creds.create(username="bob", password=PASSWORD))[:2] == (400, 20001)
    other = account.sip.credential_lists.create(friendly_name="v")
    account.sip.credential_lists(other.sid).credentials.create(username="bob", password=PASSWORD)


def test_duplicate_mapping_is_refused(account: Any) -> None:
    domain = account.sip.domains.create(domain_name="m.sip.twilio.com")
    cl = account.sip.credential_lists.create(friendly_name="u")
    mappings = account.sip.domains(domain.sid).auth.calls.credential_list_mappings
    mappings.create(credential_list_sid=cl.sid)
    status, code, _ = error_of(lambda: mappings.create(credential_list_sid=cl.sid))
    assert (status, code) == (400, 20001)


def test_mapping_an_unknown_list_is_20404(account: Any) -> None:
    domain = account.sip.domains.create(domain_name="n.sip.twilio.com")
    mappings = account.sip.domains(domain.sid).ip_access_control_list_mappings
    result = error_of(lambda: mappings.create(ip_access_control_list_sid="AL" + "e" * 32))
    assert result[:2] == (404, 20404)


def test_deleting_a_mapped_credential_list_is_refused(account: Any, client: Any) -> None:
    cl = account.sip.credential_lists.create(friendly_name="u")
    trunk = client.trunking.v1.trunks.create(friendly_name="t")
    client.trunking.v1.trunks(trunk.sid).credentials_lists.create(credential_list_sid=cl.sid)
    status, code, msg = error_of(account.sip.credential_lists(cl.sid).delete)
    assert (status, code) == (400, 20001)
    assert trunk.sid in msg
    client.trunking.v1.trunks(trunk.sid).credentials_lists(cl.sid).delete()
    assert account.sip.credential_lists(cl.sid).delete() is True


def test_invalid_values_are_400(account: Any, client: Any) -> None:
    cases = [
        lambda: client.trunking.v1.trunks.create(transfer_mode="sometimes"),
        lambda: account.applications.create(voice_method="PUT"),
        lambda: account.applications.create(voice_url="ftp://files.example"),
        lambda: client.voice.v1.ip_records.create(ip_address="300.1.1.1"),
        lambda: client.voice.v1.ip_records.create(ip_address="10.0.0.1", cidr_prefix_length=33),
        lambda: client.voice.v1.byoc_trunks.create(connection_policy_sid="NYnot-a-sid"),
        lambda: account.incoming_phone_numbers.create(phone_number="12"),
    ]
    for case in cases:
        status, code, _ = error_of(case)
        assert status == 400
        assert code in (20001, 21421)


def test_sips_targets_are_refused(client: Any) -> None:
    policy = client.voice.v1.connection_policies.create(friendly_name="p")
    targets = client.voice.v1.connection_policies(policy.sid).targets
    assert error_of(lambda: targets.create(target="sips:sbc.example.com"))[:2] == (400, 20001)


def test_buying_an_owned_number_is_21422(account: Any) -> None:
    owned = account.incoming_phone_numbers.list(limit=1)[0].phone_number
    result = error_of(lambda: account.incoming_phone_numbers.create(phone_number=owned))
    assert result[:2] == (400, 21422)


def test_number_cannot_take_app_and_trunk_at_once(account: Any, client: Any) -> None:
    number = account.incoming_phone_numbers.list(limit=1)[0]
    app = account.applications.create(friendly_name="a")
    trunk = client.trunking.v1.trunks.create(friendly_name="t")
    result = error_of(
        lambda: account.incoming_phone_numbers(number.sid).update(
            voice_application_sid=app.sid, trunk_sid=trunk.sid
        )
    )
    assert result[:2] == (400, 20001)


def test_oversized_body_is_413(emu: RunningEmulator) -> None:
    response = raw(emu, "POST", "/voice/v1/IpRecords", data={"IpAddress": "1" * (2 << 20)})
    assert_twilio_error(response, 413, 20001)


def test_page_size_over_1000_is_400(emu: RunningEmulator) -> None:
    response = raw(emu, "GET", "/voice/v1/IpRecords", params={"PageSize": "1001"})
    assert_twilio_error(response, 400, 20001)
