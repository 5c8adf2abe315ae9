"""The error hierarchy every lstarb component raises.

Catching ``LstarbError`` catches everything the framework raises on purpose;
anything else escaping a plugin is a bug in that plugin, and the runtime
reports it as such (with the plugin's name) without stopping.
"""

from __future__ import annotations

from lstarb_sdk.redact import mask_urls


class LstarbError(Exception):
    """Base class of every error lstarb raises on purpose.

    Shown (``str``, ``repr``, a traceback), a message has the secrets of every URL in it
    masked (:func:`lstarb_sdk.redact.mask_urls`): messages name endpoints, and providers put
    API keys in endpoint URLs. Masked when shown, not when raised, so the hot path (a refused
    quote) pays nothing.
    """

    def __str__(self) -> str:
        text = super().__str__()
        return mask_urls(text) if "://" in text else text

    def __repr__(self) -> str:
        text = super().__repr__()
        return mask_urls(text) if "://" in text else text


class DecodeError(LstarbError):
    """Bytes are not what they claim to be.

    Raised for a wrong owner, a wrong size or discriminator, truncated data, or
    a buffer that is not the event it should be. The message says which.
    """


class QuoteError(LstarbError):
    """A quote cannot be given exactly.

    Raised when there is not enough liquidity, or an account the quote depends
    on is not loaded; the message names it. A quote is never approximated.
    """


class ConfigError(LstarbError):
    """Configuration is invalid; the message names the key and the problem."""


class PluginError(LstarbError):
    """A plugin cannot be loaded, is incompatible, or failed at start-up."""


class DataSourceError(LstarbError):
    """A data source received a reply it cannot use (malformed RPC reply, ...)."""


class FundingError(LstarbError):
    """A funding provider cannot wrap the given instructions."""


class SubmissionError(LstarbError):
    """A submitter could not send a transaction or bundle."""
