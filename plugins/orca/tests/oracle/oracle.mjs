// Expected Whirlpool quotes from Orca's own core math (@orca-so/whirlpools-core, a WASM build
// of Orca's Rust core), computed on the plugin's fixture accounts.
//
// Run:  cd plugins/orca/tests/oracle && npm ci && node oracle.mjs
// Writes expected_quotes.json next to this script (committed; CI only reads it) and the
// synthetic accounts under ../fixtures/synthetic/ (an Oracle account and a DynamicTickArray,
// both encoded with Orca's own client codecs, since no real ones are in the fixtures).
//
// The tick arrays given to the core are the ones a swap may use on chain: the array holding
// the current tick and the next two in the swap direction (for b->a the start is the array
// holding tick_current_index + tick_spacing). The Python adapter derives the same window.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as core from "@orca-so/whirlpools-core";
import {
  getWhirlpoolDecoder,
  getWhirlpoolEncoder,
  getFixedTickArrayDecoder,
  getOracleEncoder,
  getDynamicTickArrayEncoder,
  getTickArrayAddress,
  getOracleAddress,
} from "@orca-so/whirlpools-client";
import { address } from "@solana/kit";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "..", "fixtures");
const synthDir = path.join(fixtures, "synthetic");
const manifest = JSON.parse(fs.readFileSync(path.join(fixtures, "MANIFEST.json"), "utf8"));
const pkg = (name) =>
  JSON.parse(fs.readFileSync(path.join(here, "node_modules", ...name.split("/"), "package.json"), "utf8"))
    .version;

const TICK_ARRAY_SIZE = 88;
const WINDOW = 3;
const U64_MAX = (1n << 64n) - 1n;

const b64 = (s) => Uint8Array.from(Buffer.from(s, "base64"));
const readJson = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const floorDiv = (a, b) => Math.floor(a / b);

function emptyTicks() {
  return Array.from({ length: TICK_ARRAY_SIZE }, () => ({
    initialized: false,
    liquidityNet: 0n,
    liquidityGross: 0n,
    feeGrowthOutsideA: 0n,
    feeGrowthOutsideB: 0n,
    rewardGrowthsOutside: [0n, 0n, 0n],
  }));
}

function loadPool(set) {
  const dir = path.join(fixtures, set.label);
  const wp = getWhirlpoolDecoder().decode(b64(readJson(path.join(dir, "whirlpool.json")).data_base64));
  const arrays = new Map();
  for (const f of fs.readdirSync(dir)) {
    const m = /^tick_array_(-?\d+)\.json$/.exec(f);
    if (!m) continue;
    const ta = getFixedTickArrayDecoder().decode(b64(readJson(path.join(dir, f)).data_base64));
    arrays.set(ta.startTickIndex, ta);
  }
  const absent = new Set((set.tick_arrays_absent_uninitialized ?? []).map((x) => x.start_tick_index));
  return { wp, arrays, absent };
}

function facade(wp, feeTierIndexSeed) {
  return {
    feeTierIndexSeed: feeTierIndexSeed ?? wp.feeTierIndexSeed,
    tickSpacing: wp.tickSpacing,
    feeRate: wp.feeRate,
    protocolFeeRate: wp.protocolFeeRate,
    liquidity: wp.liquidity,
    sqrtPrice: wp.sqrtPrice,
    tickCurrentIndex: wp.tickCurrentIndex,
    feeGrowthGlobalA: wp.feeGrowthGlobalA,
    feeGrowthGlobalB: wp.feeGrowthGlobalB,
    rewardLastUpdatedTimestamp: wp.rewardLastUpdatedTimestamp,
    rewardInfos: wp.rewardInfos.map((r) => ({
      emissionsPerSecondX64: r.emissionsPerSecondX64,
      growthGlobalX64: r.growthGlobalX64,
    })),
  };
}

// The window of tick arrays a swap in one direction may use, truncated at the first array
// that is neither in the fixtures nor known not to exist on chain (that one is "missing").
function windowStarts(wp, aToB) {
  const span = TICK_ARRAY_SIZE * wp.tickSpacing;
  const shift = aToB ? 0 : wp.tickSpacing;
  const base = floorDiv(wp.tickCurrentIndex + shift, span) * span;
  return Array.from({ length: WINDOW }, (_, i) => base + (aToB ? -i : i) * span);
}

function windowArrays(pool, aToB, wp = pool.wp) {
  const out = [];
  for (const start of windowStarts(wp, aToB)) {
    if (pool.arrays.has(start)) out.push({ startTickIndex: start, ticks: pool.arrays.get(start).ticks });
    else if (pool.absent.has(start)) out.push({ startTickIndex: start, ticks: emptyTicks() });
    else break;
  }
  return out;
}

function quote(ctx, aToB, exactIn, amount) {
  const { whirlpool, oracle, arrays, timestamp, tfA, tfB } = ctx;
  try {
    if (exactIn) {
      const q = core.swapQuoteByInputToken(amount, aToB, 0, whirlpool, oracle, arrays, timestamp, tfA, tfB);
      return { in: q.tokenIn.toString(), out: q.tokenEstOut.toString(), fee: q.tradeFee.toString() };
    }
    const q = core.swapQuoteByOutputToken(amount, !aToB, 0, whirlpool, oracle, arrays, timestamp, tfA, tfB);
    return { in: q.tokenEstIn.toString(), out: q.tokenOut.toString(), fee: q.tradeFee.toString() };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
}

// Sizes from 1 unit to u64::MAX: 1, 2.5, 5, 7.77 times each power of ten.
function grid() {
  const out = [];
  for (let e = 0n; e <= 19n; e++) {
    for (const [num, den] of [[1n, 1n], [5n, 2n], [5n, 1n], [777n, 100n]]) {
      const v = (num * 10n ** e) / den;
      if (v >= 1n && v <= U64_MAX) out.push(v);
    }
  }
  out.push(U64_MAX);
  return out;
}

// Largest amount that still quotes (binary search), so the grid also holds the exact edge.
function edge(ctx, aToB, exactIn) {
  if (!("error" in quote(ctx, aToB, exactIn, 1n))) {
    let lo = 1n;
    let hi = U64_MAX;
    if (!("error" in quote(ctx, aToB, exactIn, hi))) return [];
    while (hi - lo > 1n) {
      const mid = (lo + hi) / 2n;
      if ("error" in quote(ctx, aToB, exactIn, mid)) hi = mid;
      else lo = mid;
    }
    return [lo, hi];
  }
  return [];
}

function cases(ctx) {
  const out = [];
  const amounts = grid();
  for (const aToB of [true, false]) {
    for (const exactIn of [true, false]) {
      const seen = new Set();
      for (const amount of [...amounts, ...edge(ctx, aToB, exactIn)]) {
        if (seen.has(amount)) continue;
        seen.add(amount);
        out.push({ a_to_b: aToB, exact_in: exactIn, amount: amount.toString(), ...quote(ctx, aToB, exactIn, amount) });
      }
    }
  }
  return out;
}

// A synthetic Oracle: realistic adaptive-fee constants and variables placed so that the
// reference update, the volatility accumulator and the tick-group stepping all matter.
function syntheticOracle(poolAddress, wp, t0) {
  const tickGroupSize = wp.tickSpacing;
  const group = floorDiv(wp.tickCurrentIndex, tickGroupSize);
  return {
    whirlpool: address(poolAddress),
    tradeEnableTimestamp: 0n,
    adaptiveFeeConstants: {
      filterPeriod: 30,
      decayPeriod: 600,
      reductionFactor: 5000,
      adaptiveFeeControlFactor: 4000,
      maxVolatilityAccumulator: 350000,
      tickGroupSize,
      majorSwapThresholdTicks: 50,
      reserved: new Uint8Array(16),
    },
    adaptiveFeeVariables: {
      lastReferenceUpdateTimestamp: t0 - 100n,
      lastMajorSwapTimestamp: t0 - 50n,
      volatilityReference: 20000,
      tickGroupIndexReference: group - 3,
      volatilityAccumulator: 40000,
      reserved: new Uint8Array(16),
    },
    reserved: new Uint8Array(128),
  };
}

// Sparse swaps: the pool's own price never reaches the tick arrays that did not exist
// on chain, so the pool is MOVED next to them: the real account with only sqrt_price,
// tick_current_index (TICK) and liquidity replaced (the pool's real liquidity, as if a
// wide position covered the range; the real arrays there hold no initialized ticks),
// encoded with Orca's own client codec. Swaps from there walk through the absent
// arrays in both directions. "window" feeds the core the arrays the program picks
// (absent ones as uninitialized); "sdk" feeds it what @orca-so/whirlpools' swap quote
// fetches (current array +-2, a missing one replaced by an uninitialized array).
const SPARSE = { "jitosol-sol-ts1": [-660, -836] };

function movedWhirlpool(set, pool, tick) {
  const lo = core.tickIndexToSqrtPrice(tick);
  const hi = core.tickIndexToSqrtPrice(tick + 1);
  const wp = { ...pool.wp, tickCurrentIndex: tick, sqrtPrice: lo + (hi - lo) / 3n };
  if (core.sqrtPriceToTickIndex(wp.sqrtPrice) !== tick) throw new Error("moved price off its tick");
  const data = getWhirlpoolEncoder().encode(wp);
  const file = `${set.label}-moved${tick}.json`;
  fs.writeFileSync(
    path.join(synthDir, file),
    JSON.stringify(
      {
        pubkey: set.whirlpool,
        owner: manifest.program_id,
        lamports: 0,
        executable: false,
        rent_epoch: 0,
        data_base64: Buffer.from(data).toString("base64"),
        space: data.length,
        label: set.label,
        kind: "whirlpool",
        note: `SYNTHETIC: the real whirlpool moved to tick ${tick} (sqrt_price, tick_current_index replaced; liquidity kept), encoded with @orca-so/whirlpools-client getWhirlpoolEncoder`,
      },
      null,
      1,
    ),
  );
  return { wp, file };
}

// The arrays @orca-so/whirlpools' swapQuote hands the core (fetchTickArrayOrDefault),
// or null when one of them is neither in the fixtures nor known not to exist.
function sdkArrays(pool, wp) {
  const span = TICK_ARRAY_SIZE * wp.tickSpacing;
  const base = floorDiv(wp.tickCurrentIndex, span) * span;
  const out = [];
  for (const start of [base, base + span, base + 2 * span, base - span, base - 2 * span]) {
    if (pool.arrays.has(start)) out.push({ startTickIndex: start, ticks: pool.arrays.get(start).ticks });
    else if (pool.absent.has(start)) out.push({ startTickIndex: start, ticks: emptyTicks() });
    else return null;
  }
  return out;
}

function sparseVariants(set, pool) {
  const out = [];
  for (const tick of SPARSE[set.label] ?? []) {
    const { wp, file } = movedWhirlpool(set, pool, tick);
    const crossed = { a_to_b: [], b_to_a: [] };
    for (const aToB of [true, false]) {
      for (const start of windowStarts(wp, aToB)) {
        if (pool.absent.has(start)) crossed[aToB ? "a_to_b" : "b_to_a"].push(start);
      }
    }
    const byDir = (arraysFor) => {
      const cs = [];
      for (const aToB of [true, false]) {
        const ctx = { whirlpool: facade(wp), oracle: null, arrays: arraysFor(aToB), timestamp: 0n };
        cs.push(...cases(ctx).filter((c) => c.a_to_b === aToB));
      }
      return cs;
    };
    out.push({
      name: `moved@${tick}`,
      whirlpool_file: file,
      absent_arrays_in_window: crossed,
      cases: byDir((aToB) => windowArrays(pool, aToB, wp)),
    });
    const sdk = sdkArrays(pool, wp);
    if (sdk) {
      out.push({
        name: `moved@${tick} sdk`,
        whirlpool_file: file,
        absent_arrays_in_window: crossed,
        cases: byDir(() => sdk),
      });
    }
  }
  return out;
}

const ADAPTIVE_POOLS = ["msol-sol-ts1", "sol-usdc-ts8"];
const ADAPTIVE_SEED = 1024; // any fee_tier_index different from tick_spacing marks an adaptive pool
const ADAPTIVE_T0 = 1_700_000_000n;
// timestamps: inside the filter period (no reference change), inside the decay period
// (reference reduced), and past MAX_REFERENCE_AGE (reference reset)
const ADAPTIVE_TIMES = [ADAPTIVE_T0 - 45n, ADAPTIVE_T0, ADAPTIVE_T0 + 10_000n];

async function main() {
  fs.mkdirSync(synthDir, { recursive: true });
  const result = {
    generated_by: "plugins/orca/tests/oracle/oracle.mjs",
    packages: {
      "@orca-so/whirlpools-core": pkg("@orca-so/whirlpools-core"),
      "@orca-so/whirlpools-client": pkg("@orca-so/whirlpools-client"),
      "@solana/kit": pkg("@solana/kit"),
    },
    window: WINDOW,
    slippage_bps: 0,
    note: "timestamp 0 for non-adaptive pools (ignored by the core); adaptive variants list theirs",
    pools: {},
  };
  for (const set of manifest.pool_sets) {
    const pool = loadPool(set);
    const wp = pool.wp;
    const entry = { whirlpool: set.whirlpool, windows: {}, variants: [] };
    for (const aToB of [true, false]) {
      const starts = windowStarts(wp, aToB);
      const pdas = [];
      for (const s of starts) pdas.push((await getTickArrayAddress(address(set.whirlpool), s))[0]);
      entry.windows[aToB ? "a_to_b" : "b_to_a"] = { starts, pdas, usable: windowArrays(pool, aToB).length };
    }
    entry.oracle_pda = (await getOracleAddress(address(set.whirlpool)))[0];
    const ctxFor = (aToB) => ({ whirlpool: facade(wp), oracle: null, arrays: windowArrays(pool, aToB), timestamp: 0n });
    const plain = (ctx) => cases(ctx);
    // each direction needs its own window, so split the cases by direction
    const byDir = (mk) => {
      const out = [];
      for (const aToB of [true, false]) out.push(...mk(aToB).filter((c) => c.a_to_b === aToB));
      return out;
    };
    entry.variants.push({ name: "plain", cases: byDir((aToB) => plain(ctxFor(aToB))) });
    if (set.synthetic_transfer_fee) {
      const t = set.synthetic_transfer_fee;
      const tfA = { feeBps: t.a.fee_bps, maxFee: BigInt(t.a.max_fee) };
      const tfB = { feeBps: t.b.fee_bps, maxFee: BigInt(t.b.max_fee) };
      entry.variants.push({
        name: "transfer_fee",
        transfer_fee: t,
        cases: byDir((aToB) => plain({ ...ctxFor(aToB), tfA, tfB })),
      });
    }
    if (ADAPTIVE_POOLS.includes(set.label)) {
      const oracleArgs = syntheticOracle(set.whirlpool, wp, ADAPTIVE_T0);
      const data = getOracleEncoder().encode(oracleArgs);
      fs.writeFileSync(
        path.join(synthDir, `${set.label}-oracle.json`),
        JSON.stringify(
          {
            pubkey: entry.oracle_pda,
            owner: manifest.program_id,
            lamports: 2658720,
            executable: false,
            rent_epoch: 0,
            data_base64: Buffer.from(data).toString("base64"),
            space: data.length,
            label: set.label,
            kind: "oracle",
            note: "SYNTHETIC adaptive-fee Oracle encoded with @orca-so/whirlpools-client getOracleEncoder; not mainnet data",
          },
          null,
          1,
        ),
      );
      const seed = new Uint8Array([ADAPTIVE_SEED & 0xff, ADAPTIVE_SEED >> 8]);
      const oracle = {
        tradeEnableTimestamp: oracleArgs.tradeEnableTimestamp,
        adaptiveFeeConstants: oracleArgs.adaptiveFeeConstants,
        adaptiveFeeVariables: oracleArgs.adaptiveFeeVariables,
      };
      for (const ts of ADAPTIVE_TIMES) {
        entry.variants.push({
          name: `adaptive@${ts}`,
          fee_tier_index_seed: ADAPTIVE_SEED,
          timestamp: ts.toString(),
          cases: byDir((aToB) =>
            plain({ whirlpool: facade(wp, seed), oracle, arrays: windowArrays(pool, aToB), timestamp: ts }),
          ),
        });
      }
    }
    entry.variants.push(...sparseVariants(set, pool));
    // One real fixed array re-encoded as a DynamicTickArray, for the decoder tests.
    if (set.label === "jitosol-sol-ts1") {
      const start = floorDiv(wp.tickCurrentIndex, TICK_ARRAY_SIZE * wp.tickSpacing) * TICK_ARRAY_SIZE * wp.tickSpacing;
      const fixed = pool.arrays.get(start);
      let bitmap = 0n;
      const ticks = fixed.ticks.map((t, i) => {
        if (!t.initialized) return { __kind: "Uninitialized" };
        bitmap |= 1n << BigInt(i);
        return {
          __kind: "Initialized",
          fields: [
            {
              liquidityNet: t.liquidityNet,
              liquidityGross: t.liquidityGross,
              feeGrowthOutsideA: t.feeGrowthOutsideA,
              feeGrowthOutsideB: t.feeGrowthOutsideB,
              rewardGrowthsOutside: t.rewardGrowthsOutside,
            },
          ],
        };
      });
      const data = getDynamicTickArrayEncoder().encode({
        startTickIndex: start,
        whirlpool: address(set.whirlpool),
        tickBitmap: bitmap,
        ticks,
      });
      const pda = (await getTickArrayAddress(address(set.whirlpool), start))[0];
      fs.writeFileSync(
        path.join(synthDir, `${set.label}-dynamic_tick_array_${start}.json`),
        JSON.stringify(
          {
            pubkey: pda,
            owner: manifest.program_id,
            lamports: 0,
            executable: false,
            rent_epoch: 0,
            data_base64: Buffer.from(data).toString("base64"),
            space: data.length,
            label: set.label,
            kind: "dynamic_tick_array",
            note: `SYNTHETIC: the real fixed tick array ${start} re-encoded as a DynamicTickArray with @orca-so/whirlpools-client getDynamicTickArrayEncoder`,
          },
          null,
          1,
        ),
      );
    }
    result.pools[set.label] = entry;
    const n = entry.variants.reduce((acc, v) => acc + v.cases.length, 0);
    console.log(set.label, n, "cases");
  }
  fs.writeFileSync(path.join(here, "expected_quotes.json"), JSON.stringify(result, null, 1));
}

await main();
