-- Consumers of an org's APIs and their API keys. A key's secret is never stored: only its
-- SHA-256 digest. A key change is logged as a change of its consumer (the consumer's
-- revision moves), so runtimes stop accepting a revoked key within the time it takes to
-- read the log.

ALTER TABLE config_changes DROP CONSTRAINT config_changes_kind_check;
ALTER TABLE config_changes ADD CONSTRAINT config_changes_kind_check
  CHECK (kind IN ('api', 'gateway', 'gateway_pool', 'zone', 'org', 'token', 'role', 'revocation', 'consumer'));

CREATE TABLE consumers (
  org_id     text NOT NULL REFERENCES orgs (id),
  name       text NOT NULL,
  labels     jsonb NOT NULL DEFAULT '{}',
  spec       jsonb NOT NULL,
  revision   bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, name)
);

-- Keys go with their consumer (the audit log keeps the record of both).
CREATE TABLE consumer_keys (
  id            text PRIMARY KEY,
  org_id        text NOT NULL,
  consumer_name text NOT NULL,
  name          text NOT NULL DEFAULT '',
  digest        bytea NOT NULL UNIQUE,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  FOREIGN KEY (org_id, consumer_name) REFERENCES consumers (org_id, name) ON DELETE CASCADE
);
CREATE INDEX consumer_keys_consumer ON consumer_keys (org_id, consumer_name);
