// The CDK app synthesizes with no network at all: the app module itself (as `cdk synth` runs it,
// with cdk.json's context and cdk-nag), in this process, with every way out of it refused.
// Bundling is off here for speed; `npm run synth` with bundling is verified offline by hand (docs/deploy.md).
import dns from 'node:dns';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdkContext, testOutdir } from './synth';

const attempts: string[] = [];
const saved = {
  connect: net.Socket.prototype.connect,
  lookup: dns.lookup,
  promisesLookup: dns.promises.lookup,
  fetch: globalThis.fetch,
  env: { ...process.env },
};

beforeAll(() => {
  const refuse = (what: string) => {
    attempts.push(what);
    throw new Error(`network access in an offline synth: ${what}`);
  };
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const to = (typeof args[0] === 'object' ? args[0] : { port: args[0], host: args[1] }) as {
      host?: string;
      path?: string;
      port?: unknown;
    };
    return refuse(`connect ${to.path ?? `${to.host}:${String(to.port)}`}`);
  } as typeof net.Socket.prototype.connect;
  dns.lookup = ((host: string) => refuse(`dns ${host}`)) as unknown as typeof dns.lookup;
  dns.promises.lookup = ((host: string) => refuse(`dns ${host}`)) as unknown as typeof dns.promises.lookup;
  globalThis.fetch = ((input: unknown) => refuse(`fetch ${String(input)}`)) as typeof fetch;
});

afterAll(() => {
  net.Socket.prototype.connect = saved.connect;
  dns.lookup = saved.lookup;
  dns.promises.lookup = saved.promisesLookup;
  globalThis.fetch = saved.fetch;
  process.env = saved.env;
});

describe('the CDK app', () => {
  it('synthesizes the stack, cdk-nag included, without touching the network', async () => {
    const outdir = testOutdir('app');
    // What the CLI hands the app: the output folder and cdk.json's context.
    process.env.CDK_OUTDIR = outdir;
    process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...cdkContext, 'aws:cdk:bundling-stacks': [] });
    process.env.CDK_VALIDATION = 'false';
    delete process.env.CDK_DEFAULT_ACCOUNT;
    delete process.env.CDK_DEFAULT_REGION;

    await import('../../infra/app');

    expect(attempts).toEqual([]);
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(true);
    const template = JSON.parse(readFileSync(join(outdir, 'UsageCorrections.template.json'), 'utf8'));
    expect(Object.keys(template.Outputs)).toEqual(expect.arrayContaining(['ApiUrl', 'BucketName', 'TableName']));
  });
});
