import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@causeway/shared';
import type { Registry } from 'prom-client';
import type { IdentityStatus } from '../identity/client-identity.ts';
import type { ConfigSource } from '../resources/resources.ts';

/** What /readyz reports. */
export interface ReadinessStatus {
  readonly revision: bigint;
  readonly source: ConfigSource;
  /** A config stream to a controller is established. */
  readonly connected: boolean;
  /** How the stream is secured, and the client certificate. */
  readonly security: IdentityStatus;
  /** The controller's message when it denied this runtime access (PERMISSION_DENIED: revoked, …). */
  readonly accessDenied: string | undefined;
  /** Why the last attempt to stream failed, while not connected. */
  readonly streamFailure: string | undefined;
}

export interface AdminServerDeps {
  readonly log: Logger;
  readonly registry: Registry;
  readiness(): ReadinessStatus;
  /** The /config document. */
  configDump(): unknown;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

const expiryWarningMs = 7 * 86_400_000;

/**
 * What /readyz says of the config stream's security, whatever the status: plaintext, the
 * certificate and its expiry (a warning within 7 days), access revoked, and why the
 * last attempt failed. None of it changes the status code: a runtime that serves a
 * config is ready, as when no controller answers.
 */
function securityFields(status: ReadinessStatus, now: number): Record<string, unknown> {
  const { security } = status;
  const warnings: string[] = [];
  if (security.mode === 'insecure') warnings.push('the config stream is plaintext and unauthenticated (CAUSEWAY_XDS_INSECURE=true)');
  const expiresAt = security.certificate === undefined ? undefined : Date.parse(security.certificate.expiresAt);
  if (expiresAt !== undefined && expiresAt <= now) warnings.push(`the client certificate expired at ${security.certificate?.expiresAt}`);
  else if (expiresAt !== undefined && expiresAt - now < expiryWarningMs) warnings.push(`the client certificate expires at ${security.certificate?.expiresAt}`);
  if (security.problem !== undefined) warnings.push(security.problem);
  const denied = status.accessDenied ?? security.refusal;
  const lastError = status.streamFailure ?? security.lastError;
  return {
    security: security.mode,
    ...(security.certificate && { certificate: security.certificate }),
    ...(denied !== undefined && { access: 'revoked', accessDetail: denied }),
    ...(!status.connected && lastError !== undefined && { lastError }),
    ...(warnings.length > 0 && { warnings }),
  };
}

/**
 * 503 before any config; 200 when serving a controller's config; 200 with
 * `stale: true` when serving the cache file because no controller answered.
 */
function readinessBody(status: ReadinessStatus, now: number): { readonly httpStatus: number; readonly body: Record<string, unknown> } {
  const revision = Number(status.revision);
  const { connected } = status;
  const security = securityFields(status, now);
  switch (status.source) {
    case 'none':
      return { httpStatus: 503, body: { status: 'not_ready', reason: 'no config received yet', connected, ...security } };
    case 'cache':
      return { httpStatus: 200, body: { status: 'ready', revision, source: 'cache', stale: true, connected, ...security } };
    case 'controller':
      return { httpStatus: 200, body: { status: 'ready', revision, source: 'controller', connected, ...security } };
  }
}

/** The admin listener, on its own port: health, readiness, metrics and a config dump. */
export function createAdminServer(deps: AdminServerDeps): Server {
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: { code: 'invalid_argument', message: `${req.method ?? ''} is not allowed here` } });
      return;
    }
    switch (path) {
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/readyz': {
        const { httpStatus, body } = readinessBody(deps.readiness(), Date.now());
        sendJson(res, httpStatus, body);
        return;
      }
      case '/metrics': {
        const text = await deps.registry.metrics();
        res.writeHead(200, { 'content-type': deps.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
        return;
      }
      case '/config':
        sendJson(res, 200, deps.configDump());
        return;
      default:
        sendJson(res, 404, { error: { code: 'not_found', message: `no admin endpoint at ${path ?? ''}` } });
    }
  }

  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      deps.log.error({ err: error, path: req.url }, 'admin request failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'internal error' } });
      else res.destroy();
    });
  });
}
