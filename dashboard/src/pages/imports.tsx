// Import: a CSV of usage events, or of a batch's event ids or replacements, uploaded into the
// imports bucket on a short-lived URL from the API, so the S3 drop's own import runs; then its report.
import { useState } from 'preact/hooks';
import type { ImportKind, ImportStatus, ImportTarget } from '../api';
import { href, navigate, type Route } from '../router';
import { Loading, ProblemAlert, Section, StatusBadge, useAction, useApi, useLoad, usePolling } from '../ui';

const KINDS: { kind: ImportKind; label: string; columns: string }[] = [
  {
    kind: 'usage-events',
    label: 'Usage events (new events)',
    columns: 'event_id, subscription_id, product_id, quantity, occurred_at; optional parent_event_id, attr_<name>',
  },
  { kind: 'batch-events', label: 'Event ids for a batch', columns: 'event_id' },
  {
    kind: 'batch-replacements',
    label: 'Replacements for a batch',
    columns:
      'original_event_id, and either nothing else or event_id, subscription_id, product_id, quantity, occurred_at',
  },
];

export function ImportPage({ route }: { route: Route }) {
  const api = useApi();
  const initial = KINDS.find((k) => k.kind === route.query.get('kind'))?.kind ?? 'usage-events';
  const [kind, setKind] = useState<ImportKind>(initial);
  const [batchId, setBatchId] = useState(route.query.get('batchId') ?? '');
  const upload = useAction(async (file: File) => {
    const target: ImportTarget = kind === 'usage-events' ? { kind } : { kind, batchId: batchId.trim() };
    const granted = await api.requestImport(target, file.name);
    await api.upload(granted.upload, file);
    navigate(href(['imports', granted.importId]));
  });
  const submit = (e: Event) => {
    e.preventDefault();
    const file = (new FormData(e.currentTarget as HTMLFormElement).get('file') as File | null) ?? undefined;
    if (file && file.size > 0) void upload.go(file);
  };
  const spec = KINDS.find((k) => k.kind === kind)!;
  return (
    <>
      <h1>Import a CSV file</h1>
      <form class="stacked" onSubmit={submit} aria-label="Import a CSV file">
        <fieldset>
          <legend>What the file holds</legend>
          {KINDS.map((k) => (
            <div class="field checkbox" key={k.kind}>
              <input
                id={`i-${k.kind}`}
                type="radio"
                name="kind"
                value={k.kind}
                checked={kind === k.kind}
                onChange={() => setKind(k.kind)}
              />
              <label for={`i-${k.kind}`}>{k.label}</label>
            </div>
          ))}
        </fieldset>
        {kind !== 'usage-events' ? (
          <div class="field">
            <label for="i-batch">Batch id</label>
            <input
              id="i-batch"
              name="batchId"
              required
              value={batchId}
              onInput={(e) => setBatchId(e.currentTarget.value)}
              autocomplete="off"
            />
          </div>
        ) : null}
        <p class="hint">Columns: {spec.columns}. The header names them; see docs/csv-imports.md.</p>
        <div class="field">
          <label for="i-file">CSV file</label>
          <input id="i-file" name="file" type="file" accept=".csv,text/csv" required />
        </div>
        <button type="submit" disabled={upload.busy}>
          {upload.busy ? 'Uploading…' : 'Upload and import'}
        </button>
      </form>
      <ProblemAlert error={upload.error} title="Not uploaded" />
      {kind !== 'usage-events' && batchId ? (
        <p>
          <a href={href(['batches', batchId.trim()])}>Back to the batch</a>
        </p>
      ) : null}
    </>
  );
}

const FINAL: ReadonlySet<string> = new Set(['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);

export function ImportReportPage({ importId }: { importId: string }) {
  const api = useApi();
  const status = useLoad(() => api.getImport(importId), importId);
  // The import runs on its own after the upload: the page follows it until its report is written.
  usePolling(!status.data || !FINAL.has(status.data.state), 1000, status.reload);
  const s = status.data;
  return (
    <>
      <h1>Import</h1>
      <ProblemAlert error={status.error} />
      {status.loading && !s ? <Loading what="the import" /> : null}
      {s ? <Report s={s} /> : null}
    </>
  );
}

function Report({ s }: { s: ImportStatus }) {
  const r = s.report;
  const batchId = s.target.kind === 'usage-events' ? undefined : s.target.batchId;
  return (
    <>
      <dl class="facts">
        <dt>File</dt>
        <dd>
          <code>{s.key}</code>
        </dd>
        <dt>State</dt>
        <dd data-testid="import-state">
          <StatusBadge status={s.state} />
        </dd>
        {batchId ? (
          <>
            <dt>Batch</dt>
            <dd>
              <a href={href(['batches', batchId])}>{batchId}</a>
            </dd>
          </>
        ) : null}
      </dl>
      {!r ? (
        <p role="status" class="muted">
          {s.state === 'WAITING_FOR_FILE' ? 'Waiting for the file…' : 'Importing…'}
        </p>
      ) : (
        <Section title="Report" id="report">
          <table class="counts" data-testid="import-report">
            <caption class="visually-hidden">Rows of the file</caption>
            <thead>
              <tr>
                <th scope="col">Rows</th>
                <th scope="col">Accepted</th>
                <th scope="col">Duplicates</th>
                <th scope="col">Rejected</th>
                {r.children ? <th scope="col">Children added / refused</th> : null}
              </tr>
            </thead>
            <tbody>
              <tr>
                <td>{r.rows}</td>
                <td>{r.accepted}</td>
                <td>{r.duplicates ?? 0}</td>
                <td>{r.rejected}</td>
                {r.children ? (
                  <td>
                    {r.children.added} / {r.children.rejected}
                  </td>
                ) : null}
              </tr>
            </tbody>
          </table>
          {r.error ? (
            <div class="problem" role="alert">
              <p>
                <strong>The file failed</strong> <code class="code">{r.error.code}</code>: {r.error.message}
              </p>
            </div>
          ) : null}
          {s.errorsUrl ? (
            <p>
              <a href={s.errorsUrl} download>
                Download the rejected rows (errors CSV)
              </a>{' '}
              <span class="muted">(the link works for a few minutes; reload the page for a new one)</span>
            </p>
          ) : null}
        </Section>
      )}
    </>
  );
}
