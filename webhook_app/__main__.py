"""``python -m webhook_app``: serve the app locally with werkzeug's development server."""

from __future__ import annotations

import os

from werkzeug.serving import run_simple

from webhook_app.app import get_app
from webhook_app.settings import SettingsError, load_settings


def main() -> None:
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        raise SystemExit(f"webhook_app: {exc}") from None
    host = os.environ.get("HOST", "127.0.0.1")
    run_simple(host, settings.port, get_app(), threaded=True)


if __name__ == "__main__":
    main()
