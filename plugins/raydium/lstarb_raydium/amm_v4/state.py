"""The AMM V4 ``AmmInfo`` account, read at fixed offsets.

AmmInfo is a plain ``repr(C)`` struct of 752 bytes with no discriminator, so
the owner and the exact size are the only identity checks; a status outside
1..7 (the program's ``AmmStatus``) is refused as well. Offsets follow
``program/src/state.rs`` of raydium-io/raydium-amm and are cross-checked in the
tests against the IDL layout decoded by anchorpy.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.layout import check_data, pubkey_at

AMM_V4_PROGRAM_ID = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
AUTHORITY_SEED = b"amm authority"
AMM_AUTHORITY, AUTHORITY_NONCE = Pubkey.find_program_address([AUTHORITY_SEED], AMM_V4_PROGRAM_ID)
"""The program's one authority PDA, and the bump ``initialize`` stores as every pool's nonce."""
AMM_INFO_LEN = 752
COIN_MINT_OFFSET = 400
PC_MINT_OFFSET = 432

STATUS_UNINITIALIZED = 0
STATUS_INITIALIZED = 1
STATUS_ORDERBOOK_ONLY = 5
STATUS_SWAP_ONLY = 6
STATUS_WAITING_TRADE = 7
_SWAP_STATUSES = frozenset({STATUS_INITIALIZED, STATUS_SWAP_ONLY, STATUS_WAITING_TRADE})
_ORDERBOOK_STATUSES = frozenset({STATUS_INITIALIZED, STATUS_ORDERBOOK_ONLY})


# status, nonce @0/8; decimals @32/40; trade fee @144/152; swap fee @176/184;
# need_take_pnl @192/200; pool_open_time @224; orderbook_to_init_time @248.
_HEAD = struct.Struct("<QQ16xQQ96xQQ16xQQQQ16xQ16xQ")
# lp_amount, client_order_id, recent_epoch @720/728/736.
_TAIL = struct.Struct("<QQQ")


@dataclass(frozen=True, slots=True)
class AmmInfo:
    """The AmmInfo fields swaps, quotes and instructions use."""

    status: int
    nonce: int
    coin_decimals: int
    pc_decimals: int
    trade_fee_numerator: int
    trade_fee_denominator: int
    swap_fee_numerator: int
    swap_fee_denominator: int
    need_take_pnl_coin: int
    need_take_pnl_pc: int
    pool_open_time: int
    orderbook_to_init_time: int
    coin_vault: Pubkey
    pc_vault: Pubkey
    coin_vault_mint: Pubkey
    pc_vault_mint: Pubkey
    lp_mint: Pubkey
    open_orders: Pubkey
    market: Pubkey
    market_program: Pubkey
    target_orders: Pubkey
    amm_owner: Pubkey
    lp_amount: int
    client_order_id: int
    recent_epoch: int

    @classmethod
    def decode(cls, data: bytes) -> AmmInfo:
        what = "raydium amm_v4 AmmInfo"
        if len(data) != AMM_INFO_LEN:
            check_data(data, what, size=AMM_INFO_LEN)  # raises, naming the size
        d = bytes(data)
        (status, nonce, cdec, pdec, tnum, tden, snum, sden, pnl_c, pnl_p, open_t, ob_t) = (
            _HEAD.unpack_from(d, 0)
        )
        if not 1 <= status <= 7:
            raise DecodeError(f"{what}: status {status} is not an AmmStatus 1..7")
        if nonce != AUTHORITY_NONCE:
            # The program signs with create_program_address(["amm authority", nonce]);
            # initialize stores the canonical bump, so any other nonce is not a pool's.
            raise DecodeError(f"{what}: nonce {nonce} is not the authority bump {AUTHORITY_NONCE}")
        # The program's Fees::validate: a fraction below 1, or 0/0.
        if (snum >= sden and (snum or sden)) or (tnum >= tden and (tnum or tden)):
            raise DecodeError(
                f"{what}: swap fee {snum}/{sden} or trade fee {tnum}/{tden} is not below 1"
            )
        lp_amount, client_order_id, recent_epoch = _TAIL.unpack_from(d, 720)
        return cls(
            status=status,
            nonce=nonce,
            coin_decimals=cdec,
            pc_decimals=pdec,
            trade_fee_numerator=tnum,
            trade_fee_denominator=tden,
            swap_fee_numerator=snum,
            swap_fee_denominator=sden,
            need_take_pnl_coin=pnl_c,
            need_take_pnl_pc=pnl_p,
            pool_open_time=open_t,
            orderbook_to_init_time=ob_t,
            coin_vault=pubkey_at(d, 336),
            pc_vault=pubkey_at(d, 368),
            coin_vault_mint=pubkey_at(d, 400),
            pc_vault_mint=pubkey_at(d, 432),
            lp_mint=pubkey_at(d, 464),
            open_orders=pubkey_at(d, 496),
            market=pubkey_at(d, 528),
            market_program=pubkey_at(d, 560),
            target_orders=pubkey_at(d, 592),
            amm_owner=pubkey_at(d, 688),
            lp_amount=lp_amount,
            client_order_id=client_order_id,
            recent_epoch=recent_epoch,
        )

    @property
    def swap_permission(self) -> bool:
        """``AmmStatus::swap_permission``: Initialized, SwapOnly, WaitingTrade."""
        return self.status in _SWAP_STATUSES

    @property
    def orderbook_permission(self) -> bool:
        """``AmmStatus::orderbook_permission``: the pool still shares liquidity with OpenBook."""
        return self.status in _ORDERBOOK_STATUSES
