-- Dedicated gateway allocations (docs/admin-api.md, "Allocations"). An allocation is a
-- multi-step operation: its state and every step transition are rows here, written before
-- and after each step under a lease held by the replica doing the work, so that another
-- replica can finish the rollback (or the release) of one whose replica died.

CREATE TABLE allocations (
  id               text PRIMARY KEY,
  org_id           text NOT NULL,
  pool_name        text NOT NULL,
  tenant           text NOT NULL,
  idempotency_key  text,
  host             text NOT NULL,
  -- The API that routes the tenant's host to its gateway (named after the allocation).
  api_name         text NOT NULL,
  gateway_name     text,
  -- True from the reservation until its undo: while true, the gateway is this allocation's.
  holds_gateway    boolean NOT NULL DEFAULT false,
  state            text NOT NULL
                   CHECK (state IN ('pending', 'ready', 'rolling-back', 'rolled-back', 'releasing', 'released', 'failed')),
  -- The error that failed a step (what the caller got), or the one that failed an undo.
  error_code       text,
  error_message    text,
  lease_owner      text,
  lease_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  -- Allocations are users of their pool: a pool with live ones is refused deletion in code
  -- (under the pool's row lock, which an allocation's insert must share); finished ones go
  -- with the pool, and a renamed pool takes its allocations along.
  FOREIGN KEY (org_id, pool_name) REFERENCES gateway_pools (org_id, name) ON DELETE CASCADE ON UPDATE CASCADE,
  CHECK (NOT holds_gateway OR gateway_name IS NOT NULL),
  CHECK (state NOT IN ('rolling-back', 'rolled-back', 'failed') OR error_code IS NOT NULL),
  CHECK (state NOT IN ('pending', 'rolling-back', 'releasing') OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
-- Two replicas can never hand out the same gateway (whatever pool it is taken from) ...
CREATE UNIQUE INDEX allocations_gateway_held ON allocations (org_id, gateway_name) WHERE holds_gateway;
-- ... nor give a tenant two allocations in one pool.
CREATE UNIQUE INDEX allocations_live_tenant ON allocations (org_id, pool_name, tenant)
  WHERE state IN ('pending', 'ready', 'rolling-back', 'releasing', 'failed');
CREATE UNIQUE INDEX allocations_idempotency_key ON allocations (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- What the chores replica looks for: work whose replica stopped renewing its lease.
CREATE INDEX allocations_in_progress ON allocations (lease_expires_at) WHERE state IN ('pending', 'rolling-back', 'releasing');
CREATE INDEX allocations_newest ON allocations (org_id, created_at DESC, id);

-- The step log: every step and every undo, written when it starts and when it ends.
CREATE TABLE allocation_steps (
  allocation_id text NOT NULL REFERENCES allocations (id) ON DELETE CASCADE,
  seq           integer NOT NULL,
  step          text NOT NULL CHECK (step IN ('reserve', 'route', 'converge', 'handshake')),
  direction     text NOT NULL CHECK (direction IN ('do', 'undo')),
  state         text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
  attempts      integer NOT NULL DEFAULT 0,
  controller_id text NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  error         text,
  -- What an operator should know of a step that succeeded (a runtime that did not confirm).
  detail        text,
  PRIMARY KEY (allocation_id, seq)
);

-- Gateways whose last allocation could not be undone: not handed out again until a health
-- check or heartbeat after `since` says they are healthy, or the allocation is released.
CREATE TABLE gateway_quarantines (
  org_id        text NOT NULL,
  gateway_name  text NOT NULL,
  since         timestamptz NOT NULL DEFAULT now(),
  reason        text NOT NULL,
  allocation_id text NOT NULL,
  PRIMARY KEY (org_id, gateway_name),
  FOREIGN KEY (org_id, gateway_name) REFERENCES gateways (org_id, name) ON DELETE CASCADE ON UPDATE CASCADE
);

-- Gateways written before they had a handshake path get the default one.
UPDATE gateways SET spec = spec || '{"handshakePath": "/.well-known/causeway/handshake"}'::jsonb WHERE NOT spec ? 'handshakePath';
