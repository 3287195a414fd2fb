/**
 * Crash safety with a real process: a child appends as fast as it can and is killed with
 * SIGKILL mid-stream; every append it saw resolve must be readable afterwards, byte for byte,
 * and every acknowledgement it saw resolve must still hold.
 */
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as path from 'path';
import { createSpool } from '../../../lib/spool';
import { makeTempDir, payloadFor, readAll, removeDir } from './helpers';

const CHILD = path.join(__dirname, 'fixtures', 'append-until-killed.ts');

interface ChildReport {
  appended: Array<[number, number]>;
  ackedUpTo: number;
}

/** Runs the child until it has confirmed `minAppends` appends, then kills it with SIGKILL. */
function runAndKill(dir: string, minAppends: number, extraMs: number): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const report: ChildReport = { appended: [], ackedUpTo: 0 };
    let pending = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? ''; // an unfinished line was not fully printed: ignore it
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'A') report.appended.push([Number(a), Number(b)]);
        if (kind === 'K') report.ackedUpTo = Math.max(report.ackedUpTo, Number(a));
      }
      if (!killTimer && report.appended.length >= minAppends) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended by itself (code ${code}): ${stderr}`));
      else resolve(report);
    });
  });
}

describe('spool crash safety (SIGKILL)', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = makeTempDir('spool-crash-');
  });

  afterEach(() => removeDir(dir));

  it('keeps every record whose append resolved and every acknowledgement that resolved, across repeated kills', async () => {
    let confirmed = 0;
    for (let round = 0; round < 3; round++) {
      const report = await runAndKill(dir, 60 + round * 20, 5 + round * 37);
      assert.ok(report.appended.length >= 60, 'the child was killed mid-stream');

      const spool = createSpool({ dir });
      await spool.open();
      try {
        const { ackedSeq } = spool.stats();
        assert.ok(ackedSeq >= report.ackedUpTo, `acknowledged ${report.ackedUpTo} before the kill, checkpoint has ${ackedSeq}`);
        const records = await readAll(spool, 5000);
        const bySeq = new Map(records.map((r) => [r.seq, r.data]));
        for (const [first, last] of report.appended) {
          for (let seq = Math.max(first, ackedSeq + 1); seq <= last; seq++) {
            const data = bySeq.get(seq);
            assert.ok(data, `record ${seq} was confirmed durable and is missing`);
            assert.deepEqual(data, payloadFor(seq, 60), `record ${seq} is damaged`);
            confirmed++;
          }
        }
        // nothing else is damaged or out of order either: the unacknowledged log is gapless
        records.forEach((r, i) => {
          assert.equal(r.seq, records[0].seq + i);
          assert.deepEqual(r.data, payloadFor(r.seq, 60));
        });
        assert.equal(records[0]?.seq ?? ackedSeq + 1, ackedSeq + 1);
      } finally {
        await spool.close();
      }
    }
    assert.ok(confirmed > 1000, `only ${confirmed} records checked`);
  });
});
