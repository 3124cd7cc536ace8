import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ConfigError, SOFTWARE_VERSION, type Env } from '@causeway/shared';
import { AdminClient } from './admin-client.ts';
import { apply, describe, get, remove, type Output } from './commands.ts';
import { startDevStack } from './dev-stack.ts';
import { runtimeMain } from './runtime-entry.ts';

const usage = `causeway ${SOFTWARE_VERSION}: an API gateway with a highly available control plane

Usage:
  causeway dev                       start Postgres, a controller, a runtime, sample upstreams and a sample API
  causeway controller                run a controller replica (configured by CAUSEWAY_* variables)
  causeway runtime                   run a runtime (configured by CAUSEWAY_* variables)
  causeway apply -f FILE             create or update the resources in FILE (YAML or JSON; - for stdin)
  causeway get KIND [NAME] [-o table|json|yaml]
                                     KIND: apis, gateways, pools, zones, runtimes, controllers
  causeway delete KIND NAME
  causeway version

The admin commands use CAUSEWAY_URL (default http://127.0.0.1:9080) and CAUSEWAY_TOKEN.`;

const io: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function client(env: Env): AdminClient {
  const token = env.CAUSEWAY_TOKEN ?? env.CAUSEWAY_ADMIN_TOKEN;
  if (token === undefined || token === '') throw new ConfigError(['CAUSEWAY_TOKEN: is required (the admin bearer token)']);
  return new AdminClient({ url: env.CAUSEWAY_URL ?? 'http://127.0.0.1:9080', token });
}

async function runDev(env: Env): Promise<number> {
  const stack = await startDevStack(env, io);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  io.err('stopping...');
  await stack.stop();
  return 0;
}

/** The runtime runs as its own process: controller and runtime share only the protocol. */
async function runRuntime(): Promise<number> {
  const child = spawn(process.execPath, [runtimeMain()], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}

/** Runs one CLI command and returns the exit code. */
export async function runCli(argv: readonly string[], env: Env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { file: { type: 'string', short: 'f' }, output: { type: 'string', short: 'o', default: 'table' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, ...args] = positionals;
  try {
    switch (command) {
      case 'dev':
        return await runDev(env);
      case 'controller':
        await import('../main.ts');
        return 0;
      case 'runtime':
        return await runRuntime();
      case 'apply':
        if (values.file === undefined) throw new ConfigError(['apply: -f FILE is required']);
        return await apply(client(env), values.file, io);
      case 'get':
        return await get(client(env), args, values.output, io);
      case 'delete':
        return await remove(client(env), args, io);
      case 'version':
        io.out(SOFTWARE_VERSION);
        return 0;
      default:
        io.out(usage);
        return command === undefined || values.help === true ? 0 : 2;
    }
  } catch (error) {
    io.err(`error: ${error instanceof ConfigError ? error.problems.join('; ') : describe(error)}`);
    return 1;
  }
}
