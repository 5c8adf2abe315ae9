"""The SDK 1.1 additions to FundingProvider and Submitter keep 1.0 implementations valid."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_sdk import FundedInstructions, FundingProvider, SubmissionResult, Submitter
from lstarb_sdk.submitter import FINAL_STATUSES


class OldLender(FundingProvider):
    """A provider written against SDK 1.0: no state, no offset."""

    name = "old"

    def supports(self, mint: Pubkey) -> bool:
        return True

    def fee(self, mint: Pubkey, amount: int) -> int:
        return 0

    def wrap(  # type: ignore[override]
        self,
        instructions: Sequence[Instruction],
        *,
        mint: Pubkey,
        amount: int,
        user: Pubkey,
        user_token_account: Pubkey,
    ) -> FundedInstructions:
        return FundedInstructions(list(instructions), 0)


class PlainSubmitter(Submitter):
    name = "plain"

    async def submit(self, transactions: Sequence[VersionedTransaction]) -> SubmissionResult:
        return SubmissionResult(signature="s", accepted=True, status="accepted")


class TippedSubmitter(PlainSubmitter):
    name = "tipped"
    supports_bundles = True
    max_bundle_size = 4
    min_tip_lamports = 500
    ACCOUNTS = tuple(Pubkey.new_unique() for _ in range(4))

    def tip_accounts(self) -> Sequence[Pubkey]:
        return self.ACCOUNTS


def test_funding_defaults() -> None:
    old = OldLender()
    assert list(old.accounts_to_update()) == []
    assert old.update({Pubkey.new_unique(): None}) is None
    assert old.max_amount(Pubkey.new_unique()) is None
    funded = old.wrap(
        [],
        mint=Pubkey.new_unique(),
        amount=1,
        user=Pubkey.new_unique(),
        user_token_account=Pubkey.new_unique(),
    )
    assert (funded.borrow_index, funded.repay_amount) == (0, 0)


def test_submitter_without_bundles_takes_no_tip() -> None:
    plain = PlainSubmitter()
    assert not plain.supports_bundles and plain.max_bundle_size == 1
    assert plain.tip_instruction(Pubkey.new_unique(), 10_000) is None


def test_default_tip_instruction_is_a_transfer_to_a_random_tip_account() -> None:
    sub = TippedSubmitter()
    payer = Pubkey.new_unique()
    rng = random.Random(1)
    picked = set()
    for _ in range(40):
        ix = sub.tip_instruction(payer, 1_234, rng=rng)
        assert ix is not None and str(ix.program_id) == "11111111111111111111111111111111"
        assert bytes(ix.data) == (2).to_bytes(4, "little") + (1_234).to_bytes(8, "little")
        assert ix.accounts[0].pubkey == payer and ix.accounts[0].is_signer
        picked.add(ix.accounts[1].pubkey)
    assert picked == set(TippedSubmitter.ACCOUNTS)
    with pytest.raises(ValueError, match="tipped: tip of 499 lamports is below the minimum 500"):
        sub.tip_instruction(payer, 499)


def test_final_statuses() -> None:
    assert {"rejected", "landed", "failed", "invalid"} == FINAL_STATUSES
