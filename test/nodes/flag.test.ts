import assert from 'node:assert/strict';
import { flag } from '../../nodes/common/flag';

describe('checkbox properties (flag)', () => {
  it('reads booleans, and "true"/"false" text from hand-written flows and ${VAR}s; anything else is the default', () => {
    assert.equal(flag(false, true), false);
    assert.equal(flag(true, false), true);
    assert.equal(flag('false', true), false);
    assert.equal(flag(' FALSE ', true), false);
    assert.equal(flag('true', false), true);
    for (const other of [undefined, null, '', 'yes', 0, 1]) {
      assert.equal(flag(other, true), true, String(other));
      assert.equal(flag(other, false), false, String(other));
    }
  });
});
