import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import * as descriptor from 'protobufjs/ext/descriptor';
import { descriptorProtoFromType } from '../../../lib/zerobus/descriptor';
import { PROTO_DIR } from '../../../lib/paths';

interface Desc {
  name: string;
  field: { name: string; number: number; type: number; typeName?: string; label: number }[];
  nestedType?: Desc[];
  enumType?: { name: string }[];
}
const decode = (b: Buffer) => descriptor.DescriptorProto.toObject(descriptor.DescriptorProto.decode(b), { enums: Number }) as unknown as Desc;

describe('zerobus descriptorProtoFromType', () => {
  it('describes the OT event row as one DescriptorProto with all 14 columns', () => {
    const root = new protobuf.Root().loadSync(path.join(PROTO_DIR, 'ot_event.proto'), { keepCase: true });
    const d = decode(descriptorProtoFromType(root.lookupType('ot_lakehouse.OtEvent')));
    assert.equal(d.name, 'OtEvent');
    assert.equal(d.field.length, 14);
    assert.deepEqual(d.field.slice(0, 3).map((f) => [f.name, f.number, f.type]), [['event_id', 1, 9], ['event_time', 2, 3], ['tag_path', 3, 9]]);
    assert.equal(d.nestedType, undefined);
  });

  it('keeps nested types inside and copies in message/enum types from outside the root', () => {
    const root = protobuf.parse(`
      syntax = "proto2"; package p;
      message Row { message Inner { optional int32 q = 1; } optional Inner inner = 1; optional Ext ext = 2;
        repeated Ext exts = 3; optional Color color = 4; map<string, Ext> by_name = 5; }
      message Ext { optional string s = 1; optional Deeper d = 2; }
      message Deeper { optional bool b = 1; }
      enum Color { RED = 0; BLUE = 1; }`, { keepCase: true }).root;
    const d = decode(descriptorProtoFromType(root.lookupType('p.Row')));
    const names = (d.nestedType ?? []).map((n) => n.name).sort();
    assert.ok(names.includes('Inner') && names.includes('Ext') && names.includes('Deeper'), names.join());
    assert.deepEqual(d.enumType?.map((e) => e.name), ['Color']);
    const byName = Object.fromEntries(d.field.map((f) => [f.name, f.typeName]));
    assert.equal(byName.inner, 'Inner');
    assert.equal(byName.ext, 'Ext');
    assert.equal(byName.exts, 'Ext');
    assert.equal(byName.color, 'Color');
    const ext = d.nestedType!.find((n) => n.name === 'Ext')!;
    assert.equal(ext.field.find((f) => f.name === 'd')!.typeName, 'Deeper');
    const mapEntry = d.nestedType!.find((n) => n.field.some((f) => f.name === 'value') && n.name !== 'Ext')!;
    assert.equal(mapEntry.field.find((f) => f.name === 'value')!.typeName, 'Ext');
    // the descriptor is self-contained: protobufjs can rebuild a type from it alone
    const rebuilt = (protobuf.Type as unknown as { fromDescriptor(d: unknown): protobuf.Type }).fromDescriptor(descriptor.DescriptorProto.decode(descriptorProtoFromType(root.lookupType('p.Row'))));
    new protobuf.Root().add(rebuilt).resolveAll();
  });
});
