/** Builders of config resources and discovery responses, for tests. */
import { create, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { apiRules, healthCheckRules, pack, schemaByKind, typeUrls, type ResourceKind } from '@causeway/shared';
import {
  ApiSchema,
  ClusterSchema,
  LbPolicy,
  MemberHealth,
  ZoneSchema,
  type Api,
  type PoliciesSchema,
  type Cluster,
  type Zone,
} from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import {
  DiscoveryResponseSchema,
  type DiscoveryResponse,
} from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';

export interface ApiInit {
  readonly hosts?: string[];
  readonly basePath?: string;
  readonly methods?: string[];
  readonly stripBasePath?: boolean;
  readonly cluster?: string;
  readonly upstreamLabel?: string;
  readonly timeouts?: { connectMs?: number; requestMs?: number };
  readonly retries?: { attempts?: number; perTryTimeoutMs?: number };
  readonly lbPolicy?: LbPolicy;
  readonly failover?: { enabled: boolean; zones?: string[] };
  /** As the controller sends them: policiesMessage(checkPolicies(spec).policies). */
  readonly policies?: MessageInitShape<typeof PoliciesSchema>;
}

const lbPolicies = { random: LbPolicy.RANDOM, 'round-robin': LbPolicy.ROUND_ROBIN, 'least-request': LbPolicy.LEAST_REQUEST } as const;

/** An Api with the shared defaults (timeouts, retries, load balancing, failover) where none are given: the controller always sends them. */
export function api(name: string, init: ApiInit = {}): Api {
  const { timeouts, retries } = apiRules;
  return create(ApiSchema, {
    name,
    org: 'acme',
    basePath: '/',
    cluster: 'acme/pool/main',
    upstreamLabel: 'pool/main',
    lbPolicy: lbPolicies[apiRules.loadBalancing],
    failover: { enabled: apiRules.failoverEnabled, zones: [] },
    ...init,
    timeouts: {
      connectMs: init.timeouts?.connectMs ?? timeouts.connectMs.default,
      requestMs: init.timeouts?.requestMs ?? timeouts.requestMs.default,
    },
    retries: {
      attempts: init.retries?.attempts ?? retries.attempts.default,
      perTryTimeoutMs: init.retries?.perTryTimeoutMs ?? retries.perTryTimeoutMs.default,
    },
  });
}

function healthCheck(init: NonNullable<MemberInit['healthCheck']>) {
  const rules = healthCheckRules;
  const intervalMs = init.intervalMs ?? rules.intervalMs.default;
  return {
    path: init.path ?? rules.path,
    intervalMs,
    timeoutMs: init.timeoutMs ?? Math.min(rules.timeoutMs.default, intervalMs),
    healthyThreshold: init.healthyThreshold ?? rules.healthyThreshold.default,
    unhealthyThreshold: init.unhealthyThreshold ?? rules.unhealthyThreshold.default,
  };
}

export interface MemberInit {
  readonly name: string;
  readonly url: string;
  readonly zone?: string;
  readonly priority?: number;
  readonly unhealthy?: boolean;
  readonly healthCheck?: {
    path?: string;
    intervalMs?: number;
    timeoutMs?: number;
    healthyThreshold?: number;
    unhealthyThreshold?: number;
  };
}

export function cluster(name: string, members: readonly MemberInit[]): Cluster {
  return create(ClusterSchema, {
    name,
    members: members.map((m) => ({
      name: m.name,
      url: m.url,
      zone: m.zone ?? 'default',
      priority: m.priority ?? 0,
      controlPlaneHealth: m.unhealthy === true ? MemberHealth.UNHEALTHY : MemberHealth.HEALTHY,
      ...(m.healthCheck && { healthCheck: healthCheck(m.healthCheck) }),
    })),
  });
}

/** The hop key the controller would give every zone (tests share one). */
export const testHopKey: Uint8Array = new Uint8Array(32).fill(7);

export function zone(name: string, dtcUrl = '', init: { failoverEligible?: boolean; failoverPriority?: number; hopKey?: Uint8Array } = {}): Zone {
  return create(ZoneSchema, { name, dtcUrl, failoverEligible: dtcUrl !== '', hopKey: testHopKey, ...init });
}

type MessageFor<K extends ResourceKind> = K extends 'api' ? Api : K extends 'cluster' ? Cluster : Zone;

let nonce = 0;

/** A response of `kind` at `revision` with the resources (name → message) and removals. */
export function response<K extends ResourceKind>(
  kind: K,
  revision: number,
  resources: Readonly<Record<string, MessageFor<K>>>,
  removed: readonly string[] = [],
  version = String(revision),
): DiscoveryResponse {
  const schema: DescMessage = schemaByKind[kind];
  return create(DiscoveryResponseSchema, {
    revision: BigInt(revision),
    typeUrl: typeUrls[kind],
    resources: Object.entries(resources).map(([name, message]) => ({
      name,
      version,
      resource: pack(schema, message),
    })),
    removedResources: [...removed],
    nonce: `n${++nonce}`,
    controllerId: 'test-controller',
  });
}
