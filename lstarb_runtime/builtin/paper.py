"""The ``paper`` plugin: a submitter that records trades instead of sending them.

Paper trading is the default of every run; this submitter is what the
executor uses unless ``--live`` is given, so nothing can leave the machine
by accident.
"""

from __future__ import annotations

from collections.abc import Sequence

from solders.transaction import VersionedTransaction

from lstarb_sdk import PluginContext, SubmissionResult, Submitter, hookimpl

LSTARB_SDK_API = "1.0"


class PaperSubmitter(Submitter):
    """Accepts every transaction and sends none of them."""

    name = "paper"

    def __init__(self) -> None:
        self.submitted: list[VersionedTransaction] = []

    async def submit(self, transactions: Sequence[VersionedTransaction]) -> SubmissionResult:
        self.submitted.extend(transactions)
        signature = str(transactions[0].signatures[0]) if transactions else ""
        return SubmissionResult(signature=signature, accepted=True, status="paper")


@hookimpl
def lstarb_submitters(context: PluginContext) -> list[Submitter]:
    return [PaperSubmitter()]
