"""anchor_legacy_idl lets anchorpy 0.21 read Anchor >= 0.30 IDLs unchanged in substance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from anchorpy import Idl
from anchorpy.coder.accounts import _account_discriminator
from anchorpy.coder.instruction import _sighash

from lstarb_sdk.testing import anchor_legacy_idl

IDLS = sorted((Path(__file__).parent / "fixtures" / "idl").glob("*.json"))


@pytest.mark.parametrize("path", IDLS, ids=lambda p: p.stem)
def test_discriminators_survive_conversion(path: Path) -> None:
    new = json.loads(path.read_text())
    legacy = Idl.from_json(json.dumps(anchor_legacy_idl(new)))
    assert {a.name for a in legacy.accounts} == {a["name"] for a in new["accounts"]}
    for account in new["accounts"]:
        assert list(_account_discriminator(account["name"])) == account["discriminator"]
    by_name = {ix.name: ix for ix in legacy.instructions}
    for ix in new["instructions"]:
        assert list(_sighash(ix["name"])) == ix["discriminator"]
        assert [a.name for a in by_name[ix["name"]].accounts] == [a["name"] for a in ix["accounts"]]
        assert [a.name for a in by_name[ix["name"]].args] == [a["name"] for a in ix["args"]]


def test_old_shape_is_left_alone() -> None:
    old = {"version": "0.1.0", "name": "x", "instructions": []}
    assert anchor_legacy_idl(old) == old
