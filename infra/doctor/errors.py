"""Twilio error codes a voice estate meets, with their usual cause and fix (for Monitor alerts).

From Twilio's error dictionary and the troubleshooting table the team works from; an unknown
code still gets a pointer to its page (`https://www.twilio.com/docs/errors/<code>`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Guide:
    title: str
    cause: str
    fix: str


GUIDES: dict[str, Guide] = {
    "11200": Guide(
        "HTTP retrieval failure",
        "the webhook timed out, answered 5xx, failed the TLS handshake or did not resolve",
        "answer within ~2 s with 200; check the certificate chain and DNS; watch /healthz "
        "(`twilio-voice doctor` checks TLS and every webhook)",
    ),
    "11205": Guide(
        "HTTP connection failure",
        "Twilio could not connect to the webhook host (refused, firewall, wrong port)",
        "make public_base_url reachable from the internet on 443; do not IP-allowlist Twilio",
    ),
    "11210": Guide(
        "HTTP bad host name",
        "the webhook host name does not resolve",
        "fix DNS for public_base_url's host, or fix public_base_url",
    ),
    "11220": Guide(
        "SSL/TLS handshake error",
        "the webhook's TLS setup is refused (protocol below TLS 1.2, no shared cipher)",
        "serve TLS 1.2 or 1.3 with modern ciphers",
    ),
    "11235": Guide(
        "Certificate invalid: domain mismatch",
        "the certificate is not valid for the webhook's host name",
        "serve a certificate whose SAN names public_base_url's host",
    ),
    "11236": Guide(
        "Certificate invalid: certificate expired",
        "the webhook's certificate has expired",
        "renew the certificate (automate it, e.g. ACME)",
    ),
    "11237": Guide(
        "Certificate invalid: could not find path to certificate",
        "the chain does not lead to a public CA (self-signed, missing intermediate)",
        "serve the full chain from a publicly trusted CA",
    ),
    "12100": Guide(
        "Document parse failure",
        "the webhook answered malformed XML (unescaped &, bad nesting, a DOCTYPE)",
        "build TwiML from the app's templates (autoescaped) and validate it",
    ),
    "12200": Guide(
        "Schema validation warning",
        "the TwiML is well-formed but uses verbs or attributes Twilio does not know",
        "check the TwiML against Twilio's verb reference",
    ),
    "12300": Guide(
        "Invalid Content-Type",
        "the webhook answered TwiML with a content type other than text/xml",
        "answer with Content-Type: text/xml",
    ),
    "13224": Guide(
        "Dial: invalid phone number",
        "a <Dial><Number> is not a valid number",
        "normalise dialled numbers to E.164 before building TwiML",
    ),
    "13227": Guide(
        "Dial: no international authorization",
        "the call went to a country or risk class the account's dialing permissions switch off",
        "declare the country (and class) in dialing_permissions if the business calls it; "
        "otherwise this is the guard working",
    ),
    "20003": Guide(
        "Authenticate",
        "wrong Account SID / auth token, a rotated token, or another account's credentials",
        "set the stack's account credentials (TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN, or an "
        "API key)",
    ),
    "21215": Guide(
        "Geo permission not enabled for the number's country",
        "a call to a country or risk class that dialing permissions switch off",
        "declare it in dialing_permissions if it is legitimate traffic",
    ),
    "32011": Guide(
        "SIP: error from the SIP endpoint",
        "the PBX/SBC answered the call with an error",
        "check the origination URL's endpoint and its logs",
    ),
}


def guide(code: str) -> Guide:
    return GUIDES.get(
        code,
        Guide(
            f"Twilio error {code}",
            "see Twilio's description",
            f"https://www.twilio.com/docs/errors/{code}",
        ),
    )


__all__ = ["GUIDES", "Guide", "guide"]
