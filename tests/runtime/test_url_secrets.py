"""Secrets in URLs are never shown: node providers put API keys in the query (Helius
``?api-key=``), the path (Alchemy ``/v2/<key>``, QuickNode ``/<token>/``, Triton
``/<uuid>``) or the user part (a NATS token, a database password). Each place a URL is
shown is tried with real keys: ``lstarb config show`` (text and JSON), configuration
errors, the errors lstarb raises (str, repr, traceback), log lines (JSON and text), and the
rpc plugin's failures and health log."""

from __future__ import annotations

import io
import json
import logging
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstarb_jito.config import Endpoint
from lstarb_rpc.health import EndpointHealth
from lstarb_rpc.rpc_http import RpcHttp, TransportError
from lstarb_runtime import logs
from lstarb_runtime.bus.interface import BusError
from lstarb_runtime.cli import cli
from lstarb_runtime.config import masked
from lstarb_sdk.errors import DataSourceError
from lstarb_sdk.redact import MASK, mask_url, mask_urls

KEYS = {
    "helius": "1b2c3d4e-aaaa-bbbb-cccc-1234567890ab",
    "alchemy": "AbCdEf1234567890XyZabcd",
    "quicknode": "0123456789abcdef0123456789abcdef",
    "triton": "9f8e7d6c-5b4a-3210-fedc-ba9876543210",
    "nats": "s3cr3tT0k3nValue1234",
    "pg": "hunter2",
    "short": "k3y",
}
URLS = {
    "helius": f"https://mainnet.helius-rpc.com/?api-key={KEYS['helius']}",
    "alchemy": f"https://solana-mainnet.g.alchemy.com/v2/{KEYS['alchemy']}",
    "quicknode": f"https://example.solana-mainnet.quiknode.pro/{KEYS['quicknode']}/",
    "triton": f"wss://lstarb.rpcpool.com/{KEYS['triton']}",
    "nats": f"nats://{KEYS['nats']}@127.0.0.1:4222",
    "pg": f"postgresql://postgres:{KEYS['pg']}@127.0.0.1:5432/test",
    "short": f"https://rpc.example.com/?token={KEYS['short']}&cluster=mainnet",
}


def _leaks(text: str) -> list[str]:
    return [name for name, key in KEYS.items() if key in text]


def test_every_provider_form_is_masked_and_the_rest_kept() -> None:
    shown = {name: mask_url(url) for name, url in URLS.items()}
    for name, text in shown.items():
        assert not _leaks(text), (name, text)
        assert MASK in text, name
    assert shown["helius"] == f"https://mainnet.helius-rpc.com/?api-key={MASK}"
    assert shown["alchemy"] == f"https://solana-mainnet.g.alchemy.com/v2/{MASK}"
    assert shown["nats"] == f"nats://{MASK}@127.0.0.1:4222"
    assert shown["pg"] == f"postgresql://postgres:{MASK}@127.0.0.1:5432/test"
    assert shown["short"] == f"https://rpc.example.com/?token={MASK}&cluster=mainnet"
    for plain in ("http://127.0.0.1:8899", "nats://127.0.0.1:4222", "postgresql://u@h/db"):
        assert mask_url(plain) == plain
    prose = f"cannot reach {URLS['helius']}, nor '{URLS['alchemy']}'."
    assert mask_urls(prose) == (
        f"cannot reach https://mainnet.helius-rpc.com/?api-key={MASK}, nor "
        f"'https://solana-mainnet.g.alchemy.com/v2/{MASK}'."
    )


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(
        f'[nats]\nurl = "{URLS["nats"]}"\n'
        f'[auditor]\ndatabase_url = "{URLS["pg"]}"\n'
        f'[plugins.rpc]\nurl = "{URLS["helius"]}"\nws_url = "{URLS["triton"]}"\n'
        f'[[plugins.rpc.endpoints]]\nurl = "{URLS["alchemy"]}"\n'
        f'[[plugins.rpc.endpoints]]\nurl = "{URLS["quicknode"]}"\n'
        f'[plugins.jito]\nauth_uuid = "{KEYS["triton"]}"\n'
    )
    return path


def test_config_show_masks_keys_in_urls(runner: CliRunner, tmp_path: Path) -> None:
    path = _config(tmp_path)
    env = {"LSTARB_NATS__URL": URLS["nats"]}  # the runner's own bus URL otherwise
    text = runner.invoke(cli, ["config", "show", "--config", str(path)], env=env)
    assert text.exit_code == 0, text.output
    assert not _leaks(text.output), text.output
    assert f'url = "https://mainnet.helius-rpc.com/?api-key={MASK}"' in text.output
    as_json = runner.invoke(cli, ["config", "show", "--json", "--config", str(path)], env=env)
    assert as_json.exit_code == 0, as_json.output
    assert not _leaks(as_json.output)
    doc = json.loads(as_json.output)
    assert doc["settings"]["nats"]["url"] == f"nats://{MASK}@127.0.0.1:4222"
    rpc = doc["settings"]["plugins"]["rpc"]
    assert rpc["endpoints"][0]["url"] == f"https://solana-mainnet.g.alchemy.com/v2/{MASK}"


def test_a_mint_list_is_not_mistaken_for_a_secret() -> None:
    shown = masked({"token_accounts": ["So11111111111111111111111111111111111111112"]})
    assert shown == {"token_accounts": ["So11111111111111111111111111111111111111112"]}
    assert masked({"api_token": "abc", "auth_uuid": "x", "password": "p"}) == {
        "api_token": MASK,
        "auth_uuid": MASK,
        "password": MASK,
    }
    headers = {"x-jito-auth": "u-1", "x-api-key": "k-1", "Authorization": "Bearer t", "a": "b"}
    assert masked({"headers": headers}) == {
        "headers": {"x-jito-auth": MASK, "x-api-key": MASK, "Authorization": MASK, "a": "b"}
    }


def test_configuration_errors_name_the_url_without_its_key(
    runner: CliRunner, tmp_path: Path
) -> None:
    bad_url = f"http://{KEYS['nats']}@127.0.0.1:4222/?api-key={KEYS['helius']}"
    result = runner.invoke(cli, ["run", "--plugins", "example"], env={"LSTARB_NATS__URL": bad_url})
    assert result.exit_code == 2, result.output
    assert "config key 'nats.url'" in result.output
    assert not _leaks(result.output), result.output

    with pytest.raises(ValueError) as raised:
        Endpoint(name="ny", url=f"https://ny.block-engine.jito.wtf/?uuid={KEYS['triton']}")
    assert "must not carry a query" in str(raised.value) and not _leaks(str(raised.value))


def test_errors_show_urls_masked_in_str_repr_and_tracebacks() -> None:
    error = BusError(f"cannot connect to NATS at {URLS['nats']}: refused")
    assert not _leaks(str(error)) and not _leaks(repr(error))
    assert f"nats://{MASK}@127.0.0.1:4222" in str(error)
    try:
        raise DataSourceError(f"getMultipleAccounts at {URLS['alchemy']} failed")
    except DataSourceError:
        shown = traceback.format_exc()
    assert "getMultipleAccounts at https://solana-mainnet.g.alchemy.com/v2/" in shown
    assert not _leaks(shown), shown


def test_log_lines_never_carry_a_key(log_output: io.StringIO) -> None:
    log = logging.getLogger("lstarb.test")
    for name, url in URLS.items():
        log.warning("endpoint %s: %s", name, url)
        log.info(f"connecting to {url}")  # as careless code writes it
    log.warning("headers %s", {"x-jito-auth": KEYS["triton"], "x-api-key": KEYS["alchemy"]})
    log.warning("sent with x-jito-auth: %s", KEYS["triton"])
    try:
        raise ValueError(f"bad reply from {URLS['quicknode']}")
    except ValueError:
        log.exception("reading failed")
    text = log_output.getvalue()
    assert len(text.splitlines()) == 2 * len(URLS) + 3
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


async def test_an_rpc_failure_names_no_key(log_output: io.StringIO) -> None:
    """A node that does not answer (the discard port), asked through a URL with a key."""
    url = f"http://127.0.0.1:9/v2/{KEYS['alchemy']}?api-key={KEYS['helius']}"
    http = RpcHttp(url, EndpointHealth("keyed"), timeout_s=1.0)
    try:
        with pytest.raises(TransportError) as raised:
            await http.latest_blockhash()
    finally:
        await http.close()
    assert not _leaks(str(raised.value)) and not _leaks(repr(raised.value))
    assert not _leaks(log_output.getvalue()), log_output.getvalue()
    assert http.health.snapshot()["http_errors"] == 1
