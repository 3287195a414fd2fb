import assert from 'node:assert/strict';
import { parseEndpoint, parseTableName, parseWorkspaceUrl, tokenUrl } from '../../../lib/zerobus/endpoint';
import { ZerobusError } from '../../../lib/zerobus/errors';

function configFailure(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ZerobusError);
    assert.equal(err.code, 'CONFIG');
    assert.equal(err.retryable, false);
    assert.match(err.message, pattern);
    assert.ok(err.hint.length > 10);
    return true;
  });
}

describe('zerobus endpoint parsing', () => {
  it('takes a bare Zerobus host as TLS on 443 with the workspace id from the first label', () => {
    const e = parseEndpoint('1234567890123456.zerobus.us-west-2.cloud.databricks.com');
    assert.equal(e.host, '1234567890123456.zerobus.us-west-2.cloud.databricks.com');
    assert.equal(e.port, 443);
    assert.equal(e.secure, true);
    assert.equal(e.workspaceId, '1234567890123456');
    assert.equal(e.target, '1234567890123456.zerobus.us-west-2.cloud.databricks.com:443');
  });

  it('accepts host:port, https:// with a trailing slash, and explicit http:// as plaintext', () => {
    assert.deepEqual(
      [parseEndpoint('zb.example.com:8443').port, parseEndpoint('zb.example.com:8443').secure],
      [8443, true],
    );
    const s = parseEndpoint('  https://42.zerobus.westeurope.azuredatabricks.net/ ');
    assert.equal(s.secure, true);
    assert.equal(s.port, 443);
    assert.equal(s.workspaceId, '42');
    const p = parseEndpoint('http://127.0.0.1:50051');
    assert.equal(p.secure, false);
    assert.equal(p.port, 50051);
    assert.equal(p.workspaceId, '127');
    assert.equal(parseEndpoint('HTTP://LocalHost:1').host, 'localhost');
    assert.equal(parseEndpoint('http://[::1]:9000').target, '[::1]:9000');
  });

  it('rejects malformed endpoints with CONFIG errors that name the problem', () => {
    configFailure(() => parseEndpoint(''), /empty/);
    configFailure(() => parseEndpoint('grpc://host:1'), /scheme/);
    configFailure(() => parseEndpoint('https://host/path'), /without path/);
    configFailure(() => parseEndpoint('https://user:pw@host'), /credentials/);
    configFailure(() => parseEndpoint('host:99999'), /out of range/);
    configFailure(() => parseEndpoint('host:abc'), /not a number/);
    configFailure(() => parseEndpoint('bad_host!:1'), /not a valid host/);
    configFailure(() => parseEndpoint('adb-123.zerobus.azuredatabricks.net'), /numeric workspace id/);
  });

  it('builds the token URL from the workspace URL and refuses the Zerobus host there', () => {
    assert.equal(tokenUrl(parseWorkspaceUrl('https://adb-1.2.azuredatabricks.net/')).href, 'https://adb-1.2.azuredatabricks.net/oidc/v1/token');
    assert.equal(tokenUrl(parseWorkspaceUrl('myws.cloud.databricks.com')).href, 'https://myws.cloud.databricks.com/oidc/v1/token');
    assert.equal(tokenUrl(parseWorkspaceUrl('http://127.0.0.1:5')).href, 'http://127.0.0.1:5/oidc/v1/token');
    configFailure(() => parseWorkspaceUrl(undefined), /required/);
    configFailure(() => parseWorkspaceUrl('https://1.zerobus.us-east-1.cloud.databricks.com'), /Zerobus endpoint/);
    configFailure(() => parseWorkspaceUrl('ftp://x'), /scheme/);
  });

  it('requires three non-empty table name parts', () => {
    assert.deepEqual(parseTableName('main.ot.tag_events'), { catalog: 'main', schema: 'ot', table: 'tag_events', full: 'main.ot.tag_events' });
    configFailure(() => parseTableName('ot.tag_events'), /three/);
    configFailure(() => parseTableName('a..b'), /three/);
    configFailure(() => parseTableName('a.b.c.d'), /three/);
    configFailure(() => parseTableName('`a`.b.c'), /quotes/);
  });
});
