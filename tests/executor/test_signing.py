"""The executor's signing shortcut gives the transaction the solders constructor gives."""

from __future__ import annotations

import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_runtime.executor.transaction import signed


def _message(payer: Keypair, *others: Keypair) -> MessageV0:
    metas = [AccountMeta(k.pubkey(), True, True) for k in others]
    metas.append(AccountMeta(Pubkey.new_unique(), False, True))
    ix = Instruction(Pubkey.new_unique(), bytes(range(40)), metas)
    return MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.new_unique())


def test_a_payer_signed_message_gives_the_constructors_bytes() -> None:
    payer = Keypair()
    for _ in range(20):
        message = _message(payer)
        tx = signed(message, payer)
        assert bytes(tx) == bytes(VersionedTransaction(message, [payer]))
        assert tx.verify_with_results() == [True]


def test_a_signer_whose_public_key_is_held_gives_the_same_bytes() -> None:
    """The wallet passes the public key it holds (solders derives it on every call)."""
    payer = Keypair()
    held = payer.pubkey()
    for _ in range(5):
        message = _message(payer)
        tx = signed(message, payer, held)
        assert bytes(tx) == bytes(VersionedTransaction(message, [payer]))
        assert tx.verify_with_results() == [True]
    stranger = Keypair()  # the key held for another signer: the constructor judges, and refuses
    with pytest.raises(Exception) as got:
        signed(_message(payer), stranger, stranger.pubkey())
    with pytest.raises(Exception) as want:
        VersionedTransaction(_message(payer), [stranger])
    assert type(got.value) is type(want.value)


def test_other_messages_are_the_constructors_to_judge() -> None:
    payer, stranger, cosigner = Keypair(), Keypair(), Keypair()
    with pytest.raises(Exception) as got:
        signed(_message(payer), stranger)
    with pytest.raises(Exception) as want:
        VersionedTransaction(_message(payer), [stranger])
    assert type(got.value) is type(want.value)
    two = _message(payer, cosigner)  # two signers, one keypair: refused as the constructor does
    with pytest.raises(Exception) as got:
        signed(two, payer)
    with pytest.raises(Exception) as want:
        VersionedTransaction(two, [payer])
    assert type(got.value) is type(want.value)
