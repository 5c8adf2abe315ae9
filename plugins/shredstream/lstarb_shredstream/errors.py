"""The one error of this plugin's decoders: bytes that are not what the proxy should send."""

from __future__ import annotations

from lstarb_sdk.errors import DecodeError


class MalformedInput(DecodeError):
    """A protobuf message or bincode batch that does not parse.

    ``offset`` is where in the buffer reading stopped and ``expected`` what was expected
    there, so the one log line a kind of fault gets says what was wrong.
    """

    def __init__(self, what: str, offset: int, expected: str) -> None:
        super().__init__(f"{what}: at byte {offset}, expected {expected}")
        self.what = what
        self.offset = offset
        self.expected = expected
