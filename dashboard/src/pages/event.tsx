// Event: its rating and its lineage (parent, children, replaces, replaced by) and the batches that
// touched it, as GET /v1/usage-events/{id} tells them.
import type { ComponentChildren } from 'preact';
import type { UsageEvent } from '../api';
import { href } from '../router';
import { Loading, ProblemAlert, Section, StatusBadge, useApi, useLoad, when } from '../ui';

const eventLink = (id: string) => <a href={href(['events', id])}>{id}</a>;
const batchLink = (id: string) => <a href={href(['batches', id])}>{id}</a>;
const list = (ids: readonly string[] | undefined, link: (id: string) => ComponentChildren) =>
  ids?.length ? (
    <ul class="inline">
      {ids.map((id) => (
        <li key={id}>{link(id)}</li>
      ))}
    </ul>
  ) : (
    <span class="muted">none</span>
  );

export function EventPage({ eventId }: { eventId: string }) {
  const api = useApi();
  const event = useLoad(() => api.getUsageEvent(eventId), eventId);
  return (
    <>
      <h1>
        Event <code>{eventId}</code>
      </h1>
      <ProblemAlert error={event.error} />
      {event.loading && !event.data ? <Loading what="the event" /> : null}
      {event.data ? <EventDetail e={event.data} /> : null}
    </>
  );
}

function EventDetail({ e }: { e: UsageEvent }) {
  const r = e.rating;
  const l = e.lineage;
  return (
    <>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={e.status} />
        </dd>
        <dt>Subscription</dt>
        <dd>
          <a href={href(['events'], { subscriptionId: e.subscriptionId })}>{e.subscriptionId}</a>
        </dd>
        <dt>Product / register</dt>
        <dd>
          {e.productId} / {e.register}
        </dd>
        <dt>Quantity</dt>
        <dd>{e.quantity}</dd>
        <dt>Occurred</dt>
        <dd>{when(e.occurredAt)}</dd>
        <dt>Loaded</dt>
        <dd>{when(e.createdAt)}</dd>
        {e.attributes && Object.keys(e.attributes).length > 0 ? (
          <>
            <dt>Attributes</dt>
            <dd>
              {Object.entries(e.attributes)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')}
            </dd>
          </>
        ) : null}
      </dl>

      <Section title="Rating">
        {r ? (
          <dl class="facts">
            <dt>Amount</dt>
            <dd>
              {r.amount} {r.currency}
            </dd>
            <dt>Allowance used</dt>
            <dd>{r.allowanceUsed}</dd>
            <dt>Overage</dt>
            <dd>
              {r.overageQuantity} at {r.unitPrice}
            </dd>
            <dt>Bill period</dt>
            <dd>{r.billPeriod}</dd>
            <dt>Plan version</dt>
            <dd>{r.planVersion}</dd>
            <dt>Rated</dt>
            <dd>{when(r.ratedAt)}</dd>
            <dt>Allowance draws</dt>
            <dd>{r.draws.length ? r.draws.map((d) => `${d.quantity} from grant ${d.grantId}`).join('; ') : <span class="muted">none</span>}</dd>
          </dl>
        ) : (
          <p class="muted">Not rated.</p>
        )}
      </Section>

      <Section title="Lineage">
        <dl class="facts">
          <dt>Parent</dt>
          <dd>{l.parentEventId ? eventLink(l.parentEventId) : <span class="muted">none</span>}</dd>
          <dt>Children</dt>
          <dd>{list(l.childEventIds, eventLink)}</dd>
          <dt>Replaces</dt>
          <dd>{l.replaces ? eventLink(l.replaces) : <span class="muted">none</span>}</dd>
          <dt>Replaced by</dt>
          <dd>{list(l.replacedBy, eventLink)}</dd>
          {l.reversedBy ? (
            <>
              <dt>Reversed by</dt>
              <dd>{eventLink(l.reversedBy)}</dd>
            </>
          ) : null}
        </dl>
      </Section>

      <Section title="Batches">
        <dl class="facts">
          <dt>Held by</dt>
          <dd>{e.heldBy ? batchLink(e.heldBy) : <span class="muted">no open batch</span>}</dd>
          {e.lockedBy ? (
            <>
              <dt>Locked by</dt>
              <dd>{batchLink(e.lockedBy)}</dd>
            </>
          ) : null}
          {l.reversedInBatch ? (
            <>
              <dt>Reversed in</dt>
              <dd>{batchLink(l.reversedInBatch)}</dd>
            </>
          ) : null}
        </dl>
      </Section>
    </>
  );
}
