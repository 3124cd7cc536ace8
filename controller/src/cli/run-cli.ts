import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ConfigError, SOFTWARE_VERSION, type Env } from '@causeway/shared';
import { AdminClient } from './admin-client.ts';
import { consumers, gateways, orgs, roles, tokens } from './access-commands.ts';
import { allocate, release } from './allocation-commands.ts';
import { audit } from './audit-command.ts';
import { certs } from './certs-command.ts';
import { apply, diff } from './apply-command.ts';
import { describe, get, remove } from './commands.ts';
import { completion } from './completion-command.ts';
import { rollback, status } from './deploy-commands.ts';
import { startDevStack } from './dev-stack.ts';
import type { Output } from './output.ts';
import { runtimeMain } from './runtime-entry.ts';

const usage = `causeway ${SOFTWARE_VERSION}: an API gateway with a highly available control plane

Usage:
  causeway dev                       start Postgres, a controller, a runtime, sample upstreams and a sample API
  causeway controller                run a controller replica (configured by CAUSEWAY_* variables)
  causeway runtime                   run a runtime (configured by CAUSEWAY_* variables)
  causeway apply -f FILE [--prune -l KEY=VALUE[,...]] [--wait [--timeout 60s]]
                                     create or update the resources in FILE (YAML or JSON; - for stdin) as one write;
                                     --prune: then delete what has those labels and FILE no longer has;
                                     --wait: then wait until every targeted runtime applied FILE's APIs (1 on a rejection)
  causeway diff -f FILE [--prune -l KEY=VALUE[,...]]
                                     what apply would change (the server's dry run); exit 0: nothing, 1: changes, 2: error
  causeway get KIND [NAME] [-o table|wide|json|yaml]
                                     KIND: apis, gateways, pools, zones, runtimes, controllers, allocations
  causeway delete KIND NAME
  causeway status api NAME [-o table|wide|json|yaml]
                                     each targeted runtime's answer to the API's revision: applied, rejected (why), pending
  causeway rollback api NAME [--to REVISION] [--wait [--timeout 60s]]
                                     write an earlier revision (default: the one before) as a new revision
  causeway allocate POOL TENANT [--key IDEMPOTENCY-KEY]
                                     a dedicated gateway of the pool for the tenant (host TENANT.<tenant domain>)
  causeway get allocations [ID]      allocations with their state (-o yaml: with their step logs)
  causeway release ID                undo an allocation's steps; its gateway goes back to the pool
  causeway orgs get | create NAME | delete NAME
                                     orgs (the bootstrap token only)
  causeway tokens get | create NAME --role ROLE [--expires 90d|24h|never] | revoke ID|NAME
                                     the org's tokens; create prints the secret, once
  causeway roles get [NAME] | apply -f FILE | delete NAME
  causeway roles set NAME --permission SUBJECT:ACTION[,ACTION...] [--permission ...]
                                     custom roles (kind: Role files, or permissions given here)
  causeway audit [--resource KIND[/NAME]] [--action ACTION] [--actor TOKEN] [--since 1h]
                 [--until TIME] [--limit 100] [-o table|json|yaml]
                                     the org's audit events, newest first
  causeway gateways token GATEWAY [--expires 90d|never]
                                     a token that may only send that gateway's heartbeats
  causeway consumers keys get|create|revoke CONSUMER [ID]
                                     a consumer's API keys; create prints the secret, once
  causeway certs init --dir DIR [--host NAME ...]
                                     a CA and a controller certificate for the config stream's TLS
                                     (hosts: DNS names or IPs; default localhost, 127.0.0.1, ::1)
  causeway certs runtime --dir DIR --node NODE --zone ZONE [--org ORG] [--label KEY=VALUE ...] [--days 365]
                                     a runtime certificate signed by DIR's CA (for CAUSEWAY_TLS_CERT/KEY;
                                     no --org: a shared runtime that serves every org)
  causeway completion bash|zsh       a shell completion script (source <(causeway completion bash))
  causeway version

Every admin command takes --org NAME: act in that org (sent as Causeway-Org; the
bootstrap token only). They use CAUSEWAY_URL (default http://127.0.0.1:9080) and
CAUSEWAY_TOKEN (else CAUSEWAY_ADMIN_TOKEN).`;

const io: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function client(env: Env, org: string | undefined): AdminClient {
  const token = env.CAUSEWAY_TOKEN ?? env.CAUSEWAY_ADMIN_TOKEN;
  if (token === undefined || token === '') throw new ConfigError(['CAUSEWAY_TOKEN: is required (the admin bearer token)']);
  return new AdminClient({ url: env.CAUSEWAY_URL ?? 'http://127.0.0.1:9080', token, org });
}

const options = {
  file: { type: 'string', short: 'f' },
  output: { type: 'string', short: 'o', default: 'table' },
  help: { type: 'boolean', short: 'h' },
  org: { type: 'string' },
  role: { type: 'string' },
  expires: { type: 'string' },
  permission: { type: 'string', multiple: true },
  resource: { type: 'string' },
  action: { type: 'string' },
  actor: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  dir: { type: 'string' },
  host: { type: 'string', multiple: true },
  node: { type: 'string' },
  zone: { type: 'string' },
  label: { type: 'string', multiple: true },
  days: { type: 'string' },
  key: { type: 'string' },
  prune: { type: 'boolean' },
  selector: { type: 'string', short: 'l' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  to: { type: 'string' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof options }>>['values'];

/** The commands that call the admin API. */
async function adminCommand(command: string, args: readonly string[], values: Flags, env: Env): Promise<number | undefined> {
  const admin = (): AdminClient => client(env, values.org);
  switch (command) {
    case 'apply':
      return apply(admin(), values, io);
    case 'diff':
      return diff(admin, values, io);
    case 'status':
      return status(admin(), args, values.output, io);
    case 'rollback':
      return rollback(admin(), args, values, io);
    case 'get':
      return get(admin(), args, values.output, io);
    case 'delete':
      return remove(admin(), args, io);
    case 'orgs':
      return orgs(admin(), args, values, io);
    case 'tokens':
      return tokens(admin(), args, values, io);
    case 'roles':
      return roles(admin(), args, values, io);
    case 'audit':
      return audit(admin(), values, io);
    case 'gateways':
      return gateways(admin(), args, values, io);
    case 'consumers':
      return consumers(admin(), args, values, io);
    case 'allocate':
      return allocate(admin(), args, values.key, values.output, io);
    case 'release':
      return release(admin(), args, values.output, io);
    default:
      return undefined;
  }
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
  let parsed: { values: Flags; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options });
  } catch (error) {
    io.err(`error: ${error instanceof Error ? error.message : String(error)} (causeway --help lists the commands)`);
    return 2;
  }
  const { values, positionals } = parsed;
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
      case 'certs':
        return await certs(args, { dir: values.dir, hosts: values.host, node: values.node, zone: values.zone, org: values.org, labels: values.label, days: values.days }, io);
      case 'version':
        io.out(SOFTWARE_VERSION);
        return 0;
      case 'completion':
        return completion(args, io);
      default: {
        const code = command === undefined || values.help === true ? undefined : await adminCommand(command, args, values, env);
        if (code !== undefined) return code;
        io.out(usage);
        return command === undefined || values.help === true ? 0 : 2;
      }
    }
  } catch (error) {
    io.err(`error: ${error instanceof ConfigError ? error.problems.join('; ') : describe(error)}`);
    return 1;
  }
}
