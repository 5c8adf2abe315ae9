"""Token-2022 mints as swaps see them: transfer fees, transfer hooks, the fee wrap.

A pool whose mint has the TransferFeeConfig extension receives less than the
trader sends, and the trader receives less than the pool sends. Quotes must
take both off exactly, so the fee math here follows spl-token-2022's
``TransferFee::calculate_fee`` and ``calculate_pre_fee_amount`` to the unit.

Mint bytes are checked the way the token program unpacks them
(``StateWithExtensions::<Mint>::unpack``): a truncated or malformed mint is a
:class:`DecodeError`, never a mint without a fee. :class:`TokenMint` is what an
adapter keeps per mint: program, decimals, the fee schedule and the hook, and
it picks the fee in force for an epoch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.amounts import BPS_DENOMINATOR, ceil_div
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.layout import check_owner
from lstarb_sdk.solana import (
    MINT_LEN,
    SYSVAR_CLOCK_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_ACCOUNT_LEN,
    TOKEN_PROGRAMS,
    Clock,
    Mint,
)

ONE_IN_BASIS_POINTS = BPS_DENOMINATOR
EXTENSION_TRANSFER_FEE_CONFIG = 1
EXTENSION_TRANSFER_HOOK = 14
ACCOUNT_TYPE_MINT = 1
_TRANSFER_FEE_CONFIG_LEN = 108
_TRANSFER_HOOK_LEN = 64
_ZERO_KEY = bytes(32)


@dataclass(frozen=True, slots=True)
class TransferFee:
    """One epoch's fee: basis points of the amount, capped at ``maximum_fee``."""

    epoch: int
    maximum_fee: int
    basis_points: int

    def fee(self, amount: int) -> int:
        """Fee withheld when ``amount`` is sent (rounded up, capped)."""
        if self.basis_points == 0 or amount == 0:
            return 0
        raw = ceil_div(amount * self.basis_points, ONE_IN_BASIS_POINTS)
        return min(raw, self.maximum_fee)

    def pre_fee_amount(self, post_fee_amount: int) -> int:
        """Smallest amount to send so that ``post_fee_amount`` arrives."""
        bps = self.basis_points
        if bps == 0:
            return post_fee_amount
        if post_fee_amount == 0:
            return 0
        if bps == ONE_IN_BASIS_POINTS:
            return post_fee_amount + self.maximum_fee
        raw = ceil_div(post_fee_amount * ONE_IN_BASIS_POINTS, ONE_IN_BASIS_POINTS - bps)
        if raw - post_fee_amount >= self.maximum_fee:
            return post_fee_amount + self.maximum_fee
        return raw

    def inverse_fee(self, post_fee_amount: int) -> int:
        """Fee charged on the amount :meth:`pre_fee_amount` returns (``calculate_inverse_fee``)."""
        return self.fee(self.pre_fee_amount(post_fee_amount))


@dataclass(frozen=True, slots=True)
class TransferFeeConfig:
    """The TransferFeeConfig extension of a Token-2022 mint."""

    withheld_amount: int
    older: TransferFee
    newer: TransferFee

    def for_epoch(self, epoch: int) -> TransferFee:
        """The fee in force at ``epoch`` (the newer one from its epoch on)."""
        return self.newer if epoch >= self.newer.epoch else self.older

    @property
    def epoch_dependent(self) -> bool:
        """Whether the two fees differ, so that the epoch decides which applies."""
        o, n = self.older, self.newer
        return o.basis_points != n.basis_points or o.maximum_fee != n.maximum_fee

    @property
    def charges(self) -> bool:
        """Whether either fee is non-zero."""
        return self.older.basis_points != 0 or self.newer.basis_points != 0


def _fee_at(data: bytes, offset: int) -> TransferFee:
    return TransferFee(
        int.from_bytes(data[offset : offset + 8], "little"),
        int.from_bytes(data[offset + 8 : offset + 16], "little"),
        int.from_bytes(data[offset + 16 : offset + 18], "little"),
    )


def mint_extensions(data: bytes, *, name: str = "mint") -> dict[int, bytes]:
    """The TLV extensions of a mint, by extension type number (empty for a plain mint).

    The layout rules are the token program's: a mint is 82 bytes alone, or
    at least 166 with zero padding up to the account-type byte (1, a mint) at
    165 and the TLV entries after it. Entries end at an ``Uninitialized``
    (zero) type or at the end of the data; an entry whose length runs past
    the end, or a header cut short, is malformed. Unknown extension types are
    kept (the program adds new ones); the first entry of a type wins, as in
    ``get_extension``.
    """
    Mint.decode(data, name=name, program=TOKEN_2022_PROGRAM_ID)
    out: dict[int, bytes] = {}
    end = len(data)
    pos = TOKEN_ACCOUNT_LEN + 1
    while pos < end:
        if end - pos < 2:
            if data[pos]:
                raise DecodeError(f"{name}: extension header cut short at byte {pos}")
            break
        ext_type = int.from_bytes(data[pos : pos + 2], "little")
        if ext_type == 0:
            break
        if end - pos < 4:
            raise DecodeError(f"{name}: extension {ext_type} has no length (byte {pos})")
        length = int.from_bytes(data[pos + 2 : pos + 4], "little")
        if pos + 4 + length > end:
            raise DecodeError(f"{name}: extension {ext_type} runs past the end of the account")
        out.setdefault(ext_type, data[pos + 4 : pos + 4 + length])
        pos += 4 + length
    return out


def _parse_transfer_fee(raw: bytes | None, name: str) -> TransferFeeConfig | None:
    if raw is None:
        return None
    if len(raw) != _TRANSFER_FEE_CONFIG_LEN:
        raise DecodeError(
            f"{name}: TransferFeeConfig is {len(raw)} bytes, expected {_TRANSFER_FEE_CONFIG_LEN}"
        )
    config = TransferFeeConfig(
        withheld_amount=int.from_bytes(raw[64:72], "little"),
        older=_fee_at(raw, 72),
        newer=_fee_at(raw, 90),
    )
    for fee in (config.older, config.newer):
        if fee.basis_points > ONE_IN_BASIS_POINTS:
            raise DecodeError(f"{name}: transfer fee of {fee.basis_points} bps exceeds 100%")
    return config


def _parse_transfer_hook(raw: bytes | None, name: str) -> Pubkey | None:
    if raw is None:
        return None
    if len(raw) != _TRANSFER_HOOK_LEN:
        raise DecodeError(
            f"{name}: TransferHook is {len(raw)} bytes, expected {_TRANSFER_HOOK_LEN}"
        )
    program = raw[32:64]
    return None if program == _ZERO_KEY else Pubkey.from_bytes(program)


def transfer_fee_config(data: bytes, *, name: str = "mint") -> TransferFeeConfig | None:
    """The mint's transfer fee configuration, or None when it has none."""
    if len(data) == MINT_LEN:
        return None
    return _parse_transfer_fee(
        mint_extensions(data, name=name).get(EXTENSION_TRANSFER_FEE_CONFIG), name
    )


def transfer_hook_program(data: bytes, *, name: str = "mint") -> Pubkey | None:
    """The program the token program invokes on every transfer of this mint, or None.

    This is the one definition of "has a transfer hook" (spl-token-2022's
    ``transfer_hook::get_program_id``): the TransferHook extension with a
    non-zero ``program_id``. The extension with a zero program id (its
    authority may set one later) invokes nothing.
    """
    if len(data) == MINT_LEN:
        return None
    return _parse_transfer_hook(mint_extensions(data, name=name).get(EXTENSION_TRANSFER_HOOK), name)


@dataclass(frozen=True, slots=True)
class TokenMint:
    """One mint as a swap sees it, decoded once per update.

    ``transfer_fee`` is the TransferFeeConfig (Token-2022 only),
    ``transfer_hook`` the hook program the token program would invoke (see
    :func:`transfer_hook_program`); ``size`` is the account length, which a
    mint never loses: a shorter update is refused.
    """

    address: Pubkey
    program: Pubkey
    decimals: int
    supply: int
    transfer_fee: TransferFeeConfig | None
    transfer_hook: Pubkey | None
    size: int

    @classmethod
    def from_account(
        cls, address: Pubkey, account: Account, previous: TokenMint | None = None
    ) -> TokenMint:
        """Decode and validate a mint account (owner, layout, extensions).

        ``previous`` is the same mint's last state: a mint never changes its
        token program and never shrinks (extensions are not removed), so an
        update that does either is refused rather than read as a mint whose
        transfer fee vanished.
        """
        try:
            return cls._decode(address, account, previous)
        except DecodeError as exc:  # name the mint only when it failed: base58 costs a microsecond
            message = str(exc).removeprefix("mint: ")
            raise DecodeError(f"mint {address}: {message}") from None

    @classmethod
    def _decode(cls, address: Pubkey, account: Account, previous: TokenMint | None) -> TokenMint:
        name = "mint"
        check_owner(account, TOKEN_PROGRAMS, name)
        program = account.owner
        data = account.data
        base = Mint.decode(data, name=name, program=program)
        if previous is not None:
            if previous.program != program:
                raise DecodeError(f"token program changed to {program}")
            if len(data) < previous.size:
                raise DecodeError(
                    f"{len(data)} bytes, shorter than the {previous.size} it had "
                    "(a mint never loses its extensions)"
                )
        fee = hook = None
        if len(data) > MINT_LEN:
            extensions = mint_extensions(data, name=name)
            fee = _parse_transfer_fee(extensions.get(EXTENSION_TRANSFER_FEE_CONFIG), name)
            hook = _parse_transfer_hook(extensions.get(EXTENSION_TRANSFER_HOOK), name)
        return cls(address, program, base.decimals, base.supply, fee, hook, len(data))

    @property
    def charges_transfer_fee(self) -> bool:
        """Whether a transfer of this mint may withhold a fee (in either epoch)."""
        return self.transfer_fee is not None and self.transfer_fee.charges

    @property
    def needs_clock(self) -> bool:
        """Whether the fee in force depends on the epoch (so the Clock must be followed)."""
        return self.transfer_fee is not None and self.transfer_fee.epoch_dependent

    def transfer_fee_at(self, clock: Clock | None, tag: str) -> TransferFee | None:
        """The fee a transfer pays now, or None when it pays none.

        QuoteError (prefixed with ``tag``, the pool) when the fee depends on
        the epoch and the Clock is not loaded.
        """
        config = self.transfer_fee
        if config is None or not config.charges:
            return None
        if not config.epoch_dependent:
            fee = config.newer
        elif clock is None:
            raise QuoteError(
                f"{tag}: Clock sysvar {SYSVAR_CLOCK_ID} is not loaded "
                f"(mint {self.address} has an epoch-dependent transfer fee)"
            )
        else:
            fee = config.for_epoch(clock.epoch)
        return fee if fee.basis_points else None


def amount_received(sent: int, fee: TransferFee | None) -> int:
    """What arrives when ``sent`` leaves an account: ``sent`` less the transfer fee."""
    return sent if fee is None else sent - fee.fee(sent)


def amount_to_send(received: int, fee: TransferFee | None) -> int:
    """What must be sent for ``received`` to arrive, as the DEX programs compute it.

    ``received + calculate_inverse_fee(received)``: the rule of Raydium CPMM
    and CLMM (``get_transfer_inverse_fee``) and Meteora DLMM. It equals
    :meth:`TransferFee.pre_fee_amount` except where the cap bites between two
    units; a program that uses ``pre_fee_amount`` itself calls that.
    """
    return received if fee is None else received + fee.inverse_fee(received)


def refuse_transfer_hooks(tag: str, mints: Iterable[TokenMint | None]) -> None:
    """QuoteError naming the first of ``mints`` with a transfer hook (SDK API 1.1, additive).

    Why refuse: the token program invokes the hook program with extra accounts an adapter
    would have to resolve and pass; a swap without them fails on chain.
    """
    for mint in mints:
        if mint is not None and mint.transfer_hook is not None:
            raise QuoteError(
                f"{tag}: mint {mint.address} has transfer hook {mint.transfer_hook} "
                "(its extra accounts are not passed)"
            )
