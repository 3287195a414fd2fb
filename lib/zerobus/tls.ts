/**
 * TLS for a Zerobus endpoint given as an IP address. grpc-js always sends the target host as the
 * TLS ServerName (SNI), but SNI may only carry a host name (RFC 6066): Node warns (DEP0123) and
 * will ignore it. For an IP these credentials make the handshake themselves, without SNI, and
 * check the certificate against the address (its IP SAN) as Node does for any IP host. Trust and
 * ciphers follow the same variables grpc-js reads for its own TLS.
 */
import { readFileSync } from 'fs';
import { isIP } from 'net';
import * as tls from 'tls';
import * as grpc from '@grpc/grpc-js';

/** Channel credentials for `host`: grpc-js's own TLS for a host name, ours for an IP. */
export function tlsCredentials(host: string, env: Record<string, string | undefined> = process.env): grpc.ChannelCredentials {
  return isIP(host) ? new IpTlsCredentials(host, secureContextFrom(env)) : grpc.credentials.createSsl();
}

function secureContextFrom(env: Record<string, string | undefined>): tls.SecureContext {
  const rootsFile = env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH;
  return tls.createSecureContext({
    ca: rootsFile ? readFileSync(rootsFile) : undefined,
    ciphers: env.GRPC_SSL_CIPHER_SUITES || undefined,
  });
}

class IpTlsCredentials extends grpc.ChannelCredentials {
  constructor(
    private readonly host: string,
    private readonly secureContext: tls.SecureContext,
  ) {
    super();
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(_target: unknown, _options: grpc.ChannelOptions, callCredentials?: grpc.CallCredentials): grpc.experimental.SecureConnector {
    const { host, secureContext } = this;
    const credentials = callCredentials ?? grpc.CallCredentials.createEmpty();
    return {
      // `socket` is already connected (directly or through an HTTP CONNECT proxy tunnel)
      connect: (socket) =>
        new Promise((resolve, reject) => {
          const secure = tls.connect({ socket, host, secureContext, ALPNProtocols: ['h2'] }, () => {
            if (!secure.authorized) return reject(secure.authorizationError);
            resolve({ socket: secure, secure: true });
          });
          secure.on('error', reject);
        }),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => credentials,
      destroy: () => undefined,
    };
  }
}
