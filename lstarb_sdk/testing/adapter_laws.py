"""The laws of :mod:`lstarb_sdk.testing.conformance`, one function each.

Each law gets the :class:`Subject` (adapter class, pool, fixture accounts,
options) and a :class:`Failures` collector, counts every assertion it makes
and records each failure with enough detail to reproduce it: the account,
the mutation, the amount, the exception and where it was raised.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.amounts import U64_MAX
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.testing.conformance import Failures, Subject, describe
from lstarb_sdk.testing.fixtures import with_data
from lstarb_sdk.testing.fuzz import (
    CallTimeout,
    Mutation,
    byte_sweep,
    deadline,
    sampled,
    truncations,
)
from lstarb_sdk.types import (
    PoolSummary,
    Quote,
    SwapInstructions,
    SwapParams,
    max_in_with_slippage,
    min_out_with_slippage,
)

# -- observing an adapter --------------------------------------------------------------------

Outcome = tuple[Any, ...]
"""``("quote", in, out, fee, fee_mint)``, ``("refused", message)`` or ``("raised", text)``."""


def outcome(pool: PoolAdapter, amount: int, mint: Pubkey, exact_in: bool) -> Outcome:
    try:
        q = pool.quote(amount, mint, exact_in=exact_in)
    except QuoteError as exc:
        return ("refused", str(exc))
    except Exception as exc:
        return ("raised", describe(exc))
    if not isinstance(q, Quote):
        return ("raised", f"quote returned {type(q).__name__}, not a Quote")
    return ("quote", q.in_amount, q.out_amount, q.fee_amount, q.fee_mint)


@dataclass(frozen=True)
class Probe:
    """One quote the kit asks again and again to see whether state changed."""

    mint: Pubkey
    exact_in: bool
    amount: int

    def __str__(self) -> str:
        return f"{'exact-in' if self.exact_in else 'exact-out'} {self.amount} of {self.mint}"


def _grid() -> list[int]:
    out = {U64_MAX}
    for e in range(20):
        for m in (1, 2, 5):
            v = m * 10**e
            if v <= U64_MAX:
                out.add(v)
    return sorted(out)


GRID = _grid()


def probes(pool: PoolAdapter) -> list[Probe]:
    """Per input mint and mode: the smallest, middle and largest grid amount that quotes,
    and the first one past the largest that does not (when there is one)."""
    out: list[Probe] = []
    for mint in pool.mints:
        for exact_in in (True, False):
            ok = [a for a in GRID if outcome(pool, a, mint, exact_in)[0] == "quote"]
            chosen = {ok[0], ok[len(ok) // 2], ok[-1]} if ok else {1, 10**6}
            beyond = [a for a in GRID if ok and a > ok[-1]]
            if beyond:
                chosen.add(beyond[0])
            out.extend(Probe(mint, exact_in, a) for a in sorted(chosen))
    return out


def snapshot(pool: PoolAdapter, probe_list: list[Probe]) -> tuple[Outcome, ...]:
    return tuple(outcome(pool, p.amount, p.mint, p.exact_in) for p in probe_list)


@dataclass(frozen=True)
class State:
    """What the kit can see of an adapter: quotes at the probes, listed accounts, summary."""

    quotes: tuple[Outcome, ...]
    keys: tuple[Pubkey, ...]
    summary: Any

    def differs(self, other: State, probe_list: list[Probe], *, ordered: bool = True) -> str:
        """'' when equal, else what differs first."""
        for p, a, b in zip(probe_list, self.quotes, other.quotes, strict=True):
            if a != b:
                return f"quote {p}: {_short(a)} vs {_short(b)}"
        keys_a = self.keys if ordered else tuple(sorted(self.keys, key=bytes))
        keys_b = other.keys if ordered else tuple(sorted(other.keys, key=bytes))
        if keys_a != keys_b:
            extra = sorted(set(self.keys) ^ set(other.keys), key=bytes)
            return f"accounts_to_update differs ({', '.join(map(str, extra)) or 'order'})"
        if self.summary != other.summary:
            return f"summary {self.summary} vs {other.summary}"
        return ""


def _short(o: Outcome) -> str:
    if o[0] == "quote":
        return f"Quote(in={o[1]}, out={o[2]}, fee={o[3]})"
    text = str(o[1])
    return f"{o[0]}: {text[:100]}"


def state(pool: PoolAdapter, probe_list: list[Probe]) -> State:
    try:
        keys = tuple(pool.accounts_to_update())
    except Exception as exc:
        keys = (describe(exc),)  # type: ignore[assignment]
    try:
        summary: Any = pool.summary()
    except Exception as exc:
        summary = describe(exc)
    return State(snapshot(pool, probe_list), keys, summary)


def _has_data(account: Account | None) -> bool:
    return account is not None and len(account.data) > 0


def _other_owner(seed: int) -> Pubkey:
    return Pubkey.from_bytes(random.Random(seed ^ 0x5EED).randbytes(32))


# -- identity --------------------------------------------------------------------------------


def law_identity(s: Subject, f: Failures) -> None:
    cls = s.adapter
    f.check(isinstance(getattr(cls, "program_id", None), Pubkey), f"{cls.__name__}.program_id")
    f.check(bool(getattr(cls, "dex", "")), f"{cls.__name__}.dex is empty")
    account = s.accounts[s.pool]
    assert account is not None
    f.check(cls.matches(account), "matches() refuses the pool account")
    pool = s.fresh()
    f.check(pool.address == s.pool, f"address is {pool.address}, not {s.pool}")
    mints = pool.mints
    f.check(
        isinstance(mints, tuple) and len(mints) == 2 and mints[0] != mints[1],
        f"mints {mints!r} are not two distinct keys",
    )
    stranger = with_data(account, account.data, _other_owner(s.options.seed))
    f.check(not cls.matches(stranger), "matches() accepts the pool under another owner")
    try:
        cls.from_account(s.pool, stranger)
        f.fail("from_account() accepts the pool account under another owner")
    except DecodeError:
        f.check(True, "")
    except Exception as exc:
        f.fail(f"from_account() under another owner raised {describe(exc)}")
    for key, acc in s.accounts.items():
        if key == s.pool or not _has_data(acc):
            continue
        assert acc is not None
        try:
            accepted = cls.matches(acc)
        except Exception as exc:
            f.fail(f"matches({key}) raised {describe(exc)}")
            continue
        if not accepted:
            f.check(True, "")
            continue
        try:
            cls.from_account(key, acc)
            f.check(True, "")
        except Exception as exc:
            f.fail(f"matches() accepts {key} but from_account() raises {describe(exc)}")
    loaded = s.loaded()
    f.check(loaded.mints == mints, "mints changed after update()")


# -- decode contract -------------------------------------------------------------------------


def _bad_variants(account: Account, seed: int) -> list[tuple[str, Account]]:
    data = account.data
    out = [
        ("under another owner", with_data(account, data, _other_owner(seed))),
        ("with no data", with_data(account, b"")),
    ]
    if len(data) > 8:
        out.append(("cut to its first 8 bytes", with_data(account, data[:8])))
    return out


def read_keys(s: Subject, loaded: PoolAdapter) -> list[Pubkey]:
    """Fixture accounts the adapter reads: listed when built from the pool alone or loaded."""
    listed = dict.fromkeys([*s.fresh().accounts_to_update(), *loaded.accounts_to_update()])
    return [k for k in listed if _has_data(s.accounts.get(k))]


def law_decode_contract(s: Subject, f: Failures) -> None:
    base = s.loaded()
    probe_list = probes(base)
    before = state(base, probe_list)
    keys = read_keys(s, base)
    pool = base
    for key in keys:
        account = s.accounts[key]
        assert account is not None
        for label, bad in _bad_variants(account, s.options.seed):
            what = f"account {key} {label}"
            try:
                pool.update({key: bad})
            except DecodeError:
                after = state(pool, probe_list)
                diff = before.differs(after, probe_list)
                f.check(not diff, f"{what}: DecodeError, but state changed: {diff}")
                continue
            except Exception as exc:
                f.fail(f"{what}: update() raised {describe(exc)} (only DecodeError may escape)")
            else:
                f.fail(f"{what}: update() accepted it")
            pool = s.loaded()
    # A batch with a good account and a bad one commits neither.
    helpers = [k for k in keys if k != s.pool]
    for key in keys:
        account = s.accounts[key]
        assert account is not None
        donor = next((k for k in helpers if k != key), None)
        if donor is None:
            continue
        partial = s.fresh()
        partial.update({k: a for k, a in s.accounts.items() if k != donor})
        before_partial = state(partial, probe_list)
        label, bad = _bad_variants(account, s.options.seed)[0]
        good = s.accounts[donor]
        try:
            partial.update({donor: good, key: bad})
            f.fail(f"batch of good {donor} and {key} {label}: update() accepted it")
        except DecodeError:
            diff = before_partial.differs(state(partial, probe_list), probe_list)
            f.check(
                not diff,
                f"batch of good {donor} and bad {key}: DecodeError, but the good one was "
                f"committed: {diff}",
            )
        except Exception as exc:
            f.fail(f"batch with {key} {label}: update() raised {describe(exc)}")


# -- None handling ---------------------------------------------------------------------------


def _names(message: str, key: Pubkey) -> bool:
    return str(key) in message or "liquidity" in message.lower()


def law_none_handling(s: Subject, f: Failures) -> None:
    reference = s.loaded()
    probe_list = probes(reference)
    ref_state = state(reference, probe_list)
    unrelated = Pubkey.from_bytes(random.Random(s.options.seed + 1).randbytes(32))
    for key in [*reference.accounts_to_update(), unrelated]:
        told_late = s.loaded()
        try:
            told_late.update({key: None})
        except Exception as exc:
            f.fail(f"update({{{key}: None}}) raised {describe(exc)}")
            continue
        late = state(told_late, probe_list)
        for p, was, now in zip(probe_list, ref_state.quotes, late.quotes, strict=True):
            if now[0] == "raised":
                f.fail(f"{key} -> None, then quote {p}: {now[1]}")
                continue
            f.check(True, "")
            if was[0] == "quote" and now[0] == "refused":
                f.check(
                    _names(now[1], key),
                    f"{key} -> None, then quote {p} refused without naming it: {now[1]!r}",
                )
        if key == unrelated:
            diff = ref_state.differs(late, probe_list)
            f.check(not diff, f"an account the pool does not read -> None: {diff}")
            continue
        try:
            told_early = s.loaded({key: None})
        except Exception as exc:
            f.fail(f"building with {key} -> None raised {describe(exc)}")
            continue
        diff = late.differs(state(told_early, probe_list), probe_list, ordered=False)
        f.check(
            not diff,
            f"{key} -> None after its data differs from -> None from the start "
            f"(stale data kept?): {diff}",
        )
        account = s.accounts.get(key)
        if account is not None:
            try:
                told_late.update({key: account})
            except Exception as exc:
                f.fail(f"{key} restored after None: update() raised {describe(exc)}")
                continue
            diff = ref_state.differs(state(told_late, probe_list), probe_list, ordered=False)
            f.check(not diff, f"{key} restored after None: {diff}")


# -- accounts_to_update ----------------------------------------------------------------------


def law_accounts_stable(s: Subject, f: Failures) -> None:
    loaded = s.loaded()
    probe_list = probes(loaded)
    keys = loaded.accounts_to_update()
    f.check(all(isinstance(k, Pubkey) for k in keys), "accounts_to_update() holds a non-Pubkey")
    f.check(len(set(keys)) == len(keys), f"accounts_to_update() repeats keys: {keys}")
    f.check(s.pool in keys, "accounts_to_update() does not list the pool itself")
    f.check(keys == loaded.accounts_to_update(), "accounts_to_update() changes between calls")
    before = state(loaded, probe_list)
    loaded.update(dict(s.accounts))
    diff = before.differs(state(loaded, probe_list), probe_list)
    f.check(not diff, f"the same accounts again changed the state: {diff}")
    # The runtime feeds only what the adapter lists: three rounds must reach the same state.
    replayed = s.fresh()
    for _ in range(3):
        listed = replayed.accounts_to_update()
        replayed.update({k: s.accounts[k] for k in listed if k in s.accounts})
    diff = before.differs(state(replayed, probe_list), probe_list, ordered=False)
    f.check(
        not diff,
        (f"fed only what it lists (3 rounds), the adapter differs (hidden dependency?): {diff}"),
    )
    f.check(
        replayed.accounts_to_update() == replayed.accounts_to_update(),
        "accounts_to_update() unstable after the replay",
    )


# -- summary ---------------------------------------------------------------------------------


def law_summary(s: Subject, f: Failures) -> None:
    for label, pool in (("built from the pool alone", s.fresh()), ("fully loaded", s.loaded())):
        probe_list = probes(pool)
        quotes = snapshot(pool, probe_list)
        can_quote = any(o[0] == "quote" for o in quotes)
        try:
            summary = pool.summary()
        except Exception as exc:
            f.fail(f"{label}: summary() raised {describe(exc)}")
            continue
        if not can_quote:
            f.check(summary is None, f"{label}: no quote succeeds, yet summary() is {summary}")
            continue
        if not f.check(
            isinstance(summary, PoolSummary),
            f"{label}: the pool quotes, yet summary() is {summary!r}",
        ):
            continue
        assert isinstance(summary, PoolSummary)
        fields = (summary.reserve_a, summary.reserve_b, summary.liquidity, summary.fee_ppm)
        f.check(
            all(isinstance(v, int) and v >= 0 for v in fields) and summary.fee_ppm <= 1_000_000,
            f"{label}: implausible summary {summary}",
        )
        f.check(summary == pool.summary(), f"{label}: summary() changes between calls")


# -- quote laws ------------------------------------------------------------------------------


def _amounts(rng: random.Random) -> list[int]:
    extra = {int(math.exp(rng.uniform(0, math.log(U64_MAX)))) for _ in range(24)}
    return sorted(set(GRID) | extra)


def _edge(pool: PoolAdapter, mint: Pubkey, exact_in: bool, ok: int, bad: int) -> int:
    """Largest amount in [ok, bad) that still quotes, by bisection."""
    while bad - ok > 1:
        mid = (ok + bad) // 2
        if outcome(pool, mid, mint, exact_in)[0] == "quote":
            ok = mid
        else:
            bad = mid
    return ok


def _sample(
    pool: PoolAdapter, mint: Pubkey, exact_in: bool, rng: random.Random
) -> dict[int, Outcome]:
    """Outcomes over the grid, random amounts and both sides of the largest quoting amount."""
    seen = {a: outcome(pool, a, mint, exact_in) for a in _amounts(rng)}
    ok = [a for a, o in seen.items() if o[0] == "quote"]
    if ok:
        top = max(ok)
        above = [a for a in seen if a > top]
        if above:
            edge = _edge(pool, mint, exact_in, top, min(above))
            for a in (edge - 1, edge, edge + 1):
                if a > 0:
                    seen[a] = outcome(pool, a, mint, exact_in)
    return dict(sorted(seen.items()))


def _sane(f: Failures, pool: PoolAdapter, mint: Pubkey, exact_in: bool, a: int, o: Outcome) -> bool:
    where = f"{'exact-in' if exact_in else 'exact-out'} {a} of {mint}"
    if o[0] == "raised":
        f.fail(f"quote {where}: {o[1]} (only QuoteError may escape)")
        return False
    if o[0] == "refused":
        return False
    _, q_in, q_out, fee, fee_mint = o
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (q_in, q_out, fee))
    return f.check(
        ints
        and q_in >= 0
        and q_out >= 0
        and fee >= 0
        and (q_in == a if exact_in else q_out >= a)  # exact-out: a, or an exact-in's payout
        and (fee_mint is None or fee_mint in pool.mints),
        f"quote {where}: implausible {_short(o)} (fee mint {fee_mint})",
    )


def law_quote_exact_in(s: Subject, f: Failures) -> None:
    pool = s.loaded()
    rng = random.Random(s.options.seed)
    for mint in pool.mints:
        seen = _sample(pool, mint, True, rng)
        good = [(a, o) for a, o in seen.items() if _sane(f, pool, mint, True, a, o)]
        pairs = 0
        for (a, oa), (b, ob) in itertools.pairwise(good):
            pairs += 1
            f.check(
                oa[2] <= ob[2],
                f"exact-in {mint}: {a} in gives {oa[2]} out but {b} in gives {ob[2]} "
                "(not monotonic)",
            )
        if pairs == 0:
            f.fail(f"exact-in {mint}: fewer than two amounts quoted, monotonicity checked nothing")


def law_quote_exact_out(s: Subject, f: Failures) -> None:
    pool = s.loaded()
    rng = random.Random(s.options.seed + 2)
    tolerance = s.options.exact_out_tolerance
    for mint in pool.mints:
        seen = _sample(pool, mint, False, rng)
        good = [(a, o) for a, o in seen.items() if _sane(f, pool, mint, False, a, o)]
        if not good:
            f.fail(f"exact-out {mint}: no amount quoted, the law checked nothing")
            continue
        for (a, oa), (b, ob) in itertools.pairwise(good):
            f.check(
                oa[1] <= ob[1],
                f"exact-out {mint}: {a} out needs {oa[1]} in but {b} out needs {ob[1]}",
            )
        for want, o in good:
            need = o[1]
            reaches = [outcome(pool, need + t, mint, True) for t in range(tolerance + 1)]
            f.check(
                any(r[0] == "quote" and r[2] >= want for r in reaches),
                f"exact-out {want} of {mint} asks {need} in, but exact-in {need}"
                f"{f'..+{tolerance}' if tolerance else ''} gives {_short(reaches[-1])}",
            )
            f.check(
                o[2] == want or (reaches[0][0] == "quote" and o[2] == reaches[0][2]),
                f"exact-out {want} of {mint} reports {o[2]} out: neither the amount asked "
                f"nor what exact-in {need} pays ({_short(reaches[0])})",
            )
            less = need - tolerance - 1
            if less > 0:
                r = outcome(pool, less, mint, True)
                f.check(
                    r[0] != "quote" or r[2] < want,
                    f"exact-out {want} of {mint} asks {need} in, but {less} in already gives "
                    f"{_short(r)} (not the least input)",
                )


def law_quote_edges(s: Subject, f: Failures) -> None:
    pool = s.loaded()
    probe_list = probes(pool)
    before = state(pool, probe_list)
    for mint in pool.mints:
        for exact_in in (True, False):
            mode = "exact-in" if exact_in else "exact-out"
            for amount in (0, 1, U64_MAX):
                o = outcome(pool, amount, mint, exact_in)
                f.check(o[0] != "raised", f"{mode} {amount}: {o[1]}")
                f.check(
                    o == outcome(pool, amount, mint, exact_in),
                    f"{mode} {amount}: two calls, two answers",
                )
            for amount in (-1, U64_MAX + 1):
                o = outcome(pool, amount, mint, exact_in)
                f.check(
                    o[0] == "refused",
                    f"{mode} {amount} (not a u64): {_short(o)}",
                )
    foreign = _other_owner(s.options.seed + 3)
    o = outcome(pool, 10**6, foreign, True)
    f.check(o[0] == "refused", f"a mint the pool does not trade: {_short(o)}")
    diff = before.differs(state(pool, probe_list), probe_list)
    f.check(not diff, f"quoting changed the adapter's state: {diff}")


# -- fuzz ------------------------------------------------------------------------------------


def _exercise(pool: PoolAdapter) -> None:
    """What the runtime does with an adapter after an update; only QuoteError may escape."""
    pool.accounts_to_update()
    pool.summary()
    for mint in pool.mints:
        for exact_in in (True, False):
            for amount in (1, 10**9):
                with contextlib.suppress(QuoteError):
                    pool.quote(amount, mint, exact_in=exact_in)


def _mutations(data: bytes, rng: random.Random, budget: int, sweep: bool) -> Iterator[Mutation]:
    yield from truncations(data)
    if sweep:
        yield from byte_sweep(data)
    yield from sampled(data, rng, budget)


def _run_case(
    f: Failures, where: str, timeout: float, action: Callable[[], PoolAdapter | None]
) -> bool:
    """Run one fuzz case; returns whether the adapter may have changed (it accepted)."""
    try:
        with deadline(timeout):
            pool = action()
            if pool is None:
                return False
            _exercise(pool)
    except DecodeError:
        f.check(True, "")
        return False
    except CallTimeout as exc:
        f.fail(f"{where}: {exc}")
        return True
    except Exception as exc:
        f.fail(f"{where}: {describe(exc)}")
        return True
    f.check(True, "")
    return True


def law_fuzz(s: Subject, f: Failures) -> None:
    rng = random.Random(s.options.seed)
    opts = s.options
    pool_account = s.accounts[s.pool]
    assert pool_account is not None
    rest = {k: a for k, a in s.accounts.items() if k != s.pool}

    for m in _mutations(pool_account.data, rng, opts.budget, sweep=True):
        mutated = with_data(pool_account, m.data)

        def build(acc: Account = mutated) -> PoolAdapter:
            pool = s.adapter.from_account(s.pool, acc)
            _exercise(pool)
            pool.update(rest)
            return pool

        _run_case(f, f"from_account(pool {m.description})", opts.call_timeout, build)

    current = s.loaded()
    for key in read_keys(s, current):
        account = s.accounts[key]
        assert account is not None
        for m in _mutations(account.data, rng, opts.budget, sweep=False):
            mutated = with_data(account, m.data)

            def apply(
                acc: Account = mutated, k: Pubkey = key, p: PoolAdapter = current
            ) -> PoolAdapter:
                p.update({k: acc})
                return p

            if _run_case(f, f"update({key} {m.description})", opts.call_timeout, apply):
                current = s.loaded()


# -- swap instruction ------------------------------------------------------------------------


def law_swap_instruction(s: Subject, f: Failures) -> None:
    from pyheck import snake  # anchorpy's names for the decoded arguments

    from lstarb_sdk.testing.idl import argument_integers, check_instruction

    idl = s.options.idl
    if idl is None:
        f.fail("no IDL given: pass idl=... or skip={'swap_instruction': 'reason'}")
        return
    pool = s.loaded()
    rng = random.Random(s.options.seed + 4)
    user, source, destination = (Pubkey.from_bytes(rng.randbytes(32)) for _ in range(3))
    built = 0
    for mint in pool.mints:
        for exact_in in (True, False):
            quoting = [a for a in GRID if outcome(pool, a, mint, exact_in)[0] == "quote"]
            if not quoting:
                continue
            amount = quoting[len(quoting) // 2]
            q = pool.quote(amount, mint, exact_in=exact_in)
            threshold = (
                min_out_with_slippage(q.out_amount, 100)
                if exact_in
                else max_in_with_slippage(q.in_amount, 100)
            )
            params = SwapParams(mint, amount, threshold, user, source, destination, exact_in)
            mode = f"{'exact-in' if exact_in else 'exact-out'} {amount} of {mint}"
            try:
                result = pool.swap_instruction(params)
            except Exception as exc:
                f.fail(f"swap_instruction({mode}) raised {describe(exc)}")
                continue
            if not f.check(isinstance(result, SwapInstructions), f"{mode}: not SwapInstructions"):
                continue
            own = [ix for ix in result.instructions if ix.program_id == s.adapter.program_id]
            if not f.check(bool(own), f"{mode}: no instruction of program {s.adapter.program_id}"):
                continue
            built += 1
            metas = [m for ix in own for m in ix.accounts]
            f.check(
                all(m.pubkey == user for m in metas if m.is_signer)
                and any(m.pubkey == user and m.is_signer for m in metas),
                f"{mode}: the trader {user} must be the one and only signer",
            )
            for key in (source, destination):
                f.check(
                    any(m.pubkey == key and m.is_writable for m in metas),
                    f"{mode}: the trader's token account {key} is not passed writable",
                )
            f.check(any(m.pubkey == s.pool for m in metas), f"{mode}: the pool is not passed")
            for ix in own:
                spec, args, problems = check_instruction(
                    idl, ix, accounts=s.accounts, program_id=s.adapter.program_id
                )
                for problem in problems:
                    f.fail(f"{mode}: {problem}")
                f.check(not problems, "")
                if spec is None or not _is_swap(spec.args):
                    continue
                values = argument_integers(args)
                f.check(
                    amount in values,
                    f"{mode}: {spec.name} does not carry the amount {amount} ({args})",
                )
                for name in (a["name"] for a in spec.args if a.get("type") == "u64"):
                    value = args.get(name, args.get(snake(name)))
                    expected = _expected_argument(name, exact_in, amount, threshold, q)
                    f.check(
                        value in expected,
                        f"{mode}: {spec.name} argument {name} = {value}, expected "
                        f"{' or '.join(map(str, sorted(expected)))}",
                    )
    if built == 0:
        f.fail("no swap instruction could be built (no quote succeeded)")
    try:
        pool.swap_instruction(
            SwapParams(_other_owner(s.options.seed + 5), 10**6, 0, user, source, destination)
        )
        f.fail("swap_instruction() accepts a mint the pool does not trade")
    except QuoteError:
        f.check(True, "")
    except Exception as exc:
        f.fail(f"swap_instruction() with a foreign mint raised {describe(exc)}")


def _expected_argument(
    name: str, exact_in: bool, amount: int, threshold: int, q: Quote
) -> set[int]:
    """What a u64 argument must hold, judged by its name.

    A bound (``min``/``max``/``threshold`` in the name) is the caller's
    threshold, except a minimum output of an exact-out swap, which is the
    amount asked for (programs without an exact-out instruction sell the
    quoted input for at least that). Any other amount is the amount given,
    or for an exact-out swap the quote's input.
    """
    n = name.lower()
    if exact_in:
        return {threshold} if ("min" in n or "threshold" in n) else {amount}
    if "max" in n or "threshold" in n:
        return {threshold}
    if "min" in n:
        return {amount}
    return {amount, q.in_amount}


def _is_swap(args: tuple[Mapping[str, Any], ...]) -> bool:
    return any(a.get("type") == "u64" for a in args)


LAW_FUNCTIONS: dict[str, Callable[[Subject, Failures], None]] = {
    "identity": law_identity,
    "decode_contract": law_decode_contract,
    "none_handling": law_none_handling,
    "accounts_stable": law_accounts_stable,
    "summary": law_summary,
    "quote_exact_in": law_quote_exact_in,
    "quote_exact_out": law_quote_exact_out,
    "quote_edges": law_quote_edges,
    "fuzz": law_fuzz,
    "swap_instruction": law_swap_instruction,
}
