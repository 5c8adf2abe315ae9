// Shared helpers of the AMM V4 and CPMM oracle scripts (fixture loading, size grids).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import BN from "bn.js";

export const here = path.dirname(fileURLToPath(import.meta.url));
export const require = createRequire(import.meta.url);
export const sdkVersion = require("@raydium-io/raydium-sdk-v2/package.json").version;

export function load(dir, name) {
  const doc = JSON.parse(fs.readFileSync(path.join(here, "..", "fixtures", dir, name), "utf8"));
  return { pubkey: doc.pubkey, data: Buffer.from(doc.data_base64, "base64") };
}

export function tokenAmount(acc) {
  return new BN(acc.data.subarray(64, 72), "le");
}

// Sizes from 1 unit to `top`: 1/2/3/5 per decade, then fractions of `near` (a reserve).
export function grid(top, near) {
  const out = new Set();
  for (let p = new BN(1); p.lte(top); p = p.muln(10)) {
    for (const m of [1, 2, 3, 5]) {
      const v = p.muln(m);
      if (v.lte(top)) out.add(v.toString());
    }
  }
  for (const [num, den] of [[1, 2], [9, 10], [99, 100], [999, 1000], [9999, 10000]]) {
    out.add(near.muln(num).divn(den).toString());
  }
  out.add(near.subn(1).toString());
  for (const extra of ["7", "77", "12345", "987654321"]) if (new BN(extra).lte(top)) out.add(extra);
  return [...out].filter((s) => new BN(s).gtn(0)).sort((a, b) => new BN(a).cmp(new BN(b)));
}

export function write(name, doc) {
  fs.writeFileSync(path.join(here, name), JSON.stringify(doc, null, 1) + "\n");
  console.log(`wrote ${name}: ${doc.cases.length} cases`);
}
