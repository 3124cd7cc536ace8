/** Helpers of the policy tests: policies as the controller sends them, an API that has them, a wait. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { checkPolicies, policiesMessage } from '@causeway/shared';
import type { PoliciesSchema } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import type { Runtime } from '../runtime.ts';
import { api, cluster, response } from './resources.ts';

export const host = 'shop.example.com';

/** spec.policies as written, checked and turned into the message a controller sends. */
export function policies(spec: unknown): MessageInitShape<typeof PoliciesSchema> {
  const checked = checkPolicies(spec);
  if (checked.problems.length > 0) throw new Error(checked.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return policiesMessage(checked.policies);
}

/** Serves /orders on shop.example.com from `upstreamUrl` with the policies (a message, or spec.policies JSON). */
export function serveWithPolicies(
  rt: Runtime,
  upstreamUrl: string,
  spec: unknown,
  revision = 1,
  methods: string[] = [],
): ReturnType<Runtime['applyResponse']> {
  if (revision === 1) rt.applyResponse(response('cluster', 1, { 'acme/pool/main': cluster('acme/pool/main', [{ name: 'gw', url: upstreamUrl }]) }));
  const definition = api('acme/orders', { hosts: [host], basePath: '/orders', methods, policies: policies(spec) });
  return rt.applyResponse(response('api', revision, { 'acme/orders': definition }));
}

/** Calls `probe` until it returns true (each call is a real request), for at most `timeoutMs`. */
export async function until(probe: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error('the condition did not come true in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
