"""Twilio REST access for the providers: credentials, one lazy thread-safe client, retries.

Credentials are resolved at call time from the stack config handed to `configure()` (keys
`twilio:accountSid`, `twilio:authToken` or `twilio:apiKey` + `twilio:apiSecret`, `twilio:edge`,
`twilio:region`) and then from `TWILIO_*` environment variables, never from anything pickled.
Requests go through the SDK's `Client.request` (auth, edge/region host rewriting) and
`infra.twilio_http.TwilioHttpClient` (timeout, emulator switch). 429, 5xx and transport
errors are retried with capped exponential backoff and full jitter, honouring `Retry-After`.
Creates are never blindly retried: after a failed attempt the caller's lookup runs first, so a
create whose response was lost is adopted instead of duplicated.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from twilio.rest import Client

from infra.errors import ConfigurationError, NotFoundError, TransportError, TwilioApiError
from infra.twilio_http import BASE_URL_ENV, TwilioHttpClient

HOSTS: dict[str, str] = {
    "api": "https://api.twilio.com",
    "trunking": "https://trunking.twilio.com",
    "voice": "https://voice.twilio.com",
    "routes": "https://routes.twilio.com",
    "monitor": "https://monitor.twilio.com",
}

CONFIG_KEYS: dict[str, str] = {
    "account_sid": "twilio:accountSid",
    "auth_token": "twilio:authToken",
    "api_key": "twilio:apiKey",
    "api_secret": "twilio:apiSecret",
    "edge": "twilio:edge",
    "region": "twilio:region",
}
ENV_KEYS: dict[str, str] = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "api_key": "TWILIO_API_KEY",
    "api_secret": "TWILIO_API_SECRET",
    "edge": "TWILIO_EDGE",
    "region": "TWILIO_REGION",
}

Record = dict[str, Any]


@dataclass(frozen=True)
class Credentials:
    """Who we are to Twilio. `username`/`password` are the Basic-auth pair actually sent."""

    account_sid: str
    username: str
    password: str = field(repr=False)
    edge: str | None = None
    region: str | None = None

    @property
    def cache_key(self) -> str:
        """A digest identifying these credentials without holding the secret in clear."""
        raw = "\0".join(
            [self.account_sid, self.username, self.password, self.edge or "", self.region or ""]
        )
        return hashlib.sha256(raw.encode()).hexdigest()


def resolve_credentials(config: Mapping[str, Any], env: Mapping[str, str]) -> Credentials:
    """Stack config first, then environment; an API key pair wins over an auth token."""

    def get(name: str) -> str | None:
        value = config.get(CONFIG_KEYS[name])
        if value in (None, ""):
            value = env.get(ENV_KEYS[name])
        return str(value) if value not in (None, "") else None

    account_sid = get("account_sid")
    if not account_sid:
        raise ConfigurationError(
            "no Twilio account: set stack config twilio:accountSid "
            "(`pulumi config set twilio:accountSid AC...`) or TWILIO_ACCOUNT_SID"
        )
    if not account_sid.startswith("AC") or len(account_sid) != 34:
        raise ConfigurationError(
            f"twilio:accountSid / TWILIO_ACCOUNT_SID must be an Account SID (AC + 32 hex), "
            f"got {account_sid[:6]}..."
        )
    api_key, api_secret = get("api_key"), get("api_secret")
    if api_key or api_secret:
        if not (api_key and api_secret):
            raise ConfigurationError(
                "an API key needs both twilio:apiKey and twilio:apiSecret "
                "(or TWILIO_API_KEY and TWILIO_API_SECRET)"
            )
        username, password = api_key, api_secret
    else:
        token = get("auth_token")
        if not token:
            raise ConfigurationError(
                "no Twilio secret: set `pulumi config set --secret twilio:authToken ...` or "
                "TWILIO_AUTH_TOKEN (or an API key: twilio:apiKey + twilio:apiSecret)"
            )
        username, password = account_sid, token
    edge, region = get("edge"), get("region")
    if region and not edge:
        edge = _default_edge(region)
    return Credentials(account_sid, username, password, edge, region)


# Twilio's API hosts are `product.edge.region.twilio.com`, and its docs say to give the helper
# library an edge whenever a region is given: a region alone builds `api.ie1.twilio.com`, a
# legacy host form Twilio is retiring. These are the regions' documented home edges.
_HOME_EDGES = {"us1": "ashburn", "ie1": "dublin", "au1": "sydney"}


def _default_edge(region: str) -> str:
    edge = _HOME_EDGES.get(region)
    if edge is None:
        raise ConfigurationError(
            f"twilio:region / TWILIO_REGION is {region!r} but no edge is set: Twilio's API "
            "hosts name both (product.edge.region.twilio.com); set twilio:edge or TWILIO_EDGE "
            "to the edge location you connect through"
        )
    return edge


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for retrying one logical call (attempts and wall time) and per-request timeout."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    total_budget: float = 120.0
    request_timeout: float = 30.0


def full_jitter(cap: float) -> float:
    return random.uniform(0.0, cap)


def backoff_delay(
    attempt: int,
    policy: RetryPolicy,
    retry_after: float | None,
    jitter: Callable[[float], float] = full_jitter,
) -> float:
    """Delay before retry number `attempt` (1-based): full jitter, at least `Retry-After`."""
    cap = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    delay = jitter(cap)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def error_from_response(
    status: int, text: str, headers: Mapping[str, str] | None
) -> TwilioApiError:
    """Build the error for a non-2xx answer from Twilio's `{code, message, ...}` body."""
    code: int | None = None
    message = f"HTTP {status}"
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        body = {}
    if isinstance(body, dict):
        if isinstance(body.get("code"), int):
            code = body["code"]
        if body.get("message"):
            message = str(body["message"])
        elif body.get("detail"):
            message = str(body["detail"])
    retry_after = parse_retry_after((headers or {}).get("Retry-After"))
    cls = NotFoundError if status == 404 else TwilioApiError
    return cls(status, code, message, retry_after=retry_after)


class TwilioApi:
    """One account's REST access. Thread-safe: the SDK client is built once under a lock."""

    def __init__(
        self,
        credentials: Credentials,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float], float] = full_jitter,
        clock: Callable[[], float] = time.monotonic,
        base_url: str | None = None,
    ) -> None:
        self.credentials = credentials
        # None: TwilioHttpClient reads TWILIO_API_BASE_URL itself (the emulator switch).
        self.base_url = base_url
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        self._lock = threading.Lock()
        self._client: Client | None = None

    @property
    def account_sid(self) -> str:
        return self.credentials.account_sid

    @property
    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                creds = self.credentials
                self._client = Client(
                    creds.username,
                    creds.password,
                    account_sid=creds.account_sid,
                    region=creds.region,
                    edge=creds.edge,
                    http_client=TwilioHttpClient(
                        base_url=self.base_url, timeout=self.policy.request_timeout
                    ),
                )
            return self._client

    def url(self, host: str, path: str) -> str:
        return HOSTS[host] + path

    def send_once(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Record | None:
        """One HTTP exchange; returns the JSON body (None for 204) or raises TwilioApiError."""
        try:
            response = self.client.request(
                method,
                url,
                params=dict(params) if params else None,
                data=dict(data) if data is not None else None,
                timeout=self.policy.request_timeout,
            )
        except requests.RequestException as exc:
            # str(exc) names host/path only; requests never includes the auth header.
            raise TransportError(message=type(exc).__name__ + ": " + str(exc)) from exc
        if response.status_code >= 400:
            raise error_from_response(response.status_code, response.text, response.headers)
        if response.status_code == 204 or not response.text:
            return None
        body = json.loads(response.text)
        return body if isinstance(body, dict) else {"value": body}

    def _retrying(self, attempt_fn: Callable[[], Record | None]) -> Record | None:
        start = self._clock()
        attempt = 1
        while True:
            try:
                return attempt_fn()
            except TwilioApiError as exc:
                if not exc.retryable or attempt >= self.policy.max_attempts:
                    raise
                delay = backoff_delay(attempt, self.policy, exc.retry_after, self._jitter)
                if self._clock() - start + delay > self.policy.total_budget:
                    raise
                self._sleep(delay)
                attempt += 1

    def request(
        self,
        method: str,
        host: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Record | None:
        """An idempotent call (GET, DELETE, POST on an instance path), retried directly."""
        url = self.url(host, path)
        return self._retrying(lambda: self.send_once(method, url, params=params, data=data))

    def fetch(self, host: str, path: str) -> Record:
        record = self.request("GET", host, path)
        if record is None:
            raise TwilioApiError(200, None, f"empty response for GET {path}")
        return record

    def update(self, host: str, path: str, data: Mapping[str, str]) -> Record:
        record = self.request("POST", host, path, data=data)
        if record is None:
            raise TwilioApiError(200, None, f"empty response for POST {path}")
        return record

    def delete(self, host: str, path: str) -> bool:
        """DELETE; False when it was already gone (404)."""
        try:
            self.request("DELETE", host, path)
        except NotFoundError:
            return False
        return True

    def create(
        self,
        host: str,
        path: str,
        data: Mapping[str, str],
        lookup: Callable[[], Record | None],
    ) -> tuple[Record, bool]:
        """POST a create; after any failed attempt, adopt what `lookup` finds before retrying.

        Returns (record, adopted). A create Twilio applied but whose answer was lost (500,
        timeout, reset) is found by the lookup and adopted instead of being created twice.
        """
        url = self.url(host, path)
        adopted = False
        first = True

        def attempt() -> Record:
            nonlocal adopted, first
            if not first:  # the previous attempt failed: it may have been applied anyway
                found = lookup()
                if found is not None:
                    adopted = True
                    return found
            first = False
            record = self.send_once("POST", url, data=data)
            if record is None:
                raise TwilioApiError(201, None, f"empty response for POST {path}")
            return record

        record = self._retrying(attempt)
        assert record is not None  # attempt() never returns None
        return record, adopted

    def _get_url(self, url: str) -> Record:
        """GET an absolute URL (a next-page link), retried like any idempotent call."""
        return self._retrying(lambda: self.send_once("GET", url)) or {}

    def list(self, host: str, path: str, params: Mapping[str, str] | None = None) -> list[Record]:
        """Every item of a list endpoint, following pages (PageSize=1000)."""
        query = {"PageSize": "1000", **(params or {})}
        page = self.request("GET", host, path, params=query) or {}
        items: list[Record] = []
        while True:
            items.extend(_page_items(page))
            next_url = _next_page_url(host, page)
            if not next_url:
                return items
            page = self._get_url(next_url)


_META_KEYS = frozenset(
    {
        "end",
        "first_page_uri",
        "next_page_uri",
        "last_page_uri",
        "page",
        "page_size",
        "previous_page_uri",
        "total",
        "num_pages",
        "start",
        "uri",
        "meta",
    }
)


def _page_items(page: Mapping[str, Any]) -> list[Record]:
    meta = page.get("meta")
    if isinstance(meta, dict) and meta.get("key") in page:
        return list(page[meta["key"]])
    keys = [k for k in page if k not in _META_KEYS]
    return list(page[keys[0]]) if len(keys) == 1 else []


def _next_page_url(host: str, page: Mapping[str, Any]) -> str | None:
    meta = page.get("meta")
    if isinstance(meta, dict):
        return meta.get("next_page_url") or None
    uri = page.get("next_page_uri")
    return HOSTS[host] + uri if uri else None


_CACHE: dict[str, TwilioApi] = {}
_CACHE_LOCK = threading.Lock()


def get_api(config: Mapping[str, Any], env: Mapping[str, str] | None = None) -> TwilioApi:
    """The shared `TwilioApi` for the credentials (and API base URL) in effect now."""
    import os

    environ = os.environ if env is None else env
    credentials = resolve_credentials(config, environ)
    base_url = environ.get(BASE_URL_ENV) or ""
    key = f"{credentials.cache_key}|{base_url}"
    with _CACHE_LOCK:
        api = _CACHE.get(key)
        if api is None:
            api = TwilioApi(credentials, base_url=base_url)
            _CACHE[key] = api
        return api
