"""``lstarb run`` on the bundled market of real mainnet accounts, end to end.

Runs the real CLI with the installed first-party plugins: the replay source
feeds the pool book, the DEX adapters decode and quote the pools they own.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from lstarb_runtime import cli as cli_module
from lstarb_runtime.builtin.replay import bundled_market, load_market
from lstarb_runtime.cli import cli


def _loaded(name: str) -> bool:
    host = cli_module._host()
    record = host.records.get(name)
    return record is not None and record.loaded


def test_bundled_market_is_real_account_dumps() -> None:
    accounts = load_market(bundled_market())
    assert len(accounts) > 50
    owners = {str(a.owner) for a in accounts.values()}
    assert "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc" in owners  # Orca Whirlpool


@pytest.mark.parametrize(
    ("plugin", "dex"),
    [("orca", "orca"), ("raydium", "raydium"), ("meteora", "meteora"), ("pumpswap", "pump")],
)
def test_run_decodes_and_quotes_bundled_pools(runner: CliRunner, plugin: str, dex: str) -> None:
    if not _loaded(plugin):
        pytest.fail(f"first-party plugin {plugin} does not load: {cli_module._host().failures()}")
    result = runner.invoke(cli, ["run", "--plugins", plugin, "--duration", "60"])
    assert result.exit_code == 0, result.output
    pools = re.search(r"pools decoded\s+(\d+) \((.*)\)", result.output)
    quotes = re.search(r"quotes\s+(\d+) ok", result.output)
    assert pools and int(pools.group(1)) > 0, result.output
    assert quotes and int(quotes.group(1)) > 0, result.output
    assert dex in pools.group(2), result.output
    assert "PAPER trading" in result.output
