"""Constants of the lb_clmm program (IDL 0.12.0) that decoding and quoting use."""

from __future__ import annotations

from solders.pubkey import Pubkey

PROGRAM_ID = Pubkey.from_string("LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo")

# Anchor discriminators: sha256("account:<Name>")[:8] / sha256("global:<ix>")[:8].
LB_PAIR_DISCRIMINATOR = bytes.fromhex("210b3162b565b10d")
BIN_ARRAY_DISCRIMINATOR = bytes.fromhex("5c8e5cdc059446b5")
BITMAP_EXTENSION_DISCRIMINATOR = bytes.fromhex("506f7c7137ed1205")
SWAP_DISCRIMINATOR = bytes.fromhex("f8c69e91e17587c8")
SWAP2_DISCRIMINATOR = bytes.fromhex("414b3f4ceb5b5b88")
SWAP_EXACT_OUT_DISCRIMINATOR = bytes.fromhex("fa49652126cf4bb8")
SWAP_EXACT_OUT2_DISCRIMINATOR = bytes.fromhex("2bd7f784893cf351")

LB_PAIR_LEN = 904
BIN_ARRAY_LEN = 10136
BITMAP_EXTENSION_LEN = 1576

MAX_BIN_PER_ARRAY = 70
BIN_LEN = 144
BINS_OFFSET = 56

BIN_ARRAY_BITMAP_SIZE = 512  # the pair's own bitmap covers array indexes -512..511
EXTENSION_BINARRAY_BITMAP_SIZE = 12  # 512-bit chunks per side in the extension

SCALE_OFFSET = 64
ONE_Q64 = 1 << SCALE_OFFSET
MAX_EXPONENTIAL = 0x80000  # 2^19: |bin id| beyond this has no representable price
MIN_BIN_ID = -443636
MAX_BIN_ID = 443636

FEE_PRECISION = 1_000_000_000
MAX_FEE_RATE = 100_000_000
LIMIT_ORDER_FEE_SHARE = 5_000
MAX_PROTOCOL_SHARE = 2_500

# LbPair.parameters.function_type
FUNCTION_UNDETERMINED = 0
FUNCTION_LIQUIDITY_MINING = 1
FUNCTION_LIMIT_ORDER = 2

# LbPair.parameters.collect_fee_mode
COLLECT_FEE_INPUT_ONLY = 0
COLLECT_FEE_ONLY_Y = 1

# LbPair.activation_type
ACTIVATION_SLOT = 0
ACTIVATION_TIMESTAMP = 1

BIN_ARRAY_SEED = b"bin_array"
BITMAP_SEED = b"bitmap"
ORACLE_SEED = b"oracle"
EVENT_AUTHORITY_SEED = b"__event_authority"
