"""One-off account reads for the executor (lookup tables, wallets, funding state).

Why through the plugins' data sources: the executor reads the chain the way the scanner does
(the rpc plugin live, a recording on replay), so a paper run on a recording needs no network
and a live run needs no second client. The first source that can fetch answers; a source that
fails is named and the next one is asked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk import DataSource
from lstarb_sdk.errors import DataSourceError

log = logging.getLogger("lstarb.executor")


class AccountFetcher:
    def __init__(self, sources: Sequence[DataSource]) -> None:
        self.sources = list(sources)

    @property
    def can_fetch(self) -> bool:
        return bool(self.sources)

    async def fetch(self, keys: Iterable[Pubkey]) -> dict[Pubkey, Account | None]:
        """The accounts the first able source answered for (None: the chain has none; a key
        left out: the source knows nothing of it); DataSourceError naming every source's
        failure when none could read them."""
        wanted = list(dict.fromkeys(keys))
        failures = []
        for source in self.sources:
            try:
                got = await source.fetch(wanted)
            except NotImplementedError:
                continue
            except Exception as exc:  # plugin code: name it, try the next
                failures.append(f"{source.name}: {exc}")
                continue
            return {key: got[key] for key in wanted if key in got}
        reason = "; ".join(failures) or "no data source can fetch accounts on demand"
        raise DataSourceError(f"cannot read {len(wanted)} accounts: {reason}")
