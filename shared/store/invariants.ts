// Checks DESIGN.md §2 conservation for one subscription, reading only what is stored:
// every register equals the sum of its ledger; every grant's drawn total and the register's
// consumed total equal what rated events draw; every bill line equals its rated events.
import { formatQuantity } from '../domain/decimal';
import { registersOf, type Subscription } from '../domain/subscription';
import type { UsageEvent } from '../domain/usage-event';
import { allLedgerEntries, listGrants, listRegisters } from './balances';
import { listBillAdjustments, listBillLines } from './bill-lines';
import { eventsFrom } from './partition-rating';

export interface Violation {
  subscriptionId: string;
  rule: string;
  detail: string;
}

export async function checkSubscription(sub: Subscription): Promise<Violation[]> {
  const v: Violation[] = [];
  const add = (rule: string, detail: string) => v.push({ subscriptionId: sub.subscriptionId, rule, detail });
  const [registers, grants, lines] = await Promise.all([listRegisters(sub.subscriptionId), listGrants(sub.subscriptionId), listBillLines(sub.subscriptionId)]);
  const events: UsageEvent[] = [];
  for (const register of new Set([...registersOf(sub), ...registers.map((r) => r.register)])) {
    events.push(...(await eventsFrom(sub.subscriptionId, register, { occurredAt: '', eventId: '' })));
  }
  const rated = events.filter((e) => (e.status === 'RATED' || e.status === 'EXCLUDED') && e.rating);

  for (const reg of registers) {
    const ledger = await allLedgerEntries(sub.subscriptionId, reg.register);
    const granted = ledger.reduce((s, e) => s + e.granted, 0n);
    const consumed = ledger.reduce((s, e) => s + e.consumed, 0n);
    if (granted !== reg.granted) add('register-granted-equals-ledger', `${reg.register}: register ${formatQuantity(reg.granted)} vs ledger ${formatQuantity(granted)}`);
    if (consumed !== reg.consumed) add('register-consumed-equals-ledger', `${reg.register}: register ${formatQuantity(reg.consumed)} vs ledger ${formatQuantity(consumed)}`);
    const drawn = rated.filter((e) => e.register === reg.register).reduce((s, e) => s + e.rating!.allowanceUsed, 0n);
    if (drawn !== reg.consumed) add('register-consumed-equals-events', `${reg.register}: register ${formatQuantity(reg.consumed)} vs events ${formatQuantity(drawn)}`);
  }
  for (const g of grants) {
    const drawn = rated.reduce((s, e) => s + e.rating!.draws.filter((d) => d.grantId === g.grantId).reduce((a, d) => a + d.quantity, 0n), 0n);
    if (drawn !== g.drawn) add('grant-drawn-equals-events', `grant ${g.grantId}: ${formatQuantity(g.drawn)} vs events ${formatQuantity(drawn)}`);
    if (g.drawn > g.amount || g.drawn < 0n) add('grant-within-amount', `grant ${g.grantId}: drawn ${formatQuantity(g.drawn)} of ${formatQuantity(g.amount)}`);
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
  const adjustments = await listBillAdjustments(sub.subscriptionId);
  const linked = new Map<string, bigint>();
  const posted = new Map<string, bigint>();
  for (const a of adjustments) {
    linked.set(a.originalPeriod, (linked.get(a.originalPeriod) ?? 0n) + a.amount);
    posted.set(a.period, (posted.get(a.period) ?? 0n) + a.amount);
  }
  for (const line of lines) {
    const p = byPeriod.get(line.period) ?? { amount: 0n, count: 0 };
    const corrected = line.usageAmount + (linked.get(line.period) ?? 0n);
    if (p.amount !== corrected) add('bill-usage-equals-events', `${line.period}: line ${corrected} (with linked adjustments) vs events ${p.amount} (minor units)`);
    if (!linked.has(line.period) && p.count !== line.eventCount) add('bill-count-equals-events', `${line.period}: line ${line.eventCount} vs events ${p.count}`);
    if ((posted.get(line.period) ?? 0n) !== line.adjustments) add('bill-adjustments-equal-postings', `${line.period}: line ${line.adjustments} vs postings ${posted.get(line.period) ?? 0n}`);
    byPeriod.delete(line.period);
  }
  for (const [period, p] of byPeriod) if (p.count > 0) add('bill-line-exists', `${period}: ${p.count} rated events but no bill line`);
  return v;
}
