"""The ledger's errors: each names what was wrong and where."""

from __future__ import annotations

from lstarb_sdk.errors import LstarbError


class LedgerError(LstarbError):
    """The ledger cannot do what was asked (database unreachable, schema too new, ...)."""


class LedgerNotFound(LedgerError):
    """No ledger exists at the configured place yet (nothing has been recorded)."""


class InvalidTrade(LedgerError, ValueError):
    """A trade record with a missing or out-of-range field; the message names the field."""
