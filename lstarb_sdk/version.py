"""Versions of the SDK.

``__version__`` is the distribution's version. ``SDK_API_VERSION`` is the
contract plugins are written against: the major number changes only when a
change breaks existing plugins (a hook or interface removed or changed), the
minor number grows when something is added. A plugin declares the API version
it was built for in its top-level module as ``LSTARB_SDK_API = "1.0"``; the
runtime refuses a plugin whose major number differs from its own, or whose
minor number is newer than the runtime knows.

1.1 (additive): ``PoolAdapter.update`` may map a key to None (the chain has no
such account); ``PoolAdapter.summary`` and ``PoolAdapter.discovery_filters``;
``DataSource.discover``, ``DataSource.endpoint_health`` (``EndpointHealth``) and
``DataSource.more_arrived``; the
conformance kit in :mod:`lstarb_sdk.testing`;
``FundingProvider.wrap(instruction_offset=...)``, ``accounts_to_update``/``update``/
``max_amount`` and ``FundedInstructions.borrow_index``/``repay_amount``; the bundle
attributes of ``Submitter`` (``supports_bundles``, ``max_bundle_size``,
``min_tip_lamports``, ``tip_accounts``, ``tip_instruction``) and its status names;
``PoolAdapter.swap_compute_units`` and ``FundingProvider.compute_units`` (what the planner
sizes a transaction's compute-unit limit with); :class:`~lstarb_sdk.fees.PriorityFeeSource`
(recent prioritization fees).

1.2 (additive): :class:`~lstarb_sdk.PendingTransaction`, a transaction seen as the leader
produces its block, before execution (no result, no account data), which
``DataSource.stream`` may now yield besides account updates and slot ticks; the observer hook
``lstarb_on_pending_transaction(transaction, pools)``, called by the scanner for those that
write an account a followed pool reads. A runtime of 1.1 never receives one, so a plugin
that yields them declares 1.2. :mod:`lstarb_sdk.reconnect`: ``Backoff`` (jittered reconnect
delays) and ``ProblemLog`` (bad input counted by kind, the first of each logged), what every
streaming source needs (the ``rpc`` and ``shredstream`` plugins use them).
"""

from __future__ import annotations

__version__ = "0.1.0"
SDK_API_VERSION = "1.2"


def parse_api_version(text: str) -> tuple[int, int]:
    """Parse ``"MAJOR.MINOR"``; raises ValueError naming the bad text."""
    parts = text.strip().split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"SDK API version must look like '1.0', got {text!r}")
    return int(parts[0]), int(parts[1])


def api_compatible(plugin_api: str, runtime_api: str = SDK_API_VERSION) -> bool:
    """True when a plugin built for ``plugin_api`` can run on ``runtime_api``."""
    p_major, p_minor = parse_api_version(plugin_api)
    r_major, r_minor = parse_api_version(runtime_api)
    return p_major == r_major and p_minor <= r_minor
