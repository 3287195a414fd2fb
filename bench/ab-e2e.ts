/**
 * A/B of the durable end-to-end pipeline between builds of the package, run alternately so that
 * both see the same shifts in other load on the machine:
 *
 *   node scripts/build.js --stage /tmp/a      (on the old commit)
 *   node scripts/build.js --stage /tmp/b      (on the new one)
 *   npx tsx bench/ab-e2e.ts [--pairs 4] /tmp/a /tmp/b
 *
 * Each run is `bench/e2e.ts --quick` with ZEROBUS_PACKAGE_DIR set to one build. Printed per run
 * and as medians per build: durable events/s, the `http in → http response` baseline of the
 * same run and the ratio, and the Node-RED main thread's CPU per event — on a shared machine
 * the robust figure (docs/PERFORMANCE.md, "Machine and method").
 */
import { execFile } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import type { BenchResult } from './result';

interface Run {
  build: string;
  eventsPerSec: number;
  baseline: number;
  ratio: number;
  mainUs: number;
  load: number;
}

const DURABLE = 'e2e ack=durable proto disk';

function runOnce(build: string): Promise<Run> {
  const argv = [require.resolve('tsx/cli'), path.join(__dirname, 'e2e.ts'), '--quick'];
  const env = { ...process.env, ZEROBUS_PACKAGE_DIR: build };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { env, maxBuffer: 1 << 22 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`e2e run on ${build} failed: ${stderr || err.message}`));
      const results = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as BenchResult[];
      const throughput = results.find((r) => r.scenario === DURABLE && r.metric === 'throughput');
      const main = results.find((r) => r.scenario === DURABLE && r.metric === 'main thread CPU');
      if (!throughput?.baseline || !main) return reject(new Error(`e2e run on ${build} printed no durable figures`));
      resolve({ build, eventsPerSec: throughput.value, baseline: throughput.baseline.value, ratio: throughput.value / throughput.baseline.value, mainUs: main.value, load: os.loadavg()[0] });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const pairsAt = argv.indexOf('--pairs');
  const pairs = pairsAt >= 0 ? Number(argv[pairsAt + 1]) : 4;
  const builds = argv.filter((a, i) => !a.startsWith('--') && (pairsAt < 0 || i !== pairsAt + 1)).map((b) => path.resolve(b));
  if (builds.length < 2 || !(pairs > 0)) throw new Error('usage: tsx bench/ab-e2e.ts [--pairs N] BUILD_A BUILD_B [...]');
  const runs: Run[] = [];
  console.log(['build', 'events/s', 'baseline', 'ratio', 'main µs/event', 'load avg'].join('\t'));
  for (let p = 0; p < pairs; p++) {
    for (const build of builds) {
      const r = await runOnce(build);
      runs.push(r);
      console.log([path.basename(build), Math.round(r.eventsPerSec), Math.round(r.baseline), r.ratio.toFixed(3), r.mainUs.toFixed(2), r.load.toFixed(1)].join('\t'));
    }
  }
  console.log('\nmedians');
  for (const build of builds) {
    const mine = runs.filter((r) => r.build === build);
    console.log([path.basename(build), Math.round(median(mine.map((r) => r.eventsPerSec))), Math.round(median(mine.map((r) => r.baseline))), median(mine.map((r) => r.ratio)).toFixed(3), median(mine.map((r) => r.mainUs)).toFixed(2)].join('\t'));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
