"""``X-Twilio-Signature`` as Twilio computes it for the webhooks it sends.

The signed string is the full URL Twilio requests (for a GET, with the parameters already in
its query string) followed, for a form POST, by every parameter name and its value, sorted by
name (a repeated name by value). The signature is the Base64 HMAC-SHA1 of it under the
account's auth token. Written independently of the app it tests (the emulator shares no code
with it); tests check the app's validator, the Python SDK's ``RequestValidator`` and the Node
SDK accept it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def signed_string(url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    return url + "".join(name + value for name, value in sorted(params))


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """The ``X-Twilio-Signature`` of a POST of ``params`` to ``url`` (a GET: no params)."""
    mac = hmac.new(auth_token.encode(), signed_string(url, params).encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


__all__ = ["signature", "signed_string"]
