// What one API change costs the runtime's route table: patched in place (what the runtime
// does) against built anew with every API and swapped in (what it did before).
//
//   node test/bench/route-updates.ts     prints a table
//
// Each update replaces one API's route (a new target, as a changed upstream gives) in a
// table of N APIs with base paths `/bench-i`. In place: `conflicts` and `apply` of that one
// change. Rebuilt: a new table, `conflicts` and `apply` of all N. Both are the synchronous
// work a config update holds the event loop for, before any request is served again.
import { RouteTable, type RouteDefinition } from '../../runtime/src/routing/route-table.ts';
import { table } from './lib.ts';

const sizes = [10, 1_000, 10_000];
const UPDATES = Number(process.env.BENCH_UPDATES ?? 200);

const definition = (i: number, target: number): RouteDefinition<number> => ({ owner: `default/api-${i}`, hosts: [], basePath: `/bench-${i}`, methods: [], target });

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

/** µs per update, median of `UPDATES` (after as many unmeasured). */
function measure(update: (n: number) => void): number {
  const times: number[] = [];
  for (let i = 0; i < UPDATES * 2; i++) {
    const started = performance.now();
    update(i);
    if (i >= UPDATES) times.push((performance.now() - started) * 1_000);
  }
  return median(times);
}

function compare(n: number): (string | number)[] {
  const all = Array.from({ length: n }, (_, i) => definition(i, 0));
  const live = new RouteTable<number>();
  live.apply({ removals: [], upserts: all });
  const inPlace = measure((round) => {
    const change = { removals: [], upserts: [definition(round % n, round)] };
    if (live.conflicts(change).length > 0) throw new Error('conflict');
    live.apply(change);
  });
  const rebuilt = measure((round) => {
    const upserts = all.map((d, i) => (i === round % n ? definition(i, round) : d));
    const fresh = new RouteTable<number>();
    const change = { removals: [], upserts };
    if (fresh.conflicts(change).length > 0) throw new Error('conflict');
    fresh.apply(change);
  });
  return [n.toLocaleString('en-US'), inPlace, rebuilt, `${Math.round(rebuilt / inPlace)}×`];
}

compare(100); // warm-up: every path compiled before anything is measured
const rows = sizes.map(compare);

console.log(`One API change to a route table of N APIs; µs of synchronous work per update, median of ${UPDATES}. Node ${process.version}.`);
console.log(table(['APIs', 'patched in place (µs)', 'rebuilt and swapped (µs)', 'rebuilt / in place'], rows));
