// Writes a benchmark's section of docs/performance.md, between markers named after it.
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';

const file = new URL('../../docs/performance.md', import.meta.url);

export async function writeSection(name: string, command: string, body: string): Promise<void> {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const section = `${begin}\nMeasured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpu}), Node ${process.versions.node}. Reproduce: \`${command}\`.\n\n${body}\n${end}`;
  let text = await readFile(file, 'utf8').catch(() => '# Performance\n');
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  text = start >= 0 && stop > start ? text.slice(0, start) + section + text.slice(stop + end.length) : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(file, text);
}
