"""The submitter interface: send signed transactions, report outcomes.

Submitters receive transactions already signed by the runtime; plugins never
see a keypair.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

from solders.transaction import VersionedTransaction

from lstarb_sdk.types import SubmissionResult


class Submitter(abc.ABC):
    """Sends transactions or bundles (RPC, Jito block engine, ...)."""

    name: ClassVar[str]

    @abc.abstractmethod
    async def submit(self, transactions: Sequence[VersionedTransaction]) -> SubmissionResult:
        """Send the transactions (one, or a bundle), return once accepted or refused.

        Raises :class:`~lstarb_sdk.errors.SubmissionError` for transport
        failures; a refusal by the peer is a result with ``accepted=False``.
        """

    async def confirm(
        self, result: SubmissionResult, *, timeout_s: float = 30.0
    ) -> SubmissionResult:
        """Wait for the outcome of a submission; the default returns it as is."""
        return result

    async def close(self) -> None:  # noqa: B027 - optional, most submitters hold nothing
        """Release connections."""
