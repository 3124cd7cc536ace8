/** Serving configs compiled from scratch, for tests (the runtime changes its own by what each update touches). */
import { PendingResources } from '../resources/pending-resources.ts';
import { ResourceIndex } from '../resources/resource-index.ts';
import { emptyResources, type Resources, type ResourceUpdate } from '../resources/resources.ts';
import type { ServingConfig } from '../routing/serving-config.ts';
import { ServingUpdater, type ServingPlanContext } from '../routing/serving-updater.ts';
import { KeySets } from '../policies/issuer-keys.ts';

export type ServingBuild =
  | { readonly ok: true; readonly config: ServingConfig }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Compiles validated resources into what the proxy serves. Fails only on route
 * conflicts (two APIs claiming the same method, host and base path).
 */
export function buildServingConfig(resources: Resources, given: Omit<ServingPlanContext, 'keySets'>): ServingBuild {
  const ctx: ServingPlanContext = { keySets: new KeySets(), ...given };
  const { revision } = resources;
  const updates: ResourceUpdate[] = [
    { kind: 'cluster', revision, upserts: resources.cluster, removals: [] },
    { kind: 'zone', revision, upserts: resources.zone, removals: [] },
    { kind: 'api', revision, upserts: resources.api, removals: [] },
  ];
  const updater = new ServingUpdater();
  const planned = updater.plan(new PendingResources(emptyResources, updates), new ResourceIndex().scope(updates), revision, ctx);
  if (!planned.ok) return planned;
  updater.commit(planned.plan, ctx);
  return { ok: true, config: updater.config };
}
