"""Run every doctor check for one stack, in the order a call meets them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from infra.client import Credentials, RetryPolicy, resolve_credentials
from infra.commands.drift import CountingApi
from infra.doctor.checks import (
    Get,
    Post,
    check_alerts,
    check_call_flows,
    check_credentials,
    check_dialing,
    check_drift,
    check_edge_region,
    check_numbers,
    check_webhooks,
    https_get,
    https_post,
)
from infra.doctor.model import DoctorReport
from infra.doctor.tls import check_tls
from infra.errors import ConfigurationError
from infra.spec import Environment

LOCAL = "local"


def run_checks(
    env: Environment,
    stack: str,
    config: Mapping[str, str],
    *,
    environ: Mapping[str, str] | None = None,
    ca_file: Path | None = None,
    retry: RetryPolicy | None = None,
    post: Post | None = None,
    get: Get | None = None,
    tls_timeout: float = 5.0,
) -> DoctorReport:
    """Every check; Twilio-side checks are skipped when the credentials do not resolve."""
    environ = os.environ if environ is None else environ
    credentials: Credentials | None = None
    problem = ""
    try:
        credentials = resolve_credentials(config, environ)
    except ConfigurationError as err:
        problem = str(err)
    api = CountingApi(credentials, retry) if credentials is not None else None
    token = config.get("twilio:authToken") or environ.get("TWILIO_AUTH_TOKEN")
    account = (credentials.account_sid if credentials else None) or env.credentials.account_sid
    account = account or "AC" + "0" * 32
    tls = check_tls(env.public_base_url, local=stack == LOCAL, ca_file=ca_file, timeout=tls_timeout)
    webhooks = check_webhooks(env, account, token, post or https_post(ca_file))
    served = check_call_flows(env, stack, get or https_get(ca_file))
    creds, numbers = check_credentials(env, credentials, problem, api)
    reachable = api if numbers is not None else None
    checks = (
        tls,
        webhooks,
        served,
        creds,
        check_edge_region(env, credentials),
        check_numbers(env, numbers),
        check_drift(env, reachable, stack),
        check_alerts(reachable),
        check_dialing(env, reachable, stack),
    )
    masked = f"{account[:4]}…{account[-4:]}"
    return DoctorReport(stack, masked, checks, api.calls if api is not None else 0)


__all__ = ["run_checks"]
