// Expected quotes for lstarb's lst plugin, from the official SDKs on the fixture bytes.
//
// Stake pools: @solana/spl-stake-pool decodes the StakePool account (StakePoolLayout) and
// builds the DepositSol / WithdrawSol instructions; its rate helpers are not exported, so the
// amount rules are written out below from the program source (program/src/processor.rs,
// state.rs @ 2a01bc0) in BigInt, independently of the Python adapter.
// Marinade: @marinade.finance/marinade-ts-sdk decodes the State (its own IDL and anchor
// coder, through a connection that serves the fixture accounts), gives the deposit
// (computeMsolForDepositSol) and liquid-unstake fee (unstakeNowFeeBp, proportionalBN) math
// and builds the deposit / liquid_unstake instructions.
//
// Run: npm ci && node oracle.mjs > expected_quotes.json
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const spl = require("@solana/spl-stake-pool");
const mar = require("@marinade.finance/marinade-ts-sdk");
const { PublicKey } = require("@solana/web3.js");
const BN = mar.BN;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(HERE, "..", "fixtures");
const U64_MAX = (1n << 64n) - 1n;
const variants = JSON.parse(readFileSync(path.join(HERE, "variants.json"), "utf8"));

function load(file) {
  const doc = JSON.parse(readFileSync(path.join(FIXTURES, file), "utf8"));
  return { ...doc, data: Buffer.from(doc.data_base64, "base64"), lamports: BigInt(doc.lamports) };
}

// -- the amount grid -------------------------------------------------------------------------
function grid() {
  const out = new Set([1n, 2n, 3n, 7n, 10n, 99n, 100n, 101n, 1000n, U64_MAX - 1n, U64_MAX]);
  let x = 10n;
  while (x < U64_MAX) {
    out.add(x);
    out.add((x * 316n) / 100n);
    x *= 10n;
  }
  return [...out].filter((v) => v >= 1n && v <= U64_MAX).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// Largest amount that quotes (exact-in), and the next one, by bisection on a predicate.
function edges(quote) {
  const ok = (x) => !("error" in quote(x));
  if (!ok(1n)) return [];
  if (ok(U64_MAX)) return [];
  let lo = 1n, hi = U64_MAX; // ok(lo), !ok(hi)
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (ok(mid)) lo = mid; else hi = mid;
  }
  return [lo, hi];
}

// Least input delivering `target`: bisection on "delivers, or refused as too large".
function leastInput(quote, target) {
  const pred = (x) => {
    const q = quote(x);
    return "error" in q ? q.high : BigInt(q.out) >= target;
  };
  if (!pred(U64_MAX)) return { error: "no input delivers" };
  let lo = 0n, hi = U64_MAX;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (pred(mid)) hi = mid; else lo = mid;
  }
  const q = quote(hi);
  if ("error" in q) return { error: `least candidate refused: ${q.error}` };
  return { in: hi.toString(), out: target.toString(), fee: q.fee };
}

// -- SPL stake pool --------------------------------------------------------------------------
const big = (bn) => BigInt(bn.toString());
const feeApply = (fee, x) => {
  const den = big(fee.denominator), num = big(fee.numerator);
  return den === 0n ? 0n : (x * num + den - 1n) / den;
};
const rentExempt = (len) => (128n + BigInt(len)) * 3480n * 2n;

function stakePoolQuoter(v) {
  const pool = load(v.pool);
  if (v.patch) applyPatch(pool.data, v.patch);
  const sp = spl.StakePoolLayout.decode(pool.data);
  const reserve = load(v.reserve);
  const feeAcc = load(v.manager_fee);
  const epoch = BigInt(v.epoch);
  const total = big(sp.totalLamports), supply = big(sp.poolTokenSupply);
  const feeMint = feeAcc.data.subarray(0, 32);
  const feeValid = feeAcc.owner === sp.tokenProgramId.toBase58() && feeAcc.data.length >= 165 &&
    Buffer.compare(feeMint, sp.poolMint.toBuffer()) === 0 && feeAcc.data[108] === 1;
  const stale = big(sp.lastUpdateEpoch) < epoch;
  const err = (e, high = false) => ({ error: e, high });

  const deposit = (lamports) => {
    if (stale) return err("StakeListAndPoolOutOfDate");
    if (sp.solDepositAuthority) return err("SOL deposits need sol_deposit_authority");
    const minted = total === 0n || supply === 0n ? lamports : (lamports * supply) / total;
    if (minted > U64_MAX) return err("CalculationFailure", true);
    const fee = feeApply(sp.solDepositFee, minted);
    if (fee > minted) return err("CalculationFailure", true);
    const user = minted - fee;
    const referral = (fee * BigInt(sp.solReferralFee)) / 100n;
    if (user === 0n) return err("DepositTooSmall");
    if (supply + minted > U64_MAX || total + lamports > U64_MAX) return err("CalculationFailure", true);
    // the trader names their own LST account as referrer, as the SDK's depositSol does by default
    return { in: lamports.toString(), out: (user + referral).toString(), fee: (fee - referral).toString() };
  };
  const withdraw = (tokens) => {
    if (stale) return err("StakeListAndPoolOutOfDate");
    if (sp.solWithdrawAuthority) return err("SOL withdrawals need sol_withdraw_authority");
    const fee = feeValid ? feeApply(sp.solWithdrawalFee, tokens) : 0n;
    if (fee > tokens) return err("CalculationFailure", true);
    const burnt = tokens - fee;
    const num = burnt * total;
    const lamports = num < supply || supply === 0n ? 0n : num / supply;
    if (lamports > U64_MAX) return err("CalculationFailure", true);
    if (lamports === 0n) return err("WithdrawalTooSmall");
    const left = reserve.lamports > lamports ? reserve.lamports - lamports : 0n;
    if (left < rentExempt(reserve.data.length)) return err("SolWithdrawalTooLarge", true);
    if (burnt > supply || lamports > total) return err("CalculationFailure", true);
    return { in: tokens.toString(), out: lamports.toString(), fee: fee.toString() };
  };
  const state = {
    pool_mint: sp.poolMint.toBase58(),
    total_lamports: total.toString(),
    pool_token_supply: supply.toString(),
    last_update_epoch: big(sp.lastUpdateEpoch).toString(),
    sol_deposit_fee: [big(sp.solDepositFee.numerator).toString(), big(sp.solDepositFee.denominator).toString()],
    sol_withdrawal_fee: [big(sp.solWithdrawalFee.numerator).toString(), big(sp.solWithdrawalFee.denominator).toString()],
    sol_referral_fee: sp.solReferralFee,
    sol_deposit_authority: sp.solDepositAuthority ? sp.solDepositAuthority.toBase58() : null,
    sol_withdraw_authority: sp.solWithdrawAuthority ? sp.solWithdrawAuthority.toBase58() : null,
    reserve_stake: sp.reserveStake.toBase58(),
    manager_fee_account: sp.managerFeeAccount.toBase58(),
    manager_fee_valid: feeValid,
  };
  return { state, deposit, withdraw, lstMint: sp.poolMint.toBase58() };
}

function stakePoolInstructions(v) {
  const pool = load(v.pool);
  if (v.patch) applyPatch(pool.data, v.patch);
  const sp = spl.StakePoolLayout.decode(pool.data);
  const programId = new PublicKey(pool.owner);
  const address = new PublicKey(pool.pubkey);
  const [withdrawAuthority] = PublicKey.findProgramAddressSync([address.toBuffer(), Buffer.from("withdraw")], programId);
  const user = new PublicKey("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM");
  const lstAccount = new PublicKey("7UX2i7SucgLMQcfZ75s3VXmZZY4YRUyJN9X1RgfMoDUi");
  const dep = spl.StakePoolInstruction.depositSol({
    programId, stakePool: address, reserveStake: sp.reserveStake, fundingAccount: user,
    destinationPoolAccount: lstAccount, managerFeeAccount: sp.managerFeeAccount,
    referralPoolAccount: lstAccount, poolMint: sp.poolMint, lamports: 1000000000, withdrawAuthority,
  });
  const wd = spl.StakePoolInstruction.withdrawSol({
    programId, stakePool: address, withdrawAuthority, reserveStake: sp.reserveStake,
    sourcePoolAccount: lstAccount, sourceTransferAuthority: user, destinationSystemAccount: user,
    managerFeeAccount: sp.managerFeeAccount, poolMint: sp.poolMint, poolTokens: 1000000000,
  });
  return { user: user.toBase58(), lst_account: lstAccount.toBase58(), amount: "1000000000",
    deposit_sol: ixJson(dep), withdraw_sol: ixJson(wd) };
}

function ixJson(ix) {
  return {
    data_hex: Buffer.from(ix.data).toString("hex"),
    accounts: ix.keys.map((k) => ({ pubkey: k.pubkey.toBase58(), signer: k.isSigner, writable: k.isWritable })),
  };
}

// -- Marinade --------------------------------------------------------------------------------
function fakeConnection(accounts) {
  const info = (pk) => {
    const a = accounts[pk.toBase58()];
    if (!a) return null;
    return { data: a.data, owner: new PublicKey(a.owner), lamports: Number(a.lamports), executable: false, rentEpoch: 0 };
  };
  return {
    rpcEndpoint: "fixture://",
    commitment: "confirmed",
    getAccountInfo: async (pk) => info(pk),
    getAccountInfoAndContext: async (pk) => ({ context: { slot: 0 }, value: info(pk) }),
    getBalance: async (pk) => { const a = accounts[pk.toBase58()]; return a ? Number(a.lamports) : 0; },
    getMultipleAccountsInfo: async (pks) => pks.map(info),
    getTokenAccountsByOwner: async () => ({ context: { slot: 0 }, value: [] }),
  };
}

async function marinadeQuoter(v) {
  const state = load(v.state);
  const solLeg = load(v.sol_leg);
  const msolLeg = load(v.msol_leg);
  if (v.patch) applyPatch(state.data, v.patch);
  const accounts = { [state.pubkey]: state, [solLeg.pubkey]: solLeg, [msolLeg.pubkey]: msolLeg };
  const user = new PublicKey("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM");
  const marinade = new mar.Marinade(new mar.MarinadeConfig({ connection: fakeConnection(accounts), publicKey: user }));
  const ms = await mar.MarinadeState.fetch(marinade);
  const s = ms.state;
  const U = mar.MarinadeUtils;
  const tvsl = big(s.validatorSystem.totalActiveBalance) + big(s.stakeSystem.delayedUnstakeCoolingDown)
    + big(s.emergencyCoolingDown) + big(s.availableReserveBalance) - big(s.circulatingTicketBalance);
  const supply = big(s.msolSupply);
  const tluc = tvsl + big(s.circulatingTicketBalance);
  const rentExempt = big(s.rentExemptForTokenAcc);
  const legMsol = msolLeg.data.readBigUInt64LE(64);
  const solLegLamports = BigInt(await marinade.config.connection.getBalance(await ms.solLeg()));
  const err = (e, high = false) => ({ error: e, high });
  const toSol = (msol) => big(U.proportionalBN(new BN(msol.toString()), new BN(tvsl.toString()), new BN(supply.toString())));

  const deposit = (lamports) => {
    if (s.paused) return err("ProgramIsPaused");
    if (lamports < big(s.minDeposit)) return err("DepositAmountIsTooLow");
    const fee = big(U.feeCentsApply(new BN(lamports.toString()), s.depositSolFee.bpCents));
    const order = big(U.computeMsolForDepositSol(new BN(lamports.toString()), ms));
    if (order > U64_MAX) return err("CalculationFailure", true);
    const swapped = order < legMsol ? order : legMsol;
    const solSwapped = swapped === 0n ? 0n : swapped === order ? lamports : toSol(swapped);
    const toReserve = lamports - solSwapped;
    if (toReserve > 0n && tluc + toReserve > big(s.stakingSolCap)) return err("StakingIsCapped", true);
    return { in: lamports.toString(), out: order.toString(), fee: fee.toString() };
  };
  const withdraw = (msol) => {
    if (s.paused) return err("ProgramIsPaused");
    const removed = toSol(msol);
    if (removed > U64_MAX) return err("CalculationFailure", true);
    const available = solLegLamports > rentExempt ? solLegLamports - rentExempt : 0n;
    const feeBp = U.unstakeNowFeeBp(s.liqPool.lpMinFee.basisPoints, s.liqPool.lpMaxFee.basisPoints,
      s.liqPool.lpLiquidityTarget, new BN(available.toString()), new BN(removed.toString()));
    const msolFee = big(U.proportionalBN(new BN(msol.toString()), new BN(feeBp), new BN(10000)));
    const lamports = toSol(msol - msolFee);
    if (lamports + rentExempt > solLegLamports) return err("InsufficientLiquidity", true);
    if (lamports < big(s.minWithdraw)) return err("WithdrawAmountIsTooLow");
    return { in: msol.toString(), out: lamports.toString(), fee: msolFee.toString(), fee_bps: feeBp };
  };
  // Exact-out liquid unstake: the fee rate rises with the amount, so the payout is not monotone.
  // For every rate b, the least input that pays `target` at rate b (monotone there); it counts
  // when the program's real rate at it is at most b (then it pays at least as much). The least
  // such input over all b is the answer.
  const withdrawExactOut = (target) => {
    let best = null;
    for (let b = s.liqPool.lpMinFee.basisPoints; b <= s.liqPool.lpMaxFee.basisPoints; b++) {
      const atRate = (msol) => {
        const msolFee = (msol * BigInt(b)) / 10000n;
        const lamports = toSol(msol - msolFee);
        if (lamports + rentExempt > solLegLamports) return err("InsufficientLiquidity", true);
        if (lamports < big(s.minWithdraw)) return err("WithdrawAmountIsTooLow");
        return { out: lamports.toString() };
      };
      const r = leastInput((x) => (s.paused ? err("paused") : atRate(x)), target);
      if ("error" in r) continue;
      const real = withdraw(BigInt(r.in));
      if (!("error" in real) && BigInt(real.out) >= target && (best === null || BigInt(r.in) < BigInt(best.in))) {
        best = { in: r.in, out: target.toString(), fee: real.fee };
      }
    }
    return best ?? { error: "no input delivers" };
  };
  const st = {
    msol_mint: s.msolMint.toBase58(),
    total_virtual_staked_lamports: tvsl.toString(),
    msol_supply: supply.toString(),
    deposit_sol_fee_bp_cents: s.depositSolFee.bpCents,
    lp_min_fee_bps: s.liqPool.lpMinFee.basisPoints,
    lp_max_fee_bps: s.liqPool.lpMaxFee.basisPoints,
    lp_liquidity_target: big(s.liqPool.lpLiquidityTarget).toString(),
    min_deposit: big(s.minDeposit).toString(),
    min_withdraw: big(s.minWithdraw).toString(),
    staking_sol_cap: big(s.stakingSolCap).toString(),
    paused: s.paused,
    sol_leg_lamports: solLegLamports.toString(),
    msol_leg_amount: legMsol.toString(),
  };
  // the SDK's own instructions (deposit creates the ATA first: keep the Marinade one)
  const lstAccount = new PublicKey("7UX2i7SucgLMQcfZ75s3VXmZZY4YRUyJN9X1RgfMoDUi");
  const dep = (await marinade.deposit(new BN(1000000000), {})).transaction.instructions
    .find((ix) => ix.programId.toBase58() === state.owner);
  const unst = (await marinade.liquidUnstake(new BN(1000000000), lstAccount)).transaction.instructions
    .find((ix) => ix.programId.toBase58() === state.owner);
  const instructions = { user: user.toBase58(), lst_account: lstAccount.toBase58(), amount: "1000000000",
    mint_to: dep.keys[7].pubkey.toBase58(), deposit: ixJson(dep), liquid_unstake: ixJson(unst) };
  return { state: st, deposit, withdraw, withdrawExactOut, lstMint: s.msolMint.toBase58(), instructions,
    state_base64: v.patch ? state.data.toString("base64") : undefined };
}

function applyPatch(data, patch) {
  for (const [offset, hex] of patch) Buffer.from(hex, "hex").copy(data, offset);
}

// -- the cases -------------------------------------------------------------------------------
function cases(q) {
  const out = [];
  const amounts = grid();
  for (const [dir, fn] of [["deposit", q.deposit], ["withdraw", q.withdraw]]) {
    const strip = (r) => { const { high, fee_bps, ...rest } = r; return rest; };
    const pts = new Set(amounts);
    for (const e of edges(fn)) pts.add(e);
    for (const a of [...pts].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
      out.push({ dir, exact_in: true, amount: a.toString(), ...strip(fn(a)) });
    }
    for (const a of [...pts].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
      const r = dir === "withdraw" && q.withdrawExactOut ? q.withdrawExactOut(a) : leastInput(fn, a);
      out.push({ dir, exact_in: false, amount: a.toString(), ...strip(r) });
    }
  }
  return out;
}

const result = {
  sdk: {
    "@solana/spl-stake-pool": require("@solana/spl-stake-pool/package.json").version,
    "@marinade.finance/marinade-ts-sdk": require("@marinade.finance/marinade-ts-sdk/package.json").version,
  },
  stake_pools: {},
  marinade: {},
};
for (const v of variants.stake_pools) {
  const q = stakePoolQuoter(v);
  const patched = v.patch ? (() => { const p = load(v.pool); applyPatch(p.data, v.patch); return p.data.toString("base64"); })() : undefined;
  result.stake_pools[v.name] = { ...v, state: q.state, state_base64: patched, cases: cases(q), instructions: stakePoolInstructions(v) };
}
for (const v of variants.marinade) {
  const q = await marinadeQuoter(v);
  result.marinade[v.name] = { ...v, state: q.state, state_base64: q.state_base64, cases: cases(q), instructions: q.instructions };
}
process.stdout.write(JSON.stringify(result, null, 1) + "\n");
