"""Fingerprints of write-only secrets (credential passwords) kept in outputs instead of the value.

scrypt with a random per-resource salt: the fingerprint can sit in state without making the
password cheap to brute-force, and comparing it detects a rotated password without Twilio ever
returning the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
_DKLEN = 32


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=2**26)


def fingerprint(secret: str, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$<salt>$<hash>` for `secret`; a fresh random salt unless one is given."""
    salt = os.urandom(16) if salt is None else salt
    digest = _derive(secret, salt, N, R, P)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def matches(secret: str, stored: str | None) -> bool:
    """Whether `secret` is the value `stored` was made from (constant-time compare)."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        derived = _derive(secret, base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(derived, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False
