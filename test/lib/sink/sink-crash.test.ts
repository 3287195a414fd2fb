import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as path from 'path';
import type { Emulator } from '../../../lib/emulator';
import { ZerobusSink } from '../../../lib/sink';
import { CLIENT_ID, CLIENT_SECRET, clientFor, numericEvents, OT_TABLE, startTestEmulator, tempDir, waitFor } from './helpers';

describe('lib/sink ZerobusSink after a crash (SIGKILL)', function () {
  this.timeout(60_000);

  it('sends every record that was spooled before the process was killed', async () => {
    const emu: Emulator = await startTestEmulator();
    const tmp = tempDir('sink-crash');
    const client = clientFor(emu);
    let sink: ZerobusSink | undefined;
    try {
      emu.faults.withholdAcks(true);
      const total = 500;
      const child = spawn(
        process.execPath,
        ['--require', 'tsx/cjs', path.join(__dirname, 'fixtures', 'crash-child.ts'), emu.endpoint, emu.workspaceUrl, CLIENT_ID, CLIENT_SECRET, tmp.dir, String(total)],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      await waitFor(() => out.includes(`spooled ${total}\n`) || out.includes('error'), 'the child spooled everything', 30_000);
      assert.ok(!out.includes('error'), out);
      child.kill('SIGKILL');
      await exited;
      // The child may have had some records durable in Zerobus: only those acknowledged count.
      emu.faults.withholdAcks(false);

      sink = new ZerobusSink({ client, table: OT_TABLE, sourceSystem: 'crash-child', spool: { dir: tmp.dir } });
      await sink.start();
      assert.ok(sink.stats().backlog > 0, 'the spool held the unacknowledged records');
      const expected = numericEvents(total, 'Crash').map((e) => `${String(e.tagPath)}@${(e.timestamp as number) * 1000}`);
      await waitFor(() => sink!.stats().backlog === 0, 'backlog delivered', 20_000);
      const landed = new Set(emu.allRows(OT_TABLE).map((r) => `${String(r.tag_path)}@${String(r.event_time)}`));
      const missing = expected.filter((k) => !landed.has(k));
      assert.deepEqual(missing, [], 'every spooled record arrived');
    } finally {
      await sink?.close(500);
      await client.close();
      await emu.stop();
      tmp.remove();
    }
  });
});
