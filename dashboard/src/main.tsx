// The Usage Events Dashboard: reads config.json, chooses how to call the API (the local stack's
// X-Actor header, or Cognito sign-in and SigV4 in AWS), and renders the page the URL names.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { createApi, type Api, type Send } from './api';
import type { DashboardConfig } from './config';
import { BatchPage } from './pages/batch';
import { BatchesPage } from './pages/batches';
import { EventPage } from './pages/event';
import { EventsPage } from './pages/events';
import { ImportPage, ImportReportPage } from './pages/imports';
import { ReviewPage } from './pages/review';
import { href, useRoute, type Route } from './router';
import { ApiContext, ProblemAlert } from './ui';
import './styles.css';

type Who = { kind: 'local' } | { kind: 'aws'; user: string; signOut(): void };

const ACTOR = 'usage-dashboard.actor';
const actor = () => localStorage.getItem(ACTOR) || 'dashboard';

function Page({ route }: { route: Route }) {
  const [first, id, sub] = route.parts;
  if (!first || first === 'events') return id ? <EventPage key={id} eventId={id} /> : <EventsPage route={route} />;
  if (first === 'batches' && id && sub === 'review') return <ReviewPage key={id} batchId={id} />;
  if (first === 'batches' && id) return <BatchPage key={id} batchId={id} />;
  if (first === 'batches') return <BatchesPage route={route} />;
  if (first === 'imports' && id) return <ImportReportPage key={id} importId={id} />;
  if (first === 'imports') return <ImportPage key={route.query.toString()} route={route} />;
  return (
    <>
      <h1>Not found</h1>
      <p>
        No page is at this address. <a href={href(['events'])}>Find events</a>
      </p>
    </>
  );
}

function App({ api, who }: { api: Api; who: Who }) {
  const route = useRoute();
  const [name, setName] = useState(actor);
  const section = route.parts[0] ?? 'events';
  const firstPage = useRef(true);
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    // A new page is announced by moving focus to its heading, as a full page load would.
    const heading = document.querySelector<HTMLElement>('main h1');
    heading?.setAttribute('tabindex', '-1');
    heading?.focus();
  }, [route.parts.join('/')]);
  return (
    <ApiContext.Provider value={api}>
      {/* A button, not a link to #main: the hash holds the page's route. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">Usage Events Dashboard</span>
        <nav aria-label="Main">
          {(['events', 'batches', 'imports'] as const).map((s) => (
            <a key={s} href={href([s])} aria-current={section === s ? 'page' : undefined}>
              {s === 'imports' ? 'Import' : s.charAt(0).toUpperCase() + s.slice(1)}
            </a>
          ))}
        </nav>
        {who.kind === 'local' ? (
          <div class="who">
            <label for="actor">Acting as</label>
            <input
              id="actor"
              value={name}
              size={14}
              onChange={(e) => {
                const value = e.currentTarget.value.trim();
                localStorage.setItem(ACTOR, value);
                setName(value);
              }}
            />
          </div>
        ) : (
          <div class="who">
            <span>{who.user}</span>
            <button type="button" onClick={who.signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </ApiContext.Provider>
  );
}

async function boot(root: HTMLElement): Promise<void> {
  const res = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json answered ${res.status}`);
  const config = (await res.json()) as DashboardConfig;
  const apiUrl = config.apiUrl.replace(/\/+$/, '');
  let send: Send;
  let who: Who;
  if (config.aws) {
    const { awsSession } = await import('./aws-auth');
    const session = await awsSession(config.aws);
    send = session.send;
    who = { kind: 'aws', user: session.user, signOut: session.signOut };
  } else {
    // The local stack has no IAM: the caller it records is this header.
    send = (url, init) => fetch(url, { ...init, headers: { ...init.headers, 'x-actor': actor() } });
    who = { kind: 'local' };
  }
  root.textContent = '';
  render(<App api={createApi(apiUrl, send)} who={who} />, root);
}

const root = document.getElementById('app')!;
boot(root).catch((error: unknown) =>
  render(<ProblemAlert error={error} title="The dashboard could not start" />, root),
);
