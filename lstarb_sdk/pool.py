"""The pool adapter interface, modeled on Jupiter's AMM interface.

One adapter instance follows one pool. The runtime builds it from the pool
account, asks which accounts its quotes depend on, feeds it those accounts as
they change, and asks it for quotes and swap instructions. Quotes are the
program's own integer math to the unit: an adapter that cannot quote exactly
raises :class:`~lstarb_sdk.errors.QuoteError` rather than approximate.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.errors import QuoteError
from lstarb_sdk.layout import account_data
from lstarb_sdk.types import (
    DEFAULT_SWAP_COMPUTE_UNITS,
    AccountFilter,
    ComputeUnits,
    PoolSummary,
    Quote,
    SwapInstructions,
    SwapParams,
)


def account_unavailable(tag: str, what: str, key: Pubkey, absent: Collection[Pubkey]) -> QuoteError:
    """The QuoteError for an account a quote needs and does not have, naming it.

    ``absent`` holds the keys the last updates mapped to None (SDK API 1.1):
    those "do not exist on chain"; any other key "is not loaded" yet. Adapters
    build the error only when they raise it, so the hot path pays nothing.
    """
    state = "does not exist on chain" if key in absent else "is not loaded"
    return QuoteError(f"{tag}: {what} {key} {state}")


def updated_account(
    accounts: Mapping[Pubkey, Account | None], key: Pubkey, absent: list[Pubkey]
) -> Account | None:
    """``key``'s new state in an update (SDK API 1.1, additive): the account, or None when
    the update brings no news of it or says the chain has none; the latter is appended to
    ``absent``, so an adapter can decode first and forget what the chain lost on commit."""
    account = accounts.get(key)
    if account is None and key in accounts:
        absent.append(key)
    return account


def raise_if_absent(
    tag: str, named: Iterable[tuple[str, Pubkey]], absent: Collection[Pubkey]
) -> None:
    """The QuoteError of the first ``(what, key)`` of ``named`` the chain said does not exist
    (SDK API 1.1, additive): the check before a quote that needs every one of them."""
    for what, key in named:
        if key in absent:
            raise account_unavailable(tag, what, key, absent)


class PoolAdapter(abc.ABC):
    """One pool of one DEX program.

    Subclasses set ``program_id`` (the owner of the pool accounts they
    decode) and ``dex`` (a short label such as ``"raydium-clmm"``, used in
    logs, events and metrics). Where the program's pool accounts have a fixed
    size (``account_size``, or ``account_min_size`` for a layout that grew by
    appending fields) and a discriminator (``account_discriminator``), setting
    them gives :meth:`matches` and :meth:`pool_account_data` for free.

    Life cycle, as the runtime drives it::

        pool = Adapter.from_account(address, account)   # decode the pool account
        while True:
            keys = pool.accounts_to_update()            # may change after update()
            pool.update({k: fetched[k] for k in keys})  # refresh from fresh data
            pool.quote(1_000_000, pool.mints[0])        # exact integer quote

    ``update`` may be called with a subset of the accounts (only those that
    changed); the adapter keeps the last state of the others. From SDK API 1.1
    a key may map to ``None``: the chain has no such account (what
    getMultipleAccounts answers with null); a key that is absent means no news.
    """

    program_id: ClassVar[Pubkey]
    dex: ClassVar[str]
    account_size: ClassVar[int | None] = None
    """Exact length of a pool account (None: not fixed)."""
    account_min_size: ClassVar[int | None] = None
    """Shortest pool account the program accepts, for layouts that grew by appending."""
    account_discriminator: ClassVar[bytes | None] = None
    """The bytes every pool account starts with (Anchor's 8-byte account discriminator)."""
    compute_units: ClassVar[ComputeUnits] = DEFAULT_SWAP_COMPUTE_UNITS
    """Compute units a swap through this DEX takes (SDK API 1.1, additive): measured on the
    real program by the plugin's program oracle, or the 200 000 default when unmeasured."""

    @classmethod
    def matches(cls, account: Account) -> bool:
        """Whether ``account`` is a pool this adapter decodes.

        The default checks the owner and, where the class sets them, the
        size and discriminator: a program owns many account kinds (configs,
        tick arrays) and only pools may reach :meth:`from_account`.
        """
        if account.owner != cls.program_id:
            return False
        if (
            cls.account_size is None
            and cls.account_min_size is None
            and not cls.account_discriminator
        ):
            return True
        data = account.data
        n = len(data)
        if cls.account_size is not None and n != cls.account_size:
            return False
        if cls.account_min_size is not None and n < cls.account_min_size:
            return False
        disc = cls.account_discriminator
        return disc is None or data[: len(disc)] == disc

    @classmethod
    def pool_account_data(cls, address: Pubkey, account: Account) -> bytes:
        """The pool account's data once owner, size and discriminator are right.

        DecodeError naming the pool and the failed check otherwise; the check
        :meth:`from_account` and :meth:`update` make before decoding the pool.
        It runs on every pool update, so the passing case is a few comparisons.
        """
        data = account.data
        size, min_size, disc = cls.account_size, cls.account_min_size, cls.account_discriminator
        if (
            account.owner == cls.program_id
            and (size is None or len(data) == size)
            and (min_size is None or len(data) >= min_size)
            and (disc is None or data[: len(disc)] == disc)
        ):
            return data
        return account_data(
            account,
            f"{cls.dex} pool {address}",
            owner=cls.program_id,
            size=cls.account_size,
            min_size=cls.account_min_size,
            discriminator=cls.account_discriminator,
        )

    @classmethod
    @abc.abstractmethod
    def from_account(cls, address: Pubkey, account: Account) -> PoolAdapter:
        """Build the adapter from the pool account.

        Raises :class:`~lstarb_sdk.errors.DecodeError` for a wrong owner,
        size or discriminator, or truncated data, naming which.
        """

    @property
    @abc.abstractmethod
    def address(self) -> Pubkey:
        """The pool account's address."""

    @property
    @abc.abstractmethod
    def mints(self) -> tuple[Pubkey, Pubkey]:
        """The two mints the pool trades, in the program's order."""

    @abc.abstractmethod
    def accounts_to_update(self) -> list[Pubkey]:
        """Every account the next quote depends on.

        That is the pool itself, its vaults and configs, the tick or bin
        arrays on both sides of the current price, the mints when a transfer
        fee may apply, and the Clock sysvar when fees depend on time. The list
        moves with the price: call it again after every :meth:`update`.
        """

    @abc.abstractmethod
    def update(self, accounts: Mapping[Pubkey, Account | None]) -> bool | None:
        """Refresh state from fresh account data (any subset of the list).

        A key mapped to ``None`` (SDK API 1.1) says the chain has no such
        account: the adapter treats it as its program does (an uninitialized
        tick array crossed as zero liquidity, say) or refuses later quotes with
        a QuoteError naming it; it never reads it as data. A key that is not
        in ``accounts`` means no news: the adapter keeps what it had.

        Returns ``False`` when nothing any quote reads changed (a Clock sysvar
        update within the same second and epoch, for a pool whose fees read
        only those): the book then treats the pool as unchanged, so no new
        pool state is published and no strategy is told. ``None`` (what an
        adapter that says nothing returns) or ``True``: it may have changed.
        Optional: a runtime that does not look treats every update as a change.

        Raises :class:`~lstarb_sdk.errors.DecodeError` when an account's bytes
        are not what its role requires; the previous state is kept.
        """

    @abc.abstractmethod
    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        """Quote a swap of ``amount`` of ``input_mint`` (or for ``amount`` out).

        With ``exact_in`` the trader sends exactly ``amount``; otherwise the
        trader receives ``amount`` of the other mint and the quote says how
        much must be sent. A program without an exact-out instruction (stake
        pools) swaps that input exact-in; ``out_amount`` is then what it pays,
        at least ``amount``. Raises
        :class:`~lstarb_sdk.errors.QuoteError` when the pool lacks liquidity
        or an account the quote needs is not loaded.
        """

    @abc.abstractmethod
    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        """The real on-chain instruction(s) for a swap, and any lookup tables."""

    def summary(self) -> PoolSummary | None:
        """A cheap summary of the current state for MARKET_DATA and dashboards (SDK API 1.1).

        Reserves, active liquidity and fee, read from state already decoded by
        :meth:`update` (no quote, no allocation beyond the result). ``None``
        while the pool cannot quote yet (an account it needs is not loaded):
        the runtime publishes a pool only once it can quote. The default
        returns None; every first-party adapter implements it.
        """
        return None

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        """getProgramAccounts filters that find this program's pools (SDK API 1.1).

        Each filter selects pool accounts of ``program_id`` whose mints include
        one of ``mints`` (one filter per mint and per mint position is typical:
        a data size plus a memcmp at the mint's offset). A data source runs
        them and hands the matches to :meth:`matches` / :meth:`from_account`,
        so a filter may be broader than needed but never narrower. The default
        (no filters) means the adapter cannot be discovered this way.
        """
        return ()

    def swap_compute_units(self, amount: int, input_mint: Pubkey) -> int:
        """Compute units a swap of ``amount`` of ``input_mint`` would take now (SDK API 1.1).

        Why per swap: on concentrated-liquidity programs the cost grows with the ticks or
        bins a swap crosses, so a limit sized for the largest swap measured overprices every
        small one (the priority fee is paid on the limit). An adapter that can count the
        crossings of its own quote walk returns ``compute_units.estimate(crossings)``; the
        default is ``compute_units.estimate(None)``, the largest swap measured (or the
        200 000 default of an unmeasured program). Never raises for an amount its
        :meth:`quote` accepts; an over-estimate is safe, an under-estimate fails the
        transaction.
        """
        return type(self).compute_units.estimate(None)

    def other_mint(self, mint: Pubkey) -> Pubkey:
        """The pool's mint that is not ``mint``; QuoteError if neither matches."""
        a, b = self.mints
        if mint == a:
            return b
        if mint == b:
            return a
        raise QuoteError(f"{self.dex} pool {self.address}: mint {mint} is not one of its mints")
