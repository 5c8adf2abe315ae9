"""``with`` for the runtime's objects that hold files or connections and have ``close()``.

Why a base class and not ``contextlib.closing``: the objects are used as ``with Ledger(...)
as ledger`` and ``with RecordingWriter(...) as writer`` all over the runtime and the tests;
one definition of what leaving the block does keeps them the same.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self


class Closing(abc.ABC):
    """Leaving a ``with`` block calls :meth:`close`, whether or not the block raised."""

    @abc.abstractmethod
    def close(self) -> object:
        """Release what the object holds; safe to call more than once."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
