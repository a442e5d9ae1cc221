"""A WSGI middleware that appends each Twilio request/response pair to a JSON-lines file.

Used by the OpenAPI contract check: any test session that sets `TWILIO_EMULATOR_RECORD`
(or `EmulatorConfig.record_path`) leaves a file the contract test validates. Several processes
may append to one file; each record is one line written under an exclusive `flock`.
The Authorization header is never recorded; Password form values are masked.
"""

from __future__ import annotations

import fcntl
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MAX_RECORDED_BODY = 4 << 20
SECRET_PARAMS = frozenset({"Password"})


def mask_secrets(body: str) -> str:
    """Replace secret form values with a placeholder of the same type (a string)."""
    pairs = parse_qsl(body, keep_blank_values=True)
    if not any(name in SECRET_PARAMS for name, _ in pairs):
        return body
    return urlencode([(n, "masked-Secret-1234" if n in SECRET_PARAMS else v) for n, v in pairs])


class RecordingMiddleware:
    """Wraps a WSGI app; admin requests (`/_admin/...`) are not recorded."""

    def __init__(self, app: WSGIApplication, path: Path) -> None:
        self.app = app
        self.path = path

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/_admin"):
            return self.app(environ, start_response)
        body = self._read_body(environ)
        captured: dict[str, Any] = {}

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Any:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["content_type"] = dict(headers).get("Content-Type", "")
            return start_response(status, headers, exc_info)

        chunks = list(self.app(environ, capture))
        response = b"".join(chunks)
        self._append(
            {
                "method": environ.get("REQUEST_METHOD", "GET"),
                "host": environ.get("HTTP_HOST", ""),
                "path": path,
                "query": environ.get("QUERY_STRING", ""),
                "request_content_type": environ.get("CONTENT_TYPE", ""),
                "request_body": mask_secrets(body.decode("utf-8", "replace")),
                "status": captured.get("status", 0),
                "response_content_type": captured.get("content_type", ""),
                "response_body": response[:MAX_RECORDED_BODY].decode("utf-8", "replace"),
            }
        )
        return chunks

    @staticmethod
    def _read_body(environ: WSGIEnvironment) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0 or length > MAX_RECORDED_BODY:
            return b""
        body: bytes = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(line)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = ["RecordingMiddleware", "mask_secrets"]
