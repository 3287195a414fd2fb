/**
 * The spool folder lock across processes: a second process is refused with the owner named, a
 * lock left by a dead process is taken over, and folders and files are private (0700 / 0600).
 */
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createSpool, SpoolLockedError } from '../../../lib/spool';
import { LOCK_FILE } from '../../../lib/spool/dir-lock';
import { makeTempDir, payloads, removeDir } from '../spool/helpers';

/** A child process that opens a spool on `dir`, prints "open", and waits until killed. */
function holdInChild(dir: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const code = `require('tsx/cjs'); const { createSpool } = require(${JSON.stringify(path.resolve('lib/spool'))});
    createSpool({ dir: ${JSON.stringify(dir)} }).open().then(() => console.log('open'), (e) => { console.error(e.message); process.exit(3); });
    setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('open')) resolve({ pid: child.pid!, kill: async () => void (child.kill('SIGKILL'), await exited) });
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
  });
}

describe('spool folder lock and permissions', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = makeTempDir('spool-lock-')));
  afterEach(() => removeDir(dir));

  it('refuses a spool folder another live process holds, naming its pid and host', async () => {
    const child = await holdInChild(dir);
    try {
      const spool = createSpool({ dir });
      const err = await spool.open().then(
        () => assert.fail('opened a folder another process holds'),
        (e: unknown) => e as SpoolLockedError,
      );
      assert.ok(err instanceof SpoolLockedError);
      assert.equal(err.owner?.pid, child.pid);
      assert.match(err.message, new RegExp(`process ${child.pid} on host ${os.hostname()}`));
      // nothing was written by the refused spool
      assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.seg')), []);
    } finally {
      await child.kill();
    }
  });

  it('takes over the lock of a process that died, and keeps its records', async () => {
    const writer = createSpool({ dir });
    await writer.open();
    await writer.append(payloads(1, 5));
    await writer.close();
    const child = await holdInChild(dir);
    await child.kill(); // SIGKILL: the lock file stays behind
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, child.pid);
    const spool = createSpool({ dir });
    const opened = await spool.open();
    assert.equal(opened.records, 5);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
    await spool.close();
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)), 'close releases the lock');
  });

  it('refuses a lock of another host, and one it cannot read only while it is fresh', async () => {
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'other-box', boot: '', since: 'x' }));
    await assert.rejects(createSpool({ dir }).open(), /in use by process 1 on host other-box/);
    fs.writeFileSync(path.join(dir, LOCK_FILE), '{"pid":');
    await assert.rejects(createSpool({ dir }).open(), SpoolLockedError);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(dir, LOCK_FILE), old, old);
    const spool = createSpool({ dir });
    await spool.open();
    await spool.close();
  });

  it('creates the folder 0700 and its files 0600, and tightens an existing folder', async () => {
    const sub = path.join(dir, 'spool');
    fs.mkdirSync(sub, { mode: 0o755 });
    fs.chmodSync(sub, 0o755);
    const spool = createSpool({ dir: sub });
    await spool.open();
    await spool.append(payloads(1, 3));
    await spool.ack(1);
    await spool.writeMeta({ a: 1 });
    assert.equal(fs.statSync(sub).mode & 0o777, 0o700);
    const files = fs.readdirSync(sub);
    assert.ok(files.some((n) => n.endsWith('.seg')) && files.includes('checkpoint.json') && files.includes('meta.json'), files.join());
    for (const name of files) assert.equal(fs.statSync(path.join(sub, name)).mode & 0o777, 0o600, name);
    await spool.close();
  });
});
