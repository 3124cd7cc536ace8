import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { createController, createControllerMetrics, loadControllerConfig, type Controller } from '@causeway/controller';
import { createRuntimeMetrics, loadRuntimeConfig } from '@causeway/runtime';
import { createLogger } from '@causeway/shared';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFile(new URL(path, root), 'utf8');

type Env = Record<string, string>;

/** What deploy/ starts a container as: its role, environment and where volumes are mounted. */
interface Workload {
  readonly where: string;
  readonly role: string;
  readonly env: Env;
  readonly mounts: readonly string[];
}

/** `${NAME:-default}` as compose resolves it when NAME is not set. */
function resolveDefaults(env: Record<string, unknown>): Env {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
}

async function composeWorkloads(): Promise<Workload[]> {
  const compose = parse(await read('deploy/compose.yaml'), { merge: true }) as {
    services: Record<string, { command?: string[]; environment?: Record<string, unknown>; volumes?: string[] }>;
  };
  return Object.entries(compose.services).flatMap(([name, service]) =>
    service.command?.[0] === 'controller' || service.command?.[0] === 'runtime'
      ? [{ where: `compose ${name}`, role: service.command[0], env: resolveDefaults(service.environment ?? {}), mounts: (service.volumes ?? []).map((v) => v.split(':')[1] ?? '') }]
      : [],
  );
}

/** Values that come from secrets or the pod in the manifests, as a cluster would fill them in. */
const fromCluster: Env = {
  CAUSEWAY_DATABASE_URL: 'postgres://causeway:secret@causeway-db-rw:5432/causeway',
  CAUSEWAY_ADMIN_TOKEN: 'a-token-from-a-secret-0123456789',
  CAUSEWAY_CONTROLLER_ID: 'causeway-controller-7d9f-x2b4c',
  CAUSEWAY_NODE_ID: 'causeway-runtime-eu-1-5c8d-q7w2e',
  CAUSEWAY_RUNTIME_TOKEN: 'cwj_a-join-token-from-a-secret',
};

async function kubernetesWorkloads(): Promise<Workload[]> {
  const workloads: Workload[] = [];
  for (const file of ['deploy/kubernetes/controller.yaml', 'deploy/kubernetes/runtime.yaml']) {
    for (const doc of parseAllDocuments(await read(file))) {
      type Container = { name: string; args?: string[]; env?: { name: string; value?: string }[]; volumeMounts?: { mountPath: string }[] };
      const manifest = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } };
      if (manifest.kind !== 'Deployment') continue;
      for (const container of manifest.spec?.template?.spec?.containers ?? []) {
        const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? fromCluster[e.name] ?? '']));
        const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath);
        workloads.push({ where: `${file} ${container.name}`, role: container.args?.[0] ?? '', env, mounts });
      }
    }
  }
  return workloads;
}

describe('deploy/ files', () => {
  it('start every controller and runtime with settings the code accepts and the README documents', async () => {
    const readme = await read('README.md');
    const workloads = [...(await composeWorkloads()), ...(await kubernetesWorkloads())];
    expect(workloads.map((w) => w.role).sort()).toEqual(['controller', 'controller', 'controller', 'runtime', 'runtime', 'runtime']);
    for (const workload of workloads) {
      const load = workload.role === 'controller' ? loadControllerConfig : loadRuntimeConfig;
      expect(() => load(workload.env), workload.where).not.toThrow();
      for (const name of Object.keys(workload.env)) expect(readme, `${workload.where}: ${name}`).toContain(`| \`${name}\` |`);
    }
  });

  it('serve and stream config over mTLS, with every certificate file on a mounted volume', async () => {
    const workloads = [...(await composeWorkloads()), ...(await kubernetesWorkloads())];
    const files = { controller: ['CAUSEWAY_XDS_TLS_CERT', 'CAUSEWAY_XDS_TLS_KEY', 'CAUSEWAY_CA_CERT', 'CAUSEWAY_CA_KEY'], runtime: ['CAUSEWAY_CA_CERT'] } as const;
    for (const workload of workloads) {
      expect(workload.env.CAUSEWAY_XDS_INSECURE ?? 'false', workload.where).toBe('false');
      const role = workload.role === 'controller' ? 'controller' : 'runtime';
      const config = role === 'controller' ? loadControllerConfig(workload.env) : loadRuntimeConfig(workload.env);
      expect(config.xdsSecurity.mode, workload.where).not.toBe('insecure');
      if (role === 'runtime') expect(workload.env.CAUSEWAY_RUNTIME_TOKEN ?? workload.env.CAUSEWAY_TLS_CERT, `${workload.where}: a join token or a certificate`).toBeDefined();
      const paths = [...files[role], 'CAUSEWAY_TLS_CERT', 'CAUSEWAY_TLS_KEY'].flatMap((name) => (workload.env[name] === undefined ? [] : [[name, workload.env[name]] as const]));
      for (const [name, path] of paths) {
        expect(workload.mounts.some((mount) => path.startsWith(`${mount}/`)), `${workload.where}: ${name}=${path} is on no mounted volume`).toBe(true);
      }
    }
  });

  it('has a Grafana dashboard whose queries name only metrics and labels that exist', async () => {
    const dashboard = JSON.parse(await read('deploy/grafana/causeway.json')) as { panels: { targets?: { expr: string }[] }[] };
    const registries = [createControllerMetrics().registry, createRuntimeMetrics().registry];
    const labelsOf = (name: string): readonly string[] | undefined => {
      for (const registry of registries) {
        const metric = registry.getSingleMetric(name) as { labelNames?: readonly string[] } | undefined;
        if (metric !== undefined) return metric.labelNames ?? [];
      }
      return undefined;
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    for (const expr of exprs) {
      const names = [...expr.matchAll(/\bcauseway_[a-z_]+/g)].map((m) => m[0]);
      expect(names.length, expr).toBeGreaterThan(0);
      const labels = new Set(['instance', 'job']);
      for (const name of names) {
        const own = labelsOf(name) ?? labelsOf(name.replace(/_(bucket|sum|count)$/, ''));
        expect(own, `${expr}: ${name} is not exported`).toBeDefined();
        for (const label of own ?? []) labels.add(label);
        if (name.endsWith('_bucket')) labels.add('le');
      }
      const used = [...expr.matchAll(/\bby \(([^)]*)\)/g), ...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
        (m[1] ?? '').split(',').map((l) => l.trim().split(/[=!~]/)[0]?.trim() ?? '').filter((l) => l !== ''),
      );
      for (const label of used) expect(labels.has(label), `${expr}: label ${label}`).toBe(true);
    }
  });

  describe('the compose sample config', () => {
    let db: TestDatabase;
    let controller: Controller;

    beforeAll(async () => {
      db = await createTestDatabase();
      const config = loadControllerConfig({ CAUSEWAY_DATABASE_URL: db.url, CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN, CAUSEWAY_XDS_INSECURE: 'true', CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0', CAUSEWAY_XDS_ADDR: '127.0.0.1:0' });
      controller = createController(config, { log: createLogger('controller', { level: 'silent' }) });
      await controller.start();
    });

    afterAll(async () => {
      await controller.close();
      await db.drop();
    });

    it('is accepted as one write', async () => {
      const items = parseAllDocuments(await read('deploy/compose-sample.yaml')).map((d) => d.toJS() as unknown);
      const applied = await call(`http://127.0.0.1:${controller.adminAddress.port}`, 'POST', '/v1/apply', { items });
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      expect(applied.body.items.map((i: { kind: string; name: string; result: string }) => `${i.kind}/${i.name} ${i.result}`)).toEqual([
        'Gateway/gateway-1 created',
        'Gateway/gateway-2 created',
        'Gateway/gateway-3 created',
        'GatewayPool/hello created',
        'Zone/eu-1 created',
        'Zone/eu-2 created',
        'Api/hello created',
      ]);
    });
  });
});
