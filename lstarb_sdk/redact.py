"""URLs without their secrets, for anything a person reads: settings shown, errors, logs
(SDK API 1.1, additive).

Why URLs need their own rule: node and block-engine providers authenticate by the URL
itself. The key is in the query (``?api-key=...``), in the path (``/v2/<key>``,
``/<token>/``), or in the user part (``nats://<token>@host``, ``postgres://u:<pw>@host``),
so a URL printed whole is a credential printed. What is kept is what a reader needs to tell
endpoints apart: scheme, host, port, and path segments that are words (``/v2``, ``/solana``).

What counts as a secret here:

- the password of ``user:password@``, and a lone user part that looks like a token;
- every query value whose name says so (``api-key``, ``apikey``, ``key``, ``token``,
  ``auth``, ``secret``, ``password``, ...), and any query value or path segment that looks
  like a token: 16 or more characters of letters, digits, ``-``, ``_``, ``.``, ``~``, with at
  least one digit (an API key, a UUID, a hex or base58 string).

A base58 public key in a path looks like a token too and is masked: a false positive costs a
reader a little, a false negative costs the key.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import SplitResult, urlsplit, urlunsplit

MASK: Final = "********"

_SECRET_NAME: Final = re.compile(
    r"(?i)^(?:x-)?(?:api[-_]?key|apikey|key|token|access[-_]?token|auth\w*|secret\w*|"
    r"pass(?:word|wd)?|sig(?:nature)?|session|credential\w*|jwt)$"
)
_TOKENISH: Final = re.compile(r"^(?=[^/]*\d)[A-Za-z0-9\-_.~]{16,}$")
_URL_IN_TEXT: Final = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,15}://[^\s\"'<>`]+")


def _looks_like_token(text: str) -> bool:
    return bool(_TOKENISH.match(text))


def mask_url(url: str) -> str:
    """``url`` with every secret part replaced by :data:`MASK` (see the module docstring);
    text that is not a URL with a scheme and a host comes back unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    return urlunsplit(
        (
            parts.scheme,
            _netloc(parts),
            _path(parts.path),
            _query(parts.query),
            MASK if parts.fragment and _looks_like_token(parts.fragment) else parts.fragment,
        )
    )


def mask_urls(text: str) -> str:
    """Every URL inside free text (an error message, a log line) passed through
    :func:`mask_url`; the rest of the text unchanged."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: _mask_trailing(m.group(0)), text)


def _mask_trailing(found: str) -> str:
    """A URL matched in prose may end in punctuation that is not part of it."""
    stripped = found.rstrip(".,;:!?)]}")
    return mask_url(stripped) + found[len(stripped) :]


def _netloc(parts: SplitResult) -> str:
    netloc = parts.netloc
    if "@" not in netloc:
        return netloc
    userinfo, _, hostport = netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    if colon:
        return f"{user}:{MASK}@{hostport}"
    return f"{MASK if _looks_like_token(user) else user}@{hostport}"


def _path(path: str) -> str:
    if not path:
        return path
    return "/".join(MASK if _looks_like_token(seg) else seg for seg in path.split("/"))


def _query(query: str) -> str:
    if not query:
        return query
    out = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        if eq and value and (_SECRET_NAME.match(name) or _looks_like_token(value)):
            out.append(f"{name}={MASK}")
        elif not eq and _looks_like_token(name):
            out.append(MASK)
        else:
            out.append(pair)
    return "&".join(out)
