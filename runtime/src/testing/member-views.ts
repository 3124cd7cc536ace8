/** What a runtime's admin `/config` says about its members, for tests that must see no member blamed. */
import { request, type Dispatcher } from 'undici';
import { formatAddress } from '@causeway/shared';
import type { Runtime } from '../runtime.ts';

export interface MemberView {
  readonly name: string;
  readonly state: { readonly kind: string; readonly reason?: string };
  readonly usable: boolean;
  readonly reason: string;
  readonly consecutiveFailures: number;
  readonly ejections: number;
}

interface ConfigDocument {
  readonly clusters: readonly { readonly name: string; readonly members: readonly MemberView[] }[];
}

/** Every member of every cluster, as the runtime's `/config` shows it. */
export async function memberViews(rt: Runtime, dispatcher: Dispatcher): Promise<MemberView[]> {
  const res = await request(`http://${formatAddress(rt.adminAddress)}/config`, { dispatcher });
  const document = (await res.body.json()) as ConfigDocument;
  return document.clusters.flatMap((cluster) => cluster.members);
}

/** The member views reduced to what a client must never change: state, failure streak, ejections. */
export async function blame(rt: Runtime, dispatcher: Dispatcher): Promise<Record<string, string>> {
  const views = await memberViews(rt, dispatcher);
  return Object.fromEntries(views.map((m) => [m.name, `${m.state.kind} failures=${m.consecutiveFailures} ejections=${m.ejections}`]));
}
