/**
 * `npm run bench [-- --quick] [-- --only name,name]`: runs every benchmark, prints one table per
 * benchmark and a summary, and writes all figures as JSON to bench-results.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/paths';
import { BenchOptions, BenchResult, printTable } from './result';

const SUITES: { name: string; title: string; file: string }[] = [
  { name: 'mapping', title: 'tag event mapping and row encoding', file: './mapping' },
  { name: 'spool', title: 'disk spool', file: './spool' },
  { name: 'batch', title: 'tag batch filters', file: './batch' },
  { name: 'sparkplug', title: 'Sparkplug decode', file: './sparkplug' },
  { name: 'emulator', title: 'emulator ingest (validating every record)', file: './emulator' },
  { name: 'client', title: 'lib client vs official Databricks SDK', file: './client' },
  { name: 'node-out', title: 'zerobus-out sink', file: './node-out' },
  { name: 'e2e', title: 'end to end (Ignition → batch → zerobus-out → emulator)', file: './e2e' },
  { name: 'backlog', title: 'spool backlog memory and drain', file: './backlog' },
  { name: 'quota', title: 'per-stream quota (lib client → emulator at 20,000 records/s per stream)', file: './quota' },
  { name: 'streams', title: 'several streams per table (disk-spooled sink → emulator at 20,000 records/s per stream)', file: './streams' },
];

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opts: BenchOptions = { quick: argv.includes('--quick') };
  const onlyIdx = argv.indexOf('--only');
  const only = onlyIdx >= 0 ? argv[onlyIdx + 1].split(',') : undefined;
  const all: Record<string, BenchResult[]> = {};
  let failed = 0;
  for (const suite of SUITES) {
    if (only && !only.includes(suite.name)) continue;
    const started = Date.now();
    try {
      const mod = require(suite.file) as { run: (o: BenchOptions) => Promise<BenchResult[]> };
      const results = await mod.run(opts);
      all[suite.name] = results;
      printTable(`${suite.title} (${((Date.now() - started) / 1000).toFixed(0)} s)`, results);
    } catch (err) {
      failed++;
      console.error(`\n## ${suite.title}: FAILED\n${(err as Error).stack}`);
    }
  }
  const out = path.join(PACKAGE_ROOT, 'bench-results.json');
  fs.writeFileSync(out, JSON.stringify({ quick: opts.quick, at: new Date().toISOString(), node: process.version, results: all }, null, 2));
  console.log(`\nJSON: ${out}`);
  console.log(JSON.stringify(all));
  process.exit(failed ? 1 : 0);
}

void main();
