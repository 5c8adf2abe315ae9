// Shared machinery of the CLMM oracle scripts: decode fixture accounts with the official SDK's
// layouts, run its swap simulator, and walk a size grid up to the largest fillable amount.
import BN from "bn.js";
import { PublicKey } from "@solana/web3.js";
import {
  PoolUtils,
  PoolInfoLayout,
  ClmmConfigLayout,
  TickArrayLayout,
  TickArrayBitmapExtensionLayout,
} from "@raydium-io/raydium-sdk-v2";

export const PROGRAM_ID = new PublicKey("CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK");
export const BLOCK_TIMESTAMP = 1767225600; // 2026-01-01T00:00:00Z; unused while dynamic fee is off

// A quote context: the pool (raw bytes given), its config, the bitmap extension and the tick
// arrays the SDK may read ({pubkey: base58 string, data: Buffer} each).
export function context(pool, config, ext, tickArrays) {
  const accInfo = PoolInfoLayout.decode(pool.data);
  const ammConfig = ClmmConfigLayout.decode(config.data);
  const cache = {};
  for (const ta of tickArrays) {
    cache[ta.pubkey] = { ...TickArrayLayout.decode(ta.data), address: new PublicKey(ta.pubkey) };
  }
  return {
    poolInfo: {
      id: new PublicKey(pool.pubkey),
      programId: PROGRAM_ID,
      mintA: { address: accInfo.mintA.toBase58(), decimals: accInfo.mintDecimalsA },
      mintB: { address: accInfo.mintB.toBase58(), decimals: accInfo.mintDecimalsB },
      ammConfig: {
        tradeFeeRate: ammConfig.tradeFeeRate,
        protocolFeeRate: ammConfig.protocolFeeRate,
        fundFeeRate: ammConfig.fundFeeRate,
      },
      accInfo,
      tickSpacing: accInfo.tickSpacing,
    },
    exBitmap: TickArrayBitmapExtensionLayout.decode(ext.data),
    cache,
  };
}

function cacheCopy(ctx) {
  // The simulator mutates tick state only for limit orders; copy anyway so runs are independent.
  return Object.fromEntries(Object.entries(ctx.cache).map(([k, v]) => [k, { ...v }]));
}

export function simulate(ctx, inputMint, outputMint, exactIn, amount) {
  const row = { input_mint: inputMint, exact_in: exactIn, amount };
  try {
    const r = exactIn
      ? PoolUtils.getOutputAmountAndRemainAccounts(
          ctx.poolInfo, ctx.exBitmap, cacheCopy(ctx), new PublicKey(inputMint), new BN(amount), BLOCK_TIMESTAMP,
        )
      : PoolUtils.getInputAmountAndRemainAccounts(
          ctx.poolInfo, ctx.exBitmap, cacheCopy(ctx), new PublicKey(outputMint), new BN(amount), BLOCK_TIMESTAMP,
        );
    row.all_trade = r.allTrade;
    row.in_amount = exactIn ? amount : r.expectedAmountIn.toString();
    row.out_amount = exactIn ? r.expectedAmountOut.toString() : amount;
    row.fee_amount = r.feeAmount.toString();
    row.remaining_accounts = r.remainingAccounts.map((k) => k.toBase58());
  } catch (e) {
    row.all_trade = false;
    row.error = String(e && e.message ? e.message : e);
  }
  return row;
}

// Sizes: 1 unit up to far beyond the loaded arrays, roughly 4 per decade.
export function grid(maxExp) {
  const out = new Set();
  for (let e = 0; e <= maxExp; e++) {
    for (const m of [1, 2, 5]) out.add(new BN(m).mul(new BN(10).pow(new BN(e))).toString());
  }
  for (const extra of ["3", "77", "12345", "987654321", "4242424242", "31415926535", "123456789012"]) out.add(extra);
  return [...out].sort((a, b) => new BN(a).cmp(new BN(b)));
}

// Largest amount the loaded arrays can fill (bisection on allTrade), to test the edge exactly.
export function edge(ctx, inputMint, outputMint, exactIn) {
  let lo = new BN(1);
  let hi = new BN(10).pow(new BN(15));
  while (hi.sub(lo).gtn(1)) {
    const mid = lo.add(hi).shrn(1);
    if (simulate(ctx, inputMint, outputMint, exactIn, mid.toString()).all_trade) lo = mid;
    else hi = mid;
  }
  return lo;
}

// Both directions, exact in and exact out: the grid plus both sides of each edge.
export function directions(ctx) {
  const { mintA, mintB } = ctx.poolInfo;
  const cases = [];
  const edges = {};
  for (const [inputMint, outputMint, label] of [
    [mintA.address, mintB.address, "token0_in"],
    [mintB.address, mintA.address, "token1_in"],
  ]) {
    for (const exactIn of [true, false]) {
      const last = edge(ctx, inputMint, outputMint, exactIn);
      edges[`${label}_${exactIn ? "exact_in" : "exact_out"}`] = last.toString();
      const amounts = new Set(grid(13));
      for (const d of [-1000, -1, 0, 1, 1000]) amounts.add(last.addn(d).toString());
      const sorted = [...amounts].sort((a, b) => new BN(a).cmp(new BN(b)));
      for (const amount of sorted) cases.push({ direction: label, ...simulate(ctx, inputMint, outputMint, exactIn, amount) });
    }
  }
  return { cases, edges };
}
