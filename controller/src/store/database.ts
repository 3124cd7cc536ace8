import postgres, { type Sql } from 'postgres';
import { CausewayError, type Logger } from '@causeway/shared';

export type { Sql };
export type Tx = postgres.TransactionSql;

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly log: Logger;
  /** A connection attempt that takes longer fails (and so does the query waiting for it). */
  readonly connectTimeoutMs?: number;
  /** Sent as the session's `statement_timeout`; 0 lets statements run as long as they take. */
  readonly statementTimeoutMs?: number;
  /** Told of every statement sent (tracing; tests count round trips with it). */
  readonly onQuery?: (query: string) => void;
}

/** The defaults of CAUSEWAY_DATABASE_CONNECT_TIMEOUT_MS and CAUSEWAY_DATABASE_STATEMENT_TIMEOUT_MS. */
export const databaseTimeoutDefaults = { connectTimeoutMs: 3_000, statementTimeoutMs: 30_000 } as const;

/**
 * A postgres.js pool. int8 columns (revisions) are read as numbers: a revision stays far
 * below 2^53. Multi-host URLs (`postgres://a,b/db?target_session_attrs=read-write`) are
 * accepted, and broken connections are replaced, so a primary switch is survived.
 */
export function connectDatabase(options: DatabaseOptions): Sql {
  return postgres(options.url, {
    max: options.poolSize,
    idle_timeout: 60,
    connect_timeout: (options.connectTimeoutMs ?? databaseTimeoutDefaults.connectTimeoutMs) / 1_000,
    onnotice: () => undefined,
    ...(options.onQuery === undefined ? {} : { debug: (_connection: number, query: string) => options.onQuery?.(query) }),
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number) => String(value),
        parse: (value: string) => Number(value),
      },
    },
    connection: {
      application_name: 'causeway-controller',
      statement_timeout: options.statementTimeoutMs ?? databaseTimeoutDefaults.statementTimeoutMs,
    },
  });
}

/** Resolves once the database answers a trivial query. */
export async function ping(sql: Sql): Promise<void> {
  await sql`SELECT 1`;
}

/** Postgres SQLSTATE codes the store reacts to. */
export const pgCodes = {
  foreignKeyViolation: '23503',
  uniqueViolation: '23505',
  checkViolation: '23514',
  /** A statement after another one of the same transaction failed. */
  inFailedTransaction: '25P02',
} as const;

export function pgCode(error: unknown): string | undefined {
  if (error instanceof postgres.PostgresError) return error.code;
  return undefined;
}

/** Codes of errors that mean "no answer from the database", not "the database refused". */
const unreachableCodes = new Set([
  // postgres.js
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  // Node sockets and name resolution
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that cannot serve now: shutting down or starting up (57P01-57P03),
 * too many connections (53300), a statement cancelled by `statement_timeout` (57014), a
 * read-only server (25006: a demoted primary after a switch-over).
 */
const unavailableStates = new Set(['57P01', '57P02', '57P03', '53300', '57014', '25006']);

/** The code of an error (or of its cause) that says the database could not be reached or answer in time. */
export function unreachableCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (unreachableCodes.has(code)) return code;
    // Class 08: connection exceptions.
    if (error instanceof postgres.PostgresError && (code.startsWith('08') || unavailableStates.has(code))) return code;
  }
  const nested = error instanceof AggregateError ? (error.errors as unknown[]) : [];
  for (const inner of [...nested, (error as { cause?: unknown }).cause]) {
    const found = unreachableCode(inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * `unavailable` when the error (or its cause) says the database could not be reached or
 * could not answer in time; undefined for anything else. Decided on codes, never on text.
 */
export function databaseUnavailable(error: unknown): CausewayError | undefined {
  const code = unreachableCode(error);
  if (code === undefined) return undefined;
  return new CausewayError('unavailable', `the database is unavailable (${code}); retry later`, { cause: error });
}
