// Expected Raydium CLMM quotes from the official SDK (@raydium-io/raydium-sdk-v2),
// computed on the plugin's fixture accounts. Run: `node clmm_quotes.mjs` (after `npm ci`);
// writes expected_clmm.json next to this file. CI does not run node: it reads the JSON.
//
// The SDK's swap simulator (PoolUtils.getOutputAmountAndRemainAccounts for exact input,
// getInputAmountAndRemainAccounts for exact output) is given exactly the tick arrays in
// tests/fixtures/clmm. Where it walks past them it reports allTrade=false; the Python
// adapter must raise QuoteError there (the next array is not loaded).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import BN from "bn.js";
import { PublicKey } from "@solana/web3.js";
import {
  PoolUtils,
  PoolInfoLayout,
  ClmmConfigLayout,
  TickArrayLayout,
  TickArrayBitmapExtensionLayout,
} from "@raydium-io/raydium-sdk-v2";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "..", "fixtures", "clmm");
const require = createRequire(import.meta.url);
const sdkVersion = require("@raydium-io/raydium-sdk-v2/package.json").version;

const BLOCK_TIMESTAMP = 1767225600; // 2026-01-01T00:00:00Z; unused while dynamic fee is off

function load(name) {
  const doc = JSON.parse(fs.readFileSync(path.join(fixtures, name), "utf8"));
  return { pubkey: new PublicKey(doc.pubkey), data: Buffer.from(doc.data_base64, "base64") };
}

const pool = load("pool.json");
const config = load("amm_config.json");
const ext = load("bitmap_extension.json");
const accInfo = PoolInfoLayout.decode(pool.data);
const ammConfig = ClmmConfigLayout.decode(config.data);
const exBitmap = TickArrayBitmapExtensionLayout.decode(ext.data);
const programId = new PublicKey("CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK");

const tickArrayCache = {};
for (const f of fs.readdirSync(fixtures).filter((n) => n.startsWith("tick_array_"))) {
  const ta = load(f);
  const value = TickArrayLayout.decode(ta.data);
  tickArrayCache[ta.pubkey.toBase58()] = { ...value, address: ta.pubkey };
}

const poolInfo = {
  id: pool.pubkey,
  programId,
  mintA: { address: accInfo.mintA.toBase58(), decimals: accInfo.mintDecimalsA },
  mintB: { address: accInfo.mintB.toBase58(), decimals: accInfo.mintDecimalsB },
  ammConfig: {
    tradeFeeRate: ammConfig.tradeFeeRate,
    protocolFeeRate: ammConfig.protocolFeeRate,
    fundFeeRate: ammConfig.fundFeeRate,
  },
  accInfo,
  tickSpacing: accInfo.tickSpacing,
};

// Sizes: 1 unit up to far beyond the loaded arrays, roughly 4 per decade.
function grid(maxExp) {
  const out = new Set();
  for (let e = 0; e <= maxExp; e++) {
    for (const m of [1, 2, 5]) out.add(new BN(m).mul(new BN(10).pow(new BN(e))).toString());
  }
  for (const extra of ["3", "77", "12345", "987654321", "4242424242", "31415926535", "123456789012"]) out.add(extra);
  return [...out].sort((a, b) => (new BN(a).cmp(new BN(b))));
}

function cacheCopy() {
  // The simulator mutates tick state only for limit orders; copy anyway so runs are independent.
  return Object.fromEntries(Object.entries(tickArrayCache).map(([k, v]) => [k, { ...v }]));
}

function simulate(inputMint, outputMint, exactIn, amount) {
  const row = { input_mint: inputMint, exact_in: exactIn, amount };
  try {
    if (exactIn) {
      const r = PoolUtils.getOutputAmountAndRemainAccounts(
        poolInfo, exBitmap, cacheCopy(), new PublicKey(inputMint), new BN(amount), BLOCK_TIMESTAMP,
      );
      row.all_trade = r.allTrade;
      row.in_amount = amount;
      row.out_amount = r.expectedAmountOut.toString();
      row.fee_amount = r.feeAmount.toString();
      row.remaining_accounts = r.remainingAccounts.map((k) => k.toBase58());
    } else {
      const r = PoolUtils.getInputAmountAndRemainAccounts(
        poolInfo, exBitmap, cacheCopy(), new PublicKey(outputMint), new BN(amount), BLOCK_TIMESTAMP,
      );
      row.all_trade = r.allTrade;
      row.in_amount = r.expectedAmountIn.toString();
      row.out_amount = amount;
      row.fee_amount = r.feeAmount.toString();
      row.remaining_accounts = r.remainingAccounts.map((k) => k.toBase58());
    }
  } catch (e) {
    row.all_trade = false;
    row.error = String(e && e.message ? e.message : e);
  }
  return row;
}

// Largest amount the loaded arrays can fill (bisection on allTrade), to test the edge exactly.
function edge(inputMint, outputMint, exactIn) {
  let lo = new BN(1);
  let hi = new BN(10).pow(new BN(15));
  while (hi.sub(lo).gtn(1)) {
    const mid = lo.add(hi).shrn(1);
    if (simulate(inputMint, outputMint, exactIn, mid.toString()).all_trade) lo = mid;
    else hi = mid;
  }
  return lo;
}

const cases = [];
const edges = {};
for (const [inputMint, outputMint, label] of [
  [poolInfo.mintA.address, poolInfo.mintB.address, "token0_in"],
  [poolInfo.mintB.address, poolInfo.mintA.address, "token1_in"],
]) {
  for (const exactIn of [true, false]) {
    const last = edge(inputMint, outputMint, exactIn);
    edges[`${label}_${exactIn ? "exact_in" : "exact_out"}`] = last.toString();
    const amounts = new Set(grid(13));
    for (const d of [-1000, -1, 0, 1, 1000]) amounts.add(last.addn(d).toString());
    const sorted = [...amounts].sort((a, b) => new BN(a).cmp(new BN(b)));
    for (const amount of sorted) cases.push({ direction: label, ...simulate(inputMint, outputMint, exactIn, amount) });
  }
}

const out = {
  generator: "tests/oracle/clmm_quotes.mjs",
  sdk: { package: "@raydium-io/raydium-sdk-v2", version: sdkVersion },
  node: process.version,
  functions: ["PoolUtils.getOutputAmountAndRemainAccounts", "PoolUtils.getInputAmountAndRemainAccounts"],
  block_timestamp: BLOCK_TIMESTAMP,
  epoch: null,
  note: "epoch is irrelevant: neither mint is Token-2022. all_trade=false means the SDK ran out of the loaded tick arrays (or liquidity).",
  pool: pool.pubkey.toBase58(),
  largest_fillable: edges,
  tick_arrays_loaded: Object.values(tickArrayCache).map((v) => v.startTickIndex).sort((a, b) => a - b),
  cases,
};
fs.writeFileSync(path.join(here, "expected_clmm.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${cases.length} cases`);
