// Expected DLMM quotes from the official @meteora-ag/dlmm SDK, fed the plugin's
// fixture accounts directly (no network): the SDK's own IDL coder decodes the
// LbPair, BinArray and bitmap-extension bytes, spl-token unpacks the mints, and
// a DLMM object is built with its constructor. Date.now is pinned to each
// scenario's timestamp because swapQuote reads the wall clock for the
// variable fee. Output: expected_quotes.json next to this script.
//
// Run: npm ci && node quote_oracle.js
"use strict";

const fs = require("fs");
const path = require("path");
const DLMM = require("@meteora-ag/dlmm");
const { Connection, PublicKey } = require("@solana/web3.js");
const { unpackMint } = require("@solana/spl-token");
const { BN } = require("@coral-xyz/anchor");

const FIXTURES = path.join(__dirname, "..", "fixtures");
const OUT = path.join(__dirname, "expected_quotes.json");
const EPOCH = 1000;
const U64_MAX = (1n << 64n) - 1n;

function loadJson(p) {
  return JSON.parse(fs.readFileSync(p, "utf8"));
}

function accountInfo(doc) {
  return {
    data: Buffer.from(doc.data_base64, "base64"),
    owner: new PublicKey(doc.owner),
    lamports: Number(doc.lamports || 0),
    executable: false,
  };
}

function buildPool(dir, program) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
  const docs = Object.fromEntries(files.map((f) => [f, loadJson(path.join(dir, f))]));
  const pairDoc = docs["lb_pair.json"];
  const pairKey = new PublicKey(pairDoc.pubkey);
  const lbPair = program.coder.accounts.decode("lbPair", accountInfo(pairDoc).data);
  let ext = null;
  if (docs["bin_array_bitmap_extension.json"]) {
    const d = docs["bin_array_bitmap_extension.json"];
    ext = {
      publicKey: new PublicKey(d.pubkey),
      account: program.coder.accounts.decode("binArrayBitmapExtension", accountInfo(d).data),
    };
  }
  // Version-1 arrays (written before limit orders) are given as stored: their legacy
  // bytes at the limit-order offsets are read as orders, by the SDK and the program alike.
  const binArrays = [];
  const version1 = [];
  for (const f of files.filter((f) => /^bin_array_-?\d+\.json$/.test(f))) {
    const account = program.coder.accounts.decode("binArray", accountInfo(docs[f]).data);
    if (account.version < 2) version1.push(account.index.toNumber());
    binArrays.push({ publicKey: new PublicKey(docs[f].pubkey), account });
  }
  const token = (mintDoc, reserveKey) => {
    const info = accountInfo(mintDoc);
    const key = new PublicKey(mintDoc.pubkey);
    return {
      publicKey: key,
      reserve: reserveKey,
      amount: 0n,
      mint: unpackMint(key, info, info.owner),
      owner: info.owner,
      transferHookAccountMetas: [],
    };
  };
  const tokenX = token(docs["mint_x.json"], lbPair.reserveX);
  const tokenY = token(docs["mint_y.json"], lbPair.reserveY);
  const clock = { slot: new BN(0), epoch: new BN(EPOCH), unixTimestamp: new BN(0) };
  const dlmm = new DLMM(pairKey, program, lbPair, ext, tokenX, tokenY, [null, null], clock, {});
  return { dlmm, lbPair, binArrays, version1 };
}

function amountsGrid() {
  // 1, 2, 5 x 10^k up to u64, plus deterministic odd values in between.
  const out = [];
  for (let p = 1n; p <= U64_MAX; p *= 10n) {
    for (const m of [1n, 2n, 5n]) if (m * p <= U64_MAX) out.push(m * p);
  }
  let seed = 0x2545f4914f6cdd1dn;
  for (let i = 0; i < 24; i++) {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) & U64_MAX;
    const digits = 1n + (seed % 15n);
    out.push((seed >> 7n) % 10n ** digits + 1n);
  }
  return [...new Set(out)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function quoteOne(dlmm, binArrays, amount, swapForY, exactIn) {
  const amt = new BN(amount.toString());
  try {
    if (exactIn) {
      const q = dlmm.swapQuote(amt, swapForY, new BN(0), binArrays, false, 0);
      return {
        consumed_in: q.consumedInAmount.toString(),
        out: q.outAmount.toString(),
        fee: q.fee.toString(),
        protocol_fee: q.protocolFee.toString(),
        bin_arrays: q.binArraysPubkey.map((k) => k.toBase58()),
      };
    }
    const q = dlmm.swapQuoteExactOut(amt, swapForY, new BN(0), binArrays, 0);
    return {
      in: q.inAmount.toString(),
      out: q.outAmount.toString(),
      fee: q.fee.toString(),
      protocol_fee: q.protocolFee.toString(),
      bin_arrays: q.binArraysPubkey.map((k) => k.toBase58()),
    };
  } catch (e) {
    return { error: String(e.message || e) };
  }
}

function scenarios(label, lbPair) {
  const last = lbPair.vParameters.lastUpdateTimestamp.toNumber();
  const p = lbPair.parameters;
  if (last === 0) return [{ name: "never_swapped", unix_timestamp: 1_700_000_000 }];
  const list = [
    { name: "elapsed_0", unix_timestamp: last },
    { name: "elapsed_filter_period", unix_timestamp: last + p.filterPeriod },
    { name: "elapsed_decay_period", unix_timestamp: last + p.decayPeriod },
  ];
  if (label === "sol-usdc-bs4") list.push({ name: "source_pinned", unix_timestamp: 1783355400 });
  return list;
}

// Sparse pairs: the fixtures hold no pair whose bitmap has a gap between arrays a swap
// can reach, so SOL/USDC's real bitmap gets two: arrays -91 and -89 (either side of
// the active array -90) are marked uninitialized and not given to the SDK. Swaps from
// -90 then jump over them, as the program does, in both directions. The pair account
// with the changed bitmap is encoded with the SDK's own coder for the Python tests.
const SPARSE = { label: "sol-usdc-bs4", cleared: [-91, -89], scenarios: ["elapsed_filter_period", "source_pinned"] };

// Largest amount for which pred holds (pred(1) true, pred monotone), by bisection.
function lastTrue(pred) {
  let lo = 1n;
  let hi = U64_MAX;
  if (pred(hi)) return hi;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (pred(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

// Amounts that walk past the gap: from the first one that leaves the active array to
// the last one that still quotes, geometrically spaced, plus both edges.
function acrossTheGap(dlmm, binArrays, swapForY, exactIn) {
  const q = (a) => quoteOne(dlmm, binArrays, a, swapForY, exactIn);
  const oneArray = lastTrue((a) => { const r = q(a); return !r.error && r.bin_arrays.length === 1; });
  const quotes = lastTrue((a) => !q(a).error);
  const out = [oneArray, oneArray + 1n, quotes, quotes + 1n];
  for (let i = 1n; i < 12n; i++) out.push(oneArray + ((quotes - oneArray) * i) / 12n);
  return out;
}

async function sparse(program) {
  const dir = path.join(FIXTURES, SPARSE.label);
  const { dlmm, lbPair, binArrays } = buildPool(dir, program);
  for (const index of SPARSE.cleared) {
    const bit = index + 512;
    const word = Math.floor(bit / 64);
    const mask = new BN(1).shln(bit % 64);
    if (lbPair.binArrayBitmap[word].and(mask).isZero()) throw new Error(`array ${index} not initialized`);
    lbPair.binArrayBitmap[word] = lbPair.binArrayBitmap[word].xor(mask);
  }
  const kept = binArrays.filter((b) => !SPARSE.cleared.includes(b.account.index.toNumber()));
  const pairDoc = loadJson(path.join(dir, "lb_pair.json"));
  const data = await program.coder.accounts.encode("lbPair", lbPair);
  const synth = path.join(FIXTURES, "synthetic");
  fs.mkdirSync(synth, { recursive: true });
  const file = `${SPARSE.label}-gaps-lb_pair.json`;
  fs.writeFileSync(
    path.join(synth, file),
    JSON.stringify(
      {
        ...pairDoc,
        rent_epoch: 0, // u64::MAX in the source does not survive a JS number
        data_base64: Buffer.from(data).toString("base64"),
        note: `SYNTHETIC: the real ${SPARSE.label} pair with bin arrays ${SPARSE.cleared.join(", ")} cleared from its bitmap, encoded with @meteora-ag/dlmm's coder`,
      },
      null,
      1,
    ) + "\n",
  );
  const realNow = Date.now;
  const scen = [];
  for (const s of scenarios(SPARSE.label, lbPair).filter((x) => SPARSE.scenarios.includes(x.name))) {
    Date.now = () => s.unix_timestamp * 1000;
    const cases = [];
    for (const swapForY of [true, false]) {
      for (const exactIn of [true, false]) {
        let failures = 0;
        const grid = [...new Set([...amountsGrid(), ...acrossTheGap(dlmm, kept, swapForY, exactIn)])];
        grid.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        for (const amount of grid) {
          if (failures >= 3) break;
          const r = quoteOne(dlmm, kept, amount, swapForY, exactIn);
          if (r.error) failures += 1;
          cases.push({ swap_for_y: swapForY, exact_in: exactIn, amount: amount.toString(), ...r });
        }
      }
    }
    Date.now = realNow;
    scen.push({ ...s, epoch: EPOCH, cases });
  }
  return {
    label: SPARSE.label,
    pair_file: `synthetic/${file}`,
    uninitialized_arrays: SPARSE.cleared,
    bin_arrays_given: kept.map((b) => b.account.index.toNumber()).sort((a, b) => a - b),
    scenarios: scen,
  };
}

async function main() {
  const program = DLMM.createProgram(new Connection("http://127.0.0.1:9"), {});
  const pkg = loadJson(path.join(__dirname, "node_modules", "@meteora-ag", "dlmm", "package.json"));
  const splPkg = loadJson(path.join(__dirname, "node_modules", "@solana", "spl-token", "package.json"));
  const labels = fs
    .readdirSync(FIXTURES)
    .filter((d) => fs.existsSync(path.join(FIXTURES, d, "lb_pair.json")))
    .sort();
  const realNow = Date.now;
  const pools = [];
  for (const label of labels) {
    const { dlmm, lbPair, binArrays, version1 } = buildPool(path.join(FIXTURES, label), program);
    const grid = amountsGrid();
    const scen = [];
    for (const s of scenarios(label, lbPair)) {
      Date.now = () => s.unix_timestamp * 1000;
      const cases = [];
      for (const swapForY of [true, false]) {
        for (const exactIn of [true, false]) {
          let failures = 0;
          for (const amount of grid) {
            if (failures >= 3) break;
            const r = quoteOne(dlmm, binArrays, amount, swapForY, exactIn);
            if (r.error) failures += 1;
            cases.push({ swap_for_y: swapForY, exact_in: exactIn, amount: amount.toString(), ...r });
          }
        }
      }
      Date.now = realNow;
      scen.push({ ...s, epoch: EPOCH, cases });
    }
    pools.push({
      label,
      pair: dlmm.pubkey.toBase58(),
      version_1_arrays: version1.sort((a, b) => a - b),
      scenarios: scen,
    });
  }
  const doc = {
    generator: "plugins/meteora/tests/oracle/quote_oracle.js",
    sdk: { "@meteora-ag/dlmm": pkg.version, "@solana/spl-token": splPkg.version },
    clock: { epoch: EPOCH, note: "Date.now pinned to each scenario's unix_timestamp" },
    notes: [
      "exact-in: swapQuote(amount, swapForY, 0 bps, fixture bin arrays, isPartialFill=false)",
      "exact-out: swapQuoteExactOut(amount, swapForY, 0 bps, fixture bin arrays)",
      "fee is the SDK's LP share (trading fee minus protocol fee); protocol_fee its protocol share",
      "version-1 bin arrays are quoted as stored (legacy bytes at the limit-order offsets read as orders, as the program does)",
      "a grid direction stops after 3 errors (insufficient liquidity in the fixture arrays)",
      "sparse: a real pair with bitmap gaps (synthetic bitmap, real arrays); the SDK gets only the arrays the bitmap marks",
    ],
    pools,
    sparse: [await sparse(program)],
  };
  // One case per line: small diffs when the grid or the SDK changes.
  const text = JSON.stringify(doc, null, 1).replace(
    /\{\n\s+"swap_for_y"[\s\S]*?\n\s+\}/g,
    (m) => JSON.stringify(JSON.parse(m))
  );
  fs.writeFileSync(OUT, text + "\n");
  let n = 0;
  for (const p of [...pools, ...doc.sparse]) for (const s of p.scenarios) n += s.cases.length;
  console.log(`wrote ${OUT}: ${pools.length} pools + ${doc.sparse.length} sparse, ${n} cases`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
