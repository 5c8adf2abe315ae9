// Expected Raydium CLMM quotes across tick arrays that do not exist on chain, from the official
// SDK (@raydium-io/raydium-sdk-v2). Run: `node clmm_sparse_quotes.mjs` (after `npm ci`).
//
// The real fixture pool has every array around its price; none is missing. Two variants derive
// the case from it, changing only the fields named here, and are written to
// tests/fixtures/clmm_sparse/ for the Python tests (which check the derivation byte for byte):
//
// - gap_down: the pool's bitmap bit of array -25140 cleared, and the array gone (the SDK is not
//   given it; the Python test maps its address to None). A price-down swap from tick -25046
//   leaves array -25080, skips the range [-25140, -25080) where no array exists, and continues
//   in array -25200, as the program does (it follows the bitmap).
// - gap_up: the same pool and bitmap with the price moved to tick -25150 (array -25200),
//   sqrt_price_x64 = the SDK's TickUtil.getSqrtPriceAtTick(-25150), liquidity unchanged (with
//   no ticks in [-25140, -25080) the active liquidity of [-25173, -25031) is the pool's own).
//   A price-up swap skips the missing array the other way.
//
// Writes expected_clmm_sparse.json: per variant, both directions, exact in and exact out, the
// size grid plus both sides of each largest fillable amount.
import fs from "node:fs";
import path from "node:path";
import BN from "bn.js";
import { TickUtil } from "@raydium-io/raydium-sdk-v2";
import { load, here, sdkVersion } from "./oracle_common.mjs";
import { BLOCK_TIMESTAMP, context, directions } from "./clmm_common.mjs";

const GAP_START = -25140;
const GAP_INDEX = GAP_START / 60; // tick spacing 1: 60 ticks per array
const BITMAP_OFFSET = 904;
const MOVED_TICK = -25150;

const fixtures = path.join(here, "..", "fixtures", "clmm");
const outDir = path.join(here, "..", "fixtures", "clmm_sparse");
const poolText = fs.readFileSync(path.join(fixtures, "pool.json"), "utf8");
const poolDoc = JSON.parse(poolText); // for reading only: its u64 rent_epoch does not survive a rewrite
const config = load("clmm", "amm_config.json");
const ext = load("clmm", "bitmap_extension.json");
const arrays = fs
  .readdirSync(fixtures)
  .filter((n) => n.startsWith("tick_array_") && n !== `tick_array_${GAP_START}.json`)
  .map((n) => load("clmm", n));

function withoutGap(data) {
  const out = Buffer.from(data);
  const bit = GAP_INDEX + 512;
  const byte = BITMAP_OFFSET + (bit >> 3);
  if (!(out[byte] & (1 << (bit & 7)))) throw new Error("the fixture's bitmap lacks the gap array");
  out[byte] &= ~(1 << (bit & 7));
  return out;
}

function movedTo(data, tick) {
  const out = Buffer.from(data);
  new BN(TickUtil.getSqrtPriceAtTick(tick)).toArrayLike(Buffer, "le", 16).copy(out, 253);
  out.writeInt32LE(tick, 269);
  return out;
}

const base = Buffer.from(poolDoc.data_base64, "base64");
const variants = {
  gap_down: {
    data: withoutGap(base),
    derived_fields: [`tick_array_bitmap bit of array ${GAP_START} (index ${GAP_INDEX}) cleared`],
  },
  gap_up: {
    data: movedTo(withoutGap(base), MOVED_TICK),
    derived_fields: [
      `tick_array_bitmap bit of array ${GAP_START} (index ${GAP_INDEX}) cleared`,
      `sqrt_price_x64 = TickUtil.getSqrtPriceAtTick(${MOVED_TICK})`,
      `tick_current = ${MOVED_TICK}`,
    ],
  },
};

fs.mkdirSync(outDir, { recursive: true });
const result = {};
for (const [name, v] of Object.entries(variants)) {
  // Rewrite the real file's text, so every other field (the u64 rent_epoch included) stays as is.
  const derivation = {
    derived_from: "../clmm/pool.json",
    derived_fields: v.derived_fields,
    derived_by: "tests/oracle/clmm_sparse_quotes.mjs",
  };
  const text = poolText
    .replace(poolDoc.data_base64, v.data.toString("base64"))
    .replace(`"label": "${poolDoc.label}"`, `"label": "${poolDoc.label}-${name}"`)
    .replace(/,\n  "data_sha256": "[0-9a-f]+"/, "")
    .replace(/\n}\s*$/, `,\n  "derivation": ${JSON.stringify(derivation)}\n}\n`);
  fs.writeFileSync(path.join(outDir, `pool_${name}.json`), text);
  const ctx = context({ pubkey: poolDoc.pubkey, data: v.data }, config, ext, arrays);
  const { cases, edges } = directions(ctx);
  result[name] = {
    pool_file: `fixtures/clmm_sparse/pool_${name}.json`,
    tick_current: ctx.poolInfo.accInfo.tickCurrent,
    largest_fillable: edges,
    cases,
  };
  console.log(`${name}: ${cases.length} cases`);
}

const out = {
  generator: "tests/oracle/clmm_sparse_quotes.mjs",
  sdk: { package: "@raydium-io/raydium-sdk-v2", version: sdkVersion },
  node: process.version,
  functions: ["PoolUtils.getOutputAmountAndRemainAccounts", "PoolUtils.getInputAmountAndRemainAccounts"],
  block_timestamp: BLOCK_TIMESTAMP,
  pool: poolDoc.pubkey,
  absent_tick_array_start: GAP_START,
  tick_arrays_loaded: Object.values(context({ pubkey: poolDoc.pubkey, data: base }, config, ext, arrays).cache)
    .map((a) => a.startTickIndex)
    .sort((a, b) => a - b),
  note: "all_trade=false: the SDK ran out of the loaded tick arrays (the next one exists per the bitmap but is not in the fixture).",
  variants: result,
};
fs.writeFileSync(path.join(here, "expected_clmm_sparse.json"), JSON.stringify(out, null, 1) + "\n");
