"""The rpc data source: account updates and slot ticks from one or more Solana RPC nodes.

Each endpoint (``[plugins.rpc] url`` and any ``endpoints``) runs its own sessions (see
:mod:`lstarb_rpc.endpoint`); their notifications and snapshots meet here, where
:class:`~lstarb_rpc.ordering.UpdateOrder` lets through only news, numbered by slot and
write order, so the freshest endpoint wins and a lagging one only adds duplicates (counted).
A slot tick is emitted whenever any endpoint reports a slot newer than all before; an
endpoint ``lag_slots`` behind the freshest is named in the log and flagged in
:meth:`RpcSource.counters` and :meth:`RpcSource.endpoint_health` (hence in Prometheus,
``lstarb_data_source_endpoint_lagging``) until it catches up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_rpc.config import RpcConfig
from lstarb_rpc.endpoint import Endpoint, ProgramFilter
from lstarb_rpc.health import COUNTERS, PROBLEMS
from lstarb_rpc.ordering import BACKWARDS, CLOSED, STALE, Lane, Mark, UpdateOrder
from lstarb_rpc.urls import endpoint_name, ws_url_for
from lstarb_sdk import AccountFilter, AccountUpdate, DataSource, EndpointHealth, SlotUpdate
from lstarb_sdk.errors import DataSourceError

log = logging.getLogger("lstarb.plugin.rpc")


class RpcSource(DataSource):
    """Follows accounts (and optionally program filters) on Solana JSON-RPC nodes."""

    name = "rpc"

    def __init__(self, config: RpcConfig | None = None) -> None:
        self.config = config = config or RpcConfig()
        self.order = UpdateOrder()
        self.wanted: dict[Pubkey, None] = {}
        """Every account subscribed, in the order asked (an ordered set)."""
        self.programs: dict[ProgramFilter, None] = {}
        """Program filters followed with programSubscribe (``follow_programs``)."""
        self._newest = 0
        """The newest slot any endpoint reported or any snapshot was read at."""
        self.endpoints: list[Endpoint] = []
        mains = [(config.url, config.ws_url, config.name)]
        mains += [(e.url, e.ws_url, e.name) for e in config.endpoints]
        names: set[str] = set()
        for url, ws_url, name in mains:
            label = name or endpoint_name(url)
            while label in names:  # two endpoints on one host: keep names apart
                label += "'"
            names.add(label)
            self.endpoints.append(Endpoint(label, url, ws_url or ws_url_for(url), config, self))
        self._queue: asyncio.Queue[AccountUpdate | SlotUpdate | None] = asyncio.Queue()
        self._started = False
        self._closed = False

    # ------------------------------------------------------------ DataSource
    async def subscribe(self, accounts: Iterable[Pubkey]) -> None:
        """Follow these accounts too: each endpoint subscribes them, then fetches them.

        Returns at once; their states arrive through :meth:`stream`.
        """
        added = False
        for key in accounts:
            if key not in self.wanted:
                self.wanted[key] = None
                added = True
        self._start()
        if added:
            for endpoint in self.endpoints:
                endpoint.more()

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        self._start()
        queue = self._queue
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                item = await queue.get()
            if item is None:
                return
            yield item

    def more_arrived(self) -> bool:
        """Updates queued, or frames an endpoint's reader has not read yet: each reader gives
        the loop a turn after a message while more are waiting (see
        :meth:`lstarb_rpc.pubsub.PubSubConnection.run`)."""
        return not self._queue.empty() or any(endpoint.unread() for endpoint in self.endpoints)

    def newest_slot(self) -> int:
        """The newest slot any endpoint reported (slotSubscribe) or a snapshot was read at."""
        return self._newest

    async def fetch(self, accounts: Iterable[Pubkey]) -> Mapping[Pubkey, Account | None]:
        """A one-off getMultipleAccounts snapshot, from the first endpoint that answers."""
        keys = list(dict.fromkeys(accounts))
        failures = []
        for endpoint in self.endpoints:
            try:
                snapshots = await endpoint.http.get_multiple(keys)
            except DataSourceError as exc:
                failures.append(f"{endpoint.name}: {exc}")
                continue
            self._newest = max(self._newest, *(s.slot for s in snapshots), 0)
            return {k: a for s in snapshots for k, a in zip(s.keys, s.accounts, strict=True)}
        raise DataSourceError(
            "getMultipleAccounts failed on every endpoint: " + "; ".join(failures)
        )

    async def discover(
        self, program_id: Pubkey, filters: Sequence[AccountFilter]
    ) -> Mapping[Pubkey, Account]:
        """getProgramAccounts once per filter (a filter's conditions all hold; any filter
        may match), from the first endpoint that answers. With ``follow_programs`` the
        filters are also followed with programSubscribe, so pools created later arrive
        through :meth:`stream`."""
        if self.config.follow_programs and filters:
            for account_filter in filters:
                self.programs.setdefault((program_id, account_filter), None)
            self._start()
            for endpoint in self.endpoints:
                endpoint.more()
        failures = []
        for endpoint in self.endpoints:
            calls = [endpoint.http.get_program_accounts(program_id, f) for f in filters]
            results = await asyncio.gather(*calls, return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                if not all(isinstance(e, DataSourceError) for e in errors):
                    raise next(e for e in errors if not isinstance(e, DataSourceError))
                failures.append(f"{endpoint.name}: {errors[0]}")
                continue
            found: dict[Pubkey, Account] = {}
            for result in results:
                assert not isinstance(result, BaseException)
                found.update(result)
            return found
        raise DataSourceError(
            f"getProgramAccounts of {program_id} failed on every endpoint: " + "; ".join(failures)
        )

    async def close(self) -> None:
        self._closed = True
        for endpoint in self.endpoints:
            await endpoint.close()
        self._queue.put_nowait(None)

    # ------------------------------------------------------------ observability
    def counters(self) -> dict[str, dict[str, int]]:
        """Per endpoint name: every counter and gauge (``slot``, ``connected``, ``lagging``).

        Counters: :data:`lstarb_rpc.health.COUNTERS` (``updates`` emitted, ``stale`` older
        than emitted, ``duplicates`` already emitted because another endpoint was faster,
        ``lag_events`` times named lagging, ...) and the problems of
        :data:`lstarb_rpc.health.PROBLEMS`.
        """
        return {e.name: e.health.snapshot() for e in self.endpoints}

    def endpoint_health(self) -> list[EndpointHealth]:
        """Each endpoint for the runtime's metrics (``lstarb_data_source_endpoint_*``).

        Names are those of the log and :meth:`counters`: ``host:port`` or the configured
        name, never the URL's path or query where providers put API keys.
        """
        out = []
        for endpoint in self.endpoints:
            health = endpoint.health
            counts = dict.fromkeys((*COUNTERS, *PROBLEMS), 0)
            counts.update(health.counts)
            out.append(
                EndpointHealth(endpoint.name, health.connected, health.slot, health.lagging, counts)
            )
        return out

    def lagging(self) -> list[str]:
        """Names of the endpoints now flagged as lagging."""
        return [e.name for e in self.endpoints if e.health.lagging]

    # ------------------------------------------------------------ from the endpoints
    def _start(self) -> None:
        if self._started or self._closed:
            return
        self._started = True
        for endpoint in self.endpoints:
            endpoint.start()

    def on_account(
        self,
        endpoint: Endpoint,
        lane: Lane,
        key: Pubkey,
        slot: int,
        account: Account,
        received_ns: int,
    ) -> None:
        """A notification: emitted if it is news (see :mod:`lstarb_rpc.ordering`)."""
        health = endpoint.health
        health.counts["notifications"] += 1
        data = account.data
        owner = account.owner
        lamports = account.lamports
        executable = account.executable
        write_version = self.order.admit(lane, key, slot, (lamports, owner, executable, data))
        if write_version > 0:
            self._emit(
                endpoint, key, slot, (lamports, owner, executable, data), write_version, received_ns
            )
        elif write_version == STALE:
            health.counts["stale"] += 1
        elif write_version == BACKWARDS:
            health.problem(
                "out_of_order_slots",
                f"{key}: notified for slot {slot} after a later slot on the same subscription",
            )
        else:
            health.counts["duplicates"] += 1

    def on_fetched(
        self,
        endpoint: Endpoint,
        key: Pubkey,
        slot: int,
        account: Account | None,
        mark: Mark,
        received_ns: int,
    ) -> None:
        """A fetched state (None: no such account): emitted if no notification beat it."""
        if account is None:
            write_version = self.order.admit_fetched(key, slot, None, mark)
            lamports, owner, executable, data = CLOSED
        else:
            lamports, owner = account.lamports, account.owner
            executable, data = account.executable, account.data
            state = (lamports, owner, executable, data)
            write_version = self.order.admit_fetched(key, slot, state, mark)
        if write_version > 0:
            self._emit(
                endpoint, key, slot, (lamports, owner, executable, data), write_version, received_ns
            )

    def _emit(
        self,
        endpoint: Endpoint,
        key: Pubkey,
        slot: int,
        state: tuple[int, Pubkey, bool, bytes],
        write_version: int,
        received_ns: int,
    ) -> None:
        """One admitted state onto the queue, counted as an update of ``endpoint``."""
        lamports, owner, executable, data = state
        endpoint.health.counts["updates"] += 1
        self._queue.put_nowait(
            AccountUpdate(
                key,
                slot,
                owner,
                lamports,
                data,
                executable,
                write_version,
                endpoint.label,
                received_ns,
            )
        )

    def on_slot(self, endpoint: Endpoint, slot: int, parent: int, received_ns: int) -> None:
        health = endpoint.health
        health.counts["slots"] += 1
        if slot <= health.slot:
            if slot < health.slot:
                health.problem(
                    "out_of_order_slots", f"slot {slot} notified after slot {health.slot}"
                )
            return
        health.slot = slot
        if slot > self._newest:
            self._newest = slot
            self._queue.put_nowait(
                SlotUpdate(slot, parent, "processed", endpoint.label, received_ns)
            )
        if len(self.endpoints) > 1:
            self._check_lag()

    def _check_lag(self) -> None:
        limit = self.config.lag_slots
        freshest = max(self.endpoints, key=lambda e: e.health.slot)
        for endpoint in self.endpoints:
            health = endpoint.health
            if not health.slot:
                continue  # not heard from yet: its connection problems are logged as such
            behind = self._newest - health.slot
            if behind > limit and not health.lagging:
                health.lagging = True
                health.count("lag_events")
                log.warning(
                    "rpc endpoint %s lags: slot %d, %d behind the freshest (%s)",
                    endpoint.name,
                    health.slot,
                    behind,
                    freshest.name,
                )
            elif behind <= limit and health.lagging:
                health.lagging = False
                log.info("rpc endpoint %s caught up (slot %d)", endpoint.name, health.slot)
