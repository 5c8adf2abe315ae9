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
import { load, here, sdkVersion } from "./oracle_common.mjs";
import { BLOCK_TIMESTAMP, context, directions } from "./clmm_common.mjs";

const fixtures = path.join(here, "..", "fixtures", "clmm");
const arrays = fs.readdirSync(fixtures).filter((n) => n.startsWith("tick_array_")).map((n) => load("clmm", n));
const pool = load("clmm", "pool.json");
const ctx = context(pool, load("clmm", "amm_config.json"), load("clmm", "bitmap_extension.json"), arrays);
const { cases, edges } = directions(ctx);

const out = {
  generator: "tests/oracle/clmm_quotes.mjs",
  sdk: { package: "@raydium-io/raydium-sdk-v2", version: sdkVersion },
  node: process.version,
  functions: ["PoolUtils.getOutputAmountAndRemainAccounts", "PoolUtils.getInputAmountAndRemainAccounts"],
  block_timestamp: BLOCK_TIMESTAMP,
  epoch: null,
  note: "epoch is irrelevant: neither mint is Token-2022. all_trade=false means the SDK ran out of the loaded tick arrays (or liquidity).",
  pool: pool.pubkey,
  largest_fillable: edges,
  tick_arrays_loaded: Object.values(ctx.cache).map((v) => v.startTickIndex).sort((a, b) => a - b),
  cases,
};
fs.writeFileSync(path.join(here, "expected_clmm.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${cases.length} cases`);
