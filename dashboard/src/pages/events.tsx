// Events: find usage events by subscription, product, status and time window, page through them,
// select some and create a batch from the selection (each refused event shown with its reason).
import { useState } from 'preact/hooks';
import { EVENT_STATUSES, type EventFilter, type EventStatus } from '../api';
import { href, navigate, type Route } from '../router';
import { Loading, Pager, ProblemAlert, Section, StatusBadge, useApi, useLoad, utcInstant, when } from '../ui';
import { CreateBatchForm } from './create-batch';

export function filterOf(query: URLSearchParams): EventFilter | undefined {
  const subscriptionId = query.get('subscriptionId') ?? '';
  if (!subscriptionId) return undefined;
  const status = query.get('status') ?? '';
  return {
    subscriptionId,
    productId: query.get('productId') || undefined,
    status: (EVENT_STATUSES as readonly string[]).includes(status) ? (status as EventStatus) : undefined,
    from: query.get('from') || undefined,
    to: query.get('to') || undefined,
  };
}

/** An instant shown in a datetime-local input (read back as UTC). */
const localValue = (instant?: string) => (instant ? instant.replace(/(\.\d+)?Z$/, '').slice(0, 19) : '');

export function EventsPage({ route }: { route: Route }) {
  const filter = filterOf(route.query);
  const cursor = route.query.get('cursor') ?? undefined;
  const [selected, setSelected] = useState<Set<string>>(new Set());

  const search = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    navigate(
      href(['events'], {
        subscriptionId: text('subscriptionId'),
        productId: text('productId'),
        status: text('status'),
        from: utcInstant(text('from') ?? ''),
        to: utcInstant(text('to') ?? ''),
      }),
    );
  };

  return (
    <>
      <h1>Usage events</h1>
      <form key={route.query.toString()} class="filters" onSubmit={search} aria-label="Find usage events">
        <div class="field">
          <label for="f-subscription">Subscription</label>
          <input
            id="f-subscription"
            name="subscriptionId"
            required
            defaultValue={filter?.subscriptionId}
            autocomplete="off"
          />
        </div>
        <div class="field">
          <label for="f-product">Product</label>
          <input id="f-product" name="productId" defaultValue={filter?.productId} autocomplete="off" />
        </div>
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" name="status" defaultValue={filter?.status ?? ''}>
            <option value="">any</option>
            {EVENT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-from">From (UTC)</label>
          <input id="f-from" name="from" type="datetime-local" step="1" defaultValue={localValue(filter?.from)} />
        </div>
        <div class="field">
          <label for="f-to">To (UTC, not included)</label>
          <input id="f-to" name="to" type="datetime-local" step="1" defaultValue={localValue(filter?.to)} />
        </div>
        <button type="submit">Find events</button>
      </form>
      {filter ? (
        <EventList
          key={JSON.stringify(filter)}
          filter={filter}
          cursor={cursor}
          selected={selected}
          onSelect={setSelected}
        />
      ) : (
        <p class="muted">Name a subscription to list its events (listing every event would scan the whole table).</p>
      )}
      <Section title="Create a batch">
        <CreateBatchForm eventIds={[...selected]} onCreated={() => setSelected(new Set())} />
      </Section>
    </>
  );
}

function EventList({
  filter,
  cursor,
  selected,
  onSelect,
}: {
  filter: EventFilter;
  cursor?: string;
  selected: Set<string>;
  onSelect(s: Set<string>): void;
}) {
  const api = useApi();
  const page = useLoad(() => api.listUsageEvents(filter, cursor), `${JSON.stringify(filter)}|${cursor ?? ''}`);
  const items = page.data?.items ?? [];
  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    onSelect(next);
  };
  const allOnPage = items.length > 0 && items.every((e) => selected.has(e.eventId));
  const togglePage = (on: boolean) => {
    const next = new Set(selected);
    for (const e of items) {
      if (on) next.add(e.eventId);
      else next.delete(e.eventId);
    }
    onSelect(next);
  };

  return (
    <Section title="Events">
      <ProblemAlert error={page.error} />
      {page.loading && !page.data ? <Loading what="events" /> : null}
      {page.data ? (
        <>
          <p role="status" class="muted">
            {items.length} event(s) on this page; {selected.size} selected
          </p>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Usage events of {filter.subscriptionId}</caption>
              <thead>
                <tr>
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select every event on this page"
                      checked={allOnPage}
                      onChange={(e) => togglePage(e.currentTarget.checked)}
                    />
                  </th>
                  <th scope="col">Event</th>
                  <th scope="col">Occurred</th>
                  <th scope="col">Product</th>
                  <th scope="col" class="num">
                    Quantity
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Allowance used
                  </th>
                  <th scope="col" class="num">
                    Amount
                  </th>
                  <th scope="col">Batch</th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr key={e.eventId} data-event-id={e.eventId}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select ${e.eventId}`}
                        checked={selected.has(e.eventId)}
                        onChange={(x) => toggle(e.eventId, x.currentTarget.checked)}
                      />
                    </td>
                    <td>
                      <a href={href(['events', e.eventId])}>{e.eventId}</a>
                    </td>
                    <td>{when(e.occurredAt)}</td>
                    <td>{e.productId}</td>
                    <td class="num">{e.quantity}</td>
                    <td>
                      <StatusBadge status={e.status} />
                    </td>
                    <td class="num">{e.rating?.allowanceUsed ?? ''}</td>
                    <td class="num">{e.rating ? `${e.rating.amount} ${e.rating.currency}` : ''}</td>
                    <td>{e.heldBy ? <a href={href(['batches', e.heldBy])}>{e.heldBy.slice(0, 8)}</a> : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            label="Events"
            cursor={cursor}
            nextCursor={page.data.nextCursor}
            onPage={(c) => navigate(href(['events'], { ...filter, cursor: c }))}
          />
        </>
      ) : null}
    </Section>
  );
}
