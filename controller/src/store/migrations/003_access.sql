-- Orgs, tokens, roles and the audit log. Orgs, tokens and roles change through the
-- revision log like any resource, so every replica refuses a revoked token within the
-- time it takes to read the log.

ALTER TABLE orgs ADD COLUMN revision bigint NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN created_by text NOT NULL DEFAULT 'bootstrap';

ALTER TABLE config_changes DROP CONSTRAINT config_changes_kind_check;
ALTER TABLE config_changes ADD CONSTRAINT config_changes_kind_check
  CHECK (kind IN ('api', 'gateway', 'gateway_pool', 'zone', 'org', 'token', 'role'));

-- Custom roles; the built-in ones (admin, operator, viewer) live in code.
CREATE TABLE roles (
  org_id      text NOT NULL REFERENCES orgs (id),
  name        text NOT NULL,
  permissions jsonb NOT NULL,
  revision    bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, name)
);

-- API tokens. The secret is never stored: only its SHA-256 digest. A token with a
-- `gateway` may do nothing but send that gateway's heartbeats.
CREATE TABLE tokens (
  id           text PRIMARY KEY,
  org_id       text NOT NULL REFERENCES orgs (id),
  name         text NOT NULL,
  role         text,
  gateway      text,
  digest       bytea NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz,
  revision     bigint NOT NULL,
  CHECK (num_nonnulls(role, gateway) = 1)
);
-- Names of live role tokens are unique in an org; a revoked name may be used again.
CREATE UNIQUE INDEX tokens_live_name ON tokens (org_id, name) WHERE revoked_at IS NULL AND gateway IS NULL;
CREATE INDEX tokens_org ON tokens (org_id);

-- What was done, by whom, when; written in the transaction of the change it records.
CREATE TABLE audit_events (
  id            bigserial PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  org_id        text NOT NULL,
  actor_kind    text NOT NULL,
  actor_id      text NOT NULL,
  actor_name    text NOT NULL,
  action        text NOT NULL,
  outcome       text NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'denied', 'unauthenticated')),
  resource_kind text NOT NULL DEFAULT '',
  resource_name text NOT NULL DEFAULT '',
  revision      bigint,
  request_id    text NOT NULL DEFAULT '',
  controller_id text NOT NULL DEFAULT '',
  source        text NOT NULL DEFAULT '',
  changes       jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX audit_events_newest ON audit_events (org_id, at DESC, id DESC);
CREATE INDEX audit_events_resource ON audit_events (org_id, resource_kind, resource_name, at DESC, id DESC);
CREATE INDEX audit_events_age ON audit_events (at);
