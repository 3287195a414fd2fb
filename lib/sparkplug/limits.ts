/**
 * Bounds on what one Sparkplug payload may make this host allocate. A payload declares sizes
 * (DataSet column counts, BooleanArray counts) and nests (templates in templates, property sets
 * in property sets); none of those may cost more memory or stack than the bytes that carry them
 * justify. A metric over a bound is reported and skipped; the rest of the payload goes on.
 */

/** Cells (rows × columns) of one DataSet value. */
export const MAX_DATASET_CELLS = 1_000_000;
/** Elements of one array metric (Sparkplug array types 22–34). */
export const MAX_ARRAY_ELEMENTS = 1_048_576;
/** Template-in-template and property-set-in-property-set nesting. */
export const MAX_NESTING_DEPTH = 32;
