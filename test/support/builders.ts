// Test data builders: short, readable set-ups with sensible defaults.
import { randomUUID } from 'node:crypto';

let counter = 0;
export const uniqueId = (prefix: string) => `${prefix}-${++counter}-${randomUUID().slice(0, 6)}`;

export const aSubscription = (overrides: Record<string, unknown> = {}) => ({
  accountId: 'acct-1',
  startDate: '2026-01-01',
  currency: 'USD',
  products: { voice: { register: 'MINUTES', unitPrice: '0.05' } },
  ...overrides,
});

/** Two products on two registers: voice → MINUTES, data → DATA_MB. */
export const voiceAndData = {
  voice: { register: 'MINUTES', unitPrice: '0.05' },
  data: { register: 'DATA_MB', unitPrice: '0.01' },
};

export const anEvent = (overrides: Record<string, unknown> = {}) => ({
  eventId: uniqueId('evt'),
  subscriptionId: 'sub-1',
  productId: 'voice',
  quantity: '30',
  occurredAt: '2026-03-01T10:00:00Z',
  ...overrides,
});

export const anAccount = (overrides: Record<string, unknown> = {}) => ({
  currency: 'USD',
  accountingMethod: 'BALANCE_FORWARD',
  createdAt: '2026-01-01T00:00:00Z',
  ...overrides,
});
