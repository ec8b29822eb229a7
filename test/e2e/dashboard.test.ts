// The dashboard in a real browser (headless Chromium from the system's packages), against the local
// stack: the worked example driven entirely through its pages (a CSV import with a bad row, a
// batch from a selection, criteria with a dry run, lock, review summary, submit, progress to the
// end, the bill line; then the top-up's re-rate, with refused events and a refused action).
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { launchChromium, type Browser } from '../../infra/local/browser';
import { buildDashboard } from '../../infra/local/dashboard';
import { localDir } from '../../infra/local/dynamodb-local';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { eventually } from '../support/eventually';

/** Waits for conditions, never for a guessed time: every wait below ends at this deadline at the latest. */
const DEADLINE_MS = 60_000;

let stack: LocalStack;
let browser: Browser;
let page: Page;
/** Every URL the page asked for: the dashboard may reach only its own origin, the API and S3. */
const requested: string[] = [];

const run = randomUUID().slice(0, 8);
const sub = `dash-${run}`;
const built = join(localDir, `dashboard-e2e-${run}`);

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-actor': 'another-operator' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

beforeAll(async () => {
  // One browser for the file; it starts while the dashboard builds and the stack comes up.
  const [launched, directory] = await Promise.all([launchChromium(), buildDashboard(built)]);
  browser = launched;
  stack = await startLocalStack({
    inMemory: true,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `dash-${run}`,
    dashboard: { directory },
  });
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.setDefaultTimeout(DEADLINE_MS);
  page.on('request', (r) => requested.push(r.url()));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  rmSync(built, { recursive: true, force: true });
});

const open = (hash: string) => page.goto(`${stack.dashboardUrl}/${hash}`);
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text, table cells apart, is what an operator reads.
const text = (locator: Locator) => locator.innerText();
const statusOf = () => page.getByTestId('batch-status');

/** The batch page or review page shows this status (it polls while a stage runs). */
const statusIs = (status: string) => statusOf().getByText(status, { exact: true }).waitFor();

/** The progress bar has reached its end. */
const progressAtEnd = () =>
  page.waitForFunction(() => {
    // Runs in the page (the root tsconfig has no DOM types).
    const bar = (globalThis as any).document.querySelector('#batch-progress') as {
      value: number;
      max: number;
      hasAttribute(n: string): boolean;
    } | null;
    return !!bar && bar.hasAttribute('value') && bar.max > 0 && bar.value === bar.max;
  });

describe('the Usage Events Dashboard in Chromium', () => {
  it('runs the worked example: CSV import, selection, criteria, lock, review, submit, progress, bill line; refusals shown', async () => {
    await api('PUT', `/v1/subscriptions/${sub}`, {
      accountId: `acct-${run}`,
      startDate: '2026-01-01',
      currency: 'USD',
      products: { voice: { register: 'MINUTES', unitPrice: '0.05' } },
    });
    await api('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { amount: '100', reason: 'plan allowance' });

    // The operator's name is the actor the local API records.
    await open('#/events');
    await page.getByLabel('Acting as').fill('e2e-operator');
    await page.getByLabel('Acting as').press('Tab');

    // Import: the three calls and one bad row, uploaded into the bucket the S3 drop uses.
    await open('#/imports');
    await page.getByLabel('Usage events (new events)').check();
    const csv = [
      'event_id,subscription_id,product_id,quantity,occurred_at',
      `${sub}-call-1,${sub},voice,30,2026-03-01T10:00:00Z`,
      `${sub}-call-2,${sub},voice,50,2026-03-02T10:00:00Z`,
      `${sub}-call-3,${sub},voice,40,2026-03-03T10:00:00Z`,
      `${sub}-bad,${sub},voice,-3,2026-03-04T10:00:00Z`,
    ].join('\n');
    await page
      .getByLabel('CSV file', { exact: true })
      .setInputFiles({ name: 'calls march.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Upload and import' }).click();
    await page.getByTestId('import-state').getByText('Completed with errors', { exact: true }).waitFor();
    expect(await text(page.getByTestId('import-report').locator('tbody tr'))).toMatch(/^4\s+3\s+0\s+1$/);
    const errorsLink = page.getByRole('link', { name: 'Download the rejected rows (errors CSV)' });
    const errorsCsv = await (await fetch((await errorsLink.getAttribute('href'))!)).text();
    expect(errorsCsv).toContain(`4,VALIDATION_FAILED,`);
    expect(errorsCsv).toContain(`${sub}-bad`);

    // Events: select two calls and create the RATING batch from them.
    await open(`#/events?subscriptionId=${sub}`);
    await page.getByLabel(`Select ${sub}-call-1`).check();
    await page.getByLabel(`Select ${sub}-call-2`).check();
    const create = page.getByRole('form', { name: 'Create a batch' });
    await create.getByLabel('Type').selectOption('RATING');
    await create.getByLabel('Name').fill(`rating ${run}`);
    await create.getByRole('button', { name: 'Create batch with 2 selected event(s)' }).click();
    await page.getByTestId('create-result').getByText('2 event(s) added, 0 refused.').waitFor();
    await page.getByRole('link', { name: `rating ${run}` }).click();

    // Batch: the third call comes by criteria, counted first by a dry run.
    const criteria = page.getByRole('form', { name: 'Selection criteria' });
    await criteria.getByLabel('Subscriptions').fill(sub);
    await criteria.getByRole('button', { name: 'Count matching events (dry run)' }).click();
    await page.getByTestId('dry-run').getByText('Dry run: 3 event(s) match.').waitFor();
    await criteria.getByRole('button', { name: 'Add matching events' }).click();
    await page.getByTestId('add-result').getByText('Added 1 of 3 matched event(s); 0 refused.').waitFor();
    await page.getByTestId('batch-counts').getByText('3', { exact: true }).first().waitFor();

    await page.getByRole('button', { name: 'Lock for review' }).click();
    await statusIs('Locked');
    await page.getByRole('link', { name: 'Review and submit' }).click();

    // Review summary: 30 + 50 + 40 against 100 minutes, 20 over at 0.05.
    await page.getByTestId('charge-change').getByText('1.00').waitFor();
    expect(await text(page.getByTestId('charge-change'))).toBe('1.00 USD');
    expect(await text(page.locator(`[data-partition="${sub}/MINUTES"]`))).toMatch(
      /^\s*dash-\S+\s+MINUTES\s+100\s+0\s+3\s+0\s+0\s+0\s+Ready\s*$/,
    );
    expect(await text(page.locator(`[data-bill-line="${sub}/2026-03"]`))).toMatch(
      /2026-03\s+Open\s+0\.00 → 1\.00\s+0\.00 → 0\.00\s+0\.00 → 0\.00\s+0\.00\s+1\.00\s+\+1\.00 USD\s+new line/,
    );
    await page.getByTestId('no-errors').waitFor();

    await page.getByRole('button', { name: 'Submit batch' }).click();
    await statusIs('Completed');
    await progressAtEnd();
    await page
      .locator(`[data-current-bill-line="${sub}/2026-03"]`)
      .getByTestId('bill-line-total')
      .getByText('1.00 USD')
      .waitFor();

    // The top-up; then the RERATE batch, all three calls selected from the keyboard.
    await api('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { amount: '50', reason: 'top-up' });
    await open(`#/events?subscriptionId=${sub}`);
    await page.getByLabel(`Select ${sub}-call-3`).waitFor();
    await page.getByLabel('Select every event on this page').focus();
    await page.keyboard.press('Space');
    await create.getByLabel('Type').selectOption('RERATE');
    await create.getByLabel('Name').fill(`re-rate ${run}`);
    await create.getByRole('button', { name: 'Create batch with 3 selected event(s)' }).focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('create-result').getByText('3 event(s) added, 0 refused.').waitFor();
    const rerate = (await page.getByRole('link', { name: `re-rate ${run}` }).getAttribute('href'))!;

    // The same events for another batch: each refused, with its code.
    await page.getByLabel('Select every event on this page').check();
    await create.getByRole('button', { name: 'Create batch with 3 selected event(s)' }).click();
    await page.getByTestId('create-result').getByText('0 event(s) added, 3 refused.').waitFor();
    expect(
      await page.getByRole('table', { name: 'Refused events' }).getByText('EVENT_HELD_BY_OTHER_BATCH').count(),
    ).toBe(3);

    // A refused action: another operator locks the batch while this page still offers Lock.
    await open(rerate);
    await page.getByRole('button', { name: 'Lock for review' }).waitFor();
    const rerateId = rerate.split('/').pop()!;
    await api('POST', `/v1/batches/${rerateId}/lock`);
    await page.getByRole('button', { name: 'Lock for review' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'INVALID_TRANSITION' });
    await refusal.waitFor();
    expect(await text(refusal)).toMatch(
      /Refused INVALID_TRANSITION \(409\): batch \S+ is (LOCKING|LOCKED): LOCK is not allowed/,
    );
    await statusIs('Locked');
    expect(await page.getByRole('button', { name: 'Lock for review' }).count()).toBe(0);

    await page.getByRole('link', { name: 'Review and submit' }).click();
    await page.getByTestId('charge-change').getByText('-1.00').waitFor();
    await page.getByRole('button', { name: 'Submit batch' }).click();
    await statusIs('Completed');
    await progressAtEnd();
    await page
      .locator(`[data-current-bill-line="${sub}/2026-03"]`)
      .getByTestId('bill-line-total')
      .getByText('0.00 USD')
      .waitFor();

    // What the dashboard did is what the API recorded, with the operator's name.
    const batches = (await api('GET', '/v1/batches?limit=10')).items as {
      batchId: string;
      name?: string;
      status: string;
    }[];
    const rating = batches.find((b) => b.name === `rating ${run}`)!;
    expect(rating.status).toBe('COMPLETED');
    const log = (await api('GET', `/v1/batches/${rating.batchId}/log`)).items as { actor: string; action: string }[];
    expect(
      log
        .filter((l) => ['CREATE', 'ADD_EVENTS', 'LOCK', 'SUBMIT'].includes(l.action))
        .map((l) => `${l.action}:${l.actor}`),
    ).toEqual([
      'CREATE:e2e-operator',
      'ADD_EVENTS:e2e-operator',
      'ADD_EVENTS:e2e-operator',
      'LOCK:e2e-operator',
      'SUBMIT:e2e-operator',
    ]);
    expect((await api('GET', `/v1/subscriptions/${sub}/bill-lines`)).items[0]).toMatchObject({
      period: '2026-03',
      total: '0.00',
    });

    // No other host was ever asked: the page's own files, the API and the bucket.
    const origins = new Set(requested.map((u) => new URL(u).origin));
    expect([...origins].sort()).toEqual([stack.apiUrl, stack.dashboardUrl!, stack.s3Endpoint].sort());
  }, 240_000);

  it("opens an event's whole lineage: the call, its replacement, and every batch that touched each", async () => {
    // Goes on from the worked example above: the first call was rated, then re-rated; another
    // operator now replaces it (through the API), and the dashboard shows the chain.
    const call1 = `${sub}-call-1`;
    const fix = `${sub}-call-1-fix`;
    const { batchId } = await api('POST', '/v1/batches', { type: 'REVERSE_REPLACE', name: `fix ${run}` });
    const replacement = {
      eventId: fix,
      subscriptionId: sub,
      productId: 'voice',
      quantity: '25',
      occurredAt: '2026-03-01T10:00:00Z',
    };
    expect(
      (
        await api('POST', `/v1/batches/${batchId}/replacements`, {
          replacements: [{ originalEventId: call1, events: [replacement] }],
        })
      ).rejected,
    ).toEqual([]);
    const reaches = (status: string) =>
      eventually(
        `batch ${batchId} ${status}`,
        async () => ((await api('GET', `/v1/batches/${batchId}`)).status === status ? true : undefined),
        DEADLINE_MS,
      );
    await api('POST', `/v1/batches/${batchId}/lock`);
    await reaches('LOCKED');
    // Submit names the preview it approves when the API tags one.
    const preview = await fetch(`${stack.apiUrl}/v1/batches/${batchId}/preview`, {
      headers: { 'x-actor': 'another-operator' },
    });
    const tag = preview.headers.get('etag');
    const submitted = await fetch(`${stack.apiUrl}/v1/batches/${batchId}/submit`, {
      method: 'POST',
      headers: { 'x-actor': 'another-operator', ...(tag ? { 'if-match': tag } : {}) },
    });
    expect(submitted.status).toBe(202);
    await reaches('COMPLETED');

    // From the events list to the replacement, then along its lineage to the call it replaced.
    await open(`#/events?subscriptionId=${sub}`);
    await page.getByRole('link', { name: fix, exact: true }).click();
    const lineage = page.getByTestId('lineage');
    await lineage.waitFor();
    const row = (id: string) => lineage.locator(`[data-lineage-event="${id}"]`);
    expect(await text(row(fix))).toMatch(new RegExp(`^this\\s+${fix} \\(this event\\)\\s+Rated\\s+25\\s+`));
    expect(await text(row(call1))).toMatch(new RegExp(`^-1\\s+${call1}\\s+Reversed\\s+30\\s+`));
    expect(await row(call1).getByRole('link', { name: batchId }).count()).toBe(1); // reversed by the fix batch
    const batchesOf = async (id: string) =>
      (await row(id).locator('[data-lineage-batch]').allInnerTexts()).map((t) => t.replace(/\s+\d{4}-.*$/, ''));
    expect(await batchesOf(call1)).toEqual([
      `rating ${run} Rating, member, completed`,
      `re-rate ${run} Rerate, member, completed`,
      `fix ${run} Reverse replace, member, completed`,
    ]);
    expect(await batchesOf(fix)).toEqual([`fix ${run} Reverse replace, replacement, completed`]);

    await row(call1).getByRole('link', { name: call1, exact: true }).click();
    await row(call1).getByText(`${call1} (this event)`).waitFor();
    expect(await text(row(fix))).toMatch(/^\+1\s/);
    expect(await page.getByTestId('lineage-truncated').count()).toBe(0);
  }, 120_000);

  it('undoes a completed batch from its page: the new UNDO batch and the original link each other, the lineage shows what it restores', async () => {
    // Goes on from the lineage above: the fix batch replaced the first call; undo it from the dashboard.
    const fixBatch = ((await api('GET', '/v1/batches?limit=20')).items as { batchId: string; name?: string }[]).find(
      (b) => b.name === `fix ${run}`,
    )!.batchId;
    await open(`#/batches/${fixBatch}`);
    await statusIs('Completed');
    await page.getByRole('button', { name: 'Undo this batch' }).click();
    const undoes = page.getByTestId('batch-undoes');
    await undoes.waitFor();
    expect(await text(undoes)).toBe(fixBatch);
    const undoId = new URL(page.url()).hash.split('/').pop()!;
    expect(undoId).not.toBe(fixBatch);
    expect((await api('GET', `/v1/batches/${undoId}`)).type).toBe('UNDO');

    // The link back, and the original's link to its undo; no second Undo is offered.
    await undoes.click();
    await page.getByTestId('batch-undone-by').getByText(undoId).waitFor();
    expect(await page.getByRole('button', { name: 'Undo this batch' }).count()).toBe(0);

    // Submitted, the undo brings the first call back as a restored event.
    await api('POST', `/v1/batches/${undoId}/lock`);
    const reaches = (status: string) =>
      eventually(
        `batch ${undoId} ${status}`,
        async () => ((await api('GET', `/v1/batches/${undoId}`)).status === status ? true : undefined),
        DEADLINE_MS,
      );
    await reaches('LOCKED');
    const preview = await fetch(`${stack.apiUrl}/v1/batches/${undoId}/preview`, {
      headers: { 'x-actor': 'another-operator' },
    });
    const tag = preview.headers.get('etag');
    const submitted = await fetch(`${stack.apiUrl}/v1/batches/${undoId}/submit`, {
      method: 'POST',
      headers: { 'x-actor': 'another-operator', ...(tag ? { 'if-match': tag } : {}) },
    });
    expect(submitted.status).toBe(202);
    await reaches('COMPLETED');
    await open(`#/events/${encodeURIComponent(`${sub}-call-1`)}`);
    const restores = page.getByTestId('lineage').getByTestId('lineage-restores');
    await restores.first().waitFor();
    expect(await text(restores.first())).toBe(`restores ${sub}-call-1`);
  }, 120_000);

  it('tells the one who locked a batch needing approval that someone else submits it, and offers them no Submit', async () => {
    // A batch that asks for approval (the deployment setting is off here): locked by another operator.
    const { batchId } = await api('POST', '/v1/batches', {
      type: 'RERATE',
      name: `approve ${run}`,
      options: { requireApproval: true },
    });
    expect((await api('POST', `/v1/batches/${batchId}/events`, { eventIds: [`${sub}-call-2`] })).rejected).toEqual([]);
    await api('POST', `/v1/batches/${batchId}/lock`);
    await eventually(
      `batch ${batchId} LOCKED`,
      async () => ((await api('GET', `/v1/batches/${batchId}`)).status === 'LOCKED' ? true : undefined),
      DEADLINE_MS,
    );

    // To this operator, submitting approves it.
    await open(`#/batches/${batchId}`);
    await statusIs('Locked');
    expect(await text(page.getByTestId('batch-approval'))).toMatch(
      /^Needs approval\. another-operator locked this batch/,
    );
    expect(await page.getByRole('link', { name: 'Review and submit' }).count()).toBe(1);

    // To the one who locked it: someone else submits it.
    await page.getByLabel('Acting as').fill('another-operator');
    await page.getByLabel('Acting as').press('Tab');
    await open('#/events');
    await open(`#/batches/${batchId}`);
    await page.getByTestId('batch-approval').getByText('Needs approval by someone else.').waitFor();
    expect(await text(page.getByTestId('batch-locked-by'))).toBe('another-operator');
    expect(await page.getByRole('link', { name: 'Review and submit' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Review summary' }).count()).toBe(1);
  }, 120_000);
});
