// `npm run screenshots`: the README's pictures of the dashboard, taken in headless Chromium against a
// local stack of its own (in memory, free ports): the review summary of a reverse-and-replace of the
// worked example, and a running batch's progress (a RATING batch of 4,000 events over 80 subscriptions).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { launchChromium } from './browser';
import { buildDashboard } from './dashboard';
import { localDir, projectRoot } from './dynamodb-local';
import { startLocalStack, type LocalStack } from './stack';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const out = (name: string) => join(projectRoot, 'docs', name);
const run = randomUUID().slice(0, 6);

async function main(): Promise<void> {
  const [directory, browser] = await Promise.all([
    buildDashboard(join(localDir, 'dashboard-screenshots')),
    launchChromium({ width: 1440, height: 860 }),
  ]);
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({ inMemory: true, dashboard: { directory } });
    const s = stack;
    const api = async <T = { batchId: string; status: string; nextCursor?: string }>(
      method: string,
      path: string,
      body?: unknown,
    ): Promise<T> => {
      const res = await fetch(`${s.apiUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'x-actor': 'ops-anna' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };
    const until = async (batchId: string, statuses: string[]) => {
      const deadline = Date.now() + 300_000;
      for (;;) {
        const b = await api('GET', `/v1/batches/${batchId}`);
        if (statuses.includes(b.status)) return b;
        if (Date.now() > deadline) throw new Error(`batch ${batchId} stayed ${b.status}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const subscription = (id: string) =>
      api('PUT', `/v1/subscriptions/${id}`, {
        accountId: `acct-${run}`,
        startDate: '2026-01-01',
        currency: 'USD',
        products: { voice: { register: 'MINUTES', unitPrice: '0.05' } },
      });

    // The worked example, rated; then the first call replaced by a 10-minute one, locked for review.
    const sub = `acme-${run}`;
    await subscription(sub);
    await api('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { amount: '100', reason: 'plan allowance' });
    const calls = [30, 50, 40].map((q, i) => ({
      eventId: `${sub}-call-${i + 1}`,
      subscriptionId: sub,
      productId: 'voice',
      quantity: q,
      occurredAt: `2026-03-0${i + 1}T10:00:00Z`,
    }));
    await api('POST', '/v1/usage-events', { events: calls });
    const rating = await api('POST', '/v1/batches', { type: 'RATING', name: 'March usage' });
    await api('POST', `/v1/batches/${rating.batchId}/events`, { eventIds: calls.map((c) => c.eventId) });
    await api('POST', `/v1/batches/${rating.batchId}/lock`);
    await until(rating.batchId, ['LOCKED']);
    await api('POST', `/v1/batches/${rating.batchId}/submit`);
    await until(rating.batchId, ['COMPLETED']);
    const fix = await api('POST', '/v1/batches', { type: 'REVERSE_REPLACE', name: 'Call 1 was 10 minutes, not 30' });
    await api('POST', `/v1/batches/${fix.batchId}/replacements`, {
      replacements: [
        { originalEventId: calls[0]!.eventId, events: [{ ...calls[0]!, eventId: `${sub}-call-1-fix`, quantity: 10 }] },
      ],
    });
    await api('POST', `/v1/batches/${fix.batchId}/lock`);
    await until(fix.batchId, ['LOCKED']);

    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(120_000);
    await page.goto(`${s.dashboardUrl}/#/batches/${fix.batchId}/review`);
    await page.getByTestId('charge-change').waitFor();
    await page.getByRole('table', { name: 'Events pulled in because the batch changes them' }).waitFor();
    await page.screenshot({ path: out('dashboard-review.png'), fullPage: true });
    console.log('wrote docs/dashboard-review.png');

    // Many partitions, so that submit takes long enough to be seen running.
    const subs = Array.from({ length: 80 }, (_, i) => `bulk-${run}-${String(i + 1).padStart(2, '0')}`);
    const events = subs.flatMap((id) =>
      Array.from({ length: 50 }, (_, j) => ({
        eventId: `${id}-${j}`,
        subscriptionId: id,
        productId: 'voice',
        quantity: 3,
        occurredAt: new Date(Date.UTC(2026, 3, 1) + j * 3_600_000).toISOString(),
      })),
    );
    for (const id of subs) await subscription(id);
    for (let i = 0; i < events.length; i += 500)
      await api('POST', '/v1/usage-events', { events: events.slice(i, i + 500) });
    const bulk = await api('POST', '/v1/batches', { type: 'RATING', name: 'April usage, 80 subscriptions' });
    let cursor: string | undefined;
    do {
      const added = await api('POST', `/v1/batches/${bulk.batchId}/events`, {
        criteria: { subscriptionIds: subs },
        ...(cursor ? { cursor } : {}),
      });
      cursor = added.nextCursor;
    } while (cursor);
    await api('POST', `/v1/batches/${bulk.batchId}/lock`);
    await until(bulk.batchId, ['LOCKED']);
    // Submitted from the review summary; the batch page then follows the run by itself, and the picture is taken part way.
    await page.goto(`${s.dashboardUrl}/#/batches/${bulk.batchId}/review`);
    await page.getByRole('button', { name: 'Submit batch' }).click();
    await page.getByTestId('batch-status').getByText('Processing').waitFor();
    await page.goto(`${s.dashboardUrl}/#/batches/${bulk.batchId}`);
    const partWay = () => {
      const page = globalThis as unknown as {
        document: { querySelector(selector: string): { value: number; max: number } | null };
      };
      const bar = page.document.querySelector('#batch-progress');
      return !!bar && bar.value > 0 && bar.value < bar.max;
    };
    await page.waitForFunction(partWay, undefined, { polling: 50 });
    await page.screenshot({ path: out('dashboard-progress.png') });
    console.log('wrote docs/dashboard-progress.png');
    await until(bulk.batchId, ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);
  } finally {
    await browser.close();
    await stack?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`screenshots failed: ${(error as Error).message}`);
  process.exit(1);
});
