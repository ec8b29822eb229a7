// Review summary of a locked batch: per partition the balance before and after, per bill line
// before and after with its status, the charge change, related events added and why, errors to
// resolve; submit sends the preview's tag back so that a stale preview is refused. Once submitted,
// the progress and the bill lines as they are now.
import { useState } from 'preact/hooks';
import { ApiError, type Api, type Batch, type BillLine, type Member, type Preview } from '../api';
import { href } from '../router';
import {
  BatchProgress,
  decimalDelta,
  humanize,
  Loading,
  ProblemAlert,
  Section,
  StatusBadge,
  useAction,
  useApi,
  useLoad,
  when,
} from '../ui';
import { useBatch } from './batch';

/** Members read at most for the lists below (pages of 1,000); a larger batch says so. */
const MEMBER_PAGES = 10;

export function ReviewPage({ batchId }: { batchId: string }) {
  const batch = useBatch(batchId);
  const b = batch.data;
  return (
    <>
      <h1>
        Review summary <span class="muted">of</span> <a href={href(['batches', batchId])}>{b?.name ?? batchId}</a>
      </h1>
      <ProblemAlert error={batch.error} />
      {batch.loading && !b ? <Loading what="the batch" /> : null}
      {b ? (
        ['DRAFT', 'LOCKING'].includes(b.status) ? (
          <>
            <BatchProgress status={b.status} progress={b.progress} />
            <p>
              The batch is {humanize(b.status).toLowerCase()}: its preview exists once it is locked.{' '}
              <a href={href(['batches', batchId])}>Back to the batch</a>
            </p>
          </>
        ) : (
          <Review b={b} onSubmitted={batch.reload} />
        )
      ) : null}
    </>
  );
}

function Review({ b, onSubmitted }: { b: Batch; onSubmitted(): Promise<void> }) {
  const api = useApi();
  const [previewRead, setPreviewRead] = useState(0);
  // The preview is read once the batch is locked and again on request; it does not change while the batch runs.
  const preview = useLoad(
    () => api.getPreview(b.batchId),
    `${b.batchId}|${b.status === 'LOCKED' ? 'locked' : 'after'}|${previewRead}`,
  );
  const members = useLoad(() => reviewMembers(api, b.batchId), `${b.batchId}|${b.version}|${b.counts.errored}`);
  const submit = useAction(async (tag?: string) => {
    try {
      return await api.act(b.batchId, 'SUBMIT', tag);
    } finally {
      await onSubmitted();
    }
  });
  const p = preview.data?.preview;
  const stale = submit.error instanceof ApiError && submit.error.problem.code === 'PREVIEW_STALE';
  const partitionErrors = p?.partitions.filter((x) => x.errors.length > 0) ?? [];
  const memberErrors = members.data?.errors ?? [];

  return (
    <>
      <dl class="facts">
        <dt>Status</dt>
        <dd data-testid="batch-status">
          <StatusBadge status={b.status} />
        </dd>
        <dt>Type</dt>
        <dd>{b.type}</dd>
        <dt>Events</dt>
        <dd>
          {b.counts.events} (and {b.counts.related} related)
        </dd>
        {preview.data?.tag ? (
          <>
            <dt>Preview tag</dt>
            <dd>
              <code>{preview.data.tag}</code>
            </dd>
          </>
        ) : null}
      </dl>
      <BatchProgress status={b.status} progress={b.progress} />
      <ProblemAlert error={preview.error} title="No preview" />
      {preview.loading && !p ? <Loading what="the preview" /> : null}
      {p ? (
        <>
          <Section title="Charge change" id="totals">
            <ul class="totals" data-testid="charge-change">
              {Object.entries(p.totals.chargeDelta).map(([currency, amount]) => (
                <li key={currency}>
                  <strong>{amount}</strong> {currency}
                </li>
              ))}
              {Object.keys(p.totals.chargeDelta).length === 0 ? <li>No charge changes.</li> : null}
            </ul>
            <p class="muted">
              {p.totals.partitions} partition(s), {p.totals.withErrors} with errors.
            </p>
            {p.stale ? (
              <div class="alert" role="alert" data-testid="preview-stale">
                <strong>This preview is stale.</strong> Something it was made from changed after lock; submit would not
                apply {p.totals.stale} subscription(s). Revert and lock again to see the new preview.
                <ul>
                  {p.subscriptions
                    .filter((x) => x.state === 'STALE')
                    .map((x) => (
                      <li key={x.subscriptionId}>
                        {x.subscriptionId}: {x.staleReason}
                      </li>
                    ))}
                </ul>
              </div>
            ) : null}
          </Section>
          <Partitions p={p} />
          <BillLines p={p} />
        </>
      ) : null}

      <Section title="Related events added" id="related">
        <ProblemAlert error={members.error} />
        {members.data ? (
          <RelatedEvents related={members.data.related} truncated={members.data.truncated} />
        ) : (
          <Loading what="members" />
        )}
      </Section>

      <Section title="Errors to resolve before submit" id="errors">
        {partitionErrors.length === 0 && memberErrors.length === 0 ? (
          <p data-testid="no-errors">None.</p>
        ) : (
          <>
            <ul class="errors">
              {partitionErrors.flatMap((x) =>
                x.errors.map((e) => (
                  <li key={`${x.subscriptionId}/${x.register}/${e.code}`}>
                    Partition {x.subscriptionId} / {x.register}: <code class="code">{e.code}</code> {e.message}
                  </li>
                )),
              )}
              {memberErrors.map((m) => (
                <li key={m.eventId}>
                  Event <a href={href(['events', m.eventId])}>{m.eventId}</a>: <code class="code">{m.errorCode}</code>{' '}
                  {m.errorMessage}
                </li>
              ))}
            </ul>
            <p>
              Remove them on the <a href={href(['batches', b.batchId])}>batch page</a> (remove by rule, with their error
              code), or revert the batch to edit it.
            </p>
          </>
        )}
      </Section>

      {b.allowedActions.includes('SUBMIT') ? (
        <Section title="Submit" id="submit">
          <p>
            Submit writes exactly this preview.{' '}
            {preview.data?.tag ? 'If anything it was made from has changed since, the API refuses it.' : ''}
          </p>
          <button
            type="button"
            class="primary"
            disabled={submit.busy || !p}
            onClick={() => void submit.go(preview.data?.tag)}
          >
            Submit batch
          </button>
          <ProblemAlert error={submit.error} title="Not submitted" />
          {stale ? (
            <button
              type="button"
              onClick={() => {
                submit.clear();
                setPreviewRead((n) => n + 1);
              }}
            >
              Read the preview again
            </button>
          ) : null}
        </Section>
      ) : null}

      {p && !['LOCKED', 'REVERTING'].includes(b.status) ? (
        <CurrentBillLines p={p} refresh={`${b.status}|${b.progress.done}`} />
      ) : null}
    </>
  );
}

function Partitions({ p }: { p: Preview }) {
  return (
    <Section title="Balances by partition" id="partitions">
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Each partition's balance before and after</caption>
          <thead>
            <tr>
              <th scope="col">Subscription</th>
              <th scope="col">Register</th>
              <th scope="col" class="num">
                Balance before
              </th>
              <th scope="col" class="num">
                Balance after
              </th>
              <th scope="col" class="num">
                Events changed
              </th>
              <th scope="col" class="num">
                Related added
              </th>
              <th scope="col" class="num">
                Reversed
              </th>
              <th scope="col" class="num">
                Replacements
              </th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {p.partitions.map((x) => (
              <tr key={`${x.subscriptionId}/${x.register}`} data-partition={`${x.subscriptionId}/${x.register}`}>
                <td>{x.subscriptionId}</td>
                <td>{x.register}</td>
                <td class="num">{x.before ?? ''}</td>
                <td class="num">{x.after ?? ''}</td>
                <td class="num">{x.changedEvents ?? ''}</td>
                <td class="num">{x.relatedAdded ?? ''}</td>
                <td class="num">{x.reversed ?? ''}</td>
                <td class="num">{x.replacementsAdded ?? ''}</td>
                <td>
                  <StatusBadge status={x.state} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

/** Bill lines per subscription and period, computed as a whole: usage, true-up, adjustments and total before and after. */
function BillLines({ p }: { p: Preview }) {
  const rows = p.subscriptions.flatMap((x) => x.billLines.map((bill) => ({ x, bill })));
  const documents = p.subscriptions.flatMap((x) => x.creditRebill.map((d) => ({ x, d })));
  return (
    <Section title="Bill lines before and after" id="bill-lines">
      {rows.length === 0 ? (
        <p class="muted">No bill line changes.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Each bill line the batch changes, before and after</caption>
            <thead>
              <tr>
                <th scope="col">Subscription</th>
                <th scope="col">Period</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Usage
                </th>
                <th scope="col" class="num">
                  True-up
                </th>
                <th scope="col" class="num">
                  Adjustments
                </th>
                <th scope="col" class="num">
                  Before
                </th>
                <th scope="col" class="num">
                  After
                </th>
                <th scope="col" class="num">
                  Change
                </th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ x, bill }) => (
                <tr
                  key={`${x.subscriptionId}/${bill.period}`}
                  data-bill-line={`${x.subscriptionId}/${bill.period}`}
                  class={x.state === 'STALE' ? 'stale' : undefined}
                >
                  <td>{x.subscriptionId}</td>
                  <td>{bill.period}</td>
                  <td>
                    <StatusBadge status={bill.status} />
                  </td>
                  <td class="num">
                    {bill.before.usage} → {bill.after.usage}
                  </td>
                  <td class="num">
                    {bill.before.trueUp} → {bill.after.trueUp}
                  </td>
                  <td class="num">
                    {bill.before.adjustments} → {bill.after.adjustments}
                  </td>
                  <td class="num">{bill.before.total}</td>
                  <td class="num">{bill.after.total}</td>
                  <td class="num">
                    {decimalDelta(bill.after.total, bill.before.total)} {x.currency}
                  </td>
                  <td>{lineNote(bill, x.state)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {documents.length > 0 ? (
        <ul data-testid="credit-rebill">
          {documents.map(({ x, d }) => (
            <li key={`${x.subscriptionId}/${d.originalPeriod}/${d.kind}`}>
              {d.kind === 'CREDIT' ? 'Credit' : 'Rebill'} of {d.originalPeriod} in {d.period}: {d.amount} {x.currency} (
              {x.subscriptionId})
            </li>
          ))}
        </ul>
      ) : null}
    </Section>
  );
}

function lineNote(bill: Preview['subscriptions'][number]['billLines'][number], state: string): string {
  const notes: string[] = [];
  if (state === 'STALE') notes.push('stale: not applied');
  if (bill.created) notes.push('new line');
  if (bill.reinvoiceRequired) notes.push('bill must be re-issued');
  if (bill.creditRebillPeriod)
    notes.push(
      `${bill.frozenBecause?.toLowerCase().replace(/_/g, ' ') ?? 'frozen'}: corrected to ${bill.correctedTotal ?? ''}, credit/rebill in ${bill.creditRebillPeriod}`,
    );
  return notes.join('; ');
}

function RelatedEvents({ related, truncated }: { related: Member[]; truncated: boolean }) {
  if (related.length === 0) return <p class="muted">None: no other event changes with these.</p>;
  return (
    <>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Events pulled in because the batch changes them</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Subscription</th>
              <th scope="col">Register</th>
              <th scope="col">Occurred</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {related.map((m) => (
              <tr key={m.eventId}>
                <td>
                  <a href={href(['events', m.eventId])}>{m.eventId}</a>
                </td>
                <td>{m.subscriptionId}</td>
                <td>{m.register}</td>
                <td>{when(m.occurredAt)}</td>
                <td>{m.relatedReason ?? humanize(m.role)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {truncated ? (
        <p class="muted">The batch has more members than this page reads; the batch page lists them all.</p>
      ) : null}
    </>
  );
}

async function reviewMembers(
  api: Api,
  batchId: string,
): Promise<{ related: Member[]; errors: Member[]; truncated: boolean }> {
  const related: Member[] = [];
  const errors: Member[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MEMBER_PAGES; page++) {
    const res = await api.listMembers(batchId, {}, cursor, 1000);
    for (const m of res.items) {
      if (m.role === 'RELATED' || m.relatedReason) related.push(m);
      if (m.state === 'ERROR') errors.push(m);
    }
    cursor = res.nextCursor;
    if (!cursor) return { related, errors, truncated: false };
  }
  return { related, errors, truncated: true };
}

/** The subscriptions' bill lines as they are now, for the periods the preview names: what submit wrote. */
function CurrentBillLines({ p, refresh }: { p: Preview; refresh: string }) {
  const api = useApi();
  const periods = new Map<string, Set<string>>();
  for (const x of p.subscriptions)
    for (const bill of x.billLines)
      periods.set(x.subscriptionId, (periods.get(x.subscriptionId) ?? new Set()).add(bill.period));
  const subscriptions = [...periods.keys()].slice(0, 20);
  const lines = useLoad(
    async () =>
      (await Promise.all(subscriptions.map(async (s) => ({ s, lines: (await api.billLines(s)).items })))).flatMap(
        ({ s, lines }) => lines.filter((l) => periods.get(s)!.has(l.period)).map((l) => ({ s, l })),
      ),
    `${p.batchId}|${refresh}`,
  );
  return (
    <Section title="Bill lines now" id="bill-lines-now">
      <ProblemAlert error={lines.error} />
      {lines.data ? <CurrentLinesTable rows={lines.data} /> : <Loading what="bill lines" />}
    </Section>
  );
}

function CurrentLinesTable({ rows }: { rows: { s: string; l: BillLine }[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Bill lines of the subscriptions as they are now</caption>
        <thead>
          <tr>
            <th scope="col">Subscription</th>
            <th scope="col">Period</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">
              Usage
            </th>
            <th scope="col" class="num">
              Minimum true-up
            </th>
            <th scope="col" class="num">
              Adjustments
            </th>
            <th scope="col" class="num">
              Total
            </th>
            <th scope="col" class="num">
              Events
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ s, l }) => (
            <tr key={`${s}/${l.period}`} data-current-bill-line={`${s}/${l.period}`}>
              <td>{s}</td>
              <td>{l.period}</td>
              <td>
                <StatusBadge status={l.status} />
              </td>
              <td class="num">{l.usageAmount}</td>
              <td class="num">{l.minimumTrueUp}</td>
              <td class="num">{l.adjustments}</td>
              <td class="num" data-testid="bill-line-total">
                {l.total} {l.currency}
              </td>
              <td class="num">{l.eventCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
