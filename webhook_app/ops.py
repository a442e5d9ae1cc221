"""``/metrics`` and ``/healthz`` away from the webhooks: a bearer token and a listener of their own.

``METRICS_TOKEN`` makes ``/metrics`` answer 401 unless the request carries
``Authorization: Bearer <token>`` (compared in constant time). ``METRICS_PORT`` serves
``/metrics`` and ``/healthz`` on a second port (``METRICS_HOST``, default 127.0.0.1), from a
thread of each worker process; the webhook port then answers 404 for ``/metrics``. Every
worker binds that port with ``SO_REUSEPORT`` and the kernel spreads scrapes over them, so
with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (then any worker reports them all).
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, Unauthorized
from werkzeug.http import HTTP_STATUS_CODES

from webhook_app.routes import ROUTES

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# The route table's operational routes (/metrics, /healthz): path -> flow.
OPERATIONAL_PATHS = {r.path: r.flow for r in ROUTES if r.kind == "operational"}


def require_bearer(environ: WSGIEnvironment, token: bytes | None) -> None:
    """Raise 401 unless ``token`` is None or the request's bearer token equals it."""
    if token is None:
        return
    scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    # compare_digest takes as long whatever the first differing byte: no timing oracle.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token
    ):
        raise Unauthorized(
            "/metrics needs Authorization: Bearer <METRICS_TOKEN>",
            www_authenticate=WWWAuthenticate("bearer", {"realm": "metrics"}),
        )


Operational = Callable[[str, "WSGIEnvironment", bool], tuple[int, bytes, str]]


def operational_app(
    answer: Operational,
) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """The WSGI app of the metrics listener: GET /metrics and /healthz, nothing else."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            flow = OPERATIONAL_PATHS.get(environ.get("PATH_INFO", ""))
            if flow is None:
                raise NotFound()
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                raise MethodNotAllowed(["GET", "HEAD"])
            status, body, ctype = answer(flow, environ, True)
        except HTTPException as exc:
            return exc(environ, start_response)
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
        return [body]

    return app


class _Server(WSGIServer):
    allow_reuse_port = True  # every worker process binds the same port


class _QuietHandler(WSGIRequestHandler):
    timeout = 10  # a scraper that stops mid-request does not hold the listener

    def log_message(self, format: str, *args: object) -> None:
        pass  # scrapes are not request lines


def start_listener(answer: Operational, host: str, port: int, logger: logging.Logger) -> WSGIServer:
    """Serve the metrics listener on ``host:port`` from a daemon thread; return its server."""
    server = make_server(
        host, port, operational_app(answer), server_class=_Server, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="metrics-listener", daemon=True).start()
    logger.info("metrics listener ready", extra={"host": host, "port": server.server_address[1]})
    return server
