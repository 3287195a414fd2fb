import assert from 'node:assert/strict';
import { timeToDays, timeToMicros } from '../../../lib/schema/time-values';

describe('lib/schema time values (Date / ISO 8601 → TIMESTAMP micros, DATE days)', () => {
  const noon = Date.UTC(2025, 11, 11, 12, 30, 45, 123);

  it('reads a Date as its instant', () => {
    assert.equal(timeToMicros(new Date(noon)), noon * 1000);
    assert.equal(timeToDays(new Date(noon)), Math.floor(noon / 86_400_000));
    assert.equal(timeToMicros(new Date(-1)), -1000, 'before the epoch');
    assert.equal(timeToDays(new Date(-1)), -1, 'the day before the epoch');
  });

  it('reads ISO text with Z, an offset, no zone (UTC) and up to 9 fraction digits (kept to the microsecond)', () => {
    assert.equal(timeToMicros('2025-12-11T12:30:45.123Z'), noon * 1000);
    assert.equal(timeToMicros('2025-12-11T12:30:45.123456Z'), noon * 1000 + 456);
    assert.equal(timeToMicros('2025-12-11T12:30:45.123456789Z'), noon * 1000 + 456, 'nanoseconds cut to micros');
    assert.equal(timeToMicros('2025-12-11 12:30:45.123'), noon * 1000, 'space separator, no zone = UTC');
    assert.equal(timeToMicros('2025-12-11T14:30:45.123+02:00'), noon * 1000);
    assert.equal(timeToMicros('2025-12-11T07:00:45.123-0530'), noon * 1000);
    assert.equal(timeToMicros('2025-12-11T14:30:45.123+02'), noon * 1000);
    assert.equal(timeToMicros('2025-12-11T12:30Z'), Date.UTC(2025, 11, 11, 12, 30) * 1000);
    assert.equal(timeToMicros('2025-12-11'), Date.UTC(2025, 11, 11) * 1000);
    assert.equal(timeToDays('1970-01-02'), 1);
    assert.equal(timeToDays('2025-12-11T23:59:59Z'), timeToDays('2025-12-11'));
  });

  it('refuses what is not a time: impossible dates, other text, numbers, invalid Dates', () => {
    for (const bad of ['2024-02-30', '2025-13-01', '2025-12-11T25:00Z', '2025-12-11T12:60Z', 'yesterday', '12/11/2025', '2025-12-11T12:30:45.123Q', '', ' 2025-12-11']) {
      assert.equal(timeToMicros(bad), undefined, bad);
    }
    assert.equal(timeToMicros('2024-02-29'), Date.UTC(2024, 1, 29) * 1000, 'a leap day is a day');
    assert.equal(timeToMicros(new Date(NaN)), undefined);
    assert.equal(timeToMicros(1765456245123000), undefined, 'numbers are for the integer path');
    assert.equal(timeToMicros(null), undefined);
  });
});
