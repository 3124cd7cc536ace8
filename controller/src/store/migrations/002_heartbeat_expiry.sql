-- Whether the control plane marks a gateway down because its heartbeats stopped. It is
-- config (runtimes skip such members), so it changes only through a mutation.
ALTER TABLE gateways ADD COLUMN heartbeat_expired boolean NOT NULL DEFAULT false;
