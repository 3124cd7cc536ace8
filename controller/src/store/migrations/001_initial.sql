-- Causeway schema, version 1. See docs/architecture.md for the revision log.

CREATE TABLE orgs (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO orgs (id, name) VALUES ('default', 'Default organisation');

-- The single global revision. The row lock taken by
-- UPDATE config_state SET revision = revision + 1 serialises writers, so revision
-- order is commit order.
CREATE TABLE config_state (
  id             boolean PRIMARY KEY DEFAULT true CHECK (id),
  revision       bigint NOT NULL,
  -- Every change at or below this revision may have been pruned from config_changes.
  pruned_through bigint NOT NULL DEFAULT 0
);
INSERT INTO config_state (revision) VALUES (0);

-- The revision log: one row per entity touched by a mutation.
CREATE TABLE config_changes (
  revision   bigint NOT NULL,
  seq        integer NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('api', 'gateway', 'gateway_pool', 'zone')),
  org_id     text NOT NULL,
  name       text NOT NULL,
  op         text NOT NULL CHECK (op IN ('upsert', 'delete')),
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (revision, seq)
);

CREATE TABLE gateways (
  org_id            text NOT NULL REFERENCES orgs (id),
  name              text NOT NULL,
  labels            jsonb NOT NULL DEFAULT '{}',
  spec              jsonb NOT NULL,
  revision          bigint NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  -- Set by POST /v1/gateways/{name}/heartbeat; NULL for gateways that never sent one.
  last_heartbeat_at timestamptz,
  PRIMARY KEY (org_id, name)
);

-- What each runtime's active health checks see of each gateway (status, not config:
-- written without a revision).
CREATE TABLE gateway_health_reports (
  org_id       text NOT NULL,
  gateway_name text NOT NULL,
  node_id      text NOT NULL,
  healthy      boolean NOT NULL,
  reason       text NOT NULL DEFAULT '',
  checked_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, gateway_name, node_id),
  FOREIGN KEY (org_id, gateway_name) REFERENCES gateways (org_id, name) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE gateway_pools (
  org_id      text NOT NULL REFERENCES orgs (id),
  name        text NOT NULL,
  labels      jsonb NOT NULL DEFAULT '{}',
  description text NOT NULL DEFAULT '',
  spec        jsonb NOT NULL DEFAULT '{}',
  revision    bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, name)
);

-- Memberships vanish with their pool or their gateway.
CREATE TABLE gateway_pool_members (
  org_id       text NOT NULL,
  pool_name    text NOT NULL,
  gateway_name text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, pool_name, gateway_name),
  FOREIGN KEY (org_id, pool_name) REFERENCES gateway_pools (org_id, name)
    ON DELETE CASCADE ON UPDATE CASCADE,
  FOREIGN KEY (org_id, gateway_name) REFERENCES gateways (org_id, name)
    ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX gateway_pool_members_gateway ON gateway_pool_members (org_id, gateway_name);

-- Zones describe the deployment's topology; they are shared by every org.
CREATE TABLE zones (
  name       text PRIMARY KEY,
  labels     jsonb NOT NULL DEFAULT '{}',
  spec       jsonb NOT NULL,
  revision   bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- An API's upstream is exactly one gateway or one pool; the foreign keys make the
-- database refuse to delete a gateway or pool that an API still uses.
CREATE TABLE apis (
  org_id           text NOT NULL REFERENCES orgs (id),
  name             text NOT NULL,
  labels           jsonb NOT NULL DEFAULT '{}',
  spec             jsonb NOT NULL,
  revision         bigint NOT NULL,
  base_path        text NOT NULL,
  upstream_gateway text,
  upstream_pool    text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, name),
  CHECK (num_nonnulls(upstream_gateway, upstream_pool) = 1),
  FOREIGN KEY (org_id, upstream_gateway) REFERENCES gateways (org_id, name)
    ON DELETE RESTRICT ON UPDATE CASCADE,
  FOREIGN KEY (org_id, upstream_pool) REFERENCES gateway_pools (org_id, name)
    ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE INDEX apis_base_path ON apis (base_path);
CREATE INDEX apis_upstream_gateway ON apis (org_id, upstream_gateway);
CREATE INDEX apis_upstream_pool ON apis (org_id, upstream_pool);

-- Every change of an API is an immutable revision that can be listed and rolled back to.
CREATE TABLE api_revisions (
  org_id     text NOT NULL,
  name       text NOT NULL,
  revision   bigint NOT NULL,
  labels     jsonb NOT NULL,
  spec       jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, name, revision)
);

-- Controller replicas and what they are doing.
CREATE TABLE controllers (
  id                 text PRIMARY KEY,
  admin_address      text NOT NULL,
  xds_address        text NOT NULL,
  version            text NOT NULL,
  started_at         timestamptz NOT NULL,
  last_heartbeat_at  timestamptz NOT NULL,
  applied_revision   bigint NOT NULL DEFAULT 0,
  connected_runtimes integer NOT NULL DEFAULT 0
);

-- Runtimes, kept current by the replica each one streams from.
CREATE TABLE runtimes (
  node_id            text PRIMARY KEY,
  zone               text NOT NULL,
  labels             jsonb NOT NULL DEFAULT '{}',
  version            text NOT NULL,
  controller_id      text,
  connected          boolean NOT NULL DEFAULT false,
  connected_at       timestamptz,
  last_seen_at       timestamptz NOT NULL DEFAULT now(),
  applied_revision   bigint NOT NULL DEFAULT 0,
  acked_revision     bigint NOT NULL DEFAULT 0,
  -- Highest revision of an ACKed API response: every API response before it was
  -- answered, so an API at or below it is applied unless runtime_nacks says otherwise.
  api_acked_revision bigint NOT NULL DEFAULT 0,
  last_nack_revision bigint,
  last_nack_type     text,
  last_nack_error    text,
  last_nack_at       timestamptz
);

-- The last rejection of each resource by each runtime, for deployment status.
CREATE TABLE runtime_nacks (
  node_id       text NOT NULL REFERENCES runtimes (node_id) ON DELETE CASCADE,
  resource_type text NOT NULL,
  resource_name text NOT NULL,
  version       bigint NOT NULL,
  error         text NOT NULL,
  at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, resource_type, resource_name)
);

-- A deployment that waits for runtimes and may roll back. If the replica waiting on it
-- dies, another one finishes it after the deadline (see sync/chores).
CREATE TABLE deployments (
  id                  bigserial PRIMARY KEY,
  org_id              text NOT NULL,
  api_name            text NOT NULL,
  revision            bigint NOT NULL,
  -- The API revision to go back to; NULL when the deployment created the API.
  previous_revision   bigint,
  rollback_on_failure boolean NOT NULL,
  deadline            timestamptz NOT NULL,
  controller_id       text NOT NULL,
  state               text NOT NULL DEFAULT 'waiting'
                      CHECK (state IN ('waiting', 'converged', 'failed', 'timed-out', 'rolled-back')),
  detail              text NOT NULL DEFAULT '',
  rollback_revision   bigint,
  created_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz
);
CREATE INDEX deployments_waiting ON deployments (deadline) WHERE state = 'waiting';
