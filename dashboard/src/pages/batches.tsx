// Batches: newest first, filtered by status and type; a new empty batch (events come by criteria or CSV).
import { BATCH_STATUSES, BATCH_TYPES } from '../api';
import { href, navigate, type Route } from '../router';
import { humanize, Loading, Pager, ProblemAlert, Section, StatusBadge, useApi, useLoad, when } from '../ui';
import { CreateBatchForm } from './create-batch';

export function BatchesPage({ route }: { route: Route }) {
  const api = useApi();
  const status = route.query.get('status') ?? undefined;
  const type = route.query.get('type') ?? undefined;
  const cursor = route.query.get('cursor') ?? undefined;
  const page = useLoad(() => api.listBatches({ status, type }, cursor), route.query.toString());

  const filter = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    navigate(href(['batches'], { status: String(form.get('status') ?? ''), type: String(form.get('type') ?? '') }));
  };

  return (
    <>
      <h1>Batches</h1>
      <form key={route.query.toString()} class="filters" onSubmit={filter} aria-label="Filter batches">
        <div class="field">
          <label for="bf-status">Status</label>
          <select id="bf-status" name="status" defaultValue={status ?? ''}>
            <option value="">any</option>
            {BATCH_STATUSES.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="bf-type">Type</label>
          <select id="bf-type" name="type" defaultValue={type ?? ''}>
            <option value="">any</option>
            {BATCH_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      <ProblemAlert error={page.error} />
      {page.loading && !page.data ? <Loading what="batches" /> : null}
      {page.data ? (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Batches</caption>
              <thead>
                <tr>
                  <th scope="col">Batch</th>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Events
                  </th>
                  <th scope="col" class="num">
                    Errors
                  </th>
                  <th scope="col">Created</th>
                  <th scope="col">By</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((b) => (
                  <tr key={b.batchId}>
                    <td>
                      <a href={href(['batches', b.batchId])}>{b.name ?? b.batchId}</a>
                    </td>
                    <td>{b.type}</td>
                    <td>
                      <StatusBadge status={b.status} />
                    </td>
                    <td class="num">{b.counts.events}</td>
                    <td class="num">{b.counts.errored}</td>
                    <td>{when(b.createdAt)}</td>
                    <td>{b.createdBy}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {page.data.items.length === 0 ? <p class="muted">No batches.</p> : null}
          <Pager
            label="Batches"
            cursor={cursor}
            nextCursor={page.data.nextCursor}
            onPage={(c) => navigate(href(['batches'], { status, type, cursor: c }))}
          />
        </>
      ) : null}
      <Section title="New batch">
        <CreateBatchForm eventIds={[]} onCreated={() => void page.reload()} />
      </Section>
    </>
  );
}
