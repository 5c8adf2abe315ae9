"""What ``--live`` needs before anything starts, and the refusal that names what is missing.

Why so strict: a live run signs with a real key and spends real SOL. Each of these mistakes
has cost someone money, so each one stops the run with a message (exit code 2):

- no keypair, or a key file others can read or write (on a shared host, a key already lost);
- no data-source plugin that reads a real chain, or no submitter that sends;
- no RPC endpoint configured (the default ``http://127.0.0.1:8899`` is where the local peer
  listens), or an endpoint that is the local peer itself (``lstarb simnet``: its genesis hash
  is none of the clusters');
- no explicit ``--confirm-network``, or one that is not the network the endpoint serves
  (checked with getGenesisHash): a key meant for devnet never trades on mainnet-beta.
  A private chain (a test validator, a LiteSVM peer in a test) is confirmed by its genesis
  hash itself, never by a cluster's name: trading there is a deliberate act, not an accident.

Everything that can be checked without the network is checked first and reported together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from lstarb_runtime.config import LoadedConfig
from lstarb_runtime.keypair import load_keypair
from lstarb_runtime.logs import register_keypair
from lstarb_runtime.plugin_host import PluginHost
from lstarb_sdk.errors import ConfigError

log = logging.getLogger("lstarb.live")

GENESIS_HASHES: Final = {
    "mainnet-beta": "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d",
    "devnet": "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG",
    "testnet": "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY",
}
"""Each public cluster's genesis hash: what ``--confirm-network`` is checked against."""
NETWORKS: Final = tuple(GENESIS_HASHES)
GENESIS_TIMEOUT_S: Final = 5.0

GenesisReader = Callable[[str], str]
"""Reads an endpoint's genesis hash (getGenesisHash); raises OSError-like errors."""


def refuse(problems: Sequence[str]) -> ConfigError:
    return ConfigError("--live refused; missing: " + "; ".join(problems))


def check_live(
    host: PluginHost,
    loaded: LoadedConfig,
    selected: Sequence[str],
    *,
    genesis_of: GenesisReader | None = None,
) -> None:
    """Raise ConfigError naming everything a live run lacks; return when it may start."""
    settings = loaded.settings
    problems: list[str] = []
    keypair = settings.run.keypair
    if keypair is None:
        problems.append("a keypair file (--keypair FILE or run.keypair; chmod 600)")
    else:
        try:
            register_keypair(load_keypair(Path(keypair)))  # never printed, in any form
        except ConfigError as exc:
            problems.append(f"a usable keypair: {exc}")
    problems.extend(_plugin_problems(host))
    endpoints = _rpc_endpoints(loaded) if "rpc" in selected else []
    if "rpc" in selected and not endpoints:
        problems.append(
            "an RPC endpoint of a real cluster ([plugins.rpc] url; the default "
            "http://127.0.0.1:8899 is where the local peer listens)"
        )
    network = settings.run.confirm_network
    if network is None:
        problems.append(
            "an explicit network confirmation (--confirm-network "
            f"{'|'.join(NETWORKS)}|GENESIS_HASH, checked against the endpoint's genesis hash)"
        )
    if problems:
        raise refuse(problems)
    assert network is not None
    reader = genesis_of or _genesis_hash
    for url in endpoints:
        problem = _endpoint_problem(url, network, reader)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise refuse(problems)


def _plugin_problems(host: PluginHost) -> list[str]:
    """A data source that reads a chain and a submitter that sends, among the selected."""
    active = set(host.active())

    def provides(hook: str) -> list[str]:
        return sorted(
            n for n, r in host.records.items() if n in active and not r.builtin and hook in r.hooks
        )

    problems = []
    if not provides("lstarb_data_sources"):
        problems.append(
            "a live data source (only the built-in replay of a recording is selected; "
            "select a data-source plugin such as rpc)"
        )
    if not provides("lstarb_submitters"):
        problems.append(
            "a submitter that sends transactions (only the built-in paper submitter is "
            "selected; select one such as jito or rpc)"
        )
    return problems


def _rpc_endpoints(loaded: LoadedConfig) -> list[str]:
    """The rpc plugin's HTTP endpoints as configured (not its defaults)."""
    raw = loaded.settings.plugins.get("rpc", {})
    urls = [str(raw["url"])] if raw.get("url") else []
    for extra in raw.get("endpoints") or []:
        if isinstance(extra, dict) and extra.get("url"):
            urls.append(str(extra["url"]))
    return urls


def _endpoint_problem(url: str, network: str, genesis_of: GenesisReader) -> str | None:
    shown = _shown(url)
    try:
        genesis = genesis_of(url)
    except Exception as exc:
        return f"a reachable RPC endpoint: {shown} did not answer getGenesisHash ({exc})"
    expected = GENESIS_HASHES.get(network, network)
    if genesis == expected:
        return None
    named = {h: n for n, h in GENESIS_HASHES.items()}.get(genesis)
    if named is None:
        return (
            f"an endpoint of a real cluster: {shown} is a local peer or a private chain "
            f"(genesis hash {genesis} is none of {', '.join(NETWORKS)}); the local peer "
            "(lstarb simnet) is for paper runs, and a private chain you do mean to trade on "
            f"is confirmed by its genesis hash: --confirm-network {genesis}"
        )
    return (
        f"the network confirmed: --confirm-network {network}, but {shown} serves {named} "
        f"(genesis hash {genesis})"
    )


def _shown(url: str) -> str:
    """The endpoint without any secret in its path or query (providers put API keys there)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


def _genesis_hash(url: str) -> str:
    from solana.rpc.api import Client

    client = Client(url, timeout=GENESIS_TIMEOUT_S)
    return str(client.get_genesis_hash().value)
