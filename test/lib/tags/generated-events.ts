/**
 * Raw tag events with every field drawn from good, odd and wrong values (or left out), from a
 * seeded generator so that a failure can be replayed: for differential tests of the mapping.
 */
const FIELDS: Record<string, readonly unknown[]> = {
  tagPath: ['[default]A/B', 'C', ' ', '', 7, undefined],
  tagProvider: ['default', 'None', 'null', '', ' ', undefined, null, 5, 'p'.repeat(300)],
  value: [1.5, 0, -0, NaN, Infinity, 'x', '', 'NaN', '12', '2024-01-01T00:00:00Z', true, null, undefined, [1, 2], { a: 1 }, 5n],
  quality: ['Good', 'Bad', 'Bad_Stale', 'good', 192, '', undefined, null],
  qualityCode: [192, 0, 516, -2147483132, '192', 1.5, undefined, null],
  timestamp: [1_700_000_000_123, 1_700_000_000_123.5, 1_700_000_000, '1700000000123', NaN, undefined, null, 'bad'],
  dataType: ['Float8', 'float', 'Int4', 'Int8', 'String', 'DateTime', 'Boolean', 'Nonsense', 'x'.repeat(300), 3, '', undefined],
  sourceSystem: ['gw', '', ' ', 3, null, undefined, 's'.repeat(256)],
  alarmState: ['Active', '', null, undefined, 2],
  alarmPriority: [0, 3, -0, 1.5, 2 ** 31, '3', 'High', '', null, undefined],
  historical: [true, false, undefined],
};

/** A function returning the next generated event; `fields` replaces the value lists it names. */
export function generatedRawEvents(seed: number, fields: Record<string, readonly unknown[]> = {}): () => Record<string, unknown> {
  const table = { ...FIELDS, ...fields };
  const pick = <T>(xs: readonly T[]): T => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return xs[seed % xs.length];
  };
  return () => {
    const raw: Record<string, unknown> = {};
    for (const [k, values] of Object.entries(table)) {
      const v = pick(values);
      if (v !== undefined || pick([true, false])) raw[k] = v;
    }
    return raw;
  };
}
