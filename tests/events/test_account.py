"""The market tape event: AccountEvent to and from the SDK's AccountUpdate and Account."""

from __future__ import annotations

import json

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime.bus.streams import msg_id_of, stream_of, subject_of
from lstarb_sdk.events import AccountEvent, AccountView, decode_event
from lstarb_sdk.events.examples import example_account
from lstarb_sdk.types import AccountUpdate


def _update(**overrides: object) -> AccountUpdate:
    ev = example_account()
    fields: dict[str, object] = {
        "pubkey": ev.pubkey,
        "slot": ev.slot,
        "owner": ev.owner,
        "lamports": ev.lamports,
        "data": ev.data,
        "executable": False,
        "write_version": 3,
        "source": "rpc",
        "received_ns": 17,
    }
    fields.update(overrides)
    return AccountUpdate(**fields)  # type: ignore[arg-type]


def test_from_update_round_trips_through_bytes() -> None:
    update = _update()
    ev = AccountEvent.from_update(update, seq=42)
    back = AccountEvent.decode(ev.encode())
    assert back == ev and back.seq == 42 and back.exists
    assert back.to_update() == update
    account = back.account()
    assert isinstance(account, Account)
    assert (account.lamports, bytes(account.data), account.owner) == (
        update.lamports,
        update.data,
        update.owner,
    )


def test_absent_account_reads_as_none() -> None:
    key = Pubkey.from_string("J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn")
    ev = AccountEvent.from_account(key, None, slot=9, seq=1, source="replay")
    back = AccountEvent.decode(ev.encode())
    assert back.exists is False and back.account() is None
    assert (back.data, back.lamports, back.owner) == (b"", 0, Pubkey.default())
    gone = AccountEvent.from_update(_update(), seq=2, exists=False)
    assert gone.account() is None and gone.data == b"" and gone.slot == _update().slot


def test_from_account_keeps_every_field() -> None:
    ev = example_account()
    account = ev.account()
    assert account is not None
    again = AccountEvent.from_account(
        ev.pubkey,
        account,
        slot=ev.slot,
        seq=ev.seq,
        write_version=ev.write_version,
        source=ev.source,
        received_ns=ev.received_ns,
    )
    assert again == ev


def test_subject_stream_and_message_id() -> None:
    ev = example_account()
    assert subject_of(ev) == f"md.account.{ev.pubkey}"
    assert stream_of(ev).name == "MARKET_DATA"
    mid = msg_id_of(ev)
    prefix, key, slot, wv, digest = mid.split(":")
    assert (prefix, key, slot, wv) == ("acct", str(ev.pubkey), str(ev.slot), "1")
    assert len(digest) == 16 and int(digest, 16) >= 0
    # other data at the same (slot, write_version): another id; another observer: the same id
    other = ev.model_copy(update={"data": ev.data[:-1] + b"\x01"})
    assert msg_id_of(other) != mid
    assert msg_id_of(ev.model_copy(update={"source": "geyser", "received_ns": 1, "seq": 9})) == mid


def test_pool_state_message_id_names_the_state_not_the_observer() -> None:
    from lstarb_sdk.events.examples import example_pool_state

    ev = example_pool_state()
    mid = msg_id_of(ev)
    assert mid.startswith(f"md:{ev.pool}:{ev.slot}:{ev.write_version}:")
    assert msg_id_of(ev.model_copy(update={"source": "other", "received_ns": 5})) == mid
    assert msg_id_of(ev.model_copy(update={"reserve_a": ev.reserve_a + 1})) != mid
    assert msg_id_of(ev.model_copy(update={"fee_ppm": 1})) != mid


def test_view_and_json() -> None:
    ev = example_account()
    view = AccountView(ev.encode()).verify()
    assert (view.slot, view.data, view.exists, view.seq) == (ev.slot, ev.data, True, 1)
    doc = json.loads(ev.model_dump_json())
    assert doc["pubkey"] == str(ev.pubkey)
    assert AccountEvent.model_validate(doc) == ev  # data travels as base64
    assert decode_event(ev.encode()) == ev
