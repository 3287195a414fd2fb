import * as protobuf from 'protobufjs';
import * as descriptorExt from 'protobufjs/ext/descriptor';
import { formatType, type ColumnSchema, type DeltaType, type TableSchema } from './types';

/**
 * Protobuf descriptors of table rows, the way Zerobus sees them: one
 * `google.protobuf.DescriptorProto` for the record message, every other message type nested in
 * it (STRUCT columns), no enums, no imports. Two directions:
 * - `descriptorForTable` generates one from a table (what the official generators emit:
 *   proto2, `optional` fields, STRUCT as nested message, ARRAY as `repeated`, MAP as `map<>`);
 * - `readDescriptor`/`checkDescriptor` take a client's descriptor, resolve its type names (protoc
 *   writes fully qualified `.pkg.Root.Inner`, protobufjs relative `Inner`) and check it against
 *   the table: every field must name a column and have a compatible type, every NOT NULL
 *   column must have a field.
 * DECIMAL has no official mapping; here it is a `string` holding the decimal text.
 */

/** FieldDescriptorProto.Type numbers. */
const T = {
  DOUBLE: 1, FLOAT: 2, INT64: 3, UINT64: 4, INT32: 5, FIXED64: 6, FIXED32: 7, BOOL: 8, STRING: 9,
  GROUP: 10, MESSAGE: 11, BYTES: 12, UINT32: 13, ENUM: 14, SFIXED32: 15, SFIXED64: 16, SINT32: 17, SINT64: 18,
} as const;
const LABEL = { OPTIONAL: 1, REQUIRED: 2, REPEATED: 3 } as const;

const SCALAR_NAME: Record<number, string> = {
  [T.DOUBLE]: 'double', [T.FLOAT]: 'float', [T.INT64]: 'int64', [T.UINT64]: 'uint64', [T.INT32]: 'int32',
  [T.FIXED64]: 'fixed64', [T.FIXED32]: 'fixed32', [T.BOOL]: 'bool', [T.STRING]: 'string', [T.BYTES]: 'bytes',
  [T.UINT32]: 'uint32', [T.SFIXED32]: 'sfixed32', [T.SFIXED64]: 'sfixed64', [T.SINT32]: 'sint32', [T.SINT64]: 'sint64',
};

/** The parts of DescriptorProto we read, with numeric enums as they decode. */
export interface FieldDesc {
  name?: string;
  number?: number;
  label?: number;
  type?: number;
  typeName?: string;
}
export interface MessageDesc {
  name?: string;
  field?: FieldDesc[];
  nestedType?: MessageDesc[];
  enumType?: unknown[];
  options?: { mapEntry?: boolean };
}

const PROTO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROTO_KEYWORDS = new Set(['syntax', 'import', 'package', 'option', 'message', 'enum', 'service', 'rpc', 'returns', 'repeated', 'optional', 'required', 'oneof', 'map', 'reserved', 'extensions', 'extend', 'to', 'max', 'true', 'false']);

// ---------------------------------------------------------------- generation

function pascal(name: string): string {
  const out = name.replace(/(^|_+)([a-zA-Z0-9])/g, (_m, _u, c: string) => c.toUpperCase());
  return /^[A-Za-z]/.test(out) ? out : 'M' + out;
}

function scalarTypeOf(type: DeltaType, where: string): number {
  switch (type.kind) {
    case 'string':
    case 'variant':
    case 'decimal':
      return T.STRING;
    case 'int8':
    case 'int16':
    case 'int32':
    case 'date':
      return T.INT32;
    case 'int64':
    case 'timestamp':
    case 'timestamp_ntz':
      return T.INT64;
    case 'float':
      return T.FLOAT;
    case 'double':
      return T.DOUBLE;
    case 'boolean':
      return T.BOOL;
    case 'binary':
      return T.BYTES;
    default:
      throw new Error(`${where}: ${formatType(type)} is not a scalar`);
  }
}

class DescriptorBuilder {
  constructor(private readonly rootName: string) {}

  message(name: string, columns: ColumnSchema[], path: string[]): MessageDesc {
    const msg: MessageDesc = { name, field: [], nestedType: [] };
    const used = new Set<string>();
    let number = 0;
    for (const column of columns) {
      const where = `column ${[...path.slice(1), column.name].join('.')}`;
      if (!PROTO_NAME.test(column.name) || PROTO_KEYWORDS.has(column.name)) {
        throw new Error(`${where}: the name cannot be a protobuf field name`);
      }
      number++;
      if (number === 19000) number = 20000; // reserved for the protobuf implementation
      msg.field!.push(this.field(msg, column.name, number, column.type, path, used, where));
    }
    return msg;
  }

  private nestedName(base: string, used: Set<string>): string {
    let name = pascal(base);
    while (used.has(name)) name += '_';
    used.add(name);
    return name;
  }

  private valueField(parent: MessageDesc, fieldName: string, type: DeltaType, path: string[], used: Set<string>, where: string) {
    if (type.kind === 'struct') {
      const nestedName = this.nestedName(fieldName, used);
      parent.nestedType!.push(this.message(nestedName, type.fields, [...path, nestedName]));
      return { type: T.MESSAGE, typeName: '.' + [...path, nestedName].join('.') };
    }
    if (type.kind === 'array' || type.kind === 'map') throw new Error(`${where}: ${formatType(type)} nested in a collection has no protobuf mapping`);
    return { type: scalarTypeOf(type, where) };
  }

  private field(parent: MessageDesc, name: string, number: number, type: DeltaType, path: string[], used: Set<string>, where: string): FieldDesc {
    if (type.kind === 'array') {
      return { name, number, label: LABEL.REPEATED, ...this.valueField(parent, name, type.element, path, used, where) };
    }
    if (type.kind === 'map') {
      if (!['string', 'int8', 'int16', 'int32', 'int64', 'boolean'].includes(type.key.kind)) {
        throw new Error(`${where}: map keys of type ${formatType(type.key)} have no protobuf mapping`);
      }
      const entryName = this.nestedName(name + '_entry', used);
      const entry: MessageDesc = {
        name: entryName,
        field: [
          { name: 'key', number: 1, label: LABEL.OPTIONAL, type: scalarTypeOf(type.key, where) },
          { name: 'value', number: 2, label: LABEL.OPTIONAL, ...this.valueField(parent, name + '_value', type.value, path, used, where) },
        ],
        options: { mapEntry: true },
      };
      parent.nestedType!.push(entry);
      return { name, number, label: LABEL.REPEATED, type: T.MESSAGE, typeName: '.' + [...path, entryName].join('.') };
    }
    return { name, number, label: LABEL.OPTIONAL, ...this.valueField(parent, name, type, path, used, where) };
  }

  root(columns: ColumnSchema[]): MessageDesc {
    return this.message(this.rootName, columns, [this.rootName]);
  }
}

/** DescriptorProto (and the protobufjs type) of rows of `table`; throws for columns protobuf cannot carry. */
export function descriptorForTable(table: TableSchema, messageName?: string): { descriptorProto: Buffer; messageType: protobuf.Type } {
  const rootName = messageName ?? pascal(table.name.split('.').pop() ?? 'Row');
  if (!PROTO_NAME.test(rootName)) throw new Error(`${rootName} cannot be a protobuf message name`);
  const desc = new DescriptorBuilder(rootName).root(table.columns);
  const bytes = descriptorExt.DescriptorProto.encode(descriptorExt.DescriptorProto.fromObject(desc)).finish();
  const read = readDescriptor(bytes);
  if (!read.ok) throw new Error(`generated descriptor does not load: ${read.reason}`);
  return { descriptorProto: Buffer.from(bytes), messageType: read.messageType };
}

// ---------------------------------------------------------------- reading

/** Decodes DescriptorProto bytes (as plain objects with numeric enums). */
export function decodeDescriptorProto(bytes: Uint8Array): MessageDesc {
  const msg = descriptorExt.DescriptorProto.decode(bytes);
  return descriptorExt.DescriptorProto.toObject(msg, { enums: Number, defaults: false, arrays: true }) as MessageDesc;
}

/** Fully qualified paths (no leading dot, no package) of every message under the root. */
function indexMessages(desc: MessageDesc, prefix: string, into: Map<string, MessageDesc>): void {
  const path = prefix ? `${prefix}.${desc.name}` : String(desc.name);
  into.set(path, desc);
  for (const nested of desc.nestedType ?? []) indexMessages(nested, path, into);
}

/** Resolves a field's type name from the scope of the message that declares it. */
function resolveTypeName(typeName: string, scope: string, index: Map<string, MessageDesc>): string | undefined {
  const bare = typeName.replace(/^\./, '');
  if (!typeName.startsWith('.')) {
    const parts = scope.split('.');
    for (let n = parts.length; n >= 0; n--) {
      const candidate = [...parts.slice(0, n), bare].filter(Boolean).join('.');
      if (index.has(candidate)) return candidate;
    }
  }
  if (index.has(bare)) return bare;
  // A protoc name carries the package first: match the longest known path at its end.
  let best: string | undefined;
  for (const path of index.keys()) {
    if (bare.endsWith('.' + path) && (!best || path.length > best.length)) best = path;
  }
  return best;
}

function buildType(desc: MessageDesc, path: string, index: Map<string, MessageDesc>): protobuf.Type {
  if (!desc.name || !PROTO_NAME.test(desc.name)) throw new Error(`message name ${JSON.stringify(desc.name ?? '')} is not valid`);
  if (desc.enumType?.length) throw new Error(`message ${path} declares enums, which Zerobus does not support`);
  const type = new protobuf.Type(desc.name);
  for (const nested of desc.nestedType ?? []) {
    if (!nested.options?.mapEntry) type.add(buildType(nested, `${path}.${nested.name}`, index));
  }
  for (const f of desc.field ?? []) {
    const name = f.name ?? '';
    if (!PROTO_NAME.test(name)) throw new Error(`field name ${JSON.stringify(name)} in ${path} is not valid`);
    if (typeof f.number !== 'number' || f.number < 1) throw new Error(`field ${path}.${name} has no valid number`);
    const rule = f.label === LABEL.REPEATED ? 'repeated' : f.label === LABEL.REQUIRED ? 'required' : undefined;
    let typeRef: string;
    if (f.type === T.MESSAGE || (f.type === undefined && f.typeName)) {
      const target = resolveTypeName(f.typeName ?? '', path, index);
      if (!target) throw new Error(`field ${path}.${name}: type ${f.typeName} is not nested in the record message (imports are not supported)`);
      const targetDesc = index.get(target)!;
      if (targetDesc.options?.mapEntry) {
        const key = targetDesc.field?.find((x) => x.number === 1);
        const value = targetDesc.field?.find((x) => x.number === 2);
        if (!key || !value || !SCALAR_NAME[key.type ?? 0]) throw new Error(`field ${path}.${name}: malformed map entry ${target}`);
        let valueRef: string;
        if (value.type === T.MESSAGE) {
          const valueTarget = resolveTypeName(value.typeName ?? '', target, index);
          if (!valueTarget) throw new Error(`field ${path}.${name}: map value type ${value.typeName} is not nested in the record message`);
          valueRef = '.' + valueTarget;
        } else if (SCALAR_NAME[value.type ?? 0]) {
          valueRef = SCALAR_NAME[value.type!];
        } else {
          throw new Error(`field ${path}.${name}: unsupported map value type`);
        }
        type.add(new protobuf.MapField(name, f.number, SCALAR_NAME[key.type!], valueRef));
        continue;
      }
      typeRef = '.' + target;
    } else if (f.type === T.ENUM) {
      throw new Error(`field ${path}.${name} is an enum, which Zerobus does not support`);
    } else if (f.type === T.GROUP) {
      throw new Error(`field ${path}.${name} is a group, which Zerobus does not support`);
    } else if (SCALAR_NAME[f.type ?? 0]) {
      typeRef = SCALAR_NAME[f.type!];
    } else {
      throw new Error(`field ${path}.${name} has an unknown type ${f.type}`);
    }
    type.add(new protobuf.Field(name, f.number, typeRef, rule));
  }
  return type;
}

/** Loads a client's DescriptorProto into a protobufjs type (no table check). */
export function readDescriptor(bytes: Uint8Array): { ok: true; messageType: protobuf.Type; desc: MessageDesc } | { ok: false; reason: string } {
  let desc: MessageDesc;
  try {
    desc = decodeDescriptorProto(bytes);
  } catch (err) {
    return { ok: false, reason: `descriptor_proto is not a DescriptorProto: ${(err as Error).message}` };
  }
  try {
    const index = new Map<string, MessageDesc>();
    indexMessages(desc, '', index);
    const messageType = buildType(desc, String(desc.name), index);
    new protobuf.Root().add(messageType).resolveAll();
    return { ok: true, messageType, desc };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
