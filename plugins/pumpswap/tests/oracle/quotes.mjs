// Expected PumpSwap quotes from the official SDK (@pump-fun/pump-swap-sdk, pinned in
// package.json), computed on the plugin's fixture accounts. Run: `npm ci && node quotes.mjs`;
// writes expected_quotes.json next to this file. CI does not run node: it reads the JSON.
//
// Accounts are decoded with the SDK's own PumpAmmSdk.decodePool / decodeGlobalConfig /
// decodeFeeConfig (which zero-pad short accounts and apply the FeeConfig length gate), and
// quoted with its four quote functions, called exactly as the SDK's own swap builders call them:
//   quote -> base, exact in : buyQuoteInput   (base received for a quote budget)
//   quote -> base, exact out: buyBaseInput    (quote paid, fees included, for base out)
//   base -> quote, exact in : sellBaseInput   (quote received for base in)
//   base -> quote, exact out: sellQuoteInput  (base paid for quote out)
// A point the SDK refuses is recorded with its error message.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import BN from "bn.js";
import { PublicKey } from "@solana/web3.js";
import { unpackAccount, unpackMint } from "@solana/spl-token";
import {
  PUMP_AMM_SDK,
  buyBaseInput,
  buyQuoteInput,
  sellBaseInput,
  sellQuoteInput,
  computeFeesBps,
  poolMarketCap,
} from "@pump-fun/pump-swap-sdk";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "..", "fixtures");
const sdkVersion = JSON.parse(
  fs.readFileSync(path.join(here, "node_modules", "@pump-fun", "pump-swap-sdk", "package.json"), "utf8"),
).version;
const variants = JSON.parse(fs.readFileSync(path.join(here, "variants.json"), "utf8")).variants;

function patch(data, p) {
  let buf = Buffer.from(data);
  if (p.pad_to && buf.length < p.pad_to) buf = Buffer.concat([buf, Buffer.alloc(p.pad_to - buf.length)]);
  let bytes;
  if (p.kind === "hex") bytes = Buffer.from(p.value, "hex");
  else {
    const width = { u8: 1, u64: 8, i128: 16 }[p.kind];
    bytes = new BN(p.value).toTwos(width * 8).toArrayLike(Buffer, "le", width);
  }
  bytes.copy(buf, p.offset);
  return buf;
}

function load(dir, file, patches) {
  const doc = JSON.parse(fs.readFileSync(path.join(fixtures, dir, file), "utf8"));
  let data = Buffer.from(doc.data_base64, "base64");
  for (const p of patches.filter((x) => x.file === file)) data = patch(data, p);
  const pubkey = new PublicKey(doc.pubkey);
  return { pubkey, info: { data, owner: new PublicKey(doc.owner), lamports: doc.lamports, executable: false } };
}

function grid(reserve) {
  const out = new Set(["1", "2", "3", "10", "100", "1000", "12345"]);
  const r = new BN(reserve);
  for (const [num, den] of [[1, 10000000], [1, 1000000], [1, 100000], [1, 10000], [1, 1000], [1, 100],
    [5, 100], [1, 10], [25, 100], [1, 2], [75, 100], [9, 10], [99, 100], [999, 1000], [1, 1], [3, 2], [10, 1]]) {
    const v = r.muln(num).divn(den);
    if (!v.isZero()) out.add(v.toString());
  }
  return [...out].sort((a, b) => new BN(a).cmp(new BN(b)));
}

function run(fn) {
  try {
    return fn();
  } catch (e) {
    return { error: String(e.message || e) };
  }
}

const result = { sdk: "@pump-fun/pump-swap-sdk", sdk_version: sdkVersion, pools: {} };
for (const v of variants) {
  const acc = (f) => load(v.fixture, f, v.patches);
  const poolAcc = acc("pool.json");
  const pool = PUMP_AMM_SDK.decodePool(poolAcc.info);
  const globalConfig = PUMP_AMM_SDK.decodeGlobalConfig(acc("global_config.json").info);
  const feeConfig = PUMP_AMM_SDK.decodeFeeConfig(acc("fee_config.json").info);
  const bm = acc("base_mint.json");
  const baseMintAccount = unpackMint(bm.pubkey, bm.info, bm.info.owner);
  const bv = acc("base_vault.json");
  const qv = acc("quote_vault.json");
  const baseReserve = new BN(unpackAccount(bv.pubkey, bv.info, bv.info.owner).amount.toString());
  const quoteReserve = new BN(unpackAccount(qv.pubkey, qv.info, qv.info.owner).amount.toString());
  const common = {
    slippage: 0,
    baseReserve,
    quoteReserve,
    virtualQuoteReserves: pool.virtualQuoteReserves,
    globalConfig,
    baseMintAccount,
    baseMint: pool.baseMint,
    coinCreator: pool.coinCreator,
    creator: pool.creator,
    feeConfig,
    quoteMint: pool.quoteMint,
    isMayhemMode: pool.isMayhemMode,
    creatorFeeBps: pool.creatorFeeBps,
  };
  const effQuote = quoteReserve.add(pool.virtualQuoteReserves);
  const fees = computeFeesBps({
    globalConfig,
    feeConfig,
    creator: pool.creator,
    baseMintSupply: new BN(baseMintAccount.supply.toString()),
    baseMint: pool.baseMint,
    baseReserve,
    quoteReserve: effQuote,
    quoteMint: pool.quoteMint,
    isMayhemMode: pool.isMayhemMode,
    creatorFeeBps: pool.creatorFeeBps,
  });
  const points = [];
  for (const amount of grid(quoteReserve)) {
    const q = new BN(amount);
    const r = run(() => buyQuoteInput({ ...common, quote: q }));
    points.push(r.error ? { side: "buy", exact_in: true, amount, error: r.error }
      : { side: "buy", exact_in: true, amount, in_amount: amount, out_amount: r.base.toString(),
          effective_quote: r.internalQuoteWithoutFees.toString() });
    const s = run(() => sellQuoteInput({ ...common, quote: q }));
    // What the SDK's own exact-in sell gives for the input sellQuoteInput asked for: the
    // three fees are charged as separate ceilings, so it can fall short of `amount`.
    const back = s.error ? null : run(() => sellBaseInput({ ...common, base: s.base }));
    points.push(s.error ? { side: "sell", exact_in: false, amount, error: s.error }
      : { side: "sell", exact_in: false, amount, in_amount: s.base.toString(), out_amount: amount,
          raw_quote: s.internalRawQuote.toString(),
          sdk_in_delivers: back.error ? { error: back.error } : back.uiQuote.toString() });
  }
  for (const amount of grid(baseReserve)) {
    const b = new BN(amount);
    const r = run(() => buyBaseInput({ ...common, base: b }));
    points.push(r.error ? { side: "buy", exact_in: false, amount, error: r.error }
      : { side: "buy", exact_in: false, amount, in_amount: r.uiQuote.toString(), out_amount: amount,
          quote_before_fees: r.internalQuoteAmount.toString() });
    const s = run(() => sellBaseInput({ ...common, base: b }));
    points.push(s.error ? { side: "sell", exact_in: true, amount, error: s.error }
      : { side: "sell", exact_in: true, amount, in_amount: amount, out_amount: s.uiQuote.toString(),
          quote_before_fees: s.internalQuoteAmountOut.toString() });
  }
  result.pools[v.name] = {
    fixture: v.fixture,
    pool: poolAcc.pubkey.toBase58(),
    base_mint: pool.baseMint.toBase58(),
    quote_mint: pool.quoteMint.toBase58(),
    base_reserve: baseReserve.toString(),
    quote_reserve: quoteReserve.toString(),
    virtual_quote_reserves: pool.virtualQuoteReserves.toString(),
    market_cap: poolMarketCap({
      baseMintSupply: new BN(baseMintAccount.supply.toString()),
      baseReserve,
      quoteReserve: effQuote,
      isMayhemMode: pool.isMayhemMode,
    }).toString(),
    fees_bps: {
      lp: fees.lpFeeBps.toString(),
      protocol: fees.protocolFeeBps.toString(),
      creator: fees.creatorFeeBps.toString(),
    },
    points,
  };
}
fs.writeFileSync(path.join(here, "expected_quotes.json"), JSON.stringify(result, null, 1) + "\n");
const n = Object.values(result.pools).reduce((a, p) => a + p.points.length, 0);
const errs = Object.values(result.pools).reduce((a, p) => a + p.points.filter((x) => x.error).length, 0);
console.log(`wrote ${n} points (${errs} refused) for ${Object.keys(result.pools).length} pools`);
