/**
 * Metric properties (PropertySet) and the Sparkplug 3.0 `Quality` property.
 */
import type { TagValue } from '../tags/event';
import { decodeSparkplugQuality, QUALITY_GOOD, setOwnMember, type Quality } from '../tags';
import { DataType } from './datatypes';
import { has, type RawPropertySet, type RawPropertyValue } from './proto';
import { MAX_NESTING_DEPTH } from './limits';
import { basicValue, SparkplugValueError } from './values';

/**
 * A property set as an object; nested sets become objects, set lists arrays. Keys come from the
 * wire: a key `__proto__` is a member like any other. Nesting is bounded (MAX_NESTING_DEPTH).
 */
export function propertySetValue(set: RawPropertySet, depth = 0): Record<string, TagValue> {
  if (depth > MAX_NESTING_DEPTH) throw new SparkplugValueError(`property sets nested deeper than ${MAX_NESTING_DEPTH}`);
  const out: Record<string, TagValue> = {};
  const keys = set.keys ?? [];
  const values = set.values ?? [];
  for (let i = 0; i < keys.length; i++) setOwnMember(out, keys[i], propertyValue(values[i], depth));
  return out;
}

function propertyValue(pv: RawPropertyValue | undefined, depth: number): TagValue {
  if (!pv || pv.is_null) return null;
  const field = pv.value;
  if (field === 'propertyset_value') return propertySetValue(pv.propertyset_value as RawPropertySet, depth + 1);
  if (field === 'propertysets_value') return (pv.propertysets_value?.propertyset ?? []).map((set) => propertySetValue(set, depth + 1));
  if (!field || field === 'extension_value') return null;
  return basicValue(has(pv, 'type') ? (pv.type as number) : DataType.Unknown, pv, field);
}

/**
 * The quality a metric's `Quality` property announces; Good when absent (3.0 sends it only
 * when not good). 0/192/500 are the Sparkplug codes; anything else is taken as an Ignition
 * QualityCode, which Cirrus Link modules send as unsigned 32-bit (2147484164 = Bad_Stale).
 */
export function metricQuality(set: RawPropertySet | undefined): Quality {
  if (!set) return QUALITY_GOOD;
  const keys = set.keys;
  if (!keys) return QUALITY_GOOD;
  const i = keys.indexOf('Quality');
  if (i < 0) return QUALITY_GOOD;
  const pv = set.values?.[i];
  if (!pv || pv.is_null) return QUALITY_GOOD;
  let code: number;
  switch (pv.value) {
    case 'int_value': code = pv.int_value as number; break;
    case 'long_value': {
      // the low 32 bits: a sign-extended int64 and a uint32 both carry the code there
      const l = pv.long_value;
      code = typeof l === 'number' ? l | 0 : l ? l.low | 0 : 0;
      break;
    }
    case 'double_value': code = (pv.double_value as number) | 0; break;
    case 'float_value': code = (pv.float_value as number) | 0; break;
    case 'string_value': code = Number(pv.string_value) | 0; break;
    default: return QUALITY_GOOD;
  }
  return decodeSparkplugQuality(code);
}

