// Fails when shared/src/gen differs from what `buf generate` makes of proto/ now.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const committed = join(root, 'shared/src/gen');
const scratch = mkdtempSync(join(tmpdir(), 'causeway-gen-'));

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

try {
  const template = readFileSync(join(root, 'buf.gen.yaml'), 'utf8').replace('out: shared/src/gen', `out: ${scratch}`);
  const templatePath = join(scratch, '..', `${scratch.split('/').pop()}-buf.gen.yaml`);
  writeFileSync(templatePath, template);
  execFileSync('buf', ['generate', '--template', templatePath], { cwd: root, stdio: 'inherit' });
  rmSync(templatePath);
  const want = files(scratch);
  const have = files(committed);
  const stale = [...new Set([...want.keys(), ...have.keys()])].filter((f) => want.get(f) !== have.get(f));
  if (stale.length > 0) {
    console.error(`generated code is out of date (run npm run generate): ${stale.join(', ')}`);
    process.exitCode = 1;
  } else {
    console.log(`generated code is up to date (${want.size} files)`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
