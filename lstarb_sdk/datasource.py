"""The data source interface: where account updates come from.

A data source (RPC websocket, Geyser, ShredStream, a replay file) yields
:class:`AccountUpdate` and :class:`SlotUpdate` values, and a source that sees blocks as
they are made may yield :class:`PendingTransaction` values too (SDK API 1.2). It reconnects by
itself: the runtime only ever sees a stream that pauses, never one that ends
because a connection dropped.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.types import (
    AccountFilter,
    AccountUpdate,
    EndpointHealth,
    PendingTransaction,
    SlotUpdate,
)


class DataSource(abc.ABC):
    """A stream of account updates and slot ticks.

    How the scanner uses a source: it reads the accounts that may be pools
    (:meth:`known_accounts` of a recording, the pools named in ``[scanner] pools``, or
    those :meth:`discover` found for ``[scanner] mints``) with :meth:`fetch` when the source
    can (stamped with :meth:`newest_slot`), subscribes them and what their pools read,
    iterates :meth:`stream` in one task, subscribes more whenever a pool asks for accounts
    it does not have (and reads them with :meth:`fetch`, which is how it learns that one
    does not exist), and calls :meth:`close` at shutdown, also when a signal stops the run:
    :meth:`stream` must then end, even while it waits for news.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    async def subscribe(self, accounts: Iterable[Pubkey]) -> None:
        """Start following these accounts (in addition to those followed).

        The stream then delivers each account's current state, with the slot it was read
        at, and every change after it. A transport that only notifies changes (a
        websocket ``accountSubscribe``) reads the current state itself (getMultipleAccounts
        gives its slot), so the scanner never waits for an account's first change.
        """

    @abc.abstractmethod
    def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate | PendingTransaction]:
        """Updates as they arrive; ends only after :meth:`close`.

        A :class:`PendingTransaction` (SDK API 1.2) is a transaction of a block being
        produced, not executed yet: the scanner counts it and hands those that write an
        account a followed pool reads to ``lstarb_on_pending_transaction``; it never changes
        the book or the tape (only account updates do). Sources built for SDK API 1.0/1.1
        yield none, and need no change.
        """

    def known_accounts(self) -> Iterable[Pubkey]:
        """Accounts this source can offer without being told which.

        A recording knows every account it holds, so the scanner can find
        pools in it; a live source knows none and returns the default (empty).
        """
        return ()

    def more_arrived(self) -> bool:
        """Whether updates have arrived that :meth:`stream` has not yielded yet (SDK API 1.1;
        default False).

        Why: the scanner puts each update on the tape as it reads it and runs the book's pool
        states and the strategies once a slot's burst is through, that is, once the stream
        has nothing more ready. A source that reads its transport a message at a time and
        gives the event loop a turn between messages (so the first of a slot's burst is on
        the tape before the last is parsed) says True while it holds messages it received and
        has not turned into updates yet; the scanner then gives it turns instead of taking
        the burst as complete. Called per update: it must be cheap.
        """
        return False

    def newest_slot(self) -> int:
        """The newest slot this source has seen or holds (SDK API 1.1; default 0: unknown).

        What :meth:`fetch` returns is at least this new: the scanner stamps a snapshot with
        it (a recording returns the slot it was recorded at; a live source, the last slot it
        reported), so nothing it publishes says slot 0 when the slot is known.
        """
        return 0

    async def fetch(self, accounts: Iterable[Pubkey]) -> Mapping[Pubkey, Account | None]:
        """A one-off snapshot of accounts (None for those that do not exist).

        Sources that cannot fetch on demand leave the default, which raises
        NotImplementedError; the runtime then waits for streamed updates.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot fetch accounts on demand")

    async def discover(
        self, program_id: Pubkey, filters: Sequence[AccountFilter]
    ) -> Mapping[Pubkey, Account]:
        """Accounts of ``program_id`` matching any of ``filters`` (getProgramAccounts).

        How the scanner finds pools on a live source that knows no accounts
        (SDK API 1.1): it asks each adapter class for its
        :meth:`~lstarb_sdk.PoolAdapter.discovery_filters` and calls this.
        Sources that cannot search leave the default, which raises
        NotImplementedError.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot search program accounts")

    def endpoint_health(self) -> Sequence[EndpointHealth]:
        """How each endpoint of this source is doing now (SDK API 1.1; default: none).

        A source that spreads over several endpoints (RPC nodes, Geyser servers) lists each,
        so a lagging or failing one is named in the metrics, not only in the log: the runtime
        calls this when Prometheus scrapes (``lstarb_data_source_endpoint_*``), from the
        metrics server's thread, so it must only read numbers the source already keeps.
        """
        return ()

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop streaming and release connections."""
