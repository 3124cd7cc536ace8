/** What the store holds, as the rest of the controller sees it. */
import type { JwtIssuer, PolicySpec } from '@causeway/shared';

export type Labels = Readonly<Record<string, string>>;

interface HealthCheckSpec {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface GatewaySpec {
  readonly url: string;
  readonly zone: string;
  readonly healthCheck: HealthCheckSpec;
  /** Dedicated allocations: `POST {url}{handshakePath}` hands the gateway its tenant. */
  readonly handshakePath: string;
}

export interface PoolSpec {
  readonly members: readonly string[];
  readonly description: string;
}

export type UpstreamSpec = { readonly gateway: string } | { readonly pool: string };

export interface ApiSpec {
  readonly basePath: string;
  readonly hosts: readonly string[];
  readonly methods: readonly string[];
  readonly stripBasePath: boolean;
  readonly upstream: UpstreamSpec;
  readonly timeouts: { readonly connectMs: number; readonly requestMs: number };
  readonly retries: { readonly attempts: number; readonly perTryTimeoutMs: number };
  readonly loadBalancing: 'random' | 'round-robin' | 'least-request';
  readonly failover: { readonly enabled: boolean; readonly zones: readonly string[] };
  /** The runtimes that serve it, of those serving its org: those whose (certified) labels include these. */
  readonly runtimeSelector: { readonly matchLabels: Labels };
  /** What requests must pass (the shared rules' normalised form); absent: none. */
  readonly policies?: PolicySpec;
}

export interface ZoneSpec {
  readonly dtcUrl: string;
  readonly failoverEligible: boolean;
  readonly failoverPriority: number;
  /** The identity providers of the zone's clients (zones stored before they existed have none). */
  readonly issuers: readonly JwtIssuer[];
}

export const consumerRules = { maxDescriptionLength: 1_024, maxLiveKeys: 10 } as const;

/** A consumer of the org's APIs; its keys are made and revoked through their own routes, never written in a document. */
export interface ConsumerSpec {
  readonly description: string;
}

export interface SpecByKind {
  readonly Api: ApiSpec;
  readonly Consumer: ConsumerSpec;
  readonly Gateway: GatewaySpec;
  readonly GatewayPool: PoolSpec;
  readonly Zone: ZoneSpec;
}
export type Kind = keyof SpecByKind;
export const kinds: readonly Kind[] = ['Gateway', 'GatewayPool', 'Zone', 'Consumer', 'Api'];

/** One stored entity; `org` is empty for zones, which every org shares. */
export interface StoredRecord<K extends Kind = Kind> {
  readonly kind: K;
  readonly org: string;
  readonly name: string;
  readonly labels: Labels;
  readonly spec: SpecByKind[K];
  readonly revision: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type ApiRecord = StoredRecord<'Api'>;
export interface GatewayRecord extends StoredRecord<'Gateway'> {
  /** The gateway sends heartbeats and the last one is older than the TTL: runtimes skip it. */
  readonly heartbeatExpired: boolean;
}
export type PoolRecord = StoredRecord<'GatewayPool'>;
export type ZoneRecord = StoredRecord<'Zone'>;
export interface ConsumerRecord extends StoredRecord<'Consumer'> {
  /** SHA-256 digests of its keys that are not revoked: what runtimes get. */
  readonly keyDigests: readonly Uint8Array[];
}

/** One entity as it now is in the store: a record, or gone. */
export interface EntityState {
  readonly kind: Kind;
  readonly org: string;
  readonly name: string;
  readonly record: StoredRecord | undefined;
}

/** The `kind` column of config_changes for each resource kind. */
export const changeKindOf: Readonly<Record<Kind, string>> = {
  Api: 'api',
  Consumer: 'consumer',
  Gateway: 'gateway',
  GatewayPool: 'gateway_pool',
  Zone: 'zone',
};

export function recordKey(org: string, name: string): string {
  return org === '' ? name : `${org}/${name}`;
}
