// Account operations the API offers: accounts, bill units, open items and the audit log.
import type { z } from 'zod';
import type { AccountRequest, OpenItemInput, OpenItemStatus, ResolveOpenItemInput } from '../domain/account';
import { parseMoney } from '../domain/decimal';
import { effectiveDateRefusal } from '../domain/effective-date';
import { DomainError } from '../domain/errors';
import { listAccountLog } from '../store/account-log';
import { addBillUnit, putAccount, requireAccount } from '../store/accounts';
import { listBillUnits, requireBillUnitOf } from '../store/bill-units';
import { listOpenItems, recordOpenItem, resolveOpenItem } from '../store/open-items';
import { operationId } from './operation-id';

export async function createAccount(accountId: string, req: AccountRequest, actor: string, now: string) {
  const refusal = req.createdAt !== undefined ? effectiveDateRefusal(req.createdAt, { now }) : undefined;
  if (refusal) throw new DomainError(refusal.code, refusal.message, [{ path: 'body.createdAt', ...refusal }]);
  const { account, created } = await putAccount(accountId, req, actor, now);
  return { account, billUnits: await listBillUnits(account), created };
}

export async function accountDetail(accountId: string) {
  const account = await requireAccount(accountId);
  return { account, billUnits: await listBillUnits(account) };
}

export { addBillUnit };

export async function billUnitDetail(accountId: string, billUnitId: string) {
  const [account, billUnit] = await Promise.all([requireAccount(accountId), requireBillUnitOf(accountId, billUnitId)]);
  return { account, billUnit };
}

export async function openItemsOf(
  accountId: string,
  billUnitId: string,
  status: OpenItemStatus | undefined,
  limit: number,
  cursor?: string,
) {
  const { account } = await billUnitDetail(accountId, billUnitId);
  return { ...(await listOpenItems(billUnitId, status, limit, cursor)), currency: account.currency };
}

export async function recordBillUnitOpenItem(
  accountId: string,
  billUnitId: string,
  req: z.output<typeof OpenItemInput>,
  actor: string,
  now: string,
  idempotencyKey?: string,
) {
  const account = await requireAccount(accountId);
  let amount: bigint | undefined;
  if (req.amount !== undefined) {
    const r = parseMoney(req.amount, account.currency);
    if (!r.ok)
      throw new DomainError('VALIDATION_FAILED', 'The request is not valid', [
        { path: 'body.amount', code: 'VALIDATION_FAILED', message: `${r.message} for ${account.currency}` },
      ]);
    amount = r.value;
  }
  const openItemId = req.openItemId ?? operationId(['open-item', billUnitId], actor, idempotencyKey);
  const result = await recordOpenItem(
    account,
    billUnitId,
    {
      openItemId,
      kind: req.kind,
      ...(amount !== undefined ? { amount } : {}),
      ...(req.reference ? { reference: req.reference } : {}),
      ...(req.note ? { note: req.note } : {}),
    },
    actor,
    now,
  );
  return { ...result, currency: account.currency };
}

export async function resolveBillUnitOpenItem(
  accountId: string,
  billUnitId: string,
  openItemId: string,
  req: z.output<typeof ResolveOpenItemInput>,
  actor: string,
  now: string,
) {
  const account = await requireAccount(accountId);
  return {
    openItem: await resolveOpenItem(accountId, billUnitId, openItemId, req.resolution, actor, now),
    currency: account.currency,
  };
}

export async function accountLog(accountId: string, limit: number, cursor?: string) {
  await requireAccount(accountId);
  return listAccountLog(accountId, limit, cursor);
}
