import assert from 'node:assert/strict';
import {
  decodeQualityCode,
  decodeSparkplugQuality,
  isQualityCodeNumber,
  LEGACY_QUALITY_CODES,
  NAMED_QUALITIES,
  qualityFromName,
  QUALITY_BAD,
  QUALITY_GOOD,
  QUALITY_STALE,
} from '../../../lib/tags';

/** The name table of docs/DESIGN.md §12 B2: name, subcode, full signed int. */
const TABLE: Array<[string, number, number]> = [
  ['Good_Unspecified', 0, 0],
  ['Good_WritePending', 2, 2],
  ['Good', 192, 192],
  ['Good_Provisional', 200, 200],
  ['Good_Initial', 201, 201],
  ['Good_Overload', 202, 202],
  ['Good_Backfill', 203, 203],
  ['Uncertain', 256, 1073742080],
  ['Uncertain_LastKnownValue', 257, 1073742081],
  ['Uncertain_InitialValue', 258, 1073742082],
  ['Uncertain_DataSubNormal', 259, 1073742083],
  ['Uncertain_EngineeringUnitsExceeded', 260, 1073742084],
  ['Uncertain_IncompleteOperation', 261, 1073742085],
  ['Bad', 512, -2147483136],
  ['Bad_Unauthorized', 513, -2147483135],
  ['Bad_AccessDenied', 514, -2147483134],
  ['Bad_Disabled', 515, -2147483133],
  ['Bad_Stale', 516, -2147483132],
  ['Bad_TrialExpired', 517, -2147483131],
  ['Bad_LicenseExceeded', 518, -2147483130],
  ['Bad_NotFound', 519, -2147483129],
  ['Bad_ReferenceNotFound', 520, -2147483128],
  ['Bad_AggregateNotFound', 521, -2147483127],
  ['Bad_NotConnected', 522, -2147483126],
  ['Bad_GatewayCommOff', 523, -2147483125],
  ['Bad_OutOfRange', 524, -2147483124],
  ['Bad_DatabaseNotConnected', 525, -2147483123],
  ['Bad_ReadOnly', 526, -2147483122],
  ['Bad_Failure', 527, -2147483121],
  ['Bad_Unsupported', 528, -2147483120],
  ['Error', 768, -1073741056],
  ['Error_Configuration', 769, -1073741055],
  ['Error_ExpressionEval', 770, -1073741054],
  ['Error_TagExecution', 771, -1073741053],
  ['Error_TypeConversion', 772, -1073741052],
  ['Error_DatabaseQuery', 773, -1073741051],
  ['Error_IO', 774, -1073741050],
  ['Error_TimeoutExpired', 775, -1073741049],
  ['Error_Exception', 776, -1073741048],
  ['Error_InvalidPathSyntax', 777, -1073741047],
  ['Error_Formatting', 778, -1073741046],
  ['Error_ScriptEval', 779, -1073741045],
  ['Error_CycleDetected', 780, -1073741044],
];

const levelOf = (name: string) => name.split('_')[0];
/** Bare subcodes that are also legacy values decode by their legacy meaning (rule 2). */
const LEGACY_OVERLAPS_SUBCODE = new Set([256]);

describe('tags/quality', () => {
  it('knows every named quality of docs/DESIGN.md §12 B2 and nothing else', () => {
    assert.deepEqual(
      NAMED_QUALITIES.map((q) => [q.quality, q.qualityCode]),
      TABLE.map(([name, , full]) => [name, full]),
    );
  });

  for (const [name, sub, full] of TABLE) {
    it(`decodes ${name} from its signed, unsigned and bare-subcode forms`, () => {
      const expected = { quality: name, qualityCode: full, level: levelOf(name) };
      assert.deepEqual({ ...decodeQualityCode(full) }, expected, 'signed');
      assert.deepEqual({ ...decodeQualityCode(full >>> 0) }, expected, 'unsigned');
      if (!LEGACY_OVERLAPS_SUBCODE.has(sub)) assert.deepEqual({ ...decodeQualityCode(sub) }, expected, 'bare subcode');
      assert.deepEqual({ ...qualityFromName(name) }, expected, 'by name');
    });
  }

  it('decodes the level from the two top bits of the signed and unsigned forms', () => {
    assert.equal(decodeQualityCode(1073742080 + 300).level, 'Uncertain');
    assert.equal(decodeQualityCode(-2147483136 + 999).level, 'Bad'); // subcode 1511: third-party, level bits Bad
    assert.equal(decodeQualityCode((-2147483136 + 999) >>> 0).level, 'Bad');
    assert.equal(decodeQualityCode(-1073741056 + 2000).level, 'Error');
  });

  it('keeps the exact code of an unnamed modern subcode and names it by its level', () => {
    const q = decodeQualityCode(-2147483136 + 1500); // Bad, third-party subcode 2012
    assert.deepEqual({ ...q }, { quality: 'Bad', qualityCode: -2147483136 + 1500, level: 'Bad' });
    const unsigned = decodeQualityCode((-2147483136 + 1500) >>> 0);
    assert.equal(unsigned.qualityCode, -2147483136 + 1500);
    // a named subcode with an unrelated flag bit (bit 16) keeps its name and its exact bits
    const flagged = decodeQualityCode(-2147483132 | 0x10000);
    assert.deepEqual({ ...flagged }, { quality: 'Bad_Stale', qualityCode: -2147483132 | 0x10000, level: 'Bad' });
    // a subcode named at another level is not borrowed: Bad level bits + subcode 192
    assert.equal(decodeQualityCode((2 << 30) | 192).quality, 'Bad');
  });

  it('decodes bare unnamed subcodes by their band', () => {
    assert.deepEqual({ ...decodeQualityCode(100) }, { quality: 'Good', qualityCode: 100, level: 'Good' });
    assert.deepEqual({ ...decodeQualityCode(270) }, { quality: 'Uncertain', qualityCode: (1 << 30) | 270, level: 'Uncertain' });
    assert.deepEqual({ ...decodeQualityCode(650) }, { quality: 'Bad', qualityCode: (-2147483648 | 650), level: 'Bad' });
    assert.deepEqual({ ...decodeQualityCode(900) }, { quality: 'Error', qualityCode: (-1073741824 | 900), level: 'Error' });
    assert.deepEqual({ ...decodeQualityCode(5000) }, { quality: 'Good', qualityCode: 5000, level: 'Good' });
  });

  it('maps legacy Ignition 7 / OPC codes by meaning, before the subcode bands', () => {
    const expected: Record<number, string> = {
      192: 'Good', 0: 'Good_Unspecified', 8: 'Bad_NotConnected', 500: 'Bad_Stale', 600: 'Uncertain_InitialValue',
      410: 'Bad_Disabled', 404: 'Bad_NotFound', 403: 'Bad_AccessDenied', 300: 'Error_Configuration',
      310: 'Error_ExpressionEval', 700: 'Good_WritePending', 4: 'Error_Configuration', 12: 'Bad_Failure',
      16: 'Bad_Failure', 20: 'Bad_Stale', 24: 'Bad_NotConnected', 28: 'Bad_Disabled', 32: 'Uncertain_InitialValue',
      64: 'Uncertain', 68: 'Uncertain_LastKnownValue', 80: 'Uncertain', 84: 'Uncertain_EngineeringUnitsExceeded',
      88: 'Uncertain_DataSubNormal', 216: 'Good', 256: 'Uncertain', 301: 'Error_IO', 330: 'Error_TagExecution',
      340: 'Error_TypeConversion',
    };
    for (const [code, name] of Object.entries(expected)) {
      const q = decodeQualityCode(Number(code));
      assert.equal(q.quality, name, `legacy ${code}`);
      assert.equal(q.qualityCode, qualityFromName(name)!.qualityCode, `legacy ${code} gets the modern code`);
    }
    // the legacy table itself: 0 is legacy "bad", but decodeQualityCode reads 0 as modern Good_Unspecified
    assert.equal(LEGACY_QUALITY_CODES.get(0), QUALITY_BAD);
    assert.equal(LEGACY_QUALITY_CODES.size, 28);
  });

  it('rejects numbers that are not 32-bit integers', () => {
    for (const bad of [1.5, NaN, Infinity, 2 ** 32, -(2 ** 31) - 1]) {
      assert.equal(isQualityCodeNumber(bad), false);
      assert.throws(() => decodeQualityCode(bad), RangeError);
    }
    assert.equal(isQualityCodeNumber('192'), false);
  });

  it('parses names with diagnostic messages, case variants and unknown suffixes', () => {
    assert.equal(qualityFromName('Bad_Disabled("New Quality")'), qualityFromName('Bad_Disabled'));
    assert.equal(qualityFromName('Bad_Stale ("comm lost (retrying)")')!.quality, 'Bad_Stale');
    assert.equal(qualityFromName('BAD_STALE'), QUALITY_STALE);
    assert.equal(qualityFromName('good'), QUALITY_GOOD);
    assert.equal(qualityFromName(' Good '), QUALITY_GOOD);
    assert.equal(qualityFromName('STALE'), QUALITY_STALE);
    assert.deepEqual({ ...qualityFromName('Bad_VendorSpecific("x")') }, { quality: 'Bad_VendorSpecific', qualityCode: -2147483136, level: 'Bad' });
    assert.deepEqual({ ...qualityFromName('uncertain_whatever') }, { quality: 'uncertain_whatever', qualityCode: 1073742080, level: 'Uncertain' });
    assert.deepEqual({ ...qualityFromName('Error_New') }, { quality: 'Error_New', qualityCode: -1073741056, level: 'Error' });
    assert.equal(qualityFromName(''), undefined);
    assert.equal(qualityFromName('("msg")'), undefined);
    assert.equal(qualityFromName('Goodish'), undefined);
    assert.equal(qualityFromName('Fine'), undefined);
    assert.equal(qualityFromName(42 as unknown as string), undefined);
  });

  it('exposes the constants of the contract', () => {
    assert.deepEqual({ ...QUALITY_GOOD }, { quality: 'Good', qualityCode: 192, level: 'Good' });
    assert.deepEqual({ ...QUALITY_BAD }, { quality: 'Bad', qualityCode: -2147483136, level: 'Bad' });
    assert.deepEqual({ ...QUALITY_STALE }, { quality: 'Bad_Stale', qualityCode: -2147483132, level: 'Bad' });
    assert.ok(Object.isFrozen(QUALITY_GOOD));
  });

  it('decodes Sparkplug Quality properties: 0/192/500 by the Sparkplug meaning, the rest as Ignition codes', () => {
    assert.equal(decodeSparkplugQuality(undefined), QUALITY_GOOD);
    assert.equal(decodeSparkplugQuality(192), QUALITY_GOOD);
    assert.equal(decodeSparkplugQuality(0), QUALITY_BAD);
    assert.equal(decodeSparkplugQuality(500), QUALITY_STALE);
    assert.equal(decodeSparkplugQuality(2147484164), QUALITY_STALE); // -2147483132 as uint32
    assert.equal(decodeSparkplugQuality(-2147483126).quality, 'Bad_NotConnected');
    assert.equal(decodeSparkplugQuality(1.5), QUALITY_BAD);
  });
});
