import type { TestProject } from 'vitest/node';
import { startDatabaseProcess, type DatabaseProcess } from './database-process.ts';
import { ensureConsoleBuilt } from './console-build.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

let database: DatabaseProcess | undefined;

/**
 * One PostgreSQL for the whole run: the one named by CAUSEWAY_DATABASE_URL, or an
 * embedded one in a temporary folder on a free port. Each test file makes its own database in it.
 */
export async function setup(project: TestProject): Promise<void> {
  ensureConsoleBuilt();
  let url = process.env.CAUSEWAY_DATABASE_URL;
  if (url === undefined || url === '') {
    database = await startDatabaseProcess();
    url = database.url;
  }
  project.provide('databaseUrl', url);
}

export async function teardown(): Promise<void> {
  await database?.stop();
}
