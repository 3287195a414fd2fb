import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { parseArgs } from '../../../lib/emulator/cli';
import { PACKAGE_ROOT } from '../../../lib/paths';

const CLI = path.join(PACKAGE_ROOT, 'lib/emulator/cli.ts');
const SCHEMA = path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql');

function runCli(args: string[]) {
  const child = spawn(process.execPath, ['-r', require.resolve('tsx/cjs'), CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  /** resolves when the output matches `pattern` (checked on each chunk), rejects if the process exits first */
  const outputMatching = (pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(out);
        if (m) settle(() => resolve(m));
        else if (child.exitCode !== null) settle(() => reject(new Error(`exited ${child.exitCode}: ${out}${err}`)));
      };
      const settle = (then: () => void) => {
        child.stdout.off('data', check);
        child.off('exit', check);
        then();
      };
      child.stdout.on('data', check);
      child.on('exit', check);
      check();
    });
  return { child, exited, outputMatching, output: () => ({ out, err }) };
}

describe('emulator: CLI', () => {
  it('parses flags with defaults left to the emulator', () => {
    const parsed = parseArgs(['--grpc-port', '0', '--http-port=7', '--host', '0.0.0.0', '--data-dir', '/tmp/x', '--schema', 'a.sql', '--schema', 'b.sql', '--client-id', 'id', '--client-secret', 's', '--stream-max-age-ms', '5000']);
    assert.deepEqual(parsed, {
      help: false,
      quiet: false,
      options: { grpcPort: 0, httpPort: 7, host: '0.0.0.0', dataDir: '/tmp/x', schemaFiles: ['a.sql', 'b.sql'], clientId: 'id', clientSecret: 's', streamMaxAgeMs: 5000 },
    });
    assert.deepEqual(parseArgs(['--help']), { help: true });
    assert.throws(() => parseArgs(['--grpc-port', 'x']), /--grpc-port needs an integer/);
    assert.throws(() => parseArgs(['--schema']), /--schema needs a value/);
    assert.throws(() => parseArgs(['--client-id', 'only']), /go together/);
    assert.throws(() => parseArgs(['--what']), /unknown option --what/);
  });

  it('starts, prints its endpoints and tables, serves, and stops cleanly on SIGTERM', async () => {
    const run = runCli(['--grpc-port', '0', '--http-port', '0', '--schema', SCHEMA]);
    const [, workspace] = await run.outputMatching(/web page\s+(http:\/\/127\.0\.0\.1:\d+)\//);
    const { out } = run.output();
    assert.match(out, /gRPC endpoint\s+http:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /token endpoint http:\/\/127\.0\.0\.1:\d+\/oidc\/v1\/token/);
    assert.match(out, /main\.ot\.tag_events/);
    assert.match(out, /stream quota\s+100000 records\/s and 100000000 bytes\/s per stream, acks slowed beyond it/);
    assert.match(out, /stream life\s+900 s, then a close signal/);
    const res = await fetch(`${workspace}/api/tables`);
    assert.equal(res.status, 200);
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0);
  });

  it('prints help', async () => {
    const run = runCli(['--help']);
    assert.equal(await run.exited, 0);
    assert.match(run.output().out, /Usage: zerobus-emulator/);
    assert.ok(fs.readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node'));
  });

  it('stops cleanly when whoever read its output went away (| head)', async () => {
    const run = runCli(['--grpc-port', '0', '--http-port', '0', '--schema', SCHEMA]);
    const [, workspace] = await run.outputMatching(/web page\s+(http:\/\/127\.0\.0\.1:\d+)\//);
    run.child.stdout.destroy();
    assert.equal((await fetch(`${workspace}/api/tables`)).status, 200);
    // the HTTP API logs nothing: the write into the closed pipe (EPIPE) is the stop message
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.output().err);
  });

  it('fails clearly on a busy port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = runCli(['--grpc-port', '0', '--http-port', String(port)]);
      assert.equal(await run.exited, 1);
      assert.match(run.output().err, /port is already in use/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
