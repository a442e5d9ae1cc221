"""The admin API under `/_admin/`: out-of-band edits (what a Console user does), reset, state
dump, counters and fault settings. JSON in, JSON out; no Twilio auth. When an admin token is
configured, requests must carry it in `X-Admin-Token`.

Development only. A web page the developer visits can send requests to a loopback port, and DNS
rebinding lets it read the answers, so before anything else the admin API refuses (403) a
`Host` that is not a loopback name or the address the emulator listens on, and any `Origin` of
another site; writes must be `application/json` (415), which no page can send cross-site
without a CORS preflight, and the emulator answers none.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulator.alerts import add_alert
from emulator.catalog import BY_NAME
from emulator.faults import FaultConfig
from emulator.numbers import generated_numbers, seed_numbers
from emulator.store import Key, Record

if TYPE_CHECKING:
    from emulator.app import Emulator

URLS = Map(
    [
        Rule("/_admin", endpoint="index", methods=["GET"]),
        Rule("/_admin/counters", endpoint="counters", methods=["GET"]),
        Rule("/_admin/counts", endpoint="counts", methods=["GET"]),
        Rule("/_admin/counters", endpoint="reset_counters", methods=["DELETE"]),
        Rule("/_admin/faults", endpoint="faults", methods=["GET"]),
        Rule("/_admin/faults", endpoint="set_faults", methods=["PUT", "POST"]),
        Rule("/_admin/state", endpoint="state", methods=["GET"]),
        Rule("/_admin/reset", endpoint="reset", methods=["POST"]),
        Rule("/_admin/numbers", endpoint="add_numbers", methods=["POST"]),
        Rule("/_admin/alerts", endpoint="add_alerts", methods=["POST"]),
        Rule("/_admin/resources/<kind>", endpoint="list", methods=["GET"]),
        Rule("/_admin/resources/<kind>/<sid>", endpoint="fetch", methods=["GET"]),
        Rule("/_admin/resources/<kind>/<sid>", endpoint="edit", methods=["PATCH", "POST"]),
        Rule("/_admin/resources/<kind>/<sid>", endpoint="delete", methods=["DELETE"]),
    ],
    strict_slashes=False,
)


def counts_url(base_url: str) -> str:
    """Where an emulator at `base_url` reports its resource count per kind (JSON object)."""
    return f"{base_url.rstrip('/')}/_admin/counts"


def counters_url(base_url: str) -> str:
    """Where an emulator at `base_url` reports its REST call counters."""
    return f"{base_url.rstrip('/')}/_admin/counters"


# Every account has these (countries to dial, its settings): not resources anyone created.
REFERENCE_KINDS = frozenset({"dialing_permissions_country", "dialing_permissions_settings"})


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, indent=1), status, mimetype="application/json")


# A Host header: a name or IPv4 address, or a bracketed IPv6 address, and an optional port.
_HOST_HEADER = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?")
# Methods that change state; their body, when they have one, must be JSON.
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


class Admin:
    """Admin endpoints over one `Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def dispatch(self, request: Request) -> Response:
        refused = self.refused(request)
        if refused is not None:
            return refused
        if (
            request.method in _WRITES
            and (request.mimetype or request.method != "DELETE")
            and not _is_json(request.mimetype)
        ):
            got = request.headers.get("Content-Type") or "none"
            return _json(
                {
                    "error": f"admin writes take a JSON body with Content-Type: application/json "
                    f"(got {got!r}); e.g. curl -H 'Content-Type: application/json' -d '{{}}'"
                },
                415,
            )
        try:
            endpoint, args = URLS.bind_to_environ(request.environ).match()
            handler = getattr(self, f"on_{endpoint}")
            response: Response = handler(request, **args)
            return response
        except AdminError as exc:
            return _json({"error": str(exc)}, exc.status)
        except HTTPException as exc:
            return _json({"error": exc.description}, exc.code or 400)

    def refused(self, request: Request) -> Response | None:
        """The admin API's guard (also the simulator's): a foreign Host or Origin, or no token."""
        refused = self._refuse_foreign(request)
        if refused is not None:
            return refused
        token = self.emulator.config.admin_token
        given = request.headers.get("X-Admin-Token", "")
        if token and not hmac.compare_digest(given.encode(), token.encode()):
            return _json({"error": "missing or wrong X-Admin-Token header"}, 401)
        return None

    def _refuse_foreign(self, request: Request) -> Response | None:
        """403 unless Host names this emulator and Origin (if any) is not another site."""
        config = self.emulator.config
        where = f"localhost, 127.0.0.1, [::1] or the address it listens on ({config.bind_host})"
        host = request.headers.get("Host", "")
        match = _HOST_HEADER.fullmatch(host)
        if host and (match is None or not config.admin_host_allowed(match["name"])):
            return _json(
                {
                    "error": f"refused: Host {host!r} is not this emulator (a web page using DNS "
                    f"rebinding sends such requests); the admin API answers only to {where}, "
                    f"e.g. http://127.0.0.1:<port>/_admin (development only)"
                },
                403,
            )
        origin = request.headers.get("Origin")
        if origin is not None:
            try:
                parts = urlsplit(origin)
                origin_host = parts.hostname if parts.scheme in ("http", "https") else None
            except ValueError:
                origin_host = None
            if origin_host is None or not config.admin_host_allowed(origin_host):
                return _json(
                    {
                        "error": f"refused: Origin {origin!r} is a web page of another site; the "
                        f"admin API takes browser requests only from {where} (development "
                        f"only); call it from a script or curl"
                    },
                    403,
                )
        return None

    def on_index(self, request: Request) -> Response:
        return _json(
            {
                "account_sid": self.emulator.config.account_sid,
                "kinds": sorted(BY_NAME),
                "endpoints": sorted({rule.rule for rule in URLS.iter_rules()}),
            }
        )

    def on_counters(self, request: Request) -> Response:
        return _json(self.emulator.counters.snapshot())

    def on_counts(self, request: Request) -> Response:
        """Resources per kind (kinds with none are left out)."""
        store = self.emulator.store
        with store.lock:
            counts = {
                name: len(table)
                for name, table in store.tables.items()
                if table and name not in REFERENCE_KINDS
            }
        return _json(counts)

    def on_reset_counters(self, request: Request) -> Response:
        self.emulator.counters.reset()
        return _json(self.emulator.counters.snapshot())

    def on_faults(self, request: Request) -> Response:
        return _json(self.emulator.faults.config.to_mapping())

    def on_set_faults(self, request: Request) -> Response:
        try:
            config = FaultConfig.from_mapping(_body(request))
        except (TypeError, ValueError) as exc:
            raise AdminError(400, str(exc)) from None
        self.emulator.faults.configure(config)
        return _json(config.to_mapping())

    def on_state(self, request: Request) -> Response:
        with self.emulator.store.lock:
            return _json(self.emulator.store.snapshot())

    def on_reset(self, request: Request) -> Response:
        self.emulator.reset()
        return _json({"reset": True})

    def on_add_numbers(self, request: Request) -> Response:
        """Body: {"numbers": ["+1..."]} and/or {"count": N} generated numbers."""
        body = _body(request)
        numbers = [str(n) for n in body.get("numbers", [])]
        numbers += generated_numbers(int(body.get("count", 0)))
        store = self.emulator.store
        with store.lock:
            try:
                added = seed_numbers(store, numbers)
            except Exception as exc:
                raise AdminError(400, str(exc)) from None
            store.save()
        return _json({"added": added})

    def on_add_alerts(self, request: Request) -> Response:
        """Body: {"alerts": [{"error_code": "11200", "request_url": ..., "date_generated": ...}]}
        (what Twilio's debugger records when a webhook fails); answers the alerts' SIDs."""
        items = _body(request).get("alerts", [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise AdminError(400, "alerts must be a list of objects")
        store = self.emulator.store
        with store.lock:
            try:
                sids = [add_alert(store, item)["sid"] for item in items]
            except ValueError as exc:
                raise AdminError(400, str(exc)) from None
            store.save()
        return _json({"added": sids})

    def on_list(self, request: Request, kind: str) -> Response:
        name = self._kind(kind)
        with self.emulator.store.lock:
            rows = [{"parent": key[0], **rec} for key, rec in self.emulator.store.items(name)]
        return _json(rows)

    def on_fetch(self, request: Request, kind: str, sid: str) -> Response:
        with self.emulator.store.lock:
            key, record = self._find(kind, sid, request)
            return _json({"parent": key[0], **record})

    def on_edit(self, request: Request, kind: str, sid: str) -> Response:
        """Set fields directly, as a Console edit would (no Twilio validation)."""
        changes = _body(request)
        kind_obj = BY_NAME[self._kind(kind)]
        known = {f.name for f in kind_obj.fields}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise AdminError(400, f"unknown fields {unknown} for {kind}; known: {sorted(known)}")
        store = self.emulator.store
        with store.lock:
            key, record = self._find(kind, sid, request)
            record.update(changes)
            record["date_updated"] = store.clock()
            store.save()
            return _json({"parent": key[0], **record})

    def on_delete(self, request: Request, kind: str, sid: str) -> Response:
        store = self.emulator.store
        with store.lock:
            key, _ = self._find(kind, sid, request)
            self.emulator.crud.remove(BY_NAME[kind], key[0], key[1])
            store.save()
        return Response(status=204)

    def _kind(self, kind: str) -> str:
        if kind not in BY_NAME:
            raise AdminError(404, f"unknown kind {kind!r}; known: {sorted(BY_NAME)}")
        return kind

    def _find(self, kind: str, sid: str, request: Request) -> tuple[Key, Record]:
        name = self._kind(kind)
        parent = request.args.get("parent")
        for key, record in self.emulator.store.items(name, parent):
            if key[1] == sid:
                return key, record
        raise AdminError(404, f"no {kind} {sid}" + (f" under {parent}" if parent else ""))


def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(request.get_data(as_text=True) or "{}")
    except json.JSONDecodeError as exc:
        raise AdminError(400, f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise AdminError(400, "body must be a JSON object")
    return data


__all__ = ["Admin", "counters_url", "counts_url"]
