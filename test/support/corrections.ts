// Batches through the API and the real workflows, for the preview and correction tests.
import { expect } from 'vitest';
import { call } from './api';
import { anEvent } from './builders';
import { act } from './workflows';

export const FINISHED = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];

export async function newBatch(
  type: string,
  body: Record<string, unknown>,
  options: Record<string, unknown> = {},
): Promise<string> {
  const batchId = (await call('POST', '/v1/batches', { body: { type, options } })).body.batchId as string;
  const path = 'replacements' in body ? 'replacements' : 'events';
  expect((await call('POST', `/v1/batches/${batchId}/${path}`, { body })).body.rejected).toEqual([]);
  return batchId;
}

/** Ingests events and rates them with a RATING batch; returns their ids. */
export async function rateThroughBatch(sub: string, events: Array<Record<string, unknown>>): Promise<string[]> {
  const built = events.map((e) => anEvent({ subscriptionId: sub, ...e }));
  expect((await call('POST', '/v1/usage-events', { body: { events: built } })).body.accepted).toBe(built.length);
  const ids = built.map((e) => e.eventId as string);
  const batchId = await newBatch('RATING', { eventIds: ids });
  expect((await act(batchId, 'lock', ['LOCKED'])).counts.errored).toBe(0);
  expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
  return ids;
}

export const preview = async (batchId: string) => {
  const res = await call('GET', `/v1/batches/${batchId}/preview`);
  expect(res.status).toBe(200);
  return res.body;
};

export const billLines = async (sub: string) =>
  (await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items as Array<Record<string, any>>;
export const balances = async (sub: string) =>
  (await call('GET', `/v1/subscriptions/${sub}/balances`)).body.items as Array<Record<string, any>>;

/** A bill line as the preview shows it after submit: period → total. */
export const previewTotals = (p: any, sub: string): Record<string, string> =>
  Object.fromEntries(
    p.subscriptions.find((s: any) => s.subscriptionId === sub).billLines.map((l: any) => [l.period, l.after.total]),
  );
export const actualTotals = async (sub: string, periods: string[]): Promise<Record<string, string>> =>
  Object.fromEntries((await billLines(sub)).filter((l) => periods.includes(l.period)).map((l) => [l.period, l.total]));
