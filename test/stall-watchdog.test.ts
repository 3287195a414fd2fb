/** A test stuck where no timer fires fails the run at once and is named, instead of hanging it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/paths';

describe('the stall watchdog of the test run', () => {
  it('names the test whose event loop stopped turning and ends the run with a failure', () => {
    const mocha = path.join(PACKAGE_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const run = spawnSync(process.execPath, [mocha, 'test/fixtures/stall/spinning.fixture.ts'], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, ZEROBUS_STALL_MS: '1500' },
    });
    assert.equal(run.signal, 'SIGABRT', `ended by the watchdog (status ${run.status}, signal ${run.signal})`);
    assert.match(run.stderr, /the event loop stalled for \d+ s in: .*spinning\.fixture\.ts: a stalled suite spins on promise callbacks/);
  });
});
