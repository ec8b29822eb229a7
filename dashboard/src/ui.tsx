// Pieces every page uses: the API in context, loading and polling, problems, progress, badges, money.
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Api } from './api';

export { decimalDelta } from './decimal';

export const ApiContext = createContext<Api | undefined>(undefined);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('no API in context');
  return api;
}

export interface Loaded<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  reload(): Promise<void>;
}

/** Loads when `key` changes; `reload()` loads again (after an action). A late answer for an old key is dropped. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const current = useRef(key);
  const loader = useRef(load);
  loader.current = load;
  const reload = useCallback(async () => {
    const forKey = current.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await loader.current();
      if (current.current === forKey) setState({ data, loading: false });
    } catch (error) {
      if (current.current === forKey) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, []);
  useEffect(() => {
    current.current = key;
    setState({ loading: true });
    void reload();
  }, [key]);
  return { ...state, reload };
}

/** Calls `tick` every `intervalMs` while `active`, one call at a time (never piling up under a slow API). */
export function usePolling(active: boolean, intervalMs: number, tick: () => Promise<void>): void {
  const ref = useRef(tick);
  ref.current = tick;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const loop = async () => {
      await ref.current().catch(() => undefined);
      if (!stopped) timer = setTimeout(loop, intervalMs);
    };
    timer = setTimeout(loop, intervalMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [active, intervalMs]);
}

/** Runs one user action at a time: `busy` while it runs, its error kept for display. */
export function useAction<A extends unknown[], T>(run: (...args: A) => Promise<T>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<T>();
  const go = async (...args: A): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      const value = await run(...args);
      setResult(() => value);
      return value;
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  const clear = () => {
    setError(undefined);
    setResult(undefined);
  };
  return { busy, error, result, go, clear };
}

/** A refusal from the API with its stable code, or any other failure, announced to screen readers. */
export function ProblemAlert({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined) return null;
  if (error instanceof ApiError) {
    const p = error.problem;
    return (
      <div class="problem" role="alert">
        <p>
          <strong>{title ?? 'Refused'}</strong> <code class="code">{p.code}</code> ({p.status}): {p.detail}
        </p>
        {p.errors?.length ? (
          <ul>
            {p.errors.map((i) => (
              <li key={`${i.path}-${i.message}`}>
                <code>{i.path}</code>: {i.message}
              </li>
            ))}
          </ul>
        ) : null}
        {p.requestId ? <p class="muted">Request id {p.requestId}</p> : null}
      </div>
    );
  }
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{title ?? 'Failed'}</strong>: {error instanceof Error ? error.message : String(error)}
      </p>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** Statuses in which a workflow is running: the page polls and shows progress. */
export const RUNNING: ReadonlySet<string> = new Set(['LOCKING', 'REVERTING', 'PROCESSING']);
/** A batch that ran: its progress says how far submit got. */
const RAN: ReadonlySet<string> = new Set(['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);

export function BatchProgress({ status, progress }: { status: string; progress: { done: number; total: number } }) {
  const running = RUNNING.has(status);
  const { done, total } = progress;
  if (!running && !RAN.has(status)) return null;
  const shown = total > 0 ? Math.min(done, total) : 0;
  return (
    <div class="progress" data-status={status}>
      <label for="batch-progress">{running ? `${humanize(status)}: ` : 'Processed: '}</label>
      <progress
        id="batch-progress"
        max={Math.max(total, 1)}
        value={total > 0 ? shown : running ? undefined : 0}
        aria-valuetext={`${done} of ${total}`}
      />
      <span role="status" aria-live="polite" class="progress-text">
        {done} of {total} {running ? '' : `(${humanize(status)})`}
      </span>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status.toLowerCase()}`}>{humanize(status)}</span>;
}

/** `COMPLETED_WITH_ERRORS` → `Completed with errors`; `ADD_EVENTS` → `Add events`. */
export function humanize(code: string): string {
  const words = code.toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-heading`;
  return (
    <section aria-labelledby={headingId} id={id}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

export function Pager({
  cursor,
  nextCursor,
  onPage,
  label,
}: {
  cursor?: string;
  nextCursor?: string;
  onPage(cursor?: string): void;
  label: string;
}) {
  if (!cursor && !nextCursor) return null;
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={!cursor} onClick={() => onPage(undefined)}>
        First page
      </button>
      <button type="button" disabled={!nextCursor} onClick={() => onPage(nextCursor)}>
        Next page
      </button>
    </nav>
  );
}

export const when = (iso?: string) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '');

/** Splits a list typed by a person (commas, spaces or lines) into ids. */
export const idList = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** `2026-03-01T10:00` from a datetime-local input, read as UTC → `2026-03-01T10:00:00Z`. */
export const utcInstant = (local: string): string | undefined =>
  local ? `${local.length === 16 ? `${local}:00` : local}Z` : undefined;
