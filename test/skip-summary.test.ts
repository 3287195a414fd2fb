/** `npm test` ends with one line naming what was skipped and why, not a bare "N pending". */
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/paths';

describe('the skipped-tests summary of the test run', () => {
  it('prints one line with each reason and how often, after the run', () => {
    const mocha = path.join(PACKAGE_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const out = execFileSync(process.execPath, [mocha, 'test/fixtures/skip-summary/skipping.fixture.ts'], { cwd: PACKAGE_ROOT, encoding: 'utf8', timeout: 20_000 });
    const lines = out.split('\n').filter((l) => /skipped/.test(l));
    assert.deepEqual(lines.map((l) => l.trim()), ['skipped 3 tests: needs a tool that is missing (apt-get install tool) (×2); the optional SDK is not installed']);
    assert.match(out, /1 passing/);
  });
});
