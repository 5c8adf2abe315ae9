// Expected Raydium AMM V4 quotes from the official SDK (@raydium-io/raydium-sdk-v2),
// computed on the plugin's fixture accounts. Run: `node amm_v4_quotes.mjs` (after `npm ci`);
// writes expected_amm_v4.json next to this file. CI does not run node: it reads the JSON.
//
// Exact input: LiquidityModule.computeAmountOut (ceil fee, floor curve), the program's math
// whenever the pool's swap fee is the SDK's hard-coded 25/10000 (asserted below).
// Exact output: the SDK's computeAmountIn floors both divisions while the program
// (process_swap_base_out_v2 / Calculator::swap_token_amount_base_out) rounds both up, so
// its numbers are recorded as `sdk_amount_in` next to `program_amount_in`, which this
// script computes with the program's two ceil divisions (SDK BN and BNDivCeil); for each
// point the script also records whether the SDK's own computeAmountOut says sdk_amount_in
// actually buys the requested output (`sdk_in_buys_out`).
import BN from "bn.js";
import { PublicKey } from "@solana/web3.js";
import { liquidityStateV4Layout, BNDivCeil } from "@raydium-io/raydium-sdk-v2";
import { require, sdkVersion, load, tokenAmount, grid, write } from "./oracle_common.mjs";

const LiquidityModule = require("@raydium-io/raydium-sdk-v2/lib/raydium/liquidity/liquidity.js").default;
const ctx = {
  logDebug() {},
  logAndCreateError(...a) {
    throw new Error(a.join(" "));
  },
};
const computeAmountOut = (p) => LiquidityModule.prototype.computeAmountOut.call(ctx, p);
const computeAmountIn = (p) => LiquidityModule.prototype.computeAmountIn.call(ctx, p);

const pool = load("amm_v4", "pool.json");
const info = liquidityStateV4Layout.decode(pool.data);
const coinVault = load("amm_v4", "coin_vault.json");
const pcVault = load("amm_v4", "pc_vault.json");
if (!info.swapFeeNumerator.eqn(25) || !info.swapFeeDenominator.eqn(10000)) {
  throw new Error("the SDK hard-codes a 25/10000 swap fee; this pool differs");
}
const baseReserve = tokenAmount(coinVault).sub(info.baseNeedTakePnl);
const quoteReserve = tokenAmount(pcVault).sub(info.quoteNeedTakePnl);
const mintA = { address: info.baseMint.toBase58(), decimals: info.baseDecimal.toNumber() };
const mintB = { address: info.quoteMint.toBase58(), decimals: info.quoteDecimal.toNumber() };
const poolInfo = { version: 4, mintA, mintB, baseReserve, quoteReserve };

function programAmountIn(out, rIn, rOut) {
  const net = BNDivCeil(rIn.mul(out), rOut.sub(out));
  const den = info.swapFeeDenominator;
  const amountIn = BNDivCeil(net.mul(den), den.sub(info.swapFeeNumerator));
  return { amountIn, fee: amountIn.sub(net) };
}

const cases = [];
for (const [direction, mIn, mOut, rIn, rOut] of [
  ["coin_in", mintA, mintB, baseReserve, quoteReserve],
  ["pc_in", mintB, mintA, quoteReserve, baseReserve],
]) {
  const mintIn = new PublicKey(mIn.address);
  const mintOut = new PublicKey(mOut.address);
  for (const a of grid(rIn.muln(4), rIn)) {
    const r = computeAmountOut({ poolInfo, amountIn: new BN(a), mintIn, mintOut, slippage: 0 });
    cases.push({
      direction, input_mint: mIn.address, exact_in: true, amount: a,
      in_amount: a, out_amount: r.amountOut.toString(), fee_amount: r.fee.toString(),
    });
  }
  for (const o of grid(rOut.subn(1), rOut)) {
    const out = new BN(o);
    const r = computeAmountIn({ poolInfo, amountOut: out, mintIn, mintOut, slippage: 0 });
    const prog = programAmountIn(out, rIn, rOut);
    const back = computeAmountOut({ poolInfo, amountIn: r.amountIn, mintIn, mintOut, slippage: 0 });
    cases.push({
      direction, input_mint: mIn.address, exact_in: false, amount: o,
      sdk_amount_in: r.amountIn.toString(), sdk_fee_amount: r.fee.toString(),
      sdk_in_buys_out: back.amountOut.gte(out),
      program_amount_in: prog.amountIn.toString(), program_fee_amount: prog.fee.toString(),
      out_amount: o,
    });
  }
}

write("expected_amm_v4.json", {
  generator: "tests/oracle/amm_v4_quotes.mjs",
  sdk: { package: "@raydium-io/raydium-sdk-v2", version: sdkVersion },
  node: process.version,
  functions: ["LiquidityModule.computeAmountOut", "LiquidityModule.computeAmountIn", "BNDivCeil"],
  pool: pool.pubkey,
  reserves: { coin: baseReserve.toString(), pc: quoteReserve.toString() },
  swap_fee: [info.swapFeeNumerator.toString(), info.swapFeeDenominator.toString()],
  cases,
});
