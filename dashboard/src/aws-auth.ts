// Sign-in and signing in AWS: the Cognito user pool's sign-in page (authorization code with PKCE),
// the identity pool's temporary credentials for the signed-in user (a role that may call only this
// API), and SigV4 on every API call, as the HTTP API's IAM authorization requires. Loaded only
// when config.json names `aws`; the local dashboard never downloads it.
import { SignatureV4 } from '@smithy/signature-v4';
import type { Send } from './api';
import type { DashboardConfig } from './config';
import { WebCryptoSha256 } from './sigv4';

type Aws = NonNullable<DashboardConfig['aws']>;

export interface AwsSession {
  send: Send;
  /** The signed-in user, as the ID token names them. */
  user: string;
  signOut(): void;
}

interface Tokens {
  idToken: string;
  refreshToken?: string;
  /** Epoch ms. */
  expiresAt: number;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

const TOKENS = 'usage-dashboard.tokens';
const VERIFIER = 'usage-dashboard.pkce';
const RETURN_TO = 'usage-dashboard.return-to';
/** Renew tokens and credentials this long before they expire. */
const MARGIN_MS = 5 * 60_000;

const redirectUri = () => new URL('./', location.href).href.split('?')[0]!.split('#')[0]!;

const base64url = (data: Uint8Array) =>
  btoa(String.fromCharCode(...data))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function claims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
}

async function signIn(aws: Aws): Promise<never> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(VERIFIER, JSON.stringify({ verifier, state }));
  sessionStorage.setItem(RETURN_TO, location.hash);
  const url = new URL('/oauth2/authorize', aws.signInUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: aws.userPoolClientId,
    redirect_uri: redirectUri(),
    scope: 'openid email',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
  return new Promise<never>(() => {});
}

async function tokenRequest(aws: Aws, params: Record<string, string>): Promise<Tokens> {
  const res = await fetch(new URL('/oauth2/token', aws.signInUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: aws.userPoolClientId, ...params }).toString(),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { id_token: string; refresh_token?: string; expires_in: number };
  const tokens = {
    idToken: body.id_token,
    refreshToken: body.refresh_token ?? params.refresh_token,
    expiresAt: Date.now() + body.expires_in * 1000,
  };
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  return tokens;
}

/** The tokens of this tab's session: from the sign-in redirect, from storage, or renewed. */
async function currentTokens(aws: Aws): Promise<Tokens | undefined> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (code) {
    const pending = JSON.parse(sessionStorage.getItem(VERIFIER) ?? '{}') as { verifier?: string; state?: string };
    sessionStorage.removeItem(VERIFIER);
    const hash = sessionStorage.getItem(RETURN_TO) ?? '';
    history.replaceState(null, '', `${redirectUri()}${hash}`);
    if (!pending.verifier || pending.state !== params.get('state')) return undefined;
    return tokenRequest(aws, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    });
  }
  const stored = sessionStorage.getItem(TOKENS);
  if (!stored) return undefined;
  const tokens = JSON.parse(stored) as Tokens;
  if (tokens.expiresAt - MARGIN_MS > Date.now()) return tokens;
  return tokens.refreshToken
    ? tokenRequest(aws, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken }).catch(() => undefined)
    : undefined;
}

/** One call to the identity pool's JSON API (GetId, GetCredentialsForIdentity: no signing needed). */
async function identityCall<T>(aws: Aws, action: string, body: unknown): Promise<T> {
  const res = await fetch(`https://cognito-identity.${aws.region}.amazonaws.com/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityService.${action}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${action} failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function credentialsFor(aws: Aws, idToken: string): Promise<Credentials> {
  const logins = { [`cognito-idp.${aws.region}.amazonaws.com/${aws.userPoolId}`]: idToken };
  const { IdentityId } = await identityCall<{ IdentityId: string }>(aws, 'GetId', {
    IdentityPoolId: aws.identityPoolId,
    Logins: logins,
  });
  const { Credentials: c } = await identityCall<{
    Credentials: { AccessKeyId: string; SecretKey: string; SessionToken: string; Expiration: number };
  }>(aws, 'GetCredentialsForIdentity', { IdentityId, Logins: logins });
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretKey,
    sessionToken: c.SessionToken,
    expiration: new Date(c.Expiration * 1000),
  };
}

/** The signed-in session, or a redirect to the sign-in page (the promise then never settles). */
export async function awsSession(aws: Aws): Promise<AwsSession> {
  let tokens = (await currentTokens(aws)) ?? (await signIn(aws));
  let credentials: Credentials | undefined;
  const fresh = async (): Promise<Credentials> => {
    if (credentials && credentials.expiration.getTime() - MARGIN_MS > Date.now()) return credentials;
    if (tokens.expiresAt - MARGIN_MS <= Date.now()) {
      sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
      tokens = (await currentTokens(aws)) ?? (await signIn(aws));
    }
    credentials = await credentialsFor(aws, tokens.idToken);
    return credentials;
  };
  const signer = new SignatureV4({
    service: 'execute-api',
    region: aws.region,
    credentials: fresh,
    sha256: WebCryptoSha256,
  });
  const send: Send = async (url, init) => {
    const signed = await signer.sign({
      method: init.method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, ...init.headers },
      body: init.body,
    });
    // The browser sets Host itself (it may not be set by a script); it is the signed value.
    const { host: _host, ...headers } = signed.headers;
    return fetch(url, { method: init.method, headers, body: init.body });
  };
  const who = claims(tokens.idToken);
  return {
    send,
    user: String(who.email ?? who['cognito:username'] ?? 'signed in'),
    signOut() {
      sessionStorage.removeItem(TOKENS);
      const url = new URL('/logout', aws.signInUrl);
      url.search = new URLSearchParams({ client_id: aws.userPoolClientId, logout_uri: redirectUri() }).toString();
      location.assign(url.href);
    },
  };
}
