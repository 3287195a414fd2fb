import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hostConnectionOptions, type BrokerSettings } from '../../nodes/zerobus-sparkplug-broker/connection-options';

const base: BrokerSettings = { url: 'mqtts://broker:8883', clientId: '', hostId: 'scada', protocolVersion: '5', keepalive: '', rejectUnauthorized: true };

describe('zerobus-sparkplug-broker connection options', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-sp-tls-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('accepts the four URL schemes and rejects others', () => {
    for (const url of ['mqtt://h:1883', 'mqtts://h', 'ws://h:9001/mqtt', 'wss://h/mqtt']) {
      assert.equal(hostConnectionOptions({ ...base, url }, {}).ok, true, url);
    }
    for (const url of ['http://h', 'h:1883', '']) {
      assert.deepEqual(hostConnectionOptions({ ...base, url }, {}), { ok: false, problem: 'url' });
    }
  });

  it('requires a host id that is a valid Sparkplug id; none at all takes the editor default', () => {
    for (const hostId of ['a/b', 'a+', '#']) assert.deepEqual(hostConnectionOptions({ ...base, hostId }, {}), { ok: false, problem: 'hostId' });
    for (const hostId of ['', '  ', undefined as unknown as string]) {
      const r = hostConnectionOptions({ ...base, hostId }, {});
      assert.ok(r.ok && r.options.hostId === 'node-red-zerobus', JSON.stringify(r));
    }
  });

  it('defaults: generated client id, MQTT version, keepalive, verification on', () => {
    const r = hostConnectionOptions({ ...base, protocolVersion: '4' }, { username: 'u', password: 'p' });
    assert.ok(r.ok);
    assert.match(r.options.clientId, /^nr-zerobus-scada-[0-9a-f]+$/);
    assert.equal(r.options.protocolVersion, 4);
    assert.equal(r.options.keepalive, 30);
    assert.equal(r.options.rejectUnauthorized, true);
    assert.equal(r.options.username, 'u');
    const v5 = hostConnectionOptions({ ...base, rejectUnauthorized: false, clientId: ' me ' }, {});
    assert.ok(v5.ok);
    assert.equal(v5.options.protocolVersion, 5);
    assert.equal(v5.options.rejectUnauthorized, false);
    assert.equal(v5.options.clientId, 'me');
    // a hand-written flow or an environment variable gives text
    for (const [text, verify] of [['false', false], [' FALSE ', false], ['true', true], ['', true]] as const) {
      const r2 = hostConnectionOptions({ ...base, rejectUnauthorized: text }, {});
      assert.ok(r2.ok);
      assert.equal(r2.options.rejectUnauthorized, verify, JSON.stringify(text));
    }
  });

  it('TLS material: pasted PEM wins over a file; a missing file names the path, not the content', () => {
    const caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, 'FILE-CA');
    const r = hostConnectionOptions({ ...base, caPath: caFile, certPath: caFile }, { cert: 'PASTED-CERT' });
    assert.ok(r.ok);
    assert.equal(String(r.options.ca), 'FILE-CA');
    assert.equal(r.options.cert, 'PASTED-CERT');
    const missing = path.join(dir, 'nope.pem');
    assert.deepEqual(hostConnectionOptions({ ...base, keyPath: missing }, {}), { ok: false, problem: 'tlsFile', detail: missing });
  });
});
