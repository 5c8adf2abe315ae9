"""The conformance kit: one call that checks a pool adapter against the SDK contract.

Run it on your adapter and your real fixture accounts::

    from lstarb_sdk.testing import check_adapter, load_dir

    def test_conformance():
        accounts = load_dir("tests/fixtures/my-pool")      # + clock_account() if fees need time
        check_adapter(MyPool, POOL_ADDRESS, accounts, idl=load_json("tests/fixtures/idl/my.json"))

or subclass :class:`AdapterConformance` in a test module to get one pytest
test per law (SQLAlchemy's dialect suite works the same way). Either way
every law below runs; a law that could not check anything fails, and so
does a law whose inputs are missing (no IDL, say) unless you skip it with a
reason (``skip={"swap_instruction": "why"}``), which the report shows.

The laws (see :data:`LAWS`):

``identity``
    ``matches`` accepts the pool and refuses it under another owner;
    ``from_account`` agrees with ``matches`` on every fixture account;
    ``address`` and ``mints`` are what they say.
``decode_contract``
    every account the adapter reads, under a wrong owner, empty or cut to
    its first 8 bytes, is refused with DecodeError and the previous state is
    kept whole, also when a good account came in the same batch.
``none_handling``
    each listed account mapped to None (the chain has no such account)
    never raises; quotes then give a Quote or a QuoteError naming the
    account (or saying there is not enough liquidity, where the program
    reads an absent account as empty); the state equals that of an adapter
    that was told so from the start; the real account brings everything back.
``accounts_stable``
    ``accounts_to_update`` has no duplicates, lists the pool, is stable
    across calls and identical updates, and an adapter fed only what it
    lists (three rounds deep) ends in the state of one fed every fixture
    account: no hidden dependencies.
``summary``
    ``summary()`` is None while the pool cannot quote and a plausible
    PoolSummary once it can.
``quote_exact_in`` / ``quote_exact_out`` / ``quote_edges``
    exact-in output never decreases as the input grows; exact-out asks for
    the least input whose exact-in output reaches the amount
    (``exact_out_tolerance`` units of slack where the program's own
    rounding asks for more); 0, 1 and u64::MAX give a Quote or a QuoteError,
    -1 and 2**64 a QuoteError; quotes are pure (same answer twice, no state
    change); a foreign mint is a QuoteError.
``fuzz``
    ``from_account`` and ``update`` with every truncation, byte and bit
    mutations and random bytes of the real accounts (seeded, bounded by
    ``budget``) raise nothing but DecodeError; whatever they accept gives
    accounts, summaries and quotes that raise nothing but QuoteError; no
    call outlives ``call_timeout``.
``swap_instruction``
    the instructions decode with anchorpy against the program's IDL:
    discriminator, arguments (the amount and bounds the caller gave),
    account order, signer and writable flags, fixed addresses, PDA seeds
    and relations; the trader is the only signer.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.pool import PoolAdapter

LAWS = (
    "identity",
    "decode_contract",
    "none_handling",
    "accounts_stable",
    "summary",
    "quote_exact_in",
    "quote_exact_out",
    "quote_edges",
    "fuzz",
    "swap_instruction",
)


class ConformanceError(AssertionError):
    """An adapter broke one or more laws; the message lists every failure."""


@dataclass
class KitOptions:
    """How the kit runs; every field has a default that suits a real-fixture run.

    ``idl`` is the program's Anchor IDL (a parsed JSON document, either
    shape). ``seed`` fixes every random draw. ``budget`` bounds the fuzz law:
    mutations per account beyond every truncation (and, for the pool
    account, every byte set to 0x00 and 0xFF). ``call_timeout`` is the most
    one decode, update or quote may take. ``exact_out_tolerance`` is the
    slack of the exact-out law. ``skip`` maps a law to the reason it does not
    apply; ``max_failures`` caps what one law reports.
    """

    idl: Mapping[str, Any] | None = None
    seed: int = 0
    budget: int = 200
    call_timeout: float = 2.0
    exact_out_tolerance: int = 0
    skip: Mapping[str, str] = field(default_factory=dict)
    max_failures: int = 12


@dataclass
class LawResult:
    """What one law checked (``checks`` assertions), what failed, or why it was skipped."""

    law: str
    checks: int = 0
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.skipped is not None or (not self.failures and self.checks > 0)


@dataclass
class ConformanceReport:
    """Every law's result for one adapter on one pool."""

    adapter: str
    pool: Pubkey
    results: list[LawResult]

    @property
    def failed(self) -> list[LawResult]:
        return [r for r in self.results if not r.passed]

    def __str__(self) -> str:
        lines = [f"conformance of {self.adapter} on pool {self.pool}:"]
        for r in self.results:
            if r.skipped is not None:
                lines.append(f"  {r.law:<17} skipped: {r.skipped}")
                continue
            status = "ok" if r.passed else "FAILED"
            lines.append(f"  {r.law:<17} {status:<6} {r.checks:>6} checks  {r.seconds:6.2f} s")
            if r.checks == 0 and not r.failures:
                lines.append("      checked nothing: a law that checks nothing fails")
            lines.extend(f"      - {f}" for f in r.failures)
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        """ConformanceError with the whole report when any law failed."""
        if self.failed:
            raise ConformanceError(str(self))


class Failures:
    """Collects one law's failures and counts its checks."""

    def __init__(self, result: LawResult, cap: int) -> None:
        self.result = result
        self.cap = cap
        self._seen: set[str] = set()

    def check(self, ok: bool, message: str) -> bool:
        """Count a check; record ``message`` when it failed. Returns ``ok``."""
        self.result.checks += 1
        if not ok:
            self.fail(message)
        return ok

    def fail(self, message: str) -> None:
        if message in self._seen:
            return
        self._seen.add(message)
        if len(self.result.failures) < self.cap:
            self.result.failures.append(message)
        elif len(self.result.failures) == self.cap:
            self.result.failures.append("... more failures not shown")


def describe(exc: BaseException) -> str:
    """``Type: message (file:line in function)`` of where an exception came from."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" ({last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name})"
    text = str(exc)
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}{where}"


@dataclass
class Subject:
    """The adapter under test and its fixture accounts."""

    adapter: type[PoolAdapter]
    pool: Pubkey
    accounts: Mapping[Pubkey, Account | None]
    options: KitOptions

    def fresh(self) -> PoolAdapter:
        """The adapter built from the pool account alone."""
        account = self.accounts[self.pool]
        assert account is not None, "the pool account itself must exist"
        return self.adapter.from_account(self.pool, account)

    def loaded(self, overrides: Mapping[Pubkey, Account | None] | None = None) -> PoolAdapter:
        """Built, then updated with every fixture account (``overrides`` replace some)."""
        pool = self.fresh()
        batch = dict(self.accounts)
        if overrides:
            batch.update(overrides)
        pool.update(batch)
        return pool


def check_adapter(
    adapter: type[PoolAdapter],
    pool: Pubkey,
    accounts: Mapping[Pubkey, Account | None],
    *,
    idl: Mapping[str, Any] | None = None,
    seed: int = 0,
    budget: int = 200,
    call_timeout: float = 2.0,
    exact_out_tolerance: int = 0,
    skip: Mapping[str, str] | None = None,
    laws: Collection[str] | None = None,
) -> ConformanceReport:
    """Run the conformance laws on ``adapter`` for the pool at ``pool``.

    ``accounts`` are real accounts (the pool's, its vaults, configs, arrays,
    mints, a Clock if its fees read time); a key mapped to None says the
    chain has no such account. Raises :class:`ConformanceError` (an
    AssertionError, so pytest shows it as a failure) listing every broken
    law; returns the report otherwise. ``laws`` runs a subset.
    """
    options = KitOptions(
        idl=idl,
        seed=seed,
        budget=budget,
        call_timeout=call_timeout,
        exact_out_tolerance=exact_out_tolerance,
        skip=dict(skip or {}),
    )
    report = run_laws(Subject(adapter, pool, accounts, options), laws)
    report.raise_for_failures()
    return report


def run_laws(subject: Subject, laws: Collection[str] | None = None) -> ConformanceReport:
    """Every law (or those named) on ``subject``, without raising."""
    from lstarb_sdk.testing import adapter_laws

    unknown = set(laws or ()) | set(subject.options.skip)
    unknown -= set(LAWS)
    if unknown:
        raise ValueError(f"unknown law(s) {sorted(unknown)}; the laws are {', '.join(LAWS)}")
    results = []
    for law in LAWS:
        if laws is not None and law not in laws:
            continue
        result = LawResult(law)
        reason = subject.options.skip.get(law)
        if reason is not None:
            result.skipped = reason
            results.append(result)
            continue
        failures = Failures(result, subject.options.max_failures)
        start = time.perf_counter()
        try:
            adapter_laws.LAW_FUNCTIONS[law](subject, failures)
        except Exception as exc:  # a law that cannot even run is a failure, not a crash
            failures.fail(f"the law could not run: {describe(exc)}")
        result.seconds = time.perf_counter() - start
        results.append(result)
    return ConformanceReport(subject.adapter.__name__, subject.pool, results)


class AdapterConformance:
    """Subclass as ``TestXxx`` in a test module: one pytest test per law.

    Set ``adapter``, ``pool`` and ``accounts`` (and, as needed, ``idl``,
    ``seed``, ``budget``, ``exact_out_tolerance``, ``skip``)::

        class TestMyPoolConformance(AdapterConformance):
            adapter = MyPool
            pool = POOL_ADDRESS
            accounts = load_dir(FIXTURES / "my-pool")
            idl = load_json(FIXTURES / "idl" / "my_program.json")
    """

    adapter: ClassVar[type[PoolAdapter]]
    pool: ClassVar[Pubkey]
    accounts: ClassVar[Mapping[Pubkey, Account | None]]
    idl: ClassVar[Mapping[str, Any] | None] = None
    seed: ClassVar[int] = 0
    budget: ClassVar[int] = 200
    call_timeout: ClassVar[float] = 2.0
    exact_out_tolerance: ClassVar[int] = 0
    skip: ClassVar[Mapping[str, str]] = {}

    def _law(self, law: str) -> None:
        options = KitOptions(
            idl=self.idl,
            seed=self.seed,
            budget=self.budget,
            call_timeout=self.call_timeout,
            exact_out_tolerance=self.exact_out_tolerance,
            skip=dict(self.skip),
        )
        report = run_laws(Subject(self.adapter, self.pool, self.accounts, options), [law])
        report.raise_for_failures()

    def test_identity(self) -> None:
        self._law("identity")

    def test_decode_contract(self) -> None:
        self._law("decode_contract")

    def test_none_handling(self) -> None:
        self._law("none_handling")

    def test_accounts_stable(self) -> None:
        self._law("accounts_stable")

    def test_summary(self) -> None:
        self._law("summary")

    def test_quote_exact_in(self) -> None:
        self._law("quote_exact_in")

    def test_quote_exact_out(self) -> None:
        self._law("quote_exact_out")

    def test_quote_edges(self) -> None:
        self._law("quote_edges")

    def test_fuzz(self) -> None:
        self._law("fuzz")

    def test_swap_instruction(self) -> None:
        self._law("swap_instruction")
