"""Flash-loan fees equal the official SDK's (plus the program's rounding) to the unit.

The oracle (tests/oracle/flash_loans.mjs, @kamino-finance/klend-sdk 8.0.2) decodes each
reserve variant itself and computes the fee with the SDK's port of the program's
calculate_fees; see its header for the one rounding step it adds.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from kamino_testlib import expected, variant_reserve, variants

from lstarb_kamino.fees import flash_loan_fee, flash_loan_fee_split
from lstarb_kamino.state import Reserve
from lstarb_sdk.errors import FundingError

VARIANTS = list(variants())
DISABLED_SF = (1 << 64) - 1
#: The disabled reserve has no fee to compare: the provider refuses it (test_provider).
LENDING = [n for n, v in variants().items() if v["flash_loan_fee_sf"] != str(DISABLED_SF)]


def _sdk_referral_is_off_by_binary_rate(amount: int, fee_sf: int, bps: int) -> bool:
    """Where the SDK and the program part ways on the referral, by design.

    The SDK multiplies by ``bps / 10000`` in exact decimals; the program by
    ``Fraction::from_bps``, that ratio truncated to 60 binary digits. When the
    exact product is an integer (or lies closer above one than the truncation
    costs), the program's floor is one lower.
    """
    fee_f = Fraction(amount * fee_sf, 1 << 60) if amount * fee_sf >= 1 << 60 else Fraction(1)
    exact = fee_f * Fraction(bps, 10_000)
    binary = fee_f * Fraction((bps << 60) // 10_000, 1 << 60)
    return int(binary) == int(exact) - 1


DEVIATIONS: list[tuple[str, int, int]] = []


def _check(name: str, point: dict, fee_sf: int) -> None:
    amount = int(point["amount"])
    bps, has_referrer = point["bps"], point["has_referrer"]
    if "error" in point:
        assert "too small" in point["error"]
        with pytest.raises(FundingError, match="BorrowTooSmall"):
            flash_loan_fee_split(amount, fee_sf, bps, has_referrer)
        return
    protocol, referral = flash_loan_fee_split(amount, fee_sf, bps, has_referrer)
    assert protocol + referral == int(point["fee"]) == flash_loan_fee(amount, fee_sf), point
    want = int(point["referral_fee"])
    if referral != want:
        assert referral == want - 1 and _sdk_referral_is_off_by_binary_rate(amount, fee_sf, bps)
        DEVIATIONS.append((name, amount, bps))


@pytest.mark.parametrize("name", LENDING)
def test_fees_equal_the_sdk(name: str) -> None:
    doc = expected()["variants"][name]
    _, acc = variant_reserve(name)
    fee_sf = Reserve.decode(bytes(acc.data), acc.owner).flash_loan_fee_sf
    assert fee_sf == int(doc["flash_loan_fee_sf"])
    assert len(doc["points"]) > 150 and len(doc["referral_points"]) > 100
    for point in doc["points"]:
        _check(name, point, fee_sf)
    for point in doc["referral_points"]:
        _check(name, point, fee_sf)


def test_referral_deviations_from_the_sdk_are_the_known_ones() -> None:
    """Exactly the points where binary truncation bites, found on the committed data."""
    DEVIATIONS.clear()
    for name in LENDING:
        doc = expected()["variants"][name]
        for point in doc["referral_points"]:
            _check(name, point, int(doc["flash_loan_fee_sf"]))
    assert sorted(DEVIATIONS) == [
        ("jito-fee-1bp", 100_000_000_000_001, 1),
        ("main-fee-half", 888_440, 500),
        ("main-fee-half", 4_282_520, 500),
    ]


@pytest.mark.parametrize("name", VARIANTS)
def test_sdk_decodes_the_reserve_as_we_do(name: str) -> None:
    """The SDK's generated decoder read the same fields at our offsets."""
    doc = expected()["variants"][name]
    _, acc = variant_reserve(name)
    r = Reserve.decode(bytes(acc.data), acc.owner)
    assert str(r.lending_market) == doc["lending_market"]
    assert str(r.liquidity_mint) == doc["liquidity_mint"]
    assert str(r.supply_vault) == doc["supply_vault"]
    assert str(r.fee_vault) == doc["fee_vault"]
    assert str(r.token_program) == doc["token_program"]
    assert r.available_amount == int(doc["available_amount"])
    assert (r.version, r.status, r.emergency_mode) == (
        int(doc["version"]),
        doc["status"],
        doc["reserve_emergency_mode"],
    )


def test_the_oracle_covers_rounding_up_down_ties_and_the_minimum() -> None:
    """The committed points exercise every branch, or the comparison above proves little."""
    seen = set()
    for name, doc in expected()["variants"].items():
        sf = int(doc["flash_loan_fee_sf"])
        if sf in (0, (1 << 64) - 1):
            continue
        for p in doc["points"]:
            if "error" in p:
                seen.add("too-small")
                continue
            exact = Fraction(int(p["amount"]) * sf, 1 << 60)
            frac = exact - int(exact)
            if exact < 1:
                seen.add("minimum")
            elif frac == Fraction(1, 2):
                seen.add("tie")
            elif frac > Fraction(1, 2):
                seen.add("up")
            elif frac > 0:
                seen.add("down")
        for p in doc["referral_points"]:
            if int(p.get("referral_fee", 0)) > 0 and p["bps"] not in (5000, 10000):
                seen.add(f"referral-{name}")
    assert {"too-small", "minimum", "tie", "up", "down"} <= seen
    assert any(s.startswith("referral-") for s in seen)


@pytest.mark.parametrize(
    ("amount", "fee_sf", "bps", "want"),
    [
        # hand-derived from the program's rule on the real Main reserve fee (1e-5):
        # 1e9 * 11529215046068 / 2^60 = 9999.99999999959..., rounds to 10000;
        # its 500 bps referral is floor(9999.9999... * 0.05) = 499, not 500.
        (1_000_000_000, 11529215046068, 500, (9501, 499)),
        # 1e6 lamports: fee_f 9.99999999999959 -> 10 (the SDK's calculateFlashLoanFees says 9.99...)
        (1_000_000, 11529215046068, 0, (10, 0)),
        # below 100,000 lamports the fee is under one unit and raised to exactly 1
        (99_999, 11529215046068, 0, (1, 0)),
        # 150,001 at 5000 bps: fee_f = 1.50001 -> 2; referral floor(0.750005) = 0
        (150_001, 11529215046068, 5000, (2, 0)),
        # 10000 bps gives the whole rounded fee to the referrer
        (1_000_000_000, 11529215046068, 10_000, (0, 10_000)),
        # JITO market SOL reserve: free
        (157_220_397_467_849, 0, 0, (0, 0)),
    ],
)
def test_hand_checked_real_values(
    amount: int, fee_sf: int, bps: int, want: tuple[int, int]
) -> None:
    assert flash_loan_fee_split(amount, fee_sf, bps, True) == want
