"""Does the public base URL serve HTTPS the way Twilio needs: TLS 1.2+, a certificate valid for
the host, from a trusted CA, not expired.

One handshake with verification (the system's CAs, or `ca_file`) and TLS 1.2 as the minimum;
when that fails on the protocol, a second handshake without verification and with the old
protocols allowed (where the local OpenSSL still offers them) tells which version the server
speaks.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from infra.doctor.model import Check

PREVENTS = ("11200", "11220", "11235", "11236", "11237")
EXPIRY_WARNING_DAYS = 14


@dataclass(frozen=True)
class Probe:
    ok: bool
    version: str | None = None
    problem: str = ""
    codes: tuple[str, ...] = ()
    days_left: float | None = None


def _context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _legacy_version(host: str, port: int, timeout: float) -> str | None:
    """The version a server speaks when TLS 1.2+ fails (None if not even TLS 1.0 works here)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return None
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return tls.version()
    except (OSError, ssl.SSLError):
        return None


def probe(host: str, port: int, *, ca_file: Path | None = None, timeout: float = 5.0) -> Probe:
    context = _context(ca_file)
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            version = tls.version()
            cert = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as err:
        message = err.verify_message or str(err)
        if "expired" in message:
            return Probe(False, problem=f"certificate expired ({message})", codes=("11236",))
        if "Hostname mismatch" in message or "IP address mismatch" in message:
            return Probe(
                False, problem=f"certificate not valid for {host} ({message})", codes=("11235",)
            )
        return Probe(False, problem=f"certificate not trusted ({message})", codes=("11237",))
    except ssl.SSLError as err:
        legacy = _legacy_version(host, port, timeout)
        if legacy and legacy not in ("TLSv1.2", "TLSv1.3"):
            problem = f"the server only speaks {legacy}; Twilio needs TLS 1.2 or newer"
        else:
            problem = f"TLS handshake failed ({err.reason or err})"
        return Probe(False, problem=problem, codes=("11220",))
    except OSError as err:
        return Probe(False, problem=f"cannot connect to {host}:{port} ({err})", codes=("11205",))
    days = None
    not_after = cert.get("notAfter")
    if isinstance(not_after, str):
        days = (ssl.cert_time_to_seconds(not_after) - time.time()) / 86400
    return Probe(True, version=version, days_left=days)


def check_tls(
    base_url: str, *, local: bool, ca_file: Path | None = None, timeout: float = 5.0
) -> Check:
    title = "public base URL serves HTTPS (TLS 1.2+, valid certificate for its host)"
    parts = urlsplit(base_url)
    if parts.scheme != "https":
        if local:
            return Check(
                "tls", title, "skip", details=(f"{base_url}: plain HTTP on the local stack",)
            )
        return Check(
            "tls",
            title,
            "fail",
            PREVENTS,
            (f"{base_url} is not https://",),
            "serve the app over HTTPS and set public_base_url to the https:// address",
        )
    host = parts.hostname or ""
    result = probe(host, parts.port or 443, ca_file=ca_file, timeout=timeout)
    if not result.ok:
        return Check(
            "tls",
            title,
            "fail",
            PREVENTS,
            (f"{host}:{parts.port or 443}: {result.problem}",),
            _tls_fix(result.codes),
        )
    details = [f"{host}: {result.version}"]
    status: str = "pass"
    if result.days_left is not None:
        details.append(f"certificate valid for {result.days_left:.0f} more days")
        if result.days_left < EXPIRY_WARNING_DAYS:
            status = "warn"
    return Check(
        "tls",
        title,
        "warn" if status == "warn" else "pass",
        PREVENTS,
        tuple(details),
        "renew the certificate before it expires (Twilio error 11236)" if status == "warn" else "",
    )


def _tls_fix(codes: tuple[str, ...]) -> str:
    if "11236" in codes:
        return "renew the certificate (automate renewals, e.g. ACME)"
    if "11235" in codes:
        return "serve a certificate whose subject alternative names include the URL's host"
    if "11237" in codes:
        return "serve the full chain from a publicly trusted CA (no self-signed certificate)"
    if "11220" in codes:
        return "enable TLS 1.2 and 1.3 on the server or proxy (e.g. nginx ssl_protocols)"
    return "make the host reachable from the internet on its HTTPS port"


__all__ = ["Probe", "check_tls", "probe"]
