// npm run bench:admin: what authentication and authorisation cost a request of the admin API.
//
//   npm run bench:admin -- /tmp/causeway-before      (or BENCH_REFERENCE=/tmp/causeway-before npm run bench:admin)
//
// The reference is a controller of the commit before access control, measured in the same
// run: a checkout of 57705db with its dependencies installed, e.g.
//   git worktree add /tmp/causeway-before 57705db && (cd /tmp/causeway-before && npm ci)
// Without one, only this tree is measured, and the output says so.
//
// One embedded PostgreSQL, one database per controller, each holding 100 APIs. wrk (one
// thread, CONNECTIONS keep-alive connections) loads `GET /v1/apis` (the list of 100) and
// `GET /v1/apis/api-42` with each credential in turn, ROUNDS rounds after a warm-up of
// each; medians of the rounds. CPU per request is the controller process's CPU time (user
// and system) over a run divided by the requests it answered; PostgreSQL's is not in it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '@causeway/controller';
import { admin, percentile, startController, table, TOKEN, type ControllerProc } from './lib.ts';
import { findProgram, installHint, runWrk, type WrkResult } from './proxy-servers.ts';
import { writeSection } from './report.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARM_UP_SECONDS = 2;
const CONNECTIONS = 8;
const APIS = 100;
const referenceTree = process.argv[2] ?? process.env.BENCH_REFERENCE;

const log = (message: string): void => void process.stderr.write(`${new Date().toISOString()} ${message}\n`);

const wrk = findProgram('wrk', '--version');
if (wrk === undefined) {
  console.error(`wrk is needed (${installHint})`);
  process.exit(1);
}

interface Credential {
  readonly name: string;
  readonly controller: ControllerProc;
  readonly token: string;
}

/** The reference tree's controller entry point and a label naming its commit. */
function reference(tree: string | undefined): { main: string; label: string } | undefined {
  if (tree === undefined) return undefined;
  const main = join(resolve(tree), 'controller/src/main.ts');
  if (!existsSync(main) || !existsSync(join(resolve(tree), 'node_modules'))) {
    console.error(`${tree}: not a Causeway checkout with its dependencies installed (no controller/src/main.ts or node_modules)`);
    process.exit(1);
  }
  const commit = spawnSync('git', ['-C', tree, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return { main, label: commit.status === 0 ? commit.stdout.trim() : resolve(tree) };
}

/** A database of its own for the reference controller, whose schema is an older one. */
async function createDatabase(url: string, name: string): Promise<string> {
  const sql = postgres(url, { onnotice: () => undefined });
  await sql.unsafe(`CREATE DATABASE ${name}`);
  await sql.end();
  const other = new URL(url);
  other.pathname = `/${name}`;
  return other.toString();
}

/** 100 APIs on one gateway, in one write. */
async function load(controller: ControllerProc): Promise<void> {
  const items = [
    { kind: 'Gateway', metadata: { name: 'gw-1' }, spec: { url: 'http://127.0.0.1:9' } },
    ...Array.from({ length: APIS }, (_, i) => ({ kind: 'Api', metadata: { name: `api-${i}` }, spec: { basePath: `/api-${i}`, upstream: { gateway: 'gw-1' } } })),
  ];
  await admin(controller.adminUrl, 'POST', '/v1/apply', { items });
}

/** Org tokens of the default org (where the APIs are): one with a built-in role, one with a custom role that may read APIs. */
async function orgTokens(controller: ControllerProc): Promise<{ builtIn: string; custom: string }> {
  await admin(controller.adminUrl, 'PUT', '/v1/roles/api-reader', { permissions: [{ subject: 'apis', actions: ['read'] }] });
  const create = async (name: string, role: string): Promise<string> =>
    ((await admin(controller.adminUrl, 'POST', '/v1/tokens', { name, role })).body as { token: string }).token;
  return { builtIn: await create('bench-viewer', 'viewer'), custom: await create('bench-reader', 'api-reader') };
}

async function run(credential: Credential, path: string, seconds: number): Promise<WrkResult> {
  const result = await runWrk(wrk as string, credential.controller.adminUrl + path, {
    connections: CONNECTIONS,
    seconds,
    pid: credential.controller.child.pid,
    headers: [`Authorization: Bearer ${credential.token}`],
  });
  if (result.errors > 0) throw new Error(`${credential.name} ${path}: ${result.errors} errors (refused, or the controller failed)`);
  return result;
}

/** A warm-up of each credential, then ROUNDS rounds in which they take turns. */
async function compare(credentials: readonly Credential[], path: string): Promise<Map<string, WrkResult[]>> {
  const runs = new Map<string, WrkResult[]>(credentials.map((c) => [c.name, []]));
  for (const credential of credentials) await run(credential, path, WARM_UP_SECONDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const credential of credentials) {
      const result = await run(credential, path, SECONDS);
      runs.get(credential.name)?.push(result);
      log(`${credential.name} ${path}: ${Math.round(result.requestsPerSecond)} req/s, ${Math.round(result.cpuUsPerRequest)} µs CPU/req`);
    }
  }
  return runs;
}

function rows(path: string, runs: Map<string, WrkResult[]>, baseline: string): (string | number)[][] {
  const median = (name: string, pick: (r: WrkResult) => number): number => percentile((runs.get(name) ?? []).map(pick), 50);
  const baseCpu = median(baseline, (r) => r.cpuUsPerRequest);
  return [...runs.keys()].map((name) => {
    const rates = (runs.get(name) ?? []).map((r) => r.requestsPerSecond);
    const cpu = median(name, (r) => r.cpuUsPerRequest);
    const delta = name === baseline ? '(reference)' : `${cpu >= baseCpu ? '+' : ''}${Math.round(cpu - baseCpu)} µs (${((cpu / baseCpu - 1) * 100).toFixed(0)} %)`;
    return [`\`GET ${path}\``, name, `${Math.round(median(name, (r) => r.requestsPerSecond)).toLocaleString('en')} (${Math.round(Math.min(...rates)).toLocaleString('en')}–${Math.round(Math.max(...rates)).toLocaleString('en')})`, `${Math.round(cpu)} µs`, delta];
  });
}

const before = reference(referenceTree);
let database: EmbeddedDatabase | undefined;
const started: ControllerProc[] = [];
try {
  database = await startEmbeddedDatabase();
  const current = await startController('bench-admin', database.url);
  started.push(current);
  await load(current);
  const tokens = await orgTokens(current);
  const credentials: Credential[] = [];
  if (before !== undefined) {
    const old = await startController('bench-admin-before', await createDatabase(database.url, 'bench_before'), {}, before.main);
    started.push(old);
    await load(old);
    credentials.push({ name: `before access control (${before.label}): its one token`, controller: old, token: TOKEN });
  }
  credentials.push(
    { name: 'bootstrap token', controller: current, token: TOKEN },
    { name: 'org token, built-in role (viewer)', controller: current, token: tokens.builtIn },
    { name: 'org token, custom role (apis:read)', controller: current, token: tokens.custom },
  );
  const baseline = credentials[0]?.name ?? '';
  const measured: { path: string; runs: Map<string, WrkResult[]> }[] = [];
  for (const path of ['/v1/apis', '/v1/apis/api-42']) {
    log(`GET ${path}`);
    measured.push({ path, runs: await compare(credentials, path) });
  }
  const output = [
    before === undefined
      ? 'No reference tree given (`npm run bench:admin -- PATH` or `BENCH_REFERENCE=PATH`): this tree only, CPU compared with the bootstrap token.'
      : `Reference: the controller of ${before.label} (${resolve(referenceTree ?? '')}), before access control, started from that tree in the same run.`,
    `${APIS} APIs in each controller's own database, one embedded PostgreSQL. Load: \`wrk -t1 -c${CONNECTIONS}\`, ${SECONDS} s per run after a ${WARM_UP_SECONDS} s warm-up; the credentials take turns in each of ${ROUNDS} rounds; medians (req/s: median, and min–max of the rounds).`,
    `CPU per request: the controller process's CPU time during a run / requests answered (PostgreSQL's not included). wrk, the controller and PostgreSQL share the ${cpus().length} cores.`,
    '',
    table(['request', 'credential', 'req/s', 'controller CPU per request', 'CPU vs reference'], measured.flatMap((m) => rows(m.path, m.runs, baseline))),
  ].join('\n');
  console.log(output);
  await writeSection('admin', before === undefined ? 'npm run bench:admin' : 'npm run bench:admin -- /tmp/causeway-before', output);
} finally {
  for (const proc of started) await proc.stop();
  await database?.stop();
}
