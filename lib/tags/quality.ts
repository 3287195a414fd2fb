/**
 * Ignition quality codes (docs/DESIGN.md §12 B2): the modern Ignition 8 `QualityCode` integer, bare
 * subcodes, and the legacy Ignition 7 / OPC integers that the 8.x historian still writes.
 *
 * An Ignition 8 QualityCode is a 32-bit int: the two most significant bits are the level
 * (Good 0b00, Uncertain 0b01, Bad 0b10, Error 0b11) and the low 16 bits the subcode, so the
 * full int is `level << 30 | subcode` as a signed int32 (Good codes small positive, Uncertain
 * ≈ +1.07e9, Bad and Error negative). Some senders give the same bits as an unsigned int.
 */

export type QualityLevel = 'Good' | 'Uncertain' | 'Bad' | 'Error';

export interface Quality {
  /** Quality name, e.g. "Good", "Bad_Stale". */
  quality: string;
  /** Ignition 8 QualityCode as a signed 32-bit integer. */
  qualityCode: number;
  level: QualityLevel;
}

const LEVELS: readonly QualityLevel[] = ['Good', 'Uncertain', 'Bad', 'Error'];

/** Every named Ignition 8 subcode (IA "Quality Codes and Overlays", 8.1). */
const NAMED_SUBCODES: ReadonlyArray<readonly [string, number]> = [
  ['Good_Unspecified', 0],
  ['Good_WritePending', 2],
  ['Good', 192],
  ['Good_Provisional', 200],
  ['Good_Initial', 201],
  ['Good_Overload', 202],
  ['Good_Backfill', 203],
  ['Uncertain', 256],
  ['Uncertain_LastKnownValue', 257],
  ['Uncertain_InitialValue', 258],
  ['Uncertain_DataSubNormal', 259],
  ['Uncertain_EngineeringUnitsExceeded', 260],
  ['Uncertain_IncompleteOperation', 261],
  ['Bad', 512],
  ['Bad_Unauthorized', 513],
  ['Bad_AccessDenied', 514],
  ['Bad_Disabled', 515],
  ['Bad_Stale', 516],
  ['Bad_TrialExpired', 517],
  ['Bad_LicenseExceeded', 518],
  ['Bad_NotFound', 519],
  ['Bad_ReferenceNotFound', 520],
  ['Bad_AggregateNotFound', 521],
  ['Bad_NotConnected', 522],
  ['Bad_GatewayCommOff', 523],
  ['Bad_OutOfRange', 524],
  ['Bad_DatabaseNotConnected', 525],
  ['Bad_ReadOnly', 526],
  ['Bad_Failure', 527],
  ['Bad_Unsupported', 528],
  ['Error', 768],
  ['Error_Configuration', 769],
  ['Error_ExpressionEval', 770],
  ['Error_TagExecution', 771],
  ['Error_TypeConversion', 772],
  ['Error_DatabaseQuery', 773],
  ['Error_IO', 774],
  ['Error_TimeoutExpired', 775],
  ['Error_Exception', 776],
  ['Error_InvalidPathSyntax', 777],
  ['Error_Formatting', 778],
  ['Error_ScriptEval', 779],
  ['Error_CycleDetected', 780],
];

/**
 * Legacy (Ignition 7 / OPC DA / historian) integers mapped by meaning to a modern name. No
 * official table exists; docs/DESIGN.md §12 B2 fixes 192, 0, 8, 500, 600, 410, 404, 403, 300, 310 and
 * 700, the rest follow the OPC DA meaning of the value (e.g. 68 "uncertain, last usable value").
 */
const LEGACY_CODES: ReadonlyArray<readonly [number, string]> = [
  [0, 'Bad'], // OPC bad
  [4, 'Error_Configuration'], // OPC config error
  [8, 'Bad_NotConnected'], // OPC not connected
  [12, 'Bad_Failure'], // OPC device failure
  [16, 'Bad_Failure'], // OPC sensor failure
  [20, 'Bad_Stale'], // OPC bad, last known value: the value is an old one
  [24, 'Bad_NotConnected'], // OPC comm failure
  [28, 'Bad_Disabled'], // OPC out of service
  [32, 'Uncertain_InitialValue'], // OPC waiting for initial data
  [64, 'Uncertain'], // OPC uncertain
  [68, 'Uncertain_LastKnownValue'], // OPC uncertain, last usable value
  [80, 'Uncertain'], // OPC sensor not accurate
  [84, 'Uncertain_EngineeringUnitsExceeded'], // OPC EU units exceeded
  [88, 'Uncertain_DataSubNormal'], // OPC sub-normal
  [192, 'Good'], // OPC good
  [216, 'Good'], // OPC good, local override
  [256, 'Uncertain'], // Ignition 7 OPC_UNKNOWN
  [300, 'Error_Configuration'], // Ignition 7 CONFIG_ERROR
  [301, 'Error_IO'], // Ignition 7 COMM_ERROR
  [310, 'Error_ExpressionEval'], // Ignition 7 EXPRESSION_EVAL_ERROR
  [330, 'Error_TagExecution'], // Ignition 7 TAG_EXEC_ERROR
  [340, 'Error_TypeConversion'], // Ignition 7 TYPE_CONVERSION_ERROR
  [403, 'Bad_AccessDenied'], // Ignition 7 ACCESS_DENIED
  [404, 'Bad_NotFound'], // Ignition 7 NOT_FOUND
  [410, 'Bad_Disabled'], // Ignition 7 DISABLED
  [500, 'Bad_Stale'], // Ignition 7 STALE
  [600, 'Uncertain_InitialValue'], // Ignition 7 UNKNOWN (loading)
  [700, 'Good_WritePending'], // Ignition 7 WRITE_PENDING
];

function levelOfSubcode(sub: number): QualityLevel {
  // Subcode bands: 0–255 Good, 256–511 Uncertain, 512–767 Bad, 768–1023 Error. Third-party
  // subcodes (1024+) carry no band meaning: a bare one has level bits 0b00, i.e. Good.
  if (sub < 256 || sub > 1023) return 'Good';
  if (sub < 512) return 'Uncertain';
  if (sub < 768) return 'Bad';
  return 'Error';
}

function fullCode(level: QualityLevel, sub: number): number {
  return ((LEVELS.indexOf(level) << 30) | sub) | 0;
}

function make(quality: string, qualityCode: number, level: QualityLevel): Quality {
  return Object.freeze({ quality, qualityCode, level });
}

const BY_NAME = new Map<string, Quality>();
const BY_NAME_LOWER = new Map<string, Quality>();
const BY_FULL_CODE = new Map<number, Quality>();
const BY_SUBCODE = new Map<number, Quality>();
for (const [name, sub] of NAMED_SUBCODES) {
  const level = levelOfSubcode(sub);
  const q = make(name, fullCode(level, sub), level);
  BY_NAME.set(name, q);
  BY_NAME_LOWER.set(name.toLowerCase(), q);
  BY_FULL_CODE.set(q.qualityCode, q);
  BY_SUBCODE.set(sub, q);
}
const BY_LEGACY = new Map<number, Quality>();
for (const [code, name] of LEGACY_CODES) BY_LEGACY.set(code, BY_NAME.get(name)!);

function named(name: string): Quality {
  return BY_NAME.get(name)!;
}

export const QUALITY_GOOD: Quality = named('Good');
export const QUALITY_UNCERTAIN: Quality = named('Uncertain');
export const QUALITY_BAD: Quality = named('Bad');
export const QUALITY_ERROR: Quality = named('Error');
export const QUALITY_STALE: Quality = named('Bad_Stale');

/** The plain quality of each level, used for codes and names that only tell the level. */
export const QUALITY_OF_LEVEL: Readonly<Record<QualityLevel, Quality>> = Object.freeze({
  Good: QUALITY_GOOD,
  Uncertain: QUALITY_UNCERTAIN,
  Bad: QUALITY_BAD,
  Error: QUALITY_ERROR,
});

/** Every named modern quality, in subcode order (for tests and editors). */
export const NAMED_QUALITIES: readonly Quality[] = NAMED_SUBCODES.map(([name]) => named(name));

/** Legacy integers and what they decode to. */
export const LEGACY_QUALITY_CODES: ReadonlyMap<number, Quality> = BY_LEGACY;

/** True for an integer that can be a quality code: a signed or an unsigned 32-bit value. */
export function isQualityCodeNumber(code: unknown): code is number {
  return typeof code === 'number' && Number.isInteger(code) && code >= -0x80000000 && code <= 0xffffffff;
}

/**
 * Decodes a quality integer. Legacy and modern numbers overlap, so the order is fixed:
 *  1. the code (unsigned values first read as their signed int32 bits) is an exact modern full
 *     code of a named quality (0, 2, 192, 200–203 for Good; ±1e9-ish for the rest) ⇒ that one.
 *     Hence 0 is Good_Unspecified, never legacy "bad": the caller must prefer a quality name
 *     when one came with the code (normaliseTagEvent does).
 *  2. an exact legacy value (4, 8, …, 500, 600, 700) ⇒ its meaning, although 500/600/700 fall
 *     in the Uncertain/Bad subcode bands by number.
 *  3. level bits set (the code is above 65535 or negative) ⇒ a modern code with an unnamed
 *     subcode or extra bits: the level from the top two bits, the name of its subcode when it
 *     has one at that level (else the level name), and the code kept as given.
 *  4. otherwise 0–65535 is a bare subcode: its name, or the level of its band ⇒ the full code.
 * Throws a RangeError when the number is not a 32-bit integer (see isQualityCodeNumber).
 */
export function decodeQualityCode(code: number): Quality {
  if (!isQualityCodeNumber(code)) throw new RangeError(`quality code ${String(code)} is not a 32-bit integer`);
  const signed = code | 0;
  const exact = BY_FULL_CODE.get(signed);
  if (exact !== undefined) return exact;
  const legacy = BY_LEGACY.get(signed);
  if (legacy !== undefined) return legacy;
  if (signed < 0 || signed > 0xffff) {
    const level = LEVELS[signed >>> 30];
    const sub = signed & 0xffff;
    const byName = BY_SUBCODE.get(sub);
    const name = byName !== undefined && byName.level === level ? byName.quality : level;
    return make(name, signed, level);
  }
  const bySub = BY_SUBCODE.get(signed);
  if (bySub !== undefined) return bySub;
  const level = levelOfSubcode(signed);
  return make(level, fullCode(level, signed), level);
}

/**
 * Sparkplug 3.0 `Quality` property (docs/DESIGN.md §12 A6): 0 = BAD, 192 = GOOD, 500 = STALE; anything
 * else is an Ignition QualityCode that an Ignition module put there (maybe as uint32).
 */
export function decodeSparkplugQuality(code: number | undefined | null): Quality {
  if (code === undefined || code === null) return QUALITY_GOOD;
  const signed = isQualityCodeNumber(code) ? code | 0 : NaN;
  if (signed === 0) return QUALITY_BAD;
  if (signed === 192) return QUALITY_GOOD;
  if (signed === 500) return QUALITY_STALE;
  if (Number.isNaN(signed)) return QUALITY_BAD;
  return decodeQualityCode(signed);
}

/** Upper-case aliases seen from other systems (Sparkplug, OPC tooling). */
const ALIASES = new Map<string, Quality>([
  ['stale', QUALITY_STALE],
  ['ok', QUALITY_GOOD],
]);

function levelOfPrefix(name: string): QualityLevel | undefined {
  const lower = name.toLowerCase();
  for (const level of LEVELS) {
    const l = level.toLowerCase();
    if (lower === l || (lower.startsWith(l) && (lower[l.length] === '_' || lower[l.length] === ' '))) return level;
  }
  return undefined;
}

/**
 * Quality from its text: `Bad_Stale`, `Bad_Disabled("New Quality")` (str() of a QualityCode
 * with a diagnostic message; the part before `(` is the name), case variants (`BAD_STALE`,
 * `good`), and names we do not know but whose prefix tells the level (`Bad_Vendor123` ⇒ level
 * Bad, name kept, the code of the plain level). Undefined when the level cannot be told.
 */
export function qualityFromName(name: string): Quality | undefined {
  if (typeof name !== 'string') return undefined;
  const exact = BY_NAME.get(name);
  if (exact !== undefined) return exact;
  let bare = name;
  const paren = bare.indexOf('(');
  if (paren >= 0) bare = bare.slice(0, paren);
  bare = bare.trim();
  if (bare === '') return undefined;
  const again = BY_NAME.get(bare);
  if (again !== undefined) return again;
  const lower = bare.toLowerCase();
  const ci = BY_NAME_LOWER.get(lower) ?? ALIASES.get(lower);
  if (ci !== undefined) return ci;
  const level = levelOfPrefix(bare);
  if (level === undefined) return undefined;
  return make(bare, QUALITY_OF_LEVEL[level].qualityCode, level);
}

/** The level of a signed or unsigned modern code (top two bits), without any name lookup. */
export function levelOfModernCode(code: number): QualityLevel {
  return LEVELS[(code | 0) >>> 30];
}
