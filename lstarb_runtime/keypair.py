"""Loading the signing keypair for live runs.

Only the runtime signs; plugins never see the keypair. A key file that
others can read is refused, because on a shared host that is a key already
lost. Messages name the file and the problem, never its contents.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from solders.keypair import Keypair

from lstarb_sdk.errors import ConfigError


def check_permissions(path: Path, what: str = "keypair file") -> None:
    """Refuse a secret file (a key, tokens) readable or writable by group or others."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"{what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{what} {path}: not a regular file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what} {path} is accessible by others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )


def load_keypair(path: Path) -> Keypair:
    """Read a Solana CLI keypair file (a JSON array of 64 bytes)."""
    check_permissions(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ConfigError(f"keypair file {path}: not a JSON array of 64 bytes") from None
    if not (isinstance(raw, list) and len(raw) == 64 and all(isinstance(b, int) for b in raw)):
        raise ConfigError(f"keypair file {path}: not a JSON array of 64 bytes")
    try:
        return Keypair.from_bytes(bytes(raw))
    except Exception:
        raise ConfigError(
            f"keypair file {path}: the 64 bytes are not a valid ed25519 keypair"
        ) from None
