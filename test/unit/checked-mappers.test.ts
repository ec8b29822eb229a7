// A batch or member item read from the table is checked as it is mapped, not cast: an attribute
// that is not what the store writes fails loudly, naming the item and the attribute.
import { describe, expect, it } from 'vitest';
import { toBatch, toMember } from '../../shared/store/batches';

const storedBatch = {
  batchId: 'b-1',
  type: 'RERATE',
  status: 'LOCKED',
  version: 3n,
  options: { arPolicy: 'CREDIT_REBILL', creditOnly: false, requireApproval: true },
  counts: { events: 4n, related: 1n },
  progress: { done: 0n, total: 2n },
  createdBy: 'alice',
  lockedBy: 'bob',
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:01:00.000Z',
  executions: { lock: 'arn:lock' },
  pendingStart: { action: 'SUBMIT', workflow: 'submit', name: 'b-1-submit-v4', input: '{}' },
  cancelRequested: true,
};

const storedMember = {
  eventId: 'e-1',
  role: 'MEMBER',
  state: 'HELD',
  subscriptionId: 's-1',
  register: 'MINUTES',
  occurredAt: '2026-03-01T10:00:00Z',
  addedAt: '2026-12-01T00:00:00.000Z',
  replacements: ['e-1r'],
  replacementEvents: [
    {
      eventId: 'e-1r',
      subscriptionId: 's-1',
      productId: 'p',
      quantity: 5000000n,
      occurredAt: '2026-03-01T10:00:00Z',
      replaces: 'e-1',
      register: 'MINUTES',
    },
  ],
};

describe('checked batch and member mappers', () => {
  it('map what the store writes, with counts and versions as numbers and absent counters as 0', () => {
    expect(toBatch(storedBatch)).toMatchObject({
      batchId: 'b-1',
      status: 'LOCKED',
      version: 3,
      options: { arPolicy: 'CREDIT_REBILL', creditOnly: false, requireApproval: true },
      counts: { events: 4, related: 1, errored: 0, inProcess: 0, processed: 0 },
      progress: { done: 0, total: 2 },
      pendingStart: { action: 'SUBMIT', workflow: 'submit' },
      cancelRequested: true,
    });
    expect(toMember(storedMember).replacementEvents?.[0]).toMatchObject({ eventId: 'e-1r', quantity: 5000000n });
  });

  it('refuse an attribute that is not what the store writes, naming the item and the attribute', () => {
    expect(() => toBatch({ ...storedBatch, status: 'PAUSED' })).toThrow(/batch b-1: attribute status is not one of/);
    expect(() => toBatch({ ...storedBatch, cancelRequested: 'yes' })).toThrow(
      /batch b-1: attribute cancelRequested is not a boolean/,
    );
    expect(() => toBatch({ ...storedBatch, pendingStart: { ...storedBatch.pendingStart, workflow: 'x' } })).toThrow(
      /attribute workflow is not one of/,
    );
    expect(() => toMember({ ...storedMember, role: 'OWNER' })).toThrow(/batch member e-1: attribute role/);
    expect(() =>
      toMember({ ...storedMember, replacementEvents: [{ ...storedMember.replacementEvents[0], quantity: '5' }] }),
    ).toThrow(/replacementEvents\[0\]: attribute quantity is not an integer/);
  });
});
