// Reading a subscription's bill lines with the bill unit each belongs to.
import { getAccount } from '../store/accounts';
import { listBillAdjustments, listBillLines } from '../store/bill-lines';
import { requireSubscription } from '../store/subscriptions';

/** A line created before its account existed has no stamp: it belongs to the account's default bill unit. */
export async function billLinesOf(subscriptionId: string) {
  const sub = await requireSubscription(subscriptionId);
  const [lines, account] = await Promise.all([listBillLines(subscriptionId), getAccount(sub.accountId)]);
  return lines.map((l) =>
    l.billUnitId === undefined && account ? { ...l, billUnitId: account.defaultBillUnitId } : l,
  );
}

/** The credit and rebill documents of a subscription, oldest first. */
export async function creditRebillOf(subscriptionId: string) {
  await requireSubscription(subscriptionId);
  return (await listBillAdjustments(subscriptionId)).sort((a, b) =>
    a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1,
  );
}
