// Event: its rating (GET /v1/usage-events/{id}) and its whole lineage in one answer
// (GET /v1/usage-events/{id}/lineage): every event of the chain both ways, parents and children,
// what it replaced and what replaced it, each with the batches that touched it.
import type { EventLineage, LineageEvent, UsageEvent } from '../api';
import { href } from '../router';
import { humanize, Loading, ProblemAlert, Section, StatusBadge, useApi, useLoad, when } from '../ui';

const eventLink = (id: string) => <a href={href(['events', id])}>{id}</a>;
const batchLink = (id: string) => <a href={href(['batches', id])}>{id}</a>;
export function EventPage({ eventId }: { eventId: string }) {
  const api = useApi();
  const event = useLoad(() => api.getUsageEvent(eventId), eventId);
  const lineage = useLoad(() => api.getLineage(eventId), eventId);
  return (
    <>
      <h1>
        Event <code>{eventId}</code>
      </h1>
      <ProblemAlert error={event.error} />
      {event.loading && !event.data ? <Loading what="the event" /> : null}
      {event.data ? <EventDetail e={event.data} /> : null}
      {event.data ? (
        <Section title="Lineage">
          <ProblemAlert error={lineage.error} title="The lineage could not be read" />
          {lineage.loading && !lineage.data ? <Loading what="the lineage" /> : null}
          {lineage.data ? <LineageTable l={lineage.data} /> : null}
        </Section>
      ) : null}
    </>
  );
}

/** -1 is what this event replaced, +1 what replaced it. */
const generationLabel = (g: number) => (g === 0 ? 'this' : g > 0 ? `+${g}` : String(g));

function LineageTable({ l }: { l: EventLineage }) {
  return (
    <>
      {l.truncated ? (
        <p class="hint" role="status" data-testid="lineage-truncated">
          The chain goes on past {l.limits.events} events (or {l.limits.batchesPerEvent} batches an event): open an
          event at its edge to see further.
        </p>
      ) : null}
      <table data-testid="lineage">
        <caption>
          Every event of the chain, oldest generation first. A generation is one replacement: -1 is what this event
          replaced, +1 what replaced it; a parent and its children share one.
        </caption>
        <thead>
          <tr>
            <th scope="col">Generation</th>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Quantity</th>
            <th scope="col">Amount</th>
            <th scope="col">Parent</th>
            <th scope="col">Replaces</th>
            <th scope="col">Reversed by</th>
            <th scope="col">Batches that touched it</th>
          </tr>
        </thead>
        <tbody>
          {l.events.map((e) => (
            <LineageRow key={e.eventId} e={e} self={e.eventId === l.eventId} />
          ))}
        </tbody>
      </table>
    </>
  );
}

function LineageRow({ e, self }: { e: LineageEvent; self: boolean }) {
  return (
    <tr data-lineage-event={e.eventId} aria-current={self ? 'true' : undefined}>
      <td>{generationLabel(e.generation)}</td>
      <td>{self ? <strong>{e.eventId} (this event)</strong> : eventLink(e.eventId)}</td>
      <td>
        <StatusBadge status={e.status} />
      </td>
      <td>{e.quantity}</td>
      <td>{e.amount ? `${e.amount} ${e.currency}` : <span class="muted">not rated</span>}</td>
      <td>{e.parentEventId ? eventLink(e.parentEventId) : <span class="muted">none</span>}</td>
      <td>
        {e.restores ? (
          // An undo brought this one back in place of the reversed event it restores.
          <span data-testid="lineage-restores">restores {eventLink(e.restores)}</span>
        ) : e.replaces ? (
          eventLink(e.replaces)
        ) : (
          <span class="muted">none</span>
        )}
      </td>
      <td>{e.reversedBy ? batchLink(e.reversedBy) : <span class="muted">not reversed</span>}</td>
      <td>
        {e.batches.length ? (
          <ul class="plain">
            {e.batches.map((b) => (
              <li key={b.batchId} data-lineage-batch={b.batchId}>
                <a href={href(['batches', b.batchId])}>{b.name ?? b.batchId}</a> {humanize(b.type)},{' '}
                {humanize(b.role).toLowerCase()}, {humanize(b.status).toLowerCase()}{' '}
                <span class="muted">{when(b.at)}</span>
              </li>
            ))}
          </ul>
        ) : (
          <span class="muted">none</span>
        )}
      </td>
    </tr>
  );
}

function EventDetail({ e }: { e: UsageEvent }) {
  const r = e.rating;
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
            <dd>
              {r.draws.length ? (
                r.draws.map((d) => `${d.quantity} from grant ${d.grantId}`).join('; ')
              ) : (
                <span class="muted">none</span>
              )}
            </dd>
          </dl>
        ) : (
          <p class="muted">Not rated.</p>
        )}
      </Section>

      <Section title="Holding batch">
        <dl class="facts">
          <dt>Held by</dt>
          <dd>{e.heldBy ? batchLink(e.heldBy) : <span class="muted">no open batch</span>}</dd>
          {e.lockedBy ? (
            <>
              <dt>Locked by</dt>
              <dd>{batchLink(e.lockedBy)}</dd>
            </>
          ) : null}
        </dl>
      </Section>
    </>
  );
}
