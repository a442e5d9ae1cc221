"""``python -m webhook_app``: serve the app locally with werkzeug's development server."""

from __future__ import annotations

import os

from werkzeug.serving import run_simple

from webhook_app.app import serving_app
from webhook_app.settings import SettingsError, load_settings
from webhook_app.store import StoreError


def main() -> None:
    """Serve on HOST (127.0.0.1) and PORT; a bad setting or store exits with one clear line."""
    host = os.environ.get("HOST", "127.0.0.1")
    try:
        settings = load_settings(os.environ)
        app = serving_app(settings, bind_host=host)
    except (SettingsError, StoreError) as exc:
        raise SystemExit(f"webhook_app: {exc}") from None
    run_simple(host, settings.port, app, threaded=True)


if __name__ == "__main__":
    main()
