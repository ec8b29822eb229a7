// Four-eyes approval around submit: what the deployment asks, what a batch needs, and the log of
// every approval and refusal with its actor. The rule itself is shared/domain/approval.ts.
import { approvalNeed, approvalRefusal, type ApprovalNeed, type ApprovalSetting } from '../domain/approval';
import type { Batch } from '../domain/batch';
import { DomainError } from '../domain/errors';
import { config } from '../config';
import { appendLog } from '../store/batch-log';
import { requireBatch } from '../store/batches';
import { listChangeSets } from '../store/change-sets';

/** The deployment setting, from the validated configuration. */
function approvalSetting(): ApprovalSetting {
  const c = config();
  return {
    enabled: c.APPROVAL === 'on',
    ...(c.APPROVAL_MIN_EVENTS !== undefined ? { minEvents: c.APPROVAL_MIN_EVENTS } : {}),
    ...(c.APPROVAL_MIN_CHARGE_CHANGE !== undefined ? { minChargeChange: c.APPROVAL_MIN_CHARGE_CHANGE } : {}),
  };
}

/** Whether a locked batch needs approval now (undefined for a batch that is not LOCKED). */
export async function approvalFor(batch: Batch): Promise<ApprovalNeed | undefined> {
  if (batch.status !== 'LOCKED') return undefined;
  const setting = approvalSetting();
  const requested = batch.options.requireApproval === true;
  // The change sets are read only when a charge threshold can decide it.
  const chargeChange = new Map<string, bigint>();
  if (!requested && setting.enabled && setting.minChargeChange !== undefined) {
    for (const cs of await listChangeSets(batch.batchId)) {
      const abs = cs.chargeDelta < 0n ? -cs.chargeDelta : cs.chargeDelta;
      chargeChange.set(cs.currency, (chargeChange.get(cs.currency) ?? 0n) + abs);
    }
  }
  return approvalNeed(setting, { requested, events: batch.counts.events, chargeChange });
}

/**
 * Checks a submit under approval and logs the outcome with its actor. Returns the batch version
 * the check read: submit moves only that version, so a re-lock in between refuses it.
 */
export async function checkApproval(
  batchId: string,
  actor: string,
  ifMatch: string | undefined,
  now: string,
): Promise<{ version: number; approved: boolean; lockedBy?: string }> {
  const batch = await requireBatch(batchId);
  const need = await approvalFor(batch);
  if (!need?.required) return { version: batch.version, approved: false };
  const refusal = approvalRefusal(need, { actor, lockedBy: batch.lockedBy, ifMatch });
  if (refusal) {
    await appendLog(batchId, {
      at: now,
      actor,
      action: 'APPROVAL_REFUSED',
      message: refusal.message,
      data: { code: refusal.code, ...(batch.lockedBy ? { lockedBy: batch.lockedBy } : {}), version: batch.version },
    });
    throw new DomainError(refusal.code, refusal.message);
  }
  return { version: batch.version, approved: true, ...(batch.lockedBy ? { lockedBy: batch.lockedBy } : {}) };
}

/** After the approved submit started: the approval, with the preview tag approved. */
export async function logApproval(
  batchId: string,
  actor: string,
  lockedBy: string | undefined,
  ifMatch: string,
  now: string,
): Promise<void> {
  await appendLog(batchId, {
    at: now,
    actor,
    action: 'APPROVED',
    message: `approved and submitted the preview ${ifMatch.trim()} (locked by ${lockedBy})`,
    data: { lockedBy, previewTag: ifMatch.trim() },
  });
}
