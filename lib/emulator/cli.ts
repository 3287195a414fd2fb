#!/usr/bin/env node
/**
 * `zerobus-emulator`: runs the local Zerobus emulator until SIGINT/SIGTERM.
 */
import * as fs from 'fs';
import { DEFAULT_GRPC_PORT, DEFAULT_HOST, DEFAULT_HTTP_PORT, startEmulator, type EmulatorOptions } from './emulator';
import { DEFAULT_QUOTA, describeQuota, type QuotaLimits } from './quota';

/** Environment variables the secrets can come from instead of the command line. */
export const SECRET_ENV = 'ZEROBUS_EMULATOR_CLIENT_SECRET';
export const ADMIN_ENV = 'ZEROBUS_EMULATOR_ADMIN_TOKEN';

const HELP = `Usage: zerobus-emulator [options]

A local stand-in for Databricks Zerobus Ingest: the gRPC stream service, the OAuth
token endpoint, tables from CREATE TABLE files, a JSON API and a web page.

Options:
  --grpc-port <n>           gRPC port (default ${DEFAULT_GRPC_PORT}; 0 = any free port)
  --http-port <n>           HTTP port: token endpoint, API, web page (default ${DEFAULT_HTTP_PORT})
  --host <addr>             address to listen on (default ${DEFAULT_HOST})
  --data-dir <dir>          keep rows on disk here (default: in memory only)
  --schema <file.sql>       CREATE TABLE statements; repeat for several files
  --client-id <id>          with a client secret: enforce OAuth (only tokens issued here);
                            the HTTP API's writes (tables, rows, faults) then need
                            "Authorization: Bearer <secret>" (or the admin token)
  --client-secret-file <f>  the client secret from a file (first line), kept out of \`ps\`;
                            or set ${SECRET_ENV}
  --client-secret <secret>  the client secret on the command line (visible to \`ps\`)
  --admin-token-file <f>    a separate bearer token for writes (or set ${ADMIN_ENV})
  --stream-max-age-ms <n>   rotate streams with a close signal after this long (default 900000)
  --close-signal-ms <n>     duration announced in that signal (default 10000);
                            --stream-max-age-ms 0 never rotates
  --quota-records <n>       records/s per stream (default ${DEFAULT_QUOTA.recordsPerSecond})
  --quota-bytes <n>         record bytes/s per stream (default ${DEFAULT_QUOTA.bytesPerSecond})
  --quota-reject            beyond the quota end the stream with RESOURCE_EXHAUSTED
                            (default: hold its requests until the quota allows them)
  --no-quota                no per-stream quota
  --max-rows <n>            newest rows kept in memory per table
  --quiet                   do not log stream events
  -h, --help                show this help
`;

export class UsageError extends Error {}


function secretFromFile(flag: string, file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const secret = text.split(/\r?\n/)[0].trim();
  if (!secret) throw new UsageError(`${flag}: ${file} is empty`);
  return secret;
}

function integer(flag: string, text: string | undefined, min: number): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${flag} needs an integer >= ${min}, got ${text === undefined ? 'nothing' : JSON.stringify(text)}`);
  }
  return Number(text);
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): { help: true } | { help: false; options: EmulatorOptions; quiet: boolean } {
  const options: EmulatorOptions = { schemaFiles: [] };
  const quota: Partial<QuotaLimits> = {};
  let noQuota = false;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '-h':
      case '--help':
        return { help: true };
      case '--grpc-port':
        options.grpcPort = integer(arg, value(), 0);
        break;
      case '--http-port':
        options.httpPort = integer(arg, value(), 0);
        break;
      case '--host':
        options.host = value();
        break;
      case '--data-dir':
        options.dataDir = value();
        break;
      case '--schema':
        options.schemaFiles!.push(value());
        break;
      case '--client-id':
        options.clientId = value();
        break;
      case '--client-secret':
        options.clientSecret = value();
        break;
      case '--client-secret-file':
        options.clientSecret = secretFromFile(arg, value());
        break;
      case '--admin-token-file':
        options.adminToken = secretFromFile(arg, value());
        break;
      case '--stream-max-age-ms':
        options.streamMaxAgeMs = integer(arg, value(), 0);
        break;
      case '--close-signal-ms':
        options.closeSignalDurationMs = integer(arg, value(), 0);
        break;
      case '--quota-records':
        quota.recordsPerSecond = integer(arg, value(), 1);
        break;
      case '--quota-bytes':
        quota.bytesPerSecond = integer(arg, value(), 1);
        break;
      case '--quota-reject':
        quota.overQuota = 'reject';
        break;
      case '--no-quota':
        noQuota = true;
        break;
      case '--max-rows':
        options.maxRowsInMemory = integer(arg, value(), 1);
        break;
      case '--quiet':
        quiet = true;
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (options.clientSecret === undefined && env[SECRET_ENV]) options.clientSecret = env[SECRET_ENV];
  if (options.adminToken === undefined && env[ADMIN_ENV]) options.adminToken = env[ADMIN_ENV];
  if ((options.clientId === undefined) !== (options.clientSecret === undefined)) {
    throw new UsageError(`--client-id and a client secret (--client-secret, --client-secret-file or ${SECRET_ENV}) go together`);
  }
  if (noQuota && Object.keys(quota).length > 0) throw new UsageError('--no-quota goes with no other --quota option');
  if (noQuota) options.quota = false;
  else if (Object.keys(quota).length > 0) options.quota = quota;
  return { help: false, options, quiet };
}

function explainStartError(err: unknown, options: EmulatorOptions): string {
  const e = err as NodeJS.ErrnoException;
  const text = String(e?.message ?? err);
  if (e?.code === 'EADDRINUSE' || /No address added|EADDRINUSE|address already in use/i.test(text)) {
    return `a port is already in use (gRPC ${options.grpcPort ?? DEFAULT_GRPC_PORT}, HTTP ${options.httpPort ?? DEFAULT_HTTP_PORT}): stop the other process or pick --grpc-port/--http-port`;
  }
  if (e?.code === 'EACCES') return `not allowed to listen there: ${text}`;
  return text;
}

/** A reader that went away (`| head`, a parent that closed its pipe) must not take the emulator down. */
function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    });
  }
}

async function main(): Promise<void> {
  ignoreClosedOutput();
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`zerobus-emulator: ${(err as Error).message}\nTry --help.\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(HELP);
    return;
  }
  const { options, quiet } = parsed;
  const stamp = (): string => new Date().toISOString().slice(11, 23);
  options.log = quiet ? undefined : (line) => process.stdout.write(`${stamp()} ${line}\n`);
  let emulator;
  try {
    emulator = await startEmulator(options);
  } catch (err) {
    process.stderr.write(`zerobus-emulator: cannot start: ${explainStartError(err, options)}\n`);
    process.exit(1);
  }
  const tables = emulator.tables();
  const lines = [
    'Zerobus emulator running',
    `  gRPC endpoint   ${emulator.endpoint}`,
    `  workspace URL   ${emulator.workspaceUrl}   (token endpoint ${emulator.workspaceUrl}/oidc/v1/token)`,
    `  web page        ${emulator.workspaceUrl}/`,
    `  OAuth           ${options.clientId ? `enforced for client id ${options.clientId}` : 'not enforced: any bearer token is accepted'}`,
    `  API writes      ${options.adminToken ? 'need the admin token' : options.clientSecret ? 'need the client secret as bearer token' : 'open (JSON, same origin); set a client secret to guard them'}`,
    `  storage         ${options.dataDir ? `durable in ${options.dataDir}` : 'in memory'}`,
    `  stream quota    ${describeQuota(emulator.quota)}`,
    `  stream life     ${emulator.streamMaxAgeMs === 0 ? 'unlimited' : `${emulator.streamMaxAgeMs / 1000} s, then a close signal`}`,
    `  tables          ${tables.length ? '' : '(none: load some with --schema file.sql)'}`,
    ...tables.map((t) => `    ${t.name}  (${t.rowCount} rows)`),
    'Press Ctrl+C to stop.',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping…\n`);
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    emulator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`zerobus-emulator: error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) void main();
