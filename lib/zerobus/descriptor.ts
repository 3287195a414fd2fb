/**
 * The `descriptor_proto` of a PROTO stream: the serialized google.protobuf.DescriptorProto of
 * ONE message (docs/DESIGN.md §11.7). The server resolves nothing outside it, so message and enum
 * types the record uses that live outside the root message are copied in as nested types.
 */
import * as protobuf from 'protobufjs';
import * as descriptor from 'protobufjs/ext/descriptor';
import { configError } from './errors';

interface DescriptorMsg {
  name?: string;
  field?: { name?: string; typeName?: string }[];
  nestedType?: DescriptorMsg[];
  enumType?: { name?: string }[];
}

type Named = protobuf.Type | protobuf.Enum;

function isInside(t: protobuf.ReflectionObject, root: protobuf.Type): boolean {
  for (let p: protobuf.ReflectionObject | null = t; p; p = p.parent) if (p === root) return true;
  return false;
}

export function descriptorProtoFromType(type: protobuf.Type): Buffer {
  if (!(type instanceof protobuf.Type)) throw configError('descriptorProtoFromType needs a protobufjs Type');
  type.root.resolveAll();
  const rootDesc = type.toDescriptor('proto2') as unknown as DescriptorMsg;
  rootDesc.nestedType ??= [];
  rootDesc.enumType ??= [];
  // external type (by full name) -> name it gets inside the root
  const inlined = new Map<string, string>();
  const taken = new Set<string>([...rootDesc.nestedType.map((n) => n.name ?? ''), ...rootDesc.enumType.map((e) => e.name ?? '')]);

  const nameFor = (ext: Named): string => {
    const known = inlined.get(ext.fullName);
    if (known) return known;
    let name = ext.name;
    for (let i = 2; taken.has(name); i++) name = `${ext.name}${i}`;
    taken.add(name);
    inlined.set(ext.fullName, name);
    if (ext instanceof protobuf.Type) {
      const d = ext.toDescriptor('proto2') as unknown as DescriptorMsg;
      d.name = name;
      rootDesc.nestedType!.push(d);
      rewrite(ext, d); // its own external references
    } else {
      const d = ext.toDescriptor('proto2') as unknown as { name?: string };
      d.name = name;
      rootDesc.enumType!.push(d);
    }
    return name;
  };

  // Point fields of `t` (described by `d`) that use external types at their inlined copies.
  function rewrite(t: protobuf.Type, d: DescriptorMsg): void {
    for (const f of t.fieldsArray) {
      const rt = f.resolvedType;
      if (!rt || isInside(rt, type)) continue;
      const local = nameFor(rt);
      if (f.map) {
        const entry = d.nestedType?.find((n) => n.field?.some((ef) => ef.name === 'value') && n.name?.toLowerCase().startsWith(f.name.toLowerCase()));
        const valueField = entry?.field?.find((ef) => ef.name === 'value');
        if (valueField) valueField.typeName = local;
      } else {
        const fd = d.field?.find((x) => x.name === f.name);
        if (fd) fd.typeName = local;
      }
    }
    for (const nested of t.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const nd = d.nestedType?.find((n) => n.name === nested.name);
        if (nd) rewrite(nested, nd);
      }
    }
  }

  rewrite(type, rootDesc);
  if (rootDesc.nestedType.length === 0) delete rootDesc.nestedType;
  if (rootDesc.enumType.length === 0) delete rootDesc.enumType;
  const bytes = descriptor.DescriptorProto.encode(rootDesc as unknown as protobuf.Message).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
