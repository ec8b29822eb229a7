// Batch: status, counts, progress while a stage runs, the actions `allowedActions` lists and no
// others, the selection-criteria panel, remove by rule, members, the audit log and the executions.
import { useState } from 'preact/hooks';
import {
  EVENT_STATUSES,
  MEMBER_STATES,
  type Batch,
  type BatchAction,
  type Criteria,
  type EventStatus,
  type RemoveRequest,
} from '../api';
import { href, navigate } from '../router';
import {
  BatchProgress,
  humanize,
  idList,
  Loading,
  Pager,
  ProblemAlert,
  RUNNING,
  Section,
  StatusBadge,
  useAction,
  useApi,
  useLoad,
  usePolling,
  utcInstant,
  when,
} from '../ui';
import { RefusalTable } from './refusals';

/** Actions that open a panel of this page rather than a button. */
const PANELS: ReadonlySet<string> = new Set(['ADD_EVENTS', 'ADD_REPLACEMENTS', 'REMOVE_EVENTS', 'UNDO']);
const LABELS: Record<string, string> = { LOCK: 'Lock for review', REVERT: 'Revert to edit' };

export function useBatch(batchId: string) {
  const api = useApi();
  const batch = useLoad(() => api.getBatch(batchId), batchId);
  // A running stage moves on its own: the page follows it without reloading.
  usePolling(!!batch.data && RUNNING.has(batch.data.status), 1000, batch.reload);
  return batch;
}

export function BatchPage({ batchId }: { batchId: string }) {
  const batch = useBatch(batchId);
  // Members and log are read again after each change this page makes, and when the batch moves.
  const [changes, setChanges] = useState(0);
  const changed = async () => {
    setChanges((n) => n + 1);
    await batch.reload();
  };
  const b = batch.data;
  return (
    <>
      <h1>Batch {b?.name ? <span>{b.name}</span> : <code>{batchId}</code>}</h1>
      <ProblemAlert error={batch.error} />
      {batch.loading && !b ? <Loading what="the batch" /> : null}
      {b ? (
        <>
          <BatchFacts b={b} />
          <BatchProgress status={b.status} progress={b.progress} />
          <Actions b={b} onChanged={changed} />
          {b.allowedActions.includes('ADD_EVENTS') ? <CriteriaPanel b={b} onChanged={changed} /> : null}
          {b.allowedActions.includes('REMOVE_EVENTS') ? <RemovePanel b={b} onChanged={changed} /> : null}
          <Members b={b} refresh={`${b.status}|${b.version}|${b.counts.events}|${b.counts.errored}|${changes}`} />
          <AuditLog batchId={b.batchId} refresh={`${b.status}|${b.version}|${changes}`} />
          <Executions b={b} />
        </>
      ) : null}
    </>
  );
}

function BatchFacts({ b }: { b: Batch }) {
  return (
    <>
      <dl class="facts">
        <dt>Status</dt>
        <dd data-testid="batch-status">
          <StatusBadge status={b.status} />
        </dd>
        <dt>Type</dt>
        <dd>{b.type}</dd>
        <dt>Id</dt>
        <dd>
          <code>{b.batchId}</code>
        </dd>
        <dt>Options</dt>
        <dd>
          AR policy {b.options.arPolicy}
          {b.options.creditOnly ? ', credit only' : ''}
          {b.options.effectiveAt ? `, effective ${when(b.options.effectiveAt)}` : ''}
        </dd>
        <dt>Created</dt>
        <dd>
          {when(b.createdAt)} by {b.createdBy}
        </dd>
        {b.undoes ? (
          <>
            <dt>Undoes</dt>
            <dd>
              <a data-testid="batch-undoes" href={href(['batches', b.undoes])}>
                {b.undoes}
              </a>
            </dd>
          </>
        ) : null}
        {b.undoneBy ? (
          <>
            <dt>Undone by</dt>
            <dd>
              <a data-testid="batch-undone-by" href={href(['batches', b.undoneBy])}>
                {b.undoneBy}
              </a>
            </dd>
          </>
        ) : null}
        {b.lockedBy ? (
          <>
            <dt>Locked by</dt>
            <dd data-testid="batch-locked-by">{b.lockedBy}</dd>
          </>
        ) : null}
        {b.description ? (
          <>
            <dt>Description</dt>
            <dd>{b.description}</dd>
          </>
        ) : null}
      </dl>
      <table class="counts">
        <caption>Counts</caption>
        <thead>
          <tr>
            <th scope="col">Events</th>
            <th scope="col">Related</th>
            <th scope="col">Errors</th>
            <th scope="col">In process</th>
            <th scope="col">Processed</th>
          </tr>
        </thead>
        <tbody>
          <tr data-testid="batch-counts">
            <td>{b.counts.events}</td>
            <td>{b.counts.related}</td>
            <td>{b.counts.errored}</td>
            <td>{b.counts.inProcess}</td>
            <td>{b.counts.processed}</td>
          </tr>
        </tbody>
      </table>
      <ApprovalNote b={b} />
      {b.lastError ? (
        <div class="problem" role="alert">
          <p>
            <strong>Last error</strong> <code class="code">{b.lastError.code}</code>: {b.lastError.message} (
            {when(b.lastError.at)})
          </p>
        </div>
      ) : null}
    </>
  );
}

/** Four-eyes approval: the locker is told someone else submits; anyone else, that submitting approves. */
function ApprovalNote({ b }: { b: Batch }) {
  if (!b.approval?.required || b.status !== 'LOCKED') return null;
  const mine = !b.allowedActions.includes('SUBMIT');
  return (
    <p class="notice" role="note" data-testid="batch-approval">
      {mine ? (
        <>
          <strong>Needs approval by someone else.</strong> You locked this batch ({b.approval.reason}), so another
          operator reviews and submits it.
        </>
      ) : (
        <>
          <strong>Needs approval.</strong> {b.lockedBy} locked this batch ({b.approval.reason}): submitting its preview
          approves it.
        </>
      )}
    </p>
  );
}

function Actions({ b, onChanged }: { b: Batch; onChanged(): Promise<void> }) {
  const api = useApi();
  const act = useAction(async (action: BatchAction) => {
    try {
      return await api.act(b.batchId, action);
    } finally {
      // Refused or not, show the batch as it is now.
      await onChanged();
    }
  });
  // Undo creates a new batch (its own route, not a workflow action): the page moves to it.
  const undo = useAction(async () => {
    const created = await api.undo(b.batchId);
    navigate(href(['batches', created.batchId]));
    return created;
  });
  const buttons = b.allowedActions.filter((a) => !PANELS.has(a) && a !== 'SUBMIT');
  const canSubmit = b.allowedActions.includes('SUBMIT');
  const reviewable = !['DRAFT', 'LOCKING'].includes(b.status);
  return (
    <Section title="Actions">
      <div class="actions">
        {buttons.map((a) => (
          <button key={a} type="button" disabled={act.busy} data-action={a} onClick={() => void act.go(a)}>
            {LABELS[a] ?? humanize(a)}
          </button>
        ))}
        {b.allowedActions.includes('UNDO') ? (
          <button type="button" disabled={undo.busy} data-action="UNDO" onClick={() => void undo.go()}>
            Undo this batch
          </button>
        ) : null}
        {canSubmit ? (
          <a class="button primary" href={href(['batches', b.batchId, 'review'])}>
            Review and submit
          </a>
        ) : reviewable ? (
          <a class="button" href={href(['batches', b.batchId, 'review'])}>
            Review summary
          </a>
        ) : null}
        {b.allowedActions.includes('ADD_EVENTS') ? (
          <a class="button" href={href(['imports'], { kind: 'batch-events', batchId: b.batchId })}>
            Import event ids (CSV)
          </a>
        ) : null}
        {b.allowedActions.includes('ADD_REPLACEMENTS') ? (
          <a class="button" href={href(['imports'], { kind: 'batch-replacements', batchId: b.batchId })}>
            Import replacements (CSV)
          </a>
        ) : null}
      </div>
      {b.allowedActions.length === 0 ? (
        <p class="muted">No action is allowed while the batch is {humanize(b.status).toLowerCase()}.</p>
      ) : null}
      <ProblemAlert error={act.error ?? undo.error} />
      {act.result ? (
        <p role="status" class="muted">
          {humanize(act.result.status)}: started.
        </p>
      ) : null}
    </Section>
  );
}

function criteriaOf(form: FormData): Criteria {
  const text = (name: string) => String(form.get(name) ?? '').trim();
  const subscriptionIds = idList(text('subscriptionIds'));
  const status = text('status');
  return {
    ...(subscriptionIds.length ? { subscriptionIds } : {}),
    ...(text('productId') ? { productId: text('productId') } : {}),
    ...((EVENT_STATUSES as readonly string[]).includes(status) ? { status: status as EventStatus } : {}),
    ...(utcInstant(text('from')) ? { from: utcInstant(text('from')) } : {}),
    ...(utcInstant(text('to')) ? { to: utcInstant(text('to')) } : {}),
  };
}

function CriteriaPanel({ b, onChanged }: { b: Batch; onChanged(): Promise<void> }) {
  const api = useApi();
  const [criteria, setCriteria] = useState<Criteria>();
  const count = useAction((c: Criteria) => api.addByCriteria(b.batchId, c, { dryRun: true }));
  const add = useAction(async (c: Criteria, cursor?: string) => {
    const result = await api.addByCriteria(b.batchId, c, { cursor });
    await onChanged();
    return result;
  });
  const read = (e: Event) => {
    const form = (e.currentTarget as HTMLElement).closest('form')!;
    const c = criteriaOf(new FormData(form));
    setCriteria(c);
    return c;
  };
  return (
    <Section title="Add events by criteria" id="criteria">
      <form class="stacked" onSubmit={(e) => e.preventDefault()} aria-label="Selection criteria">
        <div class="field">
          <label for="c-subscriptions">Subscriptions (one or more ids)</label>
          <textarea id="c-subscriptions" name="subscriptionIds" rows={2} />
        </div>
        <div class="field">
          <label for="c-product">Product</label>
          <input id="c-product" name="productId" autocomplete="off" />
        </div>
        <div class="field">
          <label for="c-status">Event status</label>
          <select id="c-status" name="status" defaultValue="">
            <option value="">those a {b.type} batch takes</option>
            {EVENT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="c-from">From (UTC)</label>
          <input id="c-from" name="from" type="datetime-local" step="1" />
        </div>
        <div class="field">
          <label for="c-to">To (UTC, not included)</label>
          <input id="c-to" name="to" type="datetime-local" step="1" />
        </div>
        <p class="hint">Name subscriptions, or a window of at most 31 days.</p>
        <div class="actions">
          <button
            type="button"
            disabled={count.busy}
            onClick={(e) => {
              add.clear();
              void count.go(read(e));
            }}
          >
            Count matching events (dry run)
          </button>
          <button
            type="button"
            disabled={add.busy}
            onClick={(e) => {
              count.clear();
              void add.go(read(e));
            }}
          >
            Add matching events
          </button>
        </div>
      </form>
      <ProblemAlert error={count.error ?? add.error} />
      {count.result ? (
        <p role="status" data-testid="dry-run">
          Dry run: {count.result.matched} event(s) match.
        </p>
      ) : null}
      {add.result ? (
        <div role="status" data-testid="add-result">
          <p>
            Added {add.result.added} of {add.result.matched} matched event(s); {add.result.rejected.length} refused.
          </p>
          <RefusalTable refusals={add.result.rejected} caption="Refused events" />
          {add.result.nextCursor && criteria ? (
            <button type="button" disabled={add.busy} onClick={() => void add.go(criteria, add.result!.nextCursor)}>
              Add the next matching events
            </button>
          ) : null}
        </div>
      ) : null}
    </Section>
  );
}

function RemovePanel({ b, onChanged }: { b: Batch; onChanged(): Promise<void> }) {
  const api = useApi();
  const locked = b.status !== 'DRAFT';
  const [mode, setMode] = useState<'ALL' | 'BY_RULE'>('BY_RULE');
  const remove = useAction(async (request: RemoveRequest) => {
    const result = await api.removeEvents(b.batchId, request);
    await onChanged();
    return result;
  });
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    if (mode === 'ALL') return void remove.go({ mode: 'ALL' });
    const subscriptionIds = idList(text('subscriptionIds'));
    const eventIds = idList(text('eventIds'));
    void remove.go({
      mode: 'BY_RULE',
      rule: {
        ...(text('errorCode')
          ? {
              errorCode: text('errorCode') as NonNullable<
                Extract<RemoveRequest, { mode: 'BY_RULE' }>['rule']['errorCode']
              >,
            }
          : {}),
        ...(subscriptionIds.length ? { subscriptionIds } : {}),
        ...(eventIds.length ? { eventIds } : {}),
        ...(utcInstant(text('from')) ? { from: utcInstant(text('from')) } : {}),
        ...(utcInstant(text('to')) ? { to: utcInstant(text('to')) } : {}),
      },
    });
  };
  return (
    <Section title="Remove members" id="remove">
      {locked ? <p class="hint">A locked batch gives up only members in error; the preview leaves them out.</p> : null}
      <form class="stacked" onSubmit={submit} aria-label="Remove members">
        <fieldset>
          <legend>Which members</legend>
          <div class="field checkbox">
            <input
              id="r-by-rule"
              type="radio"
              name="mode"
              checked={mode === 'BY_RULE'}
              onChange={() => setMode('BY_RULE')}
            />
            <label for="r-by-rule">Members matching a rule</label>
          </div>
          <div class="field checkbox">
            <input id="r-all" type="radio" name="mode" checked={mode === 'ALL'} onChange={() => setMode('ALL')} />
            <label for="r-all">{locked ? 'Every member in error' : 'Every member'}</label>
          </div>
        </fieldset>
        {mode === 'BY_RULE' ? (
          <>
            <div class="field">
              <label for="r-error-code">Error code</label>
              <input id="r-error-code" name="errorCode" pattern="[A-Z_]{1,64}" autocomplete="off" />
            </div>
            <div class="field">
              <label for="r-subscriptions">Subscriptions</label>
              <textarea id="r-subscriptions" name="subscriptionIds" rows={2} />
            </div>
            <div class="field">
              <label for="r-events">Event ids</label>
              <textarea id="r-events" name="eventIds" rows={2} />
            </div>
            <div class="field">
              <label for="r-from">Occurred from (UTC)</label>
              <input id="r-from" name="from" type="datetime-local" step="1" />
            </div>
            <div class="field">
              <label for="r-to">Occurred before (UTC)</label>
              <input id="r-to" name="to" type="datetime-local" step="1" />
            </div>
          </>
        ) : null}
        <button type="submit" disabled={remove.busy}>
          Remove
        </button>
      </form>
      <ProblemAlert error={remove.error} />
      {remove.result ? <p role="status">Removed {remove.result.removed} member(s).</p> : null}
    </Section>
  );
}

function Members({ b, refresh }: { b: Batch; refresh: string }) {
  const api = useApi();
  const [filter, setFilter] = useState<{ state?: string; errorCode?: string }>({});
  const [cursor, setCursor] = useState<string>();
  const page = useLoad(
    () => api.listMembers(b.batchId, filter, cursor),
    `${b.batchId}|${JSON.stringify(filter)}|${cursor ?? ''}|${refresh}`,
  );
  const apply = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const state = String(form.get('state') ?? '');
    const errorCode = String(form.get('errorCode') ?? '').trim();
    setCursor(undefined);
    setFilter({ ...(state ? { state } : {}), ...(errorCode ? { errorCode } : {}) });
  };
  const items = page.data?.items ?? [];
  return (
    <Section title="Members" id="members">
      <form class="filters" onSubmit={apply} aria-label="Filter members">
        <div class="field">
          <label for="m-state">State</label>
          <select id="m-state" name="state" defaultValue="">
            <option value="">any</option>
            {MEMBER_STATES.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="m-error-code">Error code</label>
          <input id="m-error-code" name="errorCode" pattern="[A-Z_]{1,64}" autocomplete="off" />
        </div>
        <button type="submit">Filter members</button>
      </form>
      <ProblemAlert error={page.error} />
      {page.loading && !page.data ? <Loading what="members" /> : null}
      {page.data ? (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Members of the batch</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Role</th>
                  <th scope="col">State</th>
                  <th scope="col">Subscription</th>
                  <th scope="col">Register</th>
                  <th scope="col">Occurred</th>
                  <th scope="col">Error</th>
                  <th scope="col">Related because</th>
                  <th scope="col">Replacements</th>
                </tr>
              </thead>
              <tbody>
                {items.map((m) => (
                  <tr key={m.eventId} data-member={m.eventId}>
                    <td>
                      <a href={href(['events', m.eventId])}>{m.eventId}</a>
                    </td>
                    <td>{humanize(m.role)}</td>
                    <td>
                      <StatusBadge status={m.state} />
                    </td>
                    <td>{m.subscriptionId}</td>
                    <td>{m.register}</td>
                    <td>{when(m.occurredAt)}</td>
                    <td>
                      {m.errorCode ? (
                        <>
                          <code class="code">{m.errorCode}</code> {m.errorMessage}
                        </>
                      ) : (
                        ''
                      )}
                    </td>
                    <td>{m.relatedReason ?? ''}</td>
                    <td>
                      {m.replacements?.map((id) => (
                        <a key={id} href={href(['events', id])}>
                          {id}{' '}
                        </a>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {items.length === 0 ? (
            <p class="muted">No members{filter.state || filter.errorCode ? ' match' : ''}.</p>
          ) : null}
          <Pager label="Members" cursor={cursor} nextCursor={page.data.nextCursor} onPage={setCursor} />
        </>
      ) : null}
    </Section>
  );
}

function AuditLog({ batchId, refresh }: { batchId: string; refresh: string }) {
  const api = useApi();
  const [cursor, setCursor] = useState<string>();
  const page = useLoad(() => api.listLog(batchId, cursor), `${batchId}|${cursor ?? ''}|${refresh}`);
  return (
    <Section title="Audit log" id="log">
      <ProblemAlert error={page.error} />
      {page.data ? (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Audit log, oldest first</caption>
              <thead>
                <tr>
                  <th scope="col">At</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">What happened</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((l, i) => (
                  <tr key={`${l.at}-${i}`}>
                    <td>{when(l.at)}</td>
                    <td>{l.actor}</td>
                    <td>
                      <code>{l.action}</code>
                    </td>
                    <td>{l.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager label="Audit log" cursor={cursor} nextCursor={page.data.nextCursor} onPage={setCursor} />
        </>
      ) : null}
    </Section>
  );
}

/** The console link of an execution in AWS; the local stack's executions are read with the CLI (docs/local-stack.md). */
function consoleUrl(arn: string): string | undefined {
  const [, , , region, account] = arn.split(':');
  return region && account && account !== '000000000000'
    ? `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${arn}`
    : undefined;
}

function Executions({ b }: { b: Batch }) {
  const entries = Object.entries(b.executions ?? {});
  return (
    <Section title="Executions" id="executions">
      {entries.length === 0 ? (
        <p class="muted">No stage has run yet.</p>
      ) : (
        <table>
          <caption class="visually-hidden">The Step Functions execution of each stage</caption>
          <thead>
            <tr>
              <th scope="col">Stage</th>
              <th scope="col">Execution</th>
            </tr>
          </thead>
          <tbody>
            {entries.map(([stage, arn]) => {
              const url = consoleUrl(arn);
              return (
                <tr key={stage}>
                  <td>{humanize(stage)}</td>
                  <td>
                    <code class="arn">{arn}</code>
                    {url ? (
                      <>
                        {' '}
                        <a href={url} target="_blank" rel="noreferrer">
                          open in the console
                        </a>
                      </>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Section>
  );
}
