"""The HTTP client every Twilio SDK call in this project goes through.

When `TWILIO_API_BASE_URL` is set (the bundled emulator, or any Twilio-compatible test double),
each request is sent there instead of to Twilio: the first label of the Twilio host becomes the
first path segment, the rest is Twilio's own path, so
`https://trunking.twilio.com/v1/Trunks` goes to `<base>/trunking/v1/Trunks`. The rewrite runs
after the SDK applied edge and region, so it works with `TWILIO_EDGE`/`TWILIO_REGION` set too.
This is the only switch between a real account and the emulator; nothing else branches on it.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient as _SdkHttpClient
from twilio.http.response import Response

BASE_URL_ENV = "TWILIO_API_BASE_URL"
# Every request gets a timeout: the Pulumi host never cancels a hung call on its own.
DEFAULT_TIMEOUT_SECONDS = 30.0


def rewrite_url(url: str, base_url: str) -> str:
    """Map a Twilio API URL onto `base_url` using the host's first label as a path prefix.

    URLs already on `base_url` (v1 pagination follows the server's absolute `next_page_url`)
    are left alone.
    """
    original = urlsplit(url)
    base = urlsplit(base_url)
    if (original.scheme, original.netloc) == (base.scheme, base.netloc):
        return url
    subdomain = original.hostname.split(".", 1)[0] if original.hostname else ""
    path = f"{base.path.rstrip('/')}/{subdomain}{original.path}"
    return urlunsplit((base.scheme, base.netloc, path, original.query, original.fragment))


class TwilioHttpClient(_SdkHttpClient):  # type: ignore[misc]
    """The SDK's requests-based client with a default timeout, optionally sent to the emulator."""

    def __init__(self, base_url: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT_SECONDS)
        super().__init__(**kwargs)
        self.base_url = base_url if base_url is not None else os.environ.get(BASE_URL_ENV) or None

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.base_url:
            url = rewrite_url(url, self.base_url)
        response: Response = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        return response
