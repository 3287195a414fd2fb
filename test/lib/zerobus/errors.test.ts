import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { fromGrpcStatus, isRetryable, ZerobusError } from '../../../lib/zerobus/errors';

describe('zerobus error classification', () => {
  it('follows the official table: final codes never retry, everything else does', () => {
    for (const c of [status.INVALID_ARGUMENT, status.NOT_FOUND, status.PERMISSION_DENIED, status.OUT_OF_RANGE, status.UNIMPLEMENTED, status.UNAUTHENTICATED]) {
      assert.equal(isRetryable({ code: c, details: 'x', metadata: {} }), false, `code ${c}`);
      assert.equal(fromGrpcStatus({ code: c }).retryable, false);
    }
    for (const c of [status.OK, status.CANCELLED, status.UNKNOWN, status.DEADLINE_EXCEEDED, status.ALREADY_EXISTS, status.RESOURCE_EXHAUSTED,
      status.FAILED_PRECONDITION, status.ABORTED, status.INTERNAL, status.UNAVAILABLE, status.DATA_LOSS]) {
      assert.equal(isRetryable({ code: c }), true, `code ${c}`);
      assert.equal(fromGrpcStatus({ code: c }).retryable, true);
    }
  });

  it('classifies client-side codes and network errors', () => {
    assert.equal(isRetryable(new ZerobusError('TOKEN_UNAVAILABLE', 'x')), true);
    assert.equal(isRetryable(new ZerobusError('TOKEN_REJECTED', 'x')), false);
    assert.equal(isRetryable(new ZerobusError('CONFIG', 'x')), false);
    assert.equal(isRetryable(new ZerobusError('CLOSED', 'x')), false);
    assert.equal(isRetryable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isRetryable(new TypeError('bug')), false);
    assert.equal(isRetryable(undefined), false);
  });

  it('gives hints a user can act on', () => {
    const denied = fromGrpcStatus({ code: status.PERMISSION_DENIED, details: 'no' }, { table: 'main.ot.t' });
    assert.equal(denied.code, 'PERMISSION_DENIED');
    assert.match(denied.hint, /MODIFY/);
    assert.match(denied.hint, /USE CATALOG/);
    assert.match(fromGrpcStatus({ code: status.NOT_FOUND }, { table: 'main.ot.t' }).hint, /main\.ot\.t does not exist/);
    assert.match(fromGrpcStatus({ code: status.UNAUTHENTICATED }, { workspaceId: '42' }).hint, /workspace id 42/);
    const down = fromGrpcStatus({ code: status.UNAVAILABLE, details: 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1' });
    assert.equal(down.code, 'UNREACHABLE');
    assert.equal(down.retryable, true);
    const tls = fromGrpcStatus({ code: status.UNAVAILABLE, details: 'Connection dropped: certificate has expired (SSL routines)' });
    assert.equal(tls.code, 'TLS');
    assert.match(tls.hint, /trust store/);
  });
});
