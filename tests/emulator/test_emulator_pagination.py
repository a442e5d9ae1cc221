"""Pagination over 2,500+ items with PageSize 1000, in both API families, through the SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.emulator_testing import RunningEmulator, running_emulator
from emulator.catalog import BY_NAME

ITEMS = 2600


@pytest.fixture(scope="module")
def big() -> Iterator[RunningEmulator]:
    """2,600 owned numbers (api v2010) and 2,600 IP records (voice v1)."""
    with running_emulator(numbers=[], seed_numbers=ITEMS) as emu:
        assert emu.emulator is not None
        crud, kind = emu.emulator.crud, BY_NAME["ip_record"]
        with emu.emulator.store.lock:
            for n in range(ITEMS):
                form = {"IpAddress": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"}
                crud.create(kind, {}, form, "/v1/IpRecords")
        yield emu


def list_calls(emu: RunningEmulator, route: str) -> int:
    return int(emu.admin.counters()["routes"].get(route, 0))


def test_api_2010_pages_follow_next_page_uri(big: RunningEmulator) -> None:
    account = big.client().api.v2010.accounts(big.account_sid)
    route = "GET /api/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json"
    before = list_calls(big, route)
    numbers = account.incoming_phone_numbers.list(page_size=1000)
    assert len(numbers) == ITEMS
    assert len({n.sid for n in numbers}) == ITEMS
    assert list_calls(big, route) - before == 3  # 1000 + 1000 + 600


def test_v1_pages_follow_absolute_meta_next_page_url(big: RunningEmulator) -> None:
    client = big.client()
    route = "GET /voice/v1/IpRecords"
    before = list_calls(big, route)
    records = client.voice.v1.ip_records.list(page_size=1000)
    assert len(records) == ITEMS
    assert len({r.sid for r in records}) == ITEMS
    assert list_calls(big, route) - before == 3


def test_page_envelopes_match_each_family(big: RunningEmulator) -> None:
    client = big.client()
    page = client.voice.v1.ip_records.page(page_size=1000)
    next_url = page.next_page_url
    assert next_url.startswith(f"{big.base_url}/voice/v1/IpRecords?")
    assert "PageToken=PA" in next_url
    second = page.next_page()
    assert second.previous_page_url.startswith(f"{big.base_url}/voice/v1/IpRecords?")
    account = client.api.v2010.accounts(big.account_sid)
    first = account.incoming_phone_numbers.page(page_size=1000)
    assert first._payload["start"] == 0
    assert first._payload["end"] == 999
    assert first._payload["next_page_uri"].startswith("/2010-04-01/Accounts/")
    assert set(first._payload) == {
        "incoming_phone_numbers",
        "end",
        "first_page_uri",
        "next_page_uri",
        "page",
        "page_size",
        "previous_page_uri",
        "start",
        "uri",
    }


def test_page_token_survives_deletion_between_pages(big: RunningEmulator) -> None:
    with running_emulator(numbers=[], seed_numbers=30) as emu:
        account = emu.client().api.v2010.accounts(emu.account_sid)
        first = account.incoming_phone_numbers.page(page_size=10)
        account.incoming_phone_numbers(next(first).sid).delete()
        second = first.next_page()
        assert next(second).phone_number == "+12015550010"
