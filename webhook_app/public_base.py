"""Start-up checks of ``PUBLIC_BASE_URL``: could Twilio have signed a URL under it?

Signatures are checked against ``PUBLIC_BASE_URL`` + path + query first (``webhook_app.app``).
A base Twilio cannot call means every genuine request is checked only against the URL it
arrived on, which behind a TLS proxy is never the one Twilio signed: callers hear an
application error. These checks name such a base at start-up instead.

What is warned about (docs/webhook-app.md, "Running behind a proxy"):

- a host Twilio cannot reach: loopback (``127.0.0.1``, ``localhost``, ``::1``, the default
  when ``PUBLIC_BASE_URL`` is unset), unspecified (``0.0.0.0``), private or link-local
  addresses, and single-label names (``webhook``, a container's name). Not warned when the
  server itself listens on loopback only (``python -m webhook_app`` with the default
  ``HOST``): then only local clients (the emulator, tests) can call it anyway;
- ``http://`` on any other host: Twilio's requests, signatures included, travel in clear
  text, and behind a TLS proxy Twilio calls ``https://``, so no signature would match.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _unreachable(host: str) -> str | None:
    """Why Twilio cannot call ``host``, or None when it may be a public name or address."""
    name = host.lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return "a loopback name"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None if "." in name else "a single-label name no public DNS resolves"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_private or address.is_link_local:
        return "a private address"
    return None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def startup_warnings(base: str, bind_host: str | None = None) -> list[str]:
    """Why ``base`` (``PUBLIC_BASE_URL``) cannot be the URL Twilio signs; empty when it may be.

    ``bind_host`` is the interface the server listens on when known; None (gunicorn, granian:
    the app cannot tell) counts as reachable from outside.
    """
    parts = urlsplit(base)
    host = parts.hostname or ""
    warnings = []
    reason = _unreachable(host)
    if reason is not None and not _is_loopback(bind_host):
        warnings.append(
            f"PUBLIC_BASE_URL={base} names {reason}, which Twilio cannot call: genuine Twilio "
            "requests are then checked only against the URL they arrive on, and behind a "
            "proxy they get 403. Set PUBLIC_BASE_URL to the external base URL Twilio calls "
            "(the stack's public_base_url), e.g. https://voice.example.com"
        )
    elif parts.scheme == "http" and reason is None:
        warnings.append(
            f"PUBLIC_BASE_URL={base} is plain http:// on a public host: Twilio's requests and "
            "their signatures travel unencrypted, and behind a TLS proxy Twilio calls "
            "https://, so no signature would match. Use https:// (and the same URL in the "
            "stack's public_base_url)"
        )
    return warnings
