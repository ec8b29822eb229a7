// Checks DESIGN.md §2 conservation for one subscription, reading only what is stored:
// every register equals the sum of its ledger; every grant's drawn total and the register's
// consumed total equal what rated events draw; every bill line equals its rated events.
// Adjustments add up on the bill lines they were posted to.
// checkAccount adds the account's side: bill-unit counters equal the items they count, and
// every balance group sits where its history says.
import { checkClaims, checkHolds } from './hold-invariants';
import type { Violation } from './violation';
import { scanItems } from './query-all';
import { getSubscription } from './subscriptions';
import { DEFAULT_BALANCE_GROUP_ID, OPEN_ITEM_KINDS } from '../domain/account';
import { signedAmount } from '../domain/adjustment';
import { formatQuantity } from '../domain/decimal';
import { registersOf, type Subscription } from '../domain/subscription';
import type { UsageEvent } from '../domain/usage-event';
import { getAccount } from './accounts';
import { listBillUnits } from './bill-units';
import { allOpenItems } from './open-items';
import { listAdjustments } from './adjustments';
import { allLedgerEntries, getLedgerEntry, grantUndrawn, listGrants, listRegisters } from './balances';
import { listBalanceGroupItems } from './balance-groups';
import { listBillAdjustments, listBillLines } from './bill-lines';
import { partitionEvents } from './partition-rating';
import { accountSubscriptionIds } from './subscriptions';

export { checkClaims, checkHolds };
export type { Violation };

export async function checkSubscription(sub: Subscription): Promise<Violation[]> {
  const v: Violation[] = [];
  const add = (rule: string, detail: string) => v.push({ subscriptionId: sub.subscriptionId, rule, detail });
  const [registers, grants, lines, undrawn] = await Promise.all([
    listRegisters(sub.subscriptionId),
    listGrants(sub.subscriptionId),
    listBillLines(sub.subscriptionId),
    grantUndrawn(sub.subscriptionId),
  ]);
  const events: UsageEvent[] = [];
  for (const register of new Set([...registersOf(sub), ...registers.map((r) => r.register)])) {
    events.push(...(await partitionEvents(sub.subscriptionId, register)));
  }
  const rated = events.filter((e) => (e.status === 'RATED' || e.status === 'EXCLUDED') && e.rating);

  for (const reg of registers) {
    const ledger = await allLedgerEntries(sub.subscriptionId, reg.register);
    const granted = ledger.reduce((s, e) => s + e.granted, 0n);
    const consumed = ledger.reduce((s, e) => s + e.consumed, 0n);
    if (granted !== reg.granted)
      add(
        'register-granted-equals-ledger',
        `${reg.register}: register ${formatQuantity(reg.granted)} vs ledger ${formatQuantity(granted)}`,
      );
    if (consumed !== reg.consumed)
      add(
        'register-consumed-equals-ledger',
        `${reg.register}: register ${formatQuantity(reg.consumed)} vs ledger ${formatQuantity(consumed)}`,
      );
    const drawn = rated.filter((e) => e.register === reg.register).reduce((s, e) => s + e.rating!.allowanceUsed, 0n);
    if (drawn !== reg.consumed)
      add(
        'register-consumed-equals-events',
        `${reg.register}: register ${formatQuantity(reg.consumed)} vs events ${formatQuantity(drawn)}`,
      );
    for (const e of ledger) {
      const changed = e.grantChanges?.reduce((s, c) => s + c.amount, 0n);
      if (changed !== undefined && changed !== e.granted)
        add(
          'entry-grant-changes-add-up',
          `${e.entryId}: grants ${formatQuantity(changed)} vs entry ${formatQuantity(e.granted)}`,
        );
      if (!e.counterpart) continue;
      const other = await getLedgerEntry(e.counterpart.subscriptionId, e.counterpart.register, e.counterpart.entryId);
      if (
        !other ||
        other.counterpart?.entryId !== e.entryId ||
        other.granted !== -e.granted ||
        other.transferId !== e.transferId
      ) {
        add(
          'transfer-entries-pair-up',
          `${e.entryId}: counterpart ${e.counterpart.entryId} ${other ? 'does not mirror it' : 'is missing'}`,
        );
      }
    }
    // Transfers and adjustments change grant amounts with the ledger entry, so the grants still add up to the register.
    const amounts = grants.filter((g) => g.register === reg.register).reduce((s, g) => s + g.amount, 0n);
    if (amounts !== reg.granted)
      add(
        'register-granted-equals-grants',
        `${reg.register}: register ${formatQuantity(reg.granted)} vs grants ${formatQuantity(amounts)}`,
      );
  }
  for (const g of grants) {
    const drawn = rated.reduce(
      (s, e) => s + e.rating!.draws.filter((d) => d.grantId === g.grantId).reduce((a, d) => a + d.quantity, 0n),
      0n,
    );
    if (drawn !== g.drawn)
      add(
        'grant-drawn-equals-events',
        `grant ${g.grantId}: ${formatQuantity(g.drawn)} vs events ${formatQuantity(drawn)}`,
      );
    if (g.drawn > g.amount || g.drawn < 0n)
      add('grant-within-amount', `grant ${g.grantId}: drawn ${formatQuantity(g.drawn)} of ${formatQuantity(g.amount)}`);
    const stored = undrawn.get(`${g.register}#${g.grantId}`);
    if (stored !== g.amount - g.drawn)
      add(
        'grant-undrawn-equals-amount-less-drawn',
        `grant ${g.grantId}: undrawn ${stored === undefined ? 'missing' : formatQuantity(stored)} vs ${formatQuantity(g.amount - g.drawn)}`,
      );
  }
  const byPeriod = new Map<string, { amount: bigint; count: number }>();
  for (const e of rated) {
    const p = byPeriod.get(e.rating!.billPeriod) ?? { amount: 0n, count: 0 };
    p.amount += e.rating!.amount;
    p.count++;
    byPeriod.set(e.rating!.billPeriod, p);
  }
  // A corrected interfaced line stays as it was: its credit and rebill adjustments, posted to an
  // open period, carry the difference. Every line's adjustments equal those posted to it.
  const creditRebill = await listBillAdjustments(sub.subscriptionId);
  // Each document records the usage its period's events rated to after it: the latest is the
  // period's corrected usage.
  const linked = new Map<string, bigint>();
  const creditRebillPosted = new Map<string, bigint>();
  for (const a of [...creditRebill].sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0))) {
    if (a.usageAfter !== undefined) linked.set(a.originalPeriod, a.usageAfter);
    creditRebillPosted.set(a.period, (creditRebillPosted.get(a.period) ?? 0n) + a.amount);
  }
  for (const line of lines) {
    const p = byPeriod.get(line.period) ?? { amount: 0n, count: 0 };
    const corrected = linked.get(line.period) ?? line.usageAmount;
    if (p.amount !== corrected)
      add(
        'bill-usage-equals-events',
        `${line.period}: line ${corrected} (with linked adjustments) vs events ${p.amount} (minor units)`,
      );
    if (!linked.has(line.period) && p.count !== line.eventCount)
      add('bill-count-equals-events', `${line.period}: line ${line.eventCount} vs events ${p.count}`);
    byPeriod.delete(line.period);
  }
  for (const [period, p] of byPeriod)
    if (p.count > 0 && linked.get(period) !== p.amount)
      add('bill-line-exists', `${period}: ${p.count} rated events but no bill line`);

  // Adjustments: each bill-line field equals the adjustments posted to it; each register adjustment has its ledger entry.
  const adjustments = await listAdjustments(sub.subscriptionId);
  const posted = (period: string, treatment: string) =>
    adjustments
      .filter((a) => a.target === 'BILL' && a.treatment === treatment && a.period === period)
      .reduce((s, a) => s + signedAmount(a), 0n);
  for (const line of lines) {
    // A line's adjustments are its backdated adjustments plus the credits and rebills posted to it.
    const expected = posted(line.period, 'ON_BILL') + (creditRebillPosted.get(line.period) ?? 0n);
    if (line.adjustments !== expected)
      add('bill-adjustments-equal-adjustments', `${line.period}: line ${line.adjustments} vs ${expected}`);
    const carried = posted(line.period, 'PREVIOUS_BALANCE');
    if (line.previousBalanceAdjustments !== carried)
      add(
        'bill-previous-balance-equals-adjustments',
        `${line.period}: line ${line.previousBalanceAdjustments} vs ${carried}`,
      );
  }
  for (const a of adjustments) {
    if (
      (a.treatment === 'ON_BILL' || a.treatment === 'PREVIOUS_BALANCE') &&
      !lines.some((l) => l.period === a.period)
    ) {
      add('adjusted-bill-line-exists', `${a.adjustmentId}: no bill line ${a.period}`);
    }
    if (a.target === 'REGISTER') {
      const entry = await getLedgerEntry(sub.subscriptionId, a.register!, `adjustment:${a.adjustmentId}`);
      if (entry?.granted !== signedAmount(a))
        add(
          'register-adjustment-has-entry',
          `${a.adjustmentId}: entry ${entry ? formatQuantity(entry.granted) : 'missing'}`,
        );
    }
  }
  return v;
}

export async function checkAccount(accountId: string): Promise<Violation[]> {
  const v: Violation[] = [];
  const add = (rule: string, detail: string) => v.push({ accountId, rule, detail });
  const account = await getAccount(accountId);
  if (!account) return [{ accountId, rule: 'account-exists', detail: 'no account item' }];
  const [billUnits, groups] = await Promise.all([listBillUnits(account), listBalanceGroupItems(accountId)]);
  for (const bu of billUnits) {
    if (bu.accountId !== accountId) add('bill-unit-in-account', `${bu.billUnitId} belongs to ${bu.accountId}`);
    const open = (await allOpenItems(bu.billUnitId)).filter((o) => o.status === 'OPEN');
    if (open.length !== bu.openItems)
      add('bill-unit-open-items-equal-items', `${bu.billUnitId}: counter ${bu.openItems} vs ${open.length} open items`);
    for (const kind of OPEN_ITEM_KINDS) {
      const n = open.filter((o) => o.kind === kind).length;
      if (n !== bu.openItemCounts[kind])
        add(
          'bill-unit-open-items-equal-items',
          `${bu.billUnitId}: ${kind} counter ${bu.openItemCounts[kind]} vs ${n} open items`,
        );
    }
    const assigned = groups.filter((g) => g.billUnitId === bu.billUnitId).length;
    if (assigned !== bu.balanceGroups)
      add(
        'bill-unit-groups-equal-items',
        `${bu.billUnitId}: counter ${bu.balanceGroups} vs ${assigned} balance groups`,
      );
  }
  const known = new Set(billUnits.map((b) => b.billUnitId));
  if (!known.has(account.defaultBillUnitId)) add('default-bill-unit-exists', account.defaultBillUnitId);
  const defaultGroup = groups.find((g) => g.balanceGroupId === DEFAULT_BALANCE_GROUP_ID);
  if (defaultGroup?.billUnitId !== account.defaultBillUnitId)
    add('default-group-in-default-bill-unit', `found in ${defaultGroup?.billUnitId ?? 'nowhere'}`);
  for (const g of groups) {
    if (!known.has(g.billUnitId)) add('group-in-known-bill-unit', `${g.balanceGroupId} is in unknown ${g.billUnitId}`);
    const last = g.history[g.history.length - 1];
    if (last?.billUnitId !== g.billUnitId || g.history.length !== g.moveSeq + 1) {
      add(
        'group-history-ends-where-it-is',
        `${g.balanceGroupId}: in ${g.billUnitId}, ${g.history.length} assignments for move ${g.moveSeq}`,
      );
    }
  }
  for (const subscriptionId of await accountSubscriptionIds(accountId)) {
    for (const line of await listBillLines(subscriptionId)) {
      if (line.billUnitId !== undefined && !known.has(line.billUnitId))
        add('bill-line-in-account-bill-unit', `${subscriptionId} ${line.period}: ${line.billUnitId}`);
    }
  }
  return v;
}

/** Every invariant over the whole table: what `npm run check-invariants` reports. */
export async function checkTable(onProgress?: (what: string) => void): Promise<Violation[]> {
  const violations: Violation[] = [];
  const subscriptions = await scanItems('SUBSCRIPTION');
  for (const item of subscriptions) {
    const sub = await getSubscription(item.subscriptionId as string);
    if (sub) violations.push(...(await checkSubscription(sub)));
  }
  onProgress?.(`${subscriptions.length} subscription(s) checked`);
  const accounts = await scanItems('ACCOUNT');
  for (const a of accounts) violations.push(...(await checkAccount(a.accountId as string)));
  onProgress?.(`${accounts.length} account(s) checked`);
  violations.push(...(await checkHolds()));
  violations.push(...(await checkClaims()));
  onProgress?.('holds checked');
  return violations;
}
