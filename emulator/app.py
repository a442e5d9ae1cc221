"""The emulator's WSGI app: routing from the kind table, auth, faults, CRUD, JSON responses.

URL scheme: the first path segment names the Twilio host's subdomain, the rest is Twilio's own
path (`https://trunking.twilio.com/v1/Trunks` is served at `<base>/trunking/v1/Trunks`).
`/_admin/...` is the out-of-band admin API (see `emulator.admin`).
"""

from __future__ import annotations

import functools
import json
import logging
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulator import errors
from emulator.admin import Admin
from emulator.catalog import BY_NAME, KINDS
from emulator.config import ADMIN_TOKEN_ENV, EmulatorConfig
from emulator.crud import Crud
from emulator.dialing import seed_countries
from emulator.errors import TwilioError
from emulator.faults import Counters, Decision, FaultConfig, Faults
from emulator.kinds import Kind
from emulator.numbers import seed_numbers
from emulator.recording import RecordingMiddleware
from emulator.render import Renderer
from emulator.sim_admin import SimulatorEndpoints
from emulator.store import Store

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("emulator")
OPERATION_METHODS = {
    "list": "GET",
    "create": "POST",
    "fetch": "GET",
    "update": "POST",
    "delete": "DELETE",
}


def _werkzeug_path(kind: Kind, template: str) -> str:
    return f"/{kind.sub}" + template.replace("{", "<").replace("}", ">")


def build_url_map(kinds: Iterable[Kind]) -> Map:
    """One rule per (kind, operation); the endpoint is `kind:operation`."""
    rules = []
    for kind in kinds:
        for operation in sorted(kind.operations):
            template = kind.list_path if operation in ("list", "create") else kind.instance_path
            rules.append(
                Rule(
                    _werkzeug_path(kind, template),
                    endpoint=f"{kind.name}:{operation}",
                    methods=[OPERATION_METHODS[operation]],
                )
            )
    return Map(rules, strict_slashes=False, merge_slashes=False, redirect_defaults=False)


@functools.cache
def twilio_url_map() -> Map:
    """The map for the catalog, built once per process (werkzeug compiles ~110 rules slowly)."""
    return build_url_map(KINDS)


def route_template(kind: Kind, operation: str) -> str:
    template = kind.list_path if operation in ("list", "create") else kind.instance_path
    return f"{OPERATION_METHODS[operation]} /{kind.sub}{template}"


def error_response(error: TwilioError, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(json.dumps(error.body()), error.status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class Emulator:
    """The WSGI application plus its state; other code drives it through these attributes."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        store: Store | None = None,
        faults: FaultConfig | None = None,
        numbers: Iterable[str] = (),
    ) -> None:
        self.config = config or EmulatorConfig()
        if self.config.beyond_loopback and not self.config.admin_token:
            raise ValueError(
                f"listening on {self.config.bind_host} reaches beyond loopback, where anyone "
                f"could drive the admin API: set {ADMIN_TOKEN_ENV} (clients send it as "
                f"X-Admin-Token) or listen on 127.0.0.1"
            )
        self.store = store or Store(self.config.account_sid)
        self.crud = Crud(self.store)
        self.faults = Faults(faults)
        self.store.sid_seed = lambda: self.faults.config.seed
        self.counters = Counters()
        self.seed = list(numbers)
        self.url_map = twilio_url_map()
        with self.store.lock:
            self.store.load()
            # Seeding skips owned numbers, so numbers added to the seed (e.g. to a stack file)
            # appear on restart; a released seeded number comes back then too.
            seeded = seed_numbers(self.store, self.seed)
            if seed_countries(self.store) or seeded:
                self.store.save()
        self.admin = Admin(self)
        self.calls = SimulatorEndpoints(self)  # the call simulator (/_admin/calls)
        app: WSGIApplication = self._wsgi
        if self.config.record_path is not None:
            app = RecordingMiddleware(app, self.config.record_path)
        self._app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.calls.is_media(str(environ.get("PATH_INFO", ""))):
            # A recording's media is no REST operation: kept out of the traffic recording.
            return self._wsgi(environ, start_response)
        return self._app(environ, start_response)

    def reset(self) -> None:
        """Back to the seeded inventory (counters are kept; reset them separately)."""
        with self.store.lock:
            self.store.clear()
            seed_numbers(self.store, self.seed)
            seed_countries(self.store)
            self.store.save()

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = self.config.max_body_bytes
        request.max_form_memory_size = self.config.max_body_bytes
        if self.calls.handles(request.path):
            response = self.calls.dispatch(request)
        elif request.path == "/_admin" or request.path.startswith("/_admin/"):
            response = self.admin.dispatch(request)
        else:
            response = self.calls.media(request) or self._twilio(request)
        response.headers.setdefault("Twilio-Request-Id", "RQ" + uuid.uuid4().hex)
        return response(environ, start_response)

    def _twilio(self, request: Request) -> Response:
        route, fault = "unmatched", None
        try:
            endpoint, params = self._match(request)
            kind, operation = BY_NAME[endpoint.split(":")[0]], endpoint.split(":")[1]
            route = route_template(kind, operation)
            self._authenticate(request, params)
            decision = self.faults.decide(request.method, _request_key(request))
            fault = decision.fault
            response = self._with_fault(request, decision, kind, operation, params)
        except TwilioError as exc:
            headers = {}
            if exc.status == 429:
                headers["Retry-After"] = str(self.faults.config.retry_after)
            if exc.status == 405:
                headers["Allow"] = exc.message.rsplit(": ", 1)[-1]
            response = error_response(exc, headers)
        except HTTPException as exc:  # body too large, unparsable form
            status = exc.code or 400
            response = error_response(TwilioError(status, errors.INVALID_PARAMETER, exc.name))
        self.counters.count(route, response.status_code, fault)
        return response

    def _match(self, request: Request) -> tuple[str, dict[str, str]]:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, params = adapter.match()
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or ()))
            raise TwilioError(
                405, errors.METHOD_NOT_ALLOWED, f"Method not allowed; use: {allowed}"
            ) from None
        except (NotFound, HTTPException):
            raise errors.not_found(twilio_path_of(request.path)) from None
        return str(endpoint), {k: str(v) for k, v in params.items()}

    def _authenticate(self, request: Request, params: Mapping[str, str]) -> None:
        auth = request.authorization
        username = auth.username if auth and auth.type == "basic" else None
        password = auth.password if auth and auth.type == "basic" else None
        config = self.config
        valid = (username == config.account_sid and password == config.auth_token) or (
            username is not None
            and username in config.api_keys
            and config.api_keys[username] == password
        )
        if not valid:
            raise TwilioError(401, errors.AUTHENTICATE, "Authenticate")
        account = params.get("AccountSid")
        if account is not None and account != config.account_sid:
            if not (account.startswith("AC") and len(account) == 34):
                raise errors.not_found(twilio_path_of(request.path))
            raise TwilioError(401, errors.AUTHENTICATE, "Authenticate")

    def _with_fault(
        self,
        request: Request,
        decision: Decision,
        kind: Kind,
        operation: str,
        params: dict[str, str],
    ) -> Response:
        if decision.latency_s:
            time.sleep(decision.latency_s)
        if decision.fault == "429":
            raise TwilioError(429, errors.TOO_MANY_REQUESTS, "Too Many Requests")
        if decision.fault in ("500", "503"):
            code = errors.INTERNAL_ERROR if decision.fault == "500" else errors.SERVICE_UNAVAILABLE
            raise TwilioError(int(decision.fault), code, "Service is unavailable (injected fault)")
        response = self._handle(request, kind, operation, params)
        if decision.fault == "lost":
            if self.faults.config.lost_mode == "drop":
                _drop_connection(request)
            raise TwilioError(500, errors.INTERNAL_ERROR, "Internal error (response lost)")
        return response

    def _handle(
        self, request: Request, kind: Kind, operation: str, params: dict[str, str]
    ) -> Response:
        query = {k: v for k, v in request.args.items()}
        if kind.strategy in ("conference", "participant"):  # live state: emulator.conferences
            pairs = list(request.form.items(multi=True)) if request.method == "POST" else []
            status, body = self.calls.simulator.conferences.handle(
                kind,
                operation,
                params,
                query,
                pairs,
                request.host_url,
                twilio_path_of(request.path),
            )
            return Response(status=204) if body is None else _json(body, status)
        form = {k: v for k, v in request.form.items()} if request.method == "POST" else {}
        renderer = Renderer(self.store, request.host_url)
        path = twilio_path_of(request.path)
        with self.store.lock:
            if operation == "list":
                records = self.crud.list(kind, params, query, path)
                return _json(renderer.page(kind, records, params, query), 200)
            if operation == "fetch":
                record = self.crud.fetch(kind, params, path)
                return _json(renderer.instance(kind, record, params), 200)
            if operation == "delete":
                self.crud.delete(kind, params, path)
                self.store.save()
                return Response(status=204)
            if operation == "create" and kind.strategy == "call":
                # An outbound call: the call simulator queues and places it (emulator.outbound).
                pairs = list(request.form.items(multi=True))
                record = self.calls.simulator.outbound.create(pairs, request.host_url)
                status = 201
            elif operation == "create":
                record = self.crud.create(kind, params, form, path)
                status = 201
            else:
                record = self.crud.update(kind, params, form, path)
                # Twilio answers a settings update with 202 Accepted.
                status = 202 if kind.strategy == "settings" else 200
            self.store.save()
            return _json(renderer.instance(kind, record, params), status)


def twilio_path_of(path: str) -> str:
    """`/trunking/v1/Trunks` -> `/v1/Trunks`: the path as Twilio would name it in errors."""
    parts = path.split("/", 2)
    return "/" + parts[2] if len(parts) == 3 else path


def _request_key(request: Request) -> str:
    """What makes a request the same request again (a retry): path, query and form, sorted."""
    query = sorted(request.args.items(multi=True))
    form = sorted(request.form.items(multi=True))
    return f"{request.path}?{query}{form}"


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


def _drop_connection(request: Request) -> None:
    """Close the client connection without an answer (werkzeug's server exposes the socket)."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            log.debug("socket already closed while dropping the response")


__all__ = ["Emulator", "build_url_map", "error_response", "route_template"]
