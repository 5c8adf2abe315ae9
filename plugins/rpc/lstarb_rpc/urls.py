"""Endpoint URLs: the PubSub URL of an HTTP URL, and names safe to log.

The PubSub URL follows the rule of @solana/web3.js (``makeWebsocketUrl``) and the Solana
CLI (``compute_websocket_url``): ``https`` becomes ``wss`` and anything else ``ws``; when
the URL names a port, the websocket is on the next port (a validator serves PubSub on
RPC port + 1), and when it names none the default port stays (a provider behind a reverse
proxy upgrades the same address); path and query stay as they are (providers put API keys
there). solana-py 0.36 derives nothing: its websocket client defaults to
``ws://localhost:8900`` beside the HTTP default ``http://localhost:8899``, the same pair.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit


def ws_url_for(http_url: str) -> str:
    """The PubSub URL a node at ``http_url`` serves (see the module docstring)."""
    parts = _split(http_url, ("http", "https"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    netloc = parts.netloc
    if parts.port is not None:
        if parts.port >= 65535:
            raise ValueError(f"{_safe(parts)}: port {parts.port} has no next port for PubSub")
        netloc = netloc[: netloc.rindex(":")] + f":{parts.port + 1}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def endpoint_name(url: str) -> str:
    """``host:port`` of ``url``: never the user, password, path or query (API keys live there)."""
    return _safe(urlsplit(url))


def _safe(parts: SplitResult) -> str:
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port is not None else host


def _split(url: str, schemes: tuple[str, ...]) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc})") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(
            f"{_safe(parts)}: expected a {' or '.join(schemes)} URL with a host, "
            f"got scheme {parts.scheme!r}"
        )
    return parts


def check_http_url(value: str) -> str:
    """Validator: an http(s) URL with a host."""
    _split(value, ("http", "https"))
    return value


def check_ws_url(value: str | None) -> str | None:
    """Validator: a ws(s) URL with a host, or None (derived from the HTTP URL)."""
    if value is not None:
        _split(value, ("ws", "wss"))
    return value
