"""Live runs refuse key files others can read, and never echo key bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from solders.keypair import Keypair

from lstarb_runtime.keypair import load_keypair
from lstarb_sdk.errors import ConfigError


def _write(path: Path, keypair: Keypair, mode: int) -> Path:
    path.write_text(json.dumps(list(bytes(keypair))))
    path.chmod(mode)
    return path


def test_private_key_file_loads(tmp_path: Path) -> None:
    kp = Keypair()
    loaded = load_keypair(_write(tmp_path / "id.json", kp, 0o600))
    assert loaded.pubkey() == kp.pubkey()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _write(tmp_path / "id.json", Keypair(), mode)
    with pytest.raises(
        ConfigError, match=rf"accessible by others .*chmod 600 {re.escape(str(path))}"
    ):
        load_keypair(path)


def test_garbage_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    path.write_text(json.dumps([7] * 63))
    path.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        load_keypair(path)
    assert "not a JSON array of 64 bytes" in str(info.value)
    assert "7, 7" not in str(info.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"id\.json"):
        load_keypair(tmp_path / "id.json")
