"""The submitter interface: send signed transactions, report outcomes.

Submitters receive transactions already signed by the runtime; plugins never
see a keypair.

Bundles (SDK 1.1). A block engine such as Jito's takes up to
``max_bundle_size`` transactions that land together or not at all, and only
looks at a bundle that pays it a tip. Because the tip must be inside the
signed transactions, the executor asks the submitter *before* signing:
:attr:`Submitter.supports_bundles` says whether bundles are taken,
:meth:`Submitter.tip_instruction` builds the tip payment, and the executor
puts it as the last instruction of the last transaction of the bundle (so a
trade that fails pays no tip). A submitter without bundles returns None
there and the executor adds nothing.

Statuses a submitter reports in :class:`~lstarb_sdk.types.SubmissionResult`:
``submit`` returns ``accepted`` (the peer took it; nothing is known yet) or
``rejected`` (refused, with ``error``); ``confirm`` follows it to ``landed``,
``failed`` (it reached the chain or the auction and failed), ``invalid``
(the peer no longer knows it: dropped or expired) or, when ``timeout_s``
runs out first, ``pending``.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Sequence
from typing import ClassVar

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from lstarb_sdk.types import SubmissionResult

STATUS_ACCEPTED = "accepted"
STATUS_REJECTED = "rejected"
STATUS_LANDED = "landed"
STATUS_FAILED = "failed"
STATUS_INVALID = "invalid"
STATUS_PENDING = "pending"

FINAL_STATUSES = frozenset({STATUS_REJECTED, STATUS_LANDED, STATUS_FAILED, STATUS_INVALID})
"""Statuses after which ``confirm`` has nothing more to learn."""

_RNG = random.Random()


class Submitter(abc.ABC):
    """Sends transactions or bundles (RPC, Jito block engine, ...)."""

    name: ClassVar[str]

    supports_bundles: ClassVar[bool] = False
    """Whether ``submit`` takes several transactions that land atomically (SDK 1.1)."""

    max_bundle_size: ClassVar[int] = 1
    """How many transactions one ``submit`` call may carry (SDK 1.1)."""

    min_tip_lamports: ClassVar[int] = 0
    """The smallest tip the peer accepts; 0 when it takes none (SDK 1.1)."""

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

    # -- bundles and tips (SDK 1.1) ------------------------------------------------

    def tip_accounts(self) -> Sequence[Pubkey]:
        """Accounts a tip may be paid to (empty: this submitter takes no tip)."""
        return ()

    def tip_instruction(
        self, payer: Pubkey, lamports: int, *, rng: random.Random | None = None
    ) -> Instruction | None:
        """The instruction that pays a tip of ``lamports`` from ``payer``, or None.

        The default is a System Program transfer to one of
        :meth:`tip_accounts` picked at random (spreading write locks across
        them, as block engines ask). The executor makes it the last
        instruction of the bundle's last transaction and keeps the tip
        account a static key of the message (never through a lookup table).
        Raises ValueError when ``lamports`` is below :attr:`min_tip_lamports`.
        """
        accounts = self.tip_accounts()
        if not accounts:
            return None
        if lamports < self.min_tip_lamports:
            raise ValueError(
                f"{self.name}: tip of {lamports} lamports is below the minimum "
                f"{self.min_tip_lamports}"
            )
        to = (rng or _RNG).choice(list(accounts))
        return transfer(TransferParams(from_pubkey=payer, to_pubkey=to, lamports=lamports))
