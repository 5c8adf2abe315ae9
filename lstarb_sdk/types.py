"""Value types passed between plugins and the runtime.

They are frozen, slotted dataclasses of plain integers and solders types: the
hot path builds millions of them, so no validation happens here (validation
lives at the edges: configuration and events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.signature import Signature

from lstarb_sdk.amounts import BPS_DENOMINATOR as BPS_DENOMINATOR
from lstarb_sdk.amounts import ceil_div


@dataclass(frozen=True, slots=True)
class Quote:
    """The result of :meth:`PoolAdapter.quote`.

    Amounts are integers in the smallest unit of their mint. ``in_amount`` is
    what leaves the trader's token account and ``out_amount`` what arrives in
    the other one, so Token-2022 transfer fees are already taken off both.
    ``fee_amount`` is the pool's trading fee (LP + protocol + any other fee
    the program charges), counted in ``fee_mint`` (usually the input mint).
    """

    in_amount: int
    out_amount: int
    fee_amount: int
    fee_mint: Pubkey | None = None


@dataclass(frozen=True, slots=True)
class PoolSummary:
    """What :meth:`PoolAdapter.summary` reports: a pool's state at a glance.

    ``reserve_a``/``reserve_b`` are the reserves of the pool's two mints (in the
    program's order, smallest units) as the program prices swaps with them:
    vault balances less what the pool owes (protocol, fund, creator fees,
    pending PnL) plus any virtual reserve; ``liquidity`` is the active
    liquidity where the program has one (CLMM ``L``, a DLMM bin's liquidity),
    else 0; ``fee_ppm`` is the trading fee a swap pays now, in millionths of
    the input (so one hundredth of a basis point is 1).
    """

    reserve_a: int
    reserve_b: int
    liquidity: int
    fee_ppm: int


@dataclass(frozen=True, slots=True)
class ComputeUnits:
    """What one swap through a pool costs in compute units (SDK API 1.1, additive).

    Measured by running the DEX's real program on fixture accounts (the
    program oracle, :mod:`lstarb_sdk.testing.program_oracle`): ``base`` is
    the most a swap that crosses no tick, bin or array boundary took, and
    ``per_crossing`` the least slope that keeps every measured swap under
    ``base + per_crossing * crossings``. ``measured_max`` is the largest
    swap measured; ``source`` names the program binary and fixtures. The
    planner sums these to size a transaction's compute-unit limit.
    """

    base: int
    per_crossing: int = 0
    measured_max: int | None = None
    source: str = "unmeasured"

    def estimate(self, crossings: int | None = None) -> int:
        """Units for a swap crossing ``crossings`` boundaries; None: the largest measured
        (or ``base`` when nothing was measured), for a caller that does not know."""
        if crossings is None:
            return self.measured_max if self.measured_max is not None else self.base
        return self.base + self.per_crossing * crossings


DEFAULT_SWAP_COMPUTE_UNITS = ComputeUnits(base=200_000)
"""An adapter that publishes no measurement: the runtime's default per-instruction limit."""


@dataclass(frozen=True, slots=True)
class AccountFilter:
    """One getProgramAccounts filter set: all of its conditions must hold.

    ``data_size`` is the exact account size (None: any); each ``memcmp`` entry
    is ``(offset, bytes)`` that must appear at ``offset`` of the account data.
    """

    data_size: int | None = None
    memcmp: tuple[tuple[int, bytes], ...] = ()

    def matches(self, data: bytes) -> bool:
        """Whether an account's data passes this filter (as the RPC node checks it)."""
        if self.data_size is not None and len(data) != self.data_size:
            return False
        return all(data[off : off + len(raw)] == raw for off, raw in self.memcmp)

    @classmethod
    def by_mint(
        cls,
        mints: Iterable[Pubkey],
        offsets: Iterable[int],
        *,
        data_size: int | None = None,
        discriminator: bytes | None = None,
    ) -> list[AccountFilter]:
        """Pool accounts holding any of ``mints`` at any of ``offsets`` (SDK API 1.1, additive).

        What most ``PoolAdapter.discovery_filters`` are: one filter per mint and per mint
        field (a pool names its two mints at two offsets), each with the pool account's
        size and its discriminator at offset 0 where the program has them. A mint given twice
        is asked for once.
        """
        head = ((0, discriminator),) if discriminator else ()
        offsets = tuple(offsets)
        return [
            cls(data_size, (*head, (offset, bytes(mint))))
            for mint in dict.fromkeys(mints)
            for offset in offsets
        ]


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """A new state of one account, as a data source saw it.

    ``write_version`` orders two updates of the same account within one slot
    when the source knows it (Geyser does; RPC does not and sends 0).
    """

    pubkey: Pubkey
    slot: int
    owner: Pubkey
    lamports: int
    data: bytes
    executable: bool = False
    write_version: int = 0
    source: str = ""
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class SlotUpdate:
    """A slot tick: the newest slot a data source has seen, and its status."""

    slot: int
    parent: int | None = None
    status: str = "processed"
    source: str = ""
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class PendingTransaction:
    """A transaction as the leader produces its block, before it is executed (SDK API 1.2).

    Why: a source that reads the leader's entries as they are made (ShredStream) sees a swap
    against a followed pool a few hundred milliseconds before any account update says what
    it did. It carries no result and no account data: it may fail, and it says only that a
    pool's state is about to change. The authoritative state still comes from account updates
    (:class:`AccountUpdate`); nothing may be priced from this alone.

    ``account_keys`` are the message's static keys in order; ``writable`` those of them the
    message header marks writable (accounts loaded through address lookup tables are not
    resolved: ``lookup_tables`` lists the v0 tables the transaction names, so a consumer that
    caches them may resolve the rest). ``program_ids`` are the programs its instructions call,
    in order of first call. ``signature`` is the first signature, the transaction's id.
    """

    slot: int
    signature: Signature
    account_keys: tuple[Pubkey, ...]
    writable: tuple[Pubkey, ...]
    program_ids: tuple[Pubkey, ...]
    lookup_tables: tuple[Pubkey, ...] = ()
    source: str = ""
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """How one endpoint of a data source is doing (SDK API 1.1), for metrics and dashboards.

    ``name`` must be safe to show anywhere: never a URL's user, password, path or query, where
    providers put API keys (``host:port``, or a name the user chose). ``counts`` are totals
    since the source started, by kind (``updates``, ``timeouts``, ``connection_errors``, ...):
    they only grow. ``lagging``: the endpoint is behind the freshest one by more than the
    source tolerates, so it only repeats what others already gave.
    """

    name: str
    connected: bool
    slot: int
    lagging: bool = False
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SwapParams:
    """What a swap instruction needs from the trader.

    ``amount`` is the exact input (``exact_in=True``) or the exact output;
    ``other_amount_threshold`` is the minimum output or the maximum input the
    trader accepts (see :func:`min_out_with_slippage`). ``user`` signs and
    owns both token accounts. Plugins never receive keypairs: the runtime
    signs the transaction the instructions end up in.
    """

    input_mint: Pubkey
    amount: int
    other_amount_threshold: int
    user: Pubkey
    user_source_token: Pubkey
    user_destination_token: Pubkey
    exact_in: bool = True


@dataclass(frozen=True, slots=True)
class SwapInstructions:
    """The instructions of one swap, and lookup tables that shorten them."""

    instructions: Sequence[Instruction]
    address_lookup_tables: Sequence[Pubkey] = ()


@dataclass(frozen=True, slots=True)
class Leg:
    """One swap of an opportunity: ``in_amount`` of ``input_mint`` through ``pool``."""

    pool: Pubkey
    dex: str
    input_mint: Pubkey
    output_mint: Pubkey
    in_amount: int
    out_amount: int
    fee_amount: int = 0


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A detected arbitrage: legs that start and end in ``base_mint``.

    ``expected_profit`` is ``legs[-1].out_amount - legs[0].in_amount`` in the
    base mint's smallest unit, before transaction costs (tips, fees, flash-loan
    fees), which the planner subtracts when it sizes and scores.
    """

    id: str
    strategy: str
    base_mint: Pubkey
    legs: tuple[Leg, ...]
    expected_profit: int
    slot: int
    detected_ns: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """What a submitter reports after sending."""

    signature: str
    accepted: bool
    status: str
    slot: int | None = None
    error: str | None = None
    bundle_id: str | None = None


def min_out_with_slippage(out_amount: int, slippage_bps: int) -> int:
    """Minimum acceptable output for a quoted ``out_amount`` (rounded down)."""
    if not 0 <= slippage_bps <= BPS_DENOMINATOR:
        raise ValueError(f"slippage_bps must be within 0..10000, got {slippage_bps}")
    return out_amount * (BPS_DENOMINATOR - slippage_bps) // BPS_DENOMINATOR


def max_in_with_slippage(in_amount: int, slippage_bps: int) -> int:
    """Maximum acceptable input for a quoted ``in_amount`` (rounded up)."""
    if not 0 <= slippage_bps <= BPS_DENOMINATOR:
        raise ValueError(f"slippage_bps must be within 0..10000, got {slippage_bps}")
    return ceil_div(in_amount * (BPS_DENOMINATOR + slippage_bps), BPS_DENOMINATOR)


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """The recorded outcome of one execution plan.

    ``status`` is one of ``landed``, ``failed``, ``dropped``, ``rejected``
    (refused before submission, e.g. by a risk check) or ``paper`` (a paper
    trade that was simulated, not sent). Profit is in the base mint's
    smallest unit, after fees, tip and loan costs.
    """

    plan_id: str
    opportunity_id: str
    status: str
    paper: bool
    signature: str | None = None
    slot: int | None = None
    in_amount: int = 0
    out_amount: int = 0
    fee_lamports: int = 0
    tip_lamports: int = 0
    realized_profit: int = 0
    error: str | None = None
