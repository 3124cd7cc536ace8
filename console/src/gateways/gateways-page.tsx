import { useState } from 'preact/hooks';
import type { Session } from '../api.ts';
import { GatewayList } from './gateway-list.tsx';
import { PoolList } from './pool-list.tsx';

type View = 'gateways' | 'pools';

/** Gateways | Gateway Pools: one page, two tables. */
export function GatewaysPage({ session }: { session: Session }) {
  const [view, setView] = useState<View>('pools');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Gateways</h1>
      <div class="toggle" role="group" aria-label="Show">
        <button type="button" aria-pressed={view === 'gateways'} onClick={() => setView('gateways')}>
          Gateways
        </button>
        <button type="button" aria-pressed={view === 'pools'} onClick={() => setView('pools')}>
          Gateway Pools
        </button>
      </div>
      {view === 'gateways' ? <GatewayList session={session} /> : <PoolList session={session} />}
    </section>
  );
}
