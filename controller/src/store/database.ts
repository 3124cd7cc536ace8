import postgres, { type Sql } from 'postgres';
import type { Logger } from '@causeway/shared';

export type { Sql };
export type Tx = postgres.TransactionSql;

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly log: Logger;
}

/**
 * A postgres.js pool. int8 columns (revisions) are read as numbers: a revision stays far
 * below 2^53. Multi-host URLs (`postgres://a,b/db?target_session_attrs=read-write`) are
 * accepted, and broken connections are replaced, so a primary switch is survived.
 */
export function connectDatabase(options: DatabaseOptions): Sql {
  return postgres(options.url, {
    max: options.poolSize,
    idle_timeout: 60,
    connect_timeout: 10,
    onnotice: () => undefined,
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number) => String(value),
        parse: (value: string) => Number(value),
      },
    },
    connection: { application_name: 'causeway-controller' },
  });
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
