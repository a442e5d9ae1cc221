"""The WSGI app: routing from the route table, signature check, dispatch, metrics and logs.

This is the only module that touches ``environ`` and ``start_response``.

Twilio signs the URL the stack configured: ``PUBLIC_BASE_URL`` + route path (the join
``infra.urls`` makes, ``webhook_app.routes.join_url``) + the query. The signature is checked
against that URL first, whatever Host or port the request arrived on; the URL rebuilt from the
request is only a second candidate, and only when its host is ``PUBLIC_BASE_URL``'s (scheme, port
and path prefix may differ, as behind a TLS proxy). Behind a reverse proxy ``TRUSTED_PROXY_HOPS``
may name the number of proxies in front of the app: werkzeug's ``ProxyFix`` then takes scheme, host
and prefix for that second candidate from that many ``X-Forwarded-*`` hops. With the default 0,
forwarded headers are ignored (a client could forge them), as ``ProxyFix``'s own docs advise.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    NotFound,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from webhook_app.addresses import mask_phone
from webhook_app.flows import CallRequest, Flows, Handler
from webhook_app.forms import SingleValued, parse_form
from webhook_app.logs import LOGGER_NAME, RequestLog, configure_logging
from webhook_app.metrics import Metrics
from webhook_app.ops import require_bearer, start_listener
from webhook_app.public_base import startup_warnings
from webhook_app.rendering import CONTENT_TYPE, Renderer, make_environment
from webhook_app.routes import ROUTES, join_url
from webhook_app.settings import Settings, load_settings
from webhook_app.signature import matching_url, signature_algorithm
from webhook_app.store import Store, StoreError, StoreUnhealthy, open_store

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MAX_BODY_BYTES = 64 * 1024
_PATH_SAFE = "!$&'()*+,/:;=@%"
_LOGGED_PARAMS = ("From", "To")
# What Twilio reports about a failure or a dial, logged on the routes that receive it only
# (not on the IVR's hot paths): parameter -> log field, values cut at _LOGGED_CHARS.
_DIAGNOSTIC_FLOWS = frozenset(
    {"call_status", "dial_status", "voice_fallback", "trunk_disaster_recovery"}
)
_DIAGNOSTIC_PARAMS = (
    ("ErrorCode", "error_code"),
    ("ErrorUrl", "error_url"),
    ("SipResponseCode", "sip_response_code"),
    ("ParentCallSid", "parent_call_sid"),
    ("DialCallSid", "dial_call_sid"),
    ("DialCallStatus", "dial_call_status"),
    ("DialCallDuration", "dial_call_duration"),
    ("DialSipResponseCode", "dial_sip_response_code"),
    ("CallDuration", "call_duration"),
)
_LOGGED_CHARS = 512  # URLs and Twilio's diagnostics are logged up to this length


class TwilioRequest(Request):
    """werkzeug Request with the app's limits: 64 KiB bodies and forms."""

    # One byte over the limit: werkzeug stops a chunked body at the limit without an error, so
    # reading one byte more is how an oversized streamed body is told from a full-size one.
    max_content_length = MAX_BODY_BYTES + 1
    max_form_memory_size = MAX_BODY_BYTES
    max_form_parts = 200


def build_url_map() -> Map:
    """The routing Map, built from the route table (``webhook_app.routes.ROUTES``)."""
    return Map(
        [Rule(r.path, endpoint=r.flow, methods=list(r.methods)) for r in ROUTES],
        strict_slashes=False,
        # `//voice//inbound` is no route: a 404, not a redirect built from the client's Host.
        merge_slashes=False,
    )


def request_url(environ: WSGIEnvironment) -> str:
    """The URL as the client requested it (after ProxyFix): the second signature candidate."""
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe=_PATH_SAFE)
    query = environ.get("QUERY_STRING", "")
    return f"{environ['wsgi.url_scheme']}://{host}{path}{'?' + query if query else ''}"


def _first_values(query_string: str) -> dict[str, str]:
    """The query string as name -> first value (our own ``?then=…&user=…`` parameters)."""
    params: dict[str, str] = {}
    if query_string:
        text = query_string.encode("latin-1").decode("utf-8", "replace")  # WSGI's str of bytes
        for key, value in parse_form(text):
            params.setdefault(key, value)
    return params


def _json_params(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep to parse
        raise BadRequest("the JSON body does not parse") from exc
    if not isinstance(data, dict):
        raise BadRequest("the JSON body must be an object")
    params = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    try:  # JSON escapes can spell lone UTF-16 surrogates, which no store or log can encode
        "".join(key + value for key, value in params.items()).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest("the JSON body holds an unpaired UTF-16 surrogate escape") from exc
    return params


class WebhookApp:
    """Routes Twilio's requests to the call flows; every Twilio route is signature-checked."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        metrics: Metrics | None = None,
        logger: logging.Logger | None = None,
        renderer: Renderer | None = None,
        clock: Callable[[], float] = time.perf_counter,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        """``clock`` times requests; ``now`` (default: the real UTC time) is the wall clock
        business-hours schedules are evaluated at."""
        self.settings = settings
        self.store = store
        self.metrics = metrics or Metrics()
        self.url_map = build_url_map()
        self._log = logger or logging.getLogger(LOGGER_NAME)
        self._request_log = RequestLog(self._log)
        self._clock = clock
        self._tokens = settings.signing_keys()  # primary first; never logged
        metrics_token = settings.metrics_token
        self._metrics_token = metrics_token.get_secret_value().encode() if metrics_token else None
        self._metrics_elsewhere = settings.metrics_port is not None  # on the metrics listener
        self._public_base = settings.public_base_url
        # The second candidate may differ from PUBLIC_BASE_URL in scheme, port and path prefix
        # (a TLS proxy, a mount point), never in host: a signature Twilio made for another host
        # of the same account (staging, a request bin) must not pass with a forged Host header.
        self._public_host = (urlsplit(settings.public_base_url).hostname or "").lower()
        self._public_urls: dict[str, str] = {}  # PATH_INFO -> PUBLIC_BASE_URL + path
        self._foreign_origins: set[str] = set()  # request origins already warned about
        self._twilio_flows = frozenset(r.flow for r in ROUTES if r.twilio)
        renderer = renderer or Renderer(make_environment())
        flows = Flows(settings, store, renderer, self.metrics, self._log, now=now)
        # /healthz names what it serves: the artifact's hash (the stack's Pulumi program exports
        # the same value as call_flows_hash) and where it came from.
        self._served = {
            "call_flows": settings.served.hash,
            "call_flows_source": settings.served.source,
        }
        self._handlers: dict[str, Handler] = flows.handlers()
        missing = self._twilio_flows - self._handlers.keys()
        if missing:  # a route added to the table without a handler is a programming error
            raise RuntimeError(f"routes without a handler: {sorted(missing)}")
        self._routes_seen: dict[tuple[str, str], str] = {}
        self._counters: dict[tuple[str, int], Any] = {}
        self._timers: dict[str, Any] = {}

    # --- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = self._clock()
        flow = "unmatched"
        call: Mapping[str, str] = {}
        try:
            request = TwilioRequest(environ)
            flow = self._match(environ)
            if flow in self._twilio_flows:
                params = self._verified_params(flow, request, environ)
                # Logged after the handler: only names it could read (no ambiguous repeats).
                call = params.unambiguous() if isinstance(params, SingleValued) else params
                query = _first_values(environ.get("QUERY_STRING", ""))
                twiml = self._handlers[flow](CallRequest(flow, params, query))
                status, body, ctype = twiml.status, twiml.body, CONTENT_TYPE
            else:
                status, body, ctype = self.operational(flow, environ)
            headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
            if status == 204:
                headers = []
            start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
            result: Iterable[bytes] = [body] if body else []
        except HTTPException as exc:
            status = exc.code or 500
            if isinstance(exc, Forbidden):
                self.metrics.signature_failures.labels(flow).inc()
            result = exc(environ, start_response)
        except StoreError as exc:
            status = 503
            self._log.error("state store unavailable", extra={"flow": flow, "error": str(exc)})
            start_response("503 Service Unavailable", [("Retry-After", "1")])
            result = []
        except Exception:  # last resort: the fuzz tests prove this is never reached
            status = 500
            self._log.exception("unhandled error", extra={"flow": flow})
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            result = [b"internal error"]
        self._record(flow, status, started, call)
        return result

    def _match(self, environ: WSGIEnvironment) -> str:
        """The flow for this method and path; werkzeug's Map decides, a memo remembers hits."""
        key = (environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        flow = self._routes_seen.get(key)
        if flow is None:
            flow, _ = self.url_map.bind_to_environ(environ).match()
            if len(self._routes_seen) < 256:  # hits only; a bounded few paths per route
                self._routes_seen[key] = flow
        return flow

    def _verified_params(
        self, flow: str, request: TwilioRequest, environ: WSGIEnvironment
    ) -> Mapping[str, str]:
        """The request's parameters, once its X-Twilio-Signature proves it came from Twilio."""
        signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
        if not signature:
            self._refuse(flow, "is missing", self._public_url(environ), request_url(environ))
            raise Forbidden("X-Twilio-Signature is missing")
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        try:
            data = request.get_data()
        except HTTPException:
            raise
        except Exception as exc:  # each server raises its own kind of error
            # A malformed chunked body or a client gone mid-body (gunicorn raises its parser's
            # errors from wsgi.input, other servers OSError or ValueError): the client's fault.
            raise BadRequest("the request body could not be read") from exc
        if len(data) > MAX_BODY_BYTES:
            raise RequestEntityTooLarge()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("the body is not UTF-8") from exc
        params: Mapping[str, str] = {}
        signed: list[tuple[str, str]] | str
        if mimetype == "application/x-www-form-urlencoded" or not data:
            signed = parse_form(text)
            # Reading a name repeated with different values is a 400, whatever their order:
            # the signature does not cover the order, so it must not pick the route.
            params = SingleValued(signed)
        elif mimetype == "application/json":
            signed = text
        else:
            raise UnsupportedMediaType("send application/x-www-form-urlencoded or JSON")
        algorithm = signature_algorithm(environ.get("HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS"))
        public = self._public_url(environ)
        if matching_url(self._tokens, (public,), signed, signature, algorithm) is None:
            # Second candidate: the URL the request arrived on (ProxyFix applied), if another.
            derived = request_url(environ)
            if (
                derived == public
                or (urlsplit(derived).hostname or "").lower() != self._public_host
                or not matching_url(self._tokens, (derived,), signed, signature, algorithm)
            ):
                self._refuse(flow, "does not match", public, derived)
                raise Forbidden("X-Twilio-Signature does not match this URL and body")
            self._warn_foreign_origin(public, derived)
        if isinstance(signed, str):
            params = _json_params(signed)
        return params

    def _public_url(self, environ: WSGIEnvironment) -> str:
        """``PUBLIC_BASE_URL`` + path + query: the URL the stack configured, so Twilio signed."""
        path = environ.get("PATH_INFO", "")
        url = self._public_urls.get(path)
        if url is None:
            url = join_url(self._public_base, quote(path, safe=_PATH_SAFE))
            if len(self._public_urls) < 256:  # routed paths only: a bounded few per route
                self._public_urls[path] = url
        query = environ.get("QUERY_STRING", "")
        return f"{url}?{query}" if query else url

    def _refuse(self, flow: str, problem: str, public: str, derived: str) -> None:
        """Log a refused signature with the URLs it was checked against (never the secrets)."""
        checked = [public] if derived == public else [public, derived]
        self._log.warning(
            f"X-Twilio-Signature {problem}: refused with 403. Twilio signs the URL it was "
            "configured with, using the account's Auth Token: check PUBLIC_BASE_URL (and "
            "TWILIO_AUTH_TOKEN / TWILIO_AUTH_TOKEN_SECONDARY) against the stack",
            extra={"flow": flow, "urls_checked": [u[:_LOGGED_CHARS] for u in checked]},
        )

    def _warn_foreign_origin(self, public: str, derived: str) -> None:
        """Once per origin: a request signed for the URL it arrived on, not PUBLIC_BASE_URL."""
        origin = urlsplit(derived).netloc
        if origin in self._foreign_origins or len(self._foreign_origins) >= 16:
            return
        self._foreign_origins.add(origin)
        self._log.warning(
            "a request was signed for the URL it arrived on, not for PUBLIC_BASE_URL: accepted, "
            "but set PUBLIC_BASE_URL to the base URL Twilio calls (the stack's public_base_url)",
            extra={
                "url_signed": derived[:_LOGGED_CHARS],
                "public_url": public[:_LOGGED_CHARS],
            },
        )

    def operational(
        self, flow: str, environ: WSGIEnvironment, dedicated: bool = False
    ) -> tuple[int, bytes, str]:
        """Answer ``/metrics`` or ``/healthz``; ``dedicated``: on the metrics listener.

        ``/metrics`` needs the bearer token when ``METRICS_TOKEN`` is set, and is served only
        on the metrics listener when ``METRICS_PORT`` is (404 on the webhook port).
        """
        if flow == "metrics":
            if self._metrics_elsewhere and not dedicated:
                raise NotFound()
            require_bearer(environ, self._metrics_token)
            return 200, self.metrics.render(), self.metrics.content_type
        return self._health()

    def _health(self) -> tuple[int, bytes, str]:
        """``/healthz``: the store proves it can be written and read back, or says what failed.

        Both answers name the call flows served (``call_flows``: the artifact's hash,
        ``call_flows_source``: its path, or ``built-in``).
        """
        store = getattr(self.store, "name", type(self.store).__name__)
        try:
            self.store.check_health()
        except StoreError as exc:
            step = exc.step if isinstance(exc, StoreUnhealthy) else "check"
            reason = exc.reason if isinstance(exc, StoreUnhealthy) else "store error"
            self._log.error(
                "health check failed", extra={"store": store, "step": step, "error": str(exc)}
            )
            body = {
                "status": "unavailable",
                "store": store,
                "step": step,
                "reason": reason,
                **self._served,
            }
            return 503, json.dumps(body).encode(), "application/json"
        body = {"status": "ok", "store": store, **self._served}
        return 200, json.dumps(body).encode(), "application/json"

    def _record(self, flow: str, status: int, started: float, call: Mapping[str, str]) -> None:
        elapsed = self._clock() - started
        counter = self._counters.get((flow, status))
        if counter is None:
            counter = self._counters[(flow, status)] = self.metrics.requests.labels(flow, status)
        counter.inc()
        timer = self._timers.get(flow)
        if timer is None:
            timer = self._timers[flow] = self.metrics.latency.labels(flow)
        timer.observe(elapsed)
        if self._log.isEnabledFor(logging.INFO):
            fields: dict[str, object] = {
                "flow": flow,
                "status": status,
                "ms": round(elapsed * 1000, 3),
                "call_sid": call.get("CallSid", ""),
            }
            for name in _LOGGED_PARAMS:
                value = call.get(name)
                if value:
                    fields[name.lower()] = mask_phone(value)
            if flow in _DIAGNOSTIC_FLOWS:
                for name, field in _DIAGNOSTIC_PARAMS:
                    value = call.get(name)
                    if value:
                        fields[field] = value[:_LOGGED_CHARS]
            self._request_log.write(fields)


def create_app(settings: Settings, store: Store, **deps: Any) -> WSGIApplication:
    """The WSGI app for ``settings`` and ``store``, wrapped in ProxyFix when behind proxies."""
    app = WebhookApp(settings, store, **deps)
    hops = settings.trusted_proxy_hops
    if hops:
        return ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
    return app


def get_app(environ: Mapping[str, str] | None = None) -> WSGIApplication:
    """Production entry point (granian, or ``gunicorn 'webhook_app:get_app()'``); reads the env."""
    return serving_app(load_settings(os.environ if environ is None else environ))


def serving_app(settings: Settings, bind_host: str | None = None) -> WSGIApplication:
    """The app as a server runs it: JSON logging, the configured store, a frozen heap.

    ``bind_host`` is the interface the server listens on, when known (``python -m
    webhook_app``): an app on loopback may have a loopback ``PUBLIC_BASE_URL`` unwarned.
    """
    logger = configure_logging(settings.log_level)
    for warning in startup_warnings(settings.public_base_url, bind_host):
        logger.warning(warning, extra={"setting": "PUBLIC_BASE_URL"})
    store = open_store(settings.store_url)
    app = create_app(settings, store, logger=logger)
    if settings.metrics_port is not None:
        webhook = app.app if isinstance(app, ProxyFix) else app
        assert isinstance(webhook, WebhookApp)
        start_listener(webhook.operational, settings.metrics_host, settings.metrics_port, logger)
    # Everything loaded so far lives as long as the worker: move it out of the collector's
    # sight, so the periodic full collections stay short (they showed in the p99 latency).
    gc.collect()
    gc.freeze()
    logger.info(
        "webhook app ready",
        extra={"store": settings.store_url.split(":", 1)[0], "pid": os.getpid()},
    )
    return app
