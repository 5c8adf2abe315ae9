"""Secrets in URLs never reach a log line: JSON and text lines, tracebacks, and the rpc
plugin's failures and health log (the URLs and keys of tests/runtime/test_url_secrets.py)."""

from __future__ import annotations

import io
import logging

import pytest

from lstarb_rpc.health import EndpointHealth
from lstarb_rpc.rpc_http import RpcHttp, TransportError
from lstarb_runtime import logs
from lstarb_sdk.redact import MASK

KEYS = {
    "helius": "1b2c3d4e-aaaa-bbbb-cccc-1234567890ab",
    "alchemy": "AbCdEf1234567890XyZabcd",
    "quicknode": "0123456789abcdef0123456789abcdef",
    "nats": "s3cr3tT0k3nValue1234",
}
URLS = {
    "helius": f"https://mainnet.helius-rpc.com/?api-key={KEYS['helius']}",
    "alchemy": f"https://solana-mainnet.g.alchemy.com/v2/{KEYS['alchemy']}",
    "quicknode": f"https://example.solana-mainnet.quiknode.pro/{KEYS['quicknode']}/",
    "nats": f"nats://{KEYS['nats']}@127.0.0.1:4222",
}


def _leaks(text: str) -> list[str]:
    return [name for name, key in KEYS.items() if key in text]


def test_log_lines_never_carry_a_key(output: io.StringIO) -> None:
    log = logging.getLogger("lstarb.test")
    for name, url in URLS.items():
        log.warning("endpoint %s: %s", name, url)
        log.info(f"connecting to {url}")  # as careless code writes it
    try:
        raise ValueError(f"bad reply from {URLS['quicknode']}")
    except ValueError:
        log.exception("reading failed")
    text = output.getvalue()
    assert len(text.splitlines()) == 2 * len(URLS) + 1
    assert not _leaks(text), text
    assert f"https://solana-mainnet.g.alchemy.com/v2/{MASK}" in text


def test_text_logs_never_carry_a_key() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    handler = logs.configure_logging("INFO", "text", service="scanner", stream=stream)
    try:
        logging.getLogger("lstarb.test").warning("rpc at %s", URLS["helius"])
    finally:
        root.removeHandler(handler)
        for h in before:
            if h not in root.handlers:
                root.addHandler(h)
        root.setLevel(level)
    assert "rpc at https://mainnet.helius-rpc.com/?api-key=" in stream.getvalue()
    assert not _leaks(stream.getvalue())


async def test_an_rpc_failure_names_no_key(output: io.StringIO) -> None:
    """A node that does not answer (the discard port), asked through a URL with a key."""
    url = f"http://127.0.0.1:9/v2/{KEYS['alchemy']}?api-key={KEYS['helius']}"
    http = RpcHttp(url, EndpointHealth("keyed"), timeout_s=1.0)
    try:
        with pytest.raises(TransportError) as raised:
            await http.latest_blockhash()
    finally:
        await http.close()
    assert not _leaks(str(raised.value)) and not _leaks(repr(raised.value))
    assert not _leaks(output.getvalue()), output.getvalue()
    assert http.health.snapshot()["http_errors"] == 1
