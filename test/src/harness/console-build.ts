import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const consoleDir = fileURLToPath(new URL('../../../console/', import.meta.url));

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/**
 * Controllers serve console/dist, which `npm install` builds; built again here when it is
 * missing or older than its sources (an install run with --ignore-scripts, an edited page).
 */
export function ensureConsoleBuilt(): void {
  const index = join(consoleDir, 'dist', 'index.html');
  const sources = Math.max(newest(join(consoleDir, 'src')), newest(join(consoleDir, 'index.html')), newest(join(consoleDir, 'vite.config.ts')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  // NODE_ENV as an install has it: vitest sets `test`, which would make a development build.
  execFileSync('npm', ['run', 'build', '-w', 'console'], { cwd: join(consoleDir, '..'), stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}
