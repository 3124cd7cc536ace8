// npm run bench:console: what the web console weighs, and how long its pools page takes to show 1,000 pools.
//
// Page weight: the files of console/dist (built by `npm install`; this script builds nothing),
// raw and gzip-compressed, next to what a controller actually sends for them.
// First render: one controller on a fresh embedded PostgreSQL holds BENCH_POOLS pools (1,000)
// of 3 members each in the org `default`, written through `POST /v1/apply` in batches, and
// 10 pools in the org `reference`. Chromium (Debian's, headless) opens the signed-in pools
// page in a fresh browser context (empty cache, as a first visit) and records when every row
// is in the table and the frame after it has been painted; BENCH_RUNS (5) runs of each after
// one warm-up each, taking turns; medians. JS heap: V8's used heap of the page after a
// collection, once the rows are shown. Longest task: the longest main-thread task in the 6 s
// after the rows are painted, while the page reads the pools again every 2 s.
/// <reference lib="dom" />
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '@causeway/controller';
import { browserMissing, launchBrowser } from '../src/browser/browser.ts';
import { percentile, startController, table, TOKEN, type ControllerProc } from './lib.ts';
import { writeSection } from './report.ts';

const POOLS = Number(process.env.BENCH_POOLS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const REFERENCE_POOLS = 10;
const MEMBERS = 3;
const BATCH = 250;
const dist = new URL('../../console/dist/', import.meta.url);

const log = (message: string): void => void process.stderr.write(`${new Date().toISOString()} ${message}\n`);
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} kB`;

const missing = browserMissing();
if (missing !== undefined) {
  console.error(missing);
  process.exit(1);
}

interface Asset {
  readonly path: string;
  readonly raw: number;
  readonly gzip: number;
  /** Bytes of the body the controller sent, and its Content-Encoding. */
  readonly sent: number;
  readonly encoding: string;
}

/** The page and every file it names, measured on disk and as a controller serves them. */
async function pageWeight(adminUrl: string): Promise<Asset[]> {
  const index = readFileSync(new URL('index.html', dist), 'utf8');
  const files = ['index.html', ...[...index.matchAll(/(?:src|href)="\/console\/(assets\/[^"]+)"/g)].map((m) => m[1] ?? '')];
  return Promise.all(
    files.map(async (file) => {
      const body = readFileSync(new URL(file, dist));
      // node:http, not fetch: fetch decompresses, and the bytes on the wire are what is measured.
      const { sent, encoding } = await new Promise<{ sent: number; encoding: string }>((resolve, reject) => {
        get(`${adminUrl}/console/${file === 'index.html' ? '' : file}`, { headers: { 'accept-encoding': 'gzip, br' } }, (response) => {
          let bytes = 0;
          response.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
          response.on('end', () => resolve({ sent: bytes, encoding: String(response.headers['content-encoding'] ?? 'none') }));
        }).on('error', reject);
      });
      return { path: file, raw: body.byteLength, gzip: gzipSync(body, { level: 6 }).byteLength, sent, encoding };
    }),
  );
}

async function apply(adminUrl: string, org: string, items: readonly unknown[]): Promise<void> {
  const response = await fetch(`${adminUrl}/v1/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'causeway-org': org, 'content-type': 'application/json' },
    body: JSON.stringify({ items }),
  });
  if (!response.ok) throw new Error(`apply in ${org}: ${response.status} ${await response.text()}`);
}

/** `count` pools in `org`, each with MEMBERS of 30 gateways, in writes of BATCH pools. */
async function loadPools(adminUrl: string, org: string, count: number): Promise<void> {
  if (org !== 'default') {
    const created = await fetch(`${adminUrl}/v1/orgs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: org }) });
    if (created.status !== 201) throw new Error(`POST /v1/orgs: ${created.status} ${await created.text()}`);
  }
  const gateways = Math.min(30, count * MEMBERS);
  await apply(adminUrl, org, Array.from({ length: gateways }, (_, i) => ({ kind: 'Gateway', metadata: { name: `gw-${i}` }, spec: { url: `http://10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:8080` } })));
  for (let start = 0; start < count; start += BATCH) {
    const pools = Array.from({ length: Math.min(BATCH, count - start) }, (_, j) => {
      const i = start + j;
      const members = Array.from({ length: MEMBERS }, (_, m) => `gw-${(i + m * 7) % gateways}`);
      return { kind: 'GatewayPool', metadata: { name: `pool-${String(i).padStart(4, '0')}` }, spec: { members: [...new Set(members)] } };
    });
    await apply(adminUrl, org, pools);
  }
}

interface Run {
  readonly renderedMs: number;
  readonly paintedMs: number;
  readonly poolsRequestMs: number;
  readonly poolsBytes: number;
  readonly heapBytes: number;
  readonly longestTaskMs: number;
}

/** One first visit of the pools page of `org`, signed in, until its `count` rows are painted. */
async function visit(browser: Browser, adminUrl: string, org: string, count: number): Promise<Run> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.addInitScript(
      ({ token, org: chosen, expected }) => {
        sessionStorage.setItem('causeway.token', token);
        sessionStorage.setItem('causeway.org', chosen);
        const marks = window as unknown as { rendered?: number; painted?: number; longest?: number };
        marks.longest = 0;
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) if (marks.painted !== undefined && entry.startTime > marks.painted) marks.longest = Math.max(marks.longest ?? 0, entry.duration);
        }).observe({ type: 'longtask' });
        const observer = new MutationObserver(() => {
          if (document.querySelectorAll('tr[data-pool]').length < expected) return;
          observer.disconnect();
          marks.rendered = performance.now();
          // The next frame, then the task after it: the rows are on screen.
          requestAnimationFrame(() => setTimeout(() => (marks.painted = performance.now())));
        });
        observer.observe(document, { childList: true, subtree: true });
      },
      { token: TOKEN, org, expected: count },
    );
    await page.goto(`${adminUrl}/console/#gateways`);
    await page.waitForFunction(() => (window as unknown as { painted?: number }).painted !== undefined, undefined, { timeout: 120_000 });
    const cdp = await context.newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    // Three reads of the pools while the page is shown.
    await page.waitForTimeout(6_000);
    return await page.evaluate(() => {
      const marks = window as unknown as { rendered: number; painted: number; longest: number };
      const pools = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/v1/gateway-pools')) as PerformanceResourceTiming | undefined;
      return {
        renderedMs: marks.rendered,
        paintedMs: marks.painted,
        poolsRequestMs: pools === undefined ? Number.NaN : pools.responseEnd - pools.requestStart,
        poolsBytes: pools?.encodedBodySize ?? Number.NaN,
        longestTaskMs: marks.longest,
      };
    }).then((r) => ({ ...r, heapBytes: heap.usedSize }));
  } finally {
    await context.close();
  }
}

/** One warm-up of each page, then RUNS rounds in which they take turns. */
async function measure(browser: Browser, adminUrl: string, scenarios: readonly { org: string; pools: number }[]): Promise<Map<number, Run[]>> {
  const runs = new Map<number, Run[]>(scenarios.map((s) => [s.pools, []]));
  for (const s of scenarios) await visit(browser, adminUrl, s.org, s.pools);
  for (let round = 0; round < RUNS; round++) {
    for (const s of scenarios) {
      const run = await visit(browser, adminUrl, s.org, s.pools);
      runs.get(s.pools)?.push(run);
      log(`${s.pools} pools: painted at ${Math.round(run.paintedMs)} ms, heap ${(run.heapBytes / 1024 / 1024).toFixed(1)} MB, longest task ${Math.round(run.longestTaskMs)} ms`);
    }
  }
  return runs;
}

function weightTable(assets: readonly Asset[]): string {
  const total = (pick: (a: Asset) => number, ext: string): number => assets.filter((a) => a.path.endsWith(ext)).reduce((sum, a) => sum + pick(a), 0);
  const rows = assets.map((a) => [`\`${a.path}\``, kb(a.raw), kb(a.gzip), `${kb(a.sent)} (${a.encoding === 'none' ? 'uncompressed' : a.encoding})`]);
  rows.push(['**JS total**', kb(total((a) => a.raw, '.js')), kb(total((a) => a.gzip, '.js')), kb(total((a) => a.sent, '.js'))]);
  rows.push(['**CSS total**', kb(total((a) => a.raw, '.css')), kb(total((a) => a.gzip, '.css')), kb(total((a) => a.sent, '.css'))]);
  return table(['file', 'raw', 'gzip (level 6)', 'sent by the controller'], rows);
}

function renderTable(runs: Map<number, Run[]>): string {
  const median = (list: readonly Run[], pick: (r: Run) => number): number => percentile(list.map(pick), 50);
  const rows = [...runs.entries()].map(([pools, list]) => {
    const painted = list.map((r) => r.paintedMs);
    return [
      pools === REFERENCE_POOLS ? `${pools} (reference)` : pools.toLocaleString('en'),
      `${Math.round(median(list, (r) => r.paintedMs))} (${Math.round(Math.min(...painted))}–${Math.round(Math.max(...painted))})`,
      Math.round(median(list, (r) => r.renderedMs)),
      `${Math.round(median(list, (r) => r.poolsRequestMs))} ms, ${kb(median(list, (r) => r.poolsBytes))}`,
      `${(median(list, (r) => r.heapBytes) / 1024 / 1024).toFixed(1)} MB`,
      // Long tasks are those over 50 ms; 0: there was none.
      Math.round(median(list, (r) => r.longestTaskMs)) || 'none over 50',
    ];
  });
  return table(['pools', 'rows painted, ms after navigation (min–max)', 'rows in the DOM (ms)', '`GET /v1/gateway-pools`', 'JS heap after render', 'longest task while polling (ms)'], rows);
}

let database: EmbeddedDatabase | undefined;
let controller: ControllerProc | undefined;
let browser: Browser | undefined;
let loadAtStart: string;
try {
  database = await startEmbeddedDatabase();
  controller = await startController('bench-console', database.url);
  const assets = await pageWeight(controller.adminUrl);
  log(`loading ${POOLS} pools`);
  const loadStart = performance.now();
  await loadPools(controller.adminUrl, 'default', POOLS);
  log(`${POOLS} pools loaded in ${Math.round(performance.now() - loadStart)} ms`);
  await loadPools(controller.adminUrl, 'reference', REFERENCE_POOLS);
  loadAtStart = loadavg()[0]?.toFixed(1) ?? '?';
  browser = await launchBrowser();
  const runs = await measure(browser, controller.adminUrl, [
    { org: 'reference', pools: REFERENCE_POOLS },
    { org: 'default', pools: POOLS },
  ]);
  const compressed = assets.some((a) => a.encoding !== 'none');
  const poolsResponse = await fetch(`${controller.adminUrl}/v1/gateway-pools`, { headers: { authorization: `Bearer ${TOKEN}`, 'accept-encoding': 'gzip, br' } });
  const poolsEncoding = poolsResponse.headers.get('content-encoding') ?? 'uncompressed';
  const poolsJson = Buffer.from(await poolsResponse.arrayBuffer());
  const output = [
    `Page weight: the files of \`console/dist\` (index.html and what it names). ${compressed ? 'The controller compresses them.' : 'The controller sends them uncompressed (no `Content-Encoding`, whatever the browser accepts), so what is transferred is the raw size; gzip shows what compression would save.'}`,
    '',
    weightTable(assets),
    '',
    `First render: the Gateway Pools page of an org with ${POOLS.toLocaleString('en')} pools of ${MEMBERS} members, next to one with ${REFERENCE_POOLS}, same controller and browser (Chromium ${browser.version()}, headless, 1280×800, a fresh context per run: nothing cached). Time from navigation start (the page, its script, sign-in from the tab's session, \`GET /v1/gateway-pools\`, render); medians of ${RUNS} runs after a warm-up each. Chromium, the controller and PostgreSQL share the ${cpus().length} cores (load average ${loadAtStart} before the first run, ${loadavg()[0]?.toFixed(1)} after the last). The gap between rows in the DOM and rows painted is style, layout and paint of the table.`,
    '',
    renderTable(runs),
    '',
    poolsEncoding === 'uncompressed'
      ? `The list of ${POOLS.toLocaleString('en')} pools is ${kb(poolsJson.byteLength)} of JSON, sent uncompressed to a browser that accepts gzip; gzip would make it ${kb(gzipSync(poolsJson, { level: 6 }).byteLength)}.`
      : `The list of ${POOLS.toLocaleString('en')} pools is ${kb(poolsJson.byteLength)} of JSON, sent ${poolsEncoding}-compressed (${kb(gzipSync(poolsJson, { level: 6 }).byteLength)}) to a browser that accepts it; compressing it is part of the request's time in the table.`,
  ].join('\n');
  console.log(output);
  await writeSection('console', 'npm run bench:console', output);
} finally {
  await browser?.close();
  await controller?.stop();
  await database?.stop();
}
