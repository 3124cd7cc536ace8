import { readFileSync } from 'node:fs';
import type { Logger } from '@causeway/shared';
import type { TokenUseRecorder } from '../access/token-use-recorder.ts';
import type { ControllerConfig } from '../config.ts';
import type { ControllerMetrics } from '../metrics.ts';
import type { AccessModel } from '../store/access-tables.ts';
import { recordRefusal } from '../store/audit-events.ts';
import type { Sql } from '../store/database.ts';
import type { AccessOptions } from './access.ts';

/** How the admin API decides access on this replica: its bootstrap token, the model's orgs, roles and tokens, and where refusals go. */
export function adminAccessOptions(
  config: ControllerConfig,
  sql: Sql,
  access: () => AccessModel,
  tokenUses: TokenUseRecorder,
  metrics: ControllerMetrics,
  log: Logger,
): AccessOptions {
  return {
    bootstrapToken: config.adminToken,
    controllerId: config.controllerId,
    authFailuresPerSecond: config.adminAuthFailuresPerSecond,
    access,
    used: (token) => tokenUses.used(token),
    refused: (org, context, outcome, detail) => {
      recordRefusal(sql, org, context, { outcome, action: outcome === 'denied' ? 'access.denied' : 'access.unauthenticated', detail }).catch((error: unknown) =>
        log.warn({ err: error }, 'recording a refused request failed'),
      );
    },
    counters: {
      unauthenticated: () => metrics.authFailures.inc({ reason: 'unauthenticated' }),
      denied: () => metrics.authFailures.inc({ reason: 'denied' }),
      throttled: () => metrics.authFailures.inc({ reason: 'throttled' }),
    },
  };
}

/** The admin listener's certificate and key, read once at start; undefined: plain HTTP. */
export function readAdminTls(config: ControllerConfig): { readonly cert: Buffer; readonly key: Buffer } | undefined {
  if (config.adminTls === undefined) return undefined;
  return { cert: readFileSync(config.adminTls.certFile), key: readFileSync(config.adminTls.keyFile) };
}
