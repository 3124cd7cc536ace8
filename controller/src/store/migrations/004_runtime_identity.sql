-- Runtime identity: join tokens, the client certificates issued with them, revocations,
-- and what each runtime is certified as. Revocations change through the revision log, so
-- every replica closes a revoked runtime's stream within the time it takes to read it.

-- The key of the hop marker runtimes put on requests they forward to another zone: one
-- random key for the whole deployment, sent in every Zone resource. gen_random_uuid() draws
-- from PostgreSQL's strong random source; two of them give 244 random bits.
ALTER TABLE config_state ADD COLUMN hop_key bytea;
UPDATE config_state SET hop_key = decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');
ALTER TABLE config_state ALTER COLUMN hop_key SET NOT NULL;

ALTER TABLE config_changes DROP CONSTRAINT config_changes_kind_check;
ALTER TABLE config_changes ADD CONSTRAINT config_changes_kind_check
  CHECK (kind IN ('api', 'gateway', 'gateway_pool', 'zone', 'org', 'token', 'role', 'revocation'));

-- Join tokens: a runtime that presents one gets a client certificate for the org (NULL: a
-- shared runtime that serves every org), zone and labels written here. The secret is
-- stored only as its SHA-256 digest; a deleted token keeps its row (revoked_at) for the
-- audit trail.
CREATE TABLE runtime_tokens (
  id         text PRIMARY KEY,
  org_id     text REFERENCES orgs (id) ON DELETE CASCADE,
  zone       text NOT NULL,
  labels     jsonb NOT NULL DEFAULT '{}',
  digest     bytea NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revision   bigint NOT NULL
);
CREATE INDEX runtime_tokens_org ON runtime_tokens (org_id);

-- Every client certificate signed for a runtime (status, written without a revision): what
-- a revocation denies, and what a renewal keeps.
CREATE TABLE runtime_certificates (
  serial        text PRIMARY KEY,
  node_id       text NOT NULL,
  org_id        text,
  zone          text NOT NULL,
  labels        jsonb NOT NULL,
  token_id      text,
  renewed_from  text,
  controller_id text NOT NULL,
  issued_at     timestamptz NOT NULL DEFAULT now(),
  not_after     timestamptz NOT NULL
);
CREATE INDEX runtime_certificates_node ON runtime_certificates (node_id);
CREATE INDEX runtime_certificates_expiry ON runtime_certificates (not_after);

-- Runtimes whose access ended: the node id may not stream, renew or join again, and the
-- serials of its certificates (when it was revoked) are denied.
CREATE TABLE runtime_revocations (
  node_id    text PRIMARY KEY,
  org_id     text,
  serials    text[] NOT NULL,
  revoked_by text NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT now(),
  revision   bigint NOT NULL
);

-- What a runtime is, from its certificate: the org it serves (NULL: every org, a shared
-- runtime or one streaming without TLS) and how its identity was established.
ALTER TABLE runtimes ADD COLUMN org_id text;
ALTER TABLE runtimes ADD COLUMN certified boolean NOT NULL DEFAULT false;
ALTER TABLE runtimes ADD COLUMN certificate_serial text;
ALTER TABLE runtimes ADD COLUMN certificate_expires_at timestamptz;

-- APIs select the runtimes that serve them by label; stored specs have every default.
UPDATE apis SET spec = spec || '{"runtimeSelector": {"matchLabels": {}}}'::jsonb WHERE NOT spec ? 'runtimeSelector';
UPDATE api_revisions SET spec = spec || '{"runtimeSelector": {"matchLabels": {}}}'::jsonb WHERE NOT spec ? 'runtimeSelector';
