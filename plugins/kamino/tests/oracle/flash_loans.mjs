// Expected klend flash-loan fees and instructions from the official SDK (@kamino-finance/klend-sdk,
// pinned in package.json), computed on the plugin's fixture reserves. Run: `npm ci && node
// flash_loans.mjs`; writes expected_flash_loans.json next to this file. CI does not run node: the
// tests read the JSON.
//
// What comes from the SDK:
//   - the reserve decoded by its generated `Reserve.decode` (so flash_loan_fee_sf, the vaults, the
//     mint, the token program and the available amount are read by the SDK, not by us);
//   - the fee by `KaminoReserve.calculateFees(amount, getFlashLoanFee(), Exclusive, bps, hasReferrer)`,
//     the SDK's port of the program's ReserveFees::calculate_fees (minimum one unit, BorrowTooSmall,
//     referral floored), with the rate from its `Fraction(flashLoanFeeSf).toDecimal()`;
//   - the instructions by `getFlashLoanInstructions` (account order, roles, data), the lending
//     market authority by `lendingMarketAuthPda`, the referrer token state by `referrerTokenStatePda`.
// What the script adds: the SDK returns the fee unrounded, while the program charges
// `fee_f.round()` (nearest, ties away from zero); the script applies that one rounding step and
// records the SDK's own unrounded value and its `computeFlashRepayLamports` (which takes the ceiling
// instead) next to it. Decimal precision is raised to 60 digits so no product is cut short.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Decimal = require("decimal.js");
const BN = require("bn.js");
const sdk = require("@kamino-finance/klend-sdk");

Decimal.set({ precision: 60 });

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "..", "fixtures");
const sdkVersion = JSON.parse(
  fs.readFileSync(path.join(here, "node_modules", "@kamino-finance", "klend-sdk", "package.json"), "utf8"),
).version;
const variants = JSON.parse(fs.readFileSync(path.join(here, "variants.json"), "utf8")).variants;

const PROGRAM_ID = sdk.PROGRAM_ID;
const U64_MAX = new BN("18446744073709551615");

function loadVariant(v) {
  const doc = JSON.parse(fs.readFileSync(path.join(fixtures, v.fixture), "utf8"));
  const data = Buffer.from(doc.data_base64, "base64");
  if (v.flash_loan_fee_sf !== null) {
    new BN(v.flash_loan_fee_sf).toArrayLike(Buffer, "le", 8).copy(data, 4904);
  }
  const state = sdk.Reserve.decode(data);
  const reserve = new sdk.KaminoReserve(state, doc.pubkey, undefined, undefined, 400);
  return { doc, state, reserve };
}

// Deterministic amounts: edges, powers of ten and their neighbours, and a log-uniform spread.
function amounts(available) {
  const out = new Set(["1", "2", "3", "4", "5", "9", "10", "11", "99", "100", "101", "150001", "999999"]);
  for (let k = 2; k <= 15; k++) {
    const p = new BN(10).pow(new BN(k));
    for (const d of [-1, 0, 1]) out.add(p.addn(d).toString());
  }
  let s = 0x9e3779b9n;
  const avail = BigInt(available);
  for (let i = 0; i < 150; i++) {
    s ^= s << 13n; s &= 0xffffffffffffffffn;
    s ^= s >> 7n;
    s ^= s << 17n; s &= 0xffffffffffffffffn;
    const exp = Number(s % 4900n) / 100; // 0 .. 49 bits
    const a = BigInt(Math.floor(2 ** exp)) + (s % 997n);
    out.add((a > avail ? avail : a).toString());
  }
  out.add(available.toString());
  return [...out].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}

function programFees(reserve, amount, bps, hasReferrer) {
  const a = new Decimal(amount);
  const rate = reserve.getFlashLoanFee();
  let fees;
  try {
    fees = reserve.calculateFees(a, rate, sdk.FeeCalculation.Exclusive, bps, hasReferrer);
  } catch (e) {
    return { amount, bps, has_referrer: hasReferrer, error: String(e.message) };
  }
  const unrounded = fees.protocolFees.add(fees.referrerFees);
  const fee = unrounded.toDecimalPlaces(0, Decimal.ROUND_HALF_UP);
  const referral = bps === 10000 && hasReferrer ? fee : fees.referrerFees;
  let repayCeil = null;
  if (typeof sdk.computeFlashRepayLamports === "function") {
    repayCeil = sdk.computeFlashRepayLamports(reserve, a, bps, hasReferrer).toFixed(0);
  }
  return {
    amount,
    bps,
    has_referrer: hasReferrer,
    sdk_fee_unrounded: unrounded.toFixed(12),
    fee: fee.toFixed(0),
    referral_fee: referral.toFixed(0),
    protocol_fee: fee.sub(referral).toFixed(0),
    sdk_repay_ceil: repayCeil,
  };
}

function ixJson(ix) {
  return {
    program_id: ix.programAddress,
    data_hex: Buffer.from(ix.data).toString("hex"),
    accounts: ix.accounts.map((m) => ({ pubkey: m.address, signer: m.role >= 2, writable: m.role % 2 === 1 })),
  };
}

// The SDK's PDA helpers return either [address, bump] or the address alone.
const first = (pda) => (Array.isArray(pda) ? pda[0] : pda);

const USER = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const USER_ATA = "3Kz5b7bY6ZGYVqgdF8eAqf1mq1X3m1vdbL9c8bBJRf9r";
const REFERRER = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU";

const out = { sdk: "@kamino-finance/klend-sdk", sdk_version: sdkVersion, program_id: PROGRAM_ID, variants: {}, instructions: [] };

for (const v of variants) {
  const { doc, state, reserve } = loadVariant(v);
  const available = state.liquidity.totalAvailableAmount.toString();
  const entry = {
    fixture: v.fixture,
    reserve: doc.pubkey,
    lending_market: state.lendingMarket,
    liquidity_mint: state.liquidity.mintPubkey,
    supply_vault: state.liquidity.supplyVault,
    fee_vault: state.liquidity.feeVault,
    token_program: state.liquidity.tokenProgram,
    available_amount: available,
    flash_loan_fee_sf: state.config.fees.flashLoanFeeSf.toString(),
    flash_loans_enabled: sdk.isFlashLoanEnabled(reserve),
    version: state.version.toString(),
    status: state.config.status,
    reserve_emergency_mode: state.config.emergencyMode,
    points: [],
    referral_points: [],
  };
  const list = amounts(available);
  for (const a of list) entry.points.push(programFees(reserve, a, 0, false));
  for (const bps of [1, 500, 3333, 5000, 10000]) {
    for (const a of list.filter((_, i) => i % 7 === 0)) entry.referral_points.push(programFees(reserve, a, bps, true));
  }
  out.variants[v.name] = entry;

  if (v.flash_loan_fee_sf === null) {
    const authority = first(await sdk.lendingMarketAuthPda(state.lendingMarket, PROGRAM_ID));
    for (const index of [0, 3, 17]) {
      for (const referrer of [null, REFERRER]) {
        let referrerTokenState = null;
        if (referrer) referrerTokenState = first(await sdk.referrerTokenStatePda(referrer, doc.pubkey, PROGRAM_ID));
        const { flashBorrowIx, flashRepayIx } = sdk.getFlashLoanInstructions({
          borrowIxIndex: index,
          userTransferAuthority: { address: USER },
          lendingMarketAuthority: authority,
          lendingMarketAddress: state.lendingMarket,
          reserve,
          amountLamports: new Decimal("1000000000"),
          destinationAta: USER_ATA,
          referrerAccount: referrer ? { __option: "Some", value: referrer } : { __option: "None" },
          referrerTokenState: referrer ? { __option: "Some", value: referrerTokenState } : { __option: "None" },
          programId: PROGRAM_ID,
        });
        out.instructions.push({
          variant: v.name,
          reserve: doc.pubkey,
          amount: "1000000000",
          borrow_index: index,
          user: USER,
          user_token_account: USER_ATA,
          referrer,
          lending_market_authority: authority,
          referrer_token_state: referrerTokenState,
          borrow: ixJson(flashBorrowIx),
          repay: ixJson(flashRepayIx),
        });
      }
    }
  }
}

fs.writeFileSync(path.join(here, "expected_flash_loans.json"), JSON.stringify(out) + "\n");
console.log(`wrote ${Object.keys(out.variants).length} reserve variants, ${out.instructions.length} instruction pairs`);
