import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, projectRoot } from '../../infra/local/dynamodb-local';
import { eventually } from '../support/eventually';

function startScript(env: NodeJS.ProcessEnv): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/start.ts'], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Pids of the process's children named `name` (pgrep -P exists on Linux and macOS). */
function childrenNamed(pid: number, name: string): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid), '-x', name], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('npm start (infra/local/start.ts)', () => {
  it('prints its endpoints, serves requests, and on SIGTERM exits leaving no Java server behind', async () => {
    const [api, s3, dynamodb, sfn, lambda, dashboard] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const script = startScript({
      LOCAL_IN_MEMORY: '1',
      API_PORT: String(api),
      S3_PORT: String(s3),
      DYNAMODB_PORT: String(dynamodb),
      SFN_PORT: String(sfn),
      LAMBDA_PORT: String(lambda),
      DASHBOARD_PORT: String(dashboard),
      LOG_LEVEL: 'SILENT',
    });
    try {
      await eventually(
        'the endpoints to be printed',
        async () => (script.output().includes('Ctrl-C stops.') ? true : undefined),
        60_000,
      );
      const lines = script.output();
      expect(lines).toContain(`Dashboard URL:           http://127.0.0.1:${dashboard}\n`);
      expect(lines).toContain(`API URL:                 http://127.0.0.1:${api}\n`);
      expect(lines).toContain(`S3 endpoint:             http://127.0.0.1:${s3}\n`);
      expect(lines).toContain('S3 bucket:               usage-corrections-local\n');
      expect(lines).toContain(`DynamoDB endpoint:       http://127.0.0.1:${dynamodb}\n`);
      expect(lines).toContain('DynamoDB table:          usage-corrections\n');
      expect(lines).toContain(`Step Functions endpoint: http://127.0.0.1:${sfn}\n`);
      expect(lines).toContain(`Lambda endpoint:         http://127.0.0.1:${lambda}\n`);
      expect((await fetch(`http://127.0.0.1:${api}/v1/health`)).status).toBe(200);
      // The dashboard: its page, and the configuration that points it at this API.
      const index = await fetch(`http://127.0.0.1:${dashboard}/`);
      expect(index.headers.get('content-security-policy')).toContain(
        `connect-src 'self' http://127.0.0.1:${api} http://127.0.0.1:${s3}`,
      );
      expect(await index.text()).toMatch(/<script type="module" crossorigin src="\.\/assets\/index-[\w-]+\.js">/);
      expect(await (await fetch(`http://127.0.0.1:${dashboard}/config.json`)).json()).toEqual({
        apiUrl: `http://127.0.0.1:${api}`,
      });
      // It said what it was doing before it was ready, and where the reference is.
      expect(lines).toContain('starting DynamoDB Local (Java)…\n');
      expect(lines).toContain('starting the HTTP API…\n');
      expect(lines).toContain(
        `API reference:           http://127.0.0.1:${api}/v1/openapi.json (readable: docs/api.md)\n`,
      );
      const spec = await fetch(`http://127.0.0.1:${api}/v1/openapi.json`);
      expect(spec.status).toBe(200);
      expect(((await spec.json()) as { openapi: string }).openapi).toBe('3.1.0');
      const [java] = childrenNamed(script.child.pid!, 'java');
      expect(java).toBeGreaterThan(0);

      script.child.kill('SIGTERM');
      expect(await script.exited).toBe(0);
      expect(isAlive(java!)).toBe(false);
      expect(await accepts(dynamodb)).toBe(false);
      expect(await accepts(api)).toBe(false);
      expect(await accepts(dashboard)).toBe(false);
    } finally {
      script.child.kill('SIGKILL');
    }
  });

  it('says Java is missing, without a stack trace, and exits 1', async () => {
    const script = startScript({ PATH: '/nonexistent' });
    expect(await script.exited).toBe(1);
    expect(script.output()).toContain('Java was not found on PATH');
    expect(script.output()).not.toMatch(/^\s+at /m);
  });
});
