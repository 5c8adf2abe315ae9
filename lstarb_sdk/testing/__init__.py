"""Testing plugins: the conformance kit, quote laws, fixtures and IDL checks.

Nothing here is used at run time; it needs the test extra (``lstarb[test]``:
pytest, hypothesis, anchorpy). Most plugins need three things:

- :func:`check_adapter` (or :class:`AdapterConformance`): the whole SDK
  contract of a :class:`~lstarb_sdk.pool.PoolAdapter`, checked on real
  fixture accounts in one call, fuzzing included;
- the single-example laws (:func:`check_monotonic`, :func:`check_bounded`,
  :func:`check_round_trip`) for hypothesis property tests;
- fixture helpers: :func:`load_dir`, :func:`with_data`, :func:`clock_account`,
  :func:`token2022_mint`, :func:`load_json`, and :func:`anchor_legacy_idl`
  for anchorpy.
"""

from __future__ import annotations

from lstarb_sdk.testing.conformance import (
    LAWS,
    AdapterConformance,
    ConformanceError,
    ConformanceReport,
    KitOptions,
    LawResult,
    check_adapter,
    run_laws,
)
from lstarb_sdk.testing.fixtures import (
    accounts_of,
    clock_account,
    empty_account,
    load_account,
    load_accounts,
    load_dir,
    load_json,
    load_named,
    load_variant,
    patch_account,
    patched,
    token2022_mint,
    with_data,
)
from lstarb_sdk.testing.idl import anchor_legacy_idl, check_instruction, idl_instructions
from lstarb_sdk.testing.laws import (
    LawNotChecked,
    check_bounded,
    check_monotonic,
    check_round_trip,
    not_checked,
    try_quote,
)

__all__ = [
    "LAWS",
    "AdapterConformance",
    "ConformanceError",
    "ConformanceReport",
    "KitOptions",
    "LawNotChecked",
    "LawResult",
    "accounts_of",
    "anchor_legacy_idl",
    "check_adapter",
    "check_bounded",
    "check_instruction",
    "check_monotonic",
    "check_round_trip",
    "clock_account",
    "empty_account",
    "idl_instructions",
    "load_account",
    "load_accounts",
    "load_dir",
    "load_json",
    "load_named",
    "load_variant",
    "not_checked",
    "patch_account",
    "patched",
    "run_laws",
    "token2022_mint",
    "try_quote",
    "with_data",
]
