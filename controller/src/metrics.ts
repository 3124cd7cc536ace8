import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric the controller exports, on its own registry. */
export function createControllerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'causeway_controller_process_' });
  const registers = [registry];
  return {
    registry,
    appliedRevision: new Gauge({ name: 'causeway_controller_applied_revision', help: 'Highest revision applied to the in-memory model', registers }),
    databaseRevision: new Gauge({ name: 'causeway_controller_database_revision', help: 'Latest revision seen in the database', registers }),
    catchUps: new Counter({ name: 'causeway_controller_change_log_reads_total', help: 'Reads of the change log, by what woke them', labelNames: ['reason'] as const, registers }),
    catchUpErrors: new Counter({ name: 'causeway_controller_change_log_read_errors_total', help: 'Failed reads of the change log', registers }),
    listenProbeFailures: new Counter({ name: 'causeway_controller_listen_probe_failures_total', help: 'LISTEN probes that did not come back (the LISTEN connection was re-made)', registers }),
    fullLoads: new Counter({ name: 'causeway_controller_full_loads_total', help: 'Full reloads of the store into memory', registers }),
    snapshotBuilds: new Counter({ name: 'causeway_controller_snapshot_builds_total', help: 'Snapshots built, by result', labelNames: ['result'] as const, registers }),
    snapshotRevision: new Gauge({ name: 'causeway_controller_snapshot_revision', help: 'Revision of the snapshot being served', registers }),
    snapshotAudiences: new Gauge({ name: 'causeway_controller_snapshot_audiences', help: 'Views of the snapshot kept for the runtimes connected here: one per org served and set of labels', registers }),
    connectedRuntimes: new Gauge({ name: 'causeway_controller_connected_runtimes', help: 'Runtimes streaming from this replica', registers }),
    pushes: new Counter({ name: 'causeway_controller_xds_responses_total', help: 'xDS responses sent, by resource type (progress: an empty response saying nothing changed for the runtime up to its revision)', labelNames: ['type'] as const, registers }),
    pushBytes: new Counter({ name: 'causeway_controller_xds_response_bytes_total', help: 'Bytes of xDS resources sent, by resource type', labelNames: ['type'] as const, registers }),
    acks: new Counter({ name: 'causeway_controller_xds_acks_total', help: 'ACKs received, by resource type', labelNames: ['type'] as const, registers }),
    nacks: new Counter({ name: 'causeway_controller_xds_nacks_total', help: 'NACKs received, by resource type', labelNames: ['type'] as const, registers }),
    streamsRefused: new Counter({
      name: 'causeway_controller_xds_streams_refused_total',
      help: 'Config streams refused before they started, by reason (max_streams: CAUSEWAY_XDS_MAX_STREAMS reached; no_certificate: no valid client certificate of this CA). A runtime refused for its identity or a revocation counts in causeway_controller_xds_stream_errors_total{reason="permission_denied"}',
      labelNames: ['reason'] as const,
      registers,
    }),
    runtimeCertificates: new Counter({ name: 'causeway_controller_runtime_certificates_total', help: 'IssueCertificate calls, by result (join, renew, refused)', labelNames: ['result'] as const, registers }),
    certificateExpiry: new Gauge({ name: 'causeway_controller_certificate_expiry_seconds', help: 'When each certificate the controller uses expires, as a Unix time (serving: of the config stream; ca: the CA that signs runtime certificates)', labelNames: ['certificate'] as const, registers }),
    streamErrors: new Counter({ name: 'causeway_controller_xds_stream_errors_total', help: 'Streams closed with an error, by reason', labelNames: ['reason'] as const, registers }),
    replicationLag: new Gauge({ name: 'causeway_controller_replication_lag_revisions', help: 'Database revision minus the revision applied in memory', registers }),
    commitToAck: new Histogram({
      name: 'causeway_controller_commit_to_ack_seconds',
      help: 'Time from a revision commit to a runtime ACK of it, by runtime zone',
      labelNames: ['zone'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    httpRequests: new Counter({ name: 'causeway_controller_admin_requests_total', help: 'Admin API requests, by route and status class', labelNames: ['route', 'status'] as const, registers }),
    largeAppliesInProgress: new Gauge({ name: 'causeway_controller_admin_large_applies_in_progress', help: 'Large applies (body over 1 MiB or chunked) being read or written; at most one', registers }),
    largeAppliesWaiting: new Gauge({ name: 'causeway_controller_admin_large_applies_waiting', help: 'Large applies waiting for their turn, bodies not read yet', registers }),
    largeAppliesRefused: new Counter({ name: 'causeway_controller_admin_large_applies_refused_total', help: 'Large applies answered 429, by reason (queue_full, waited_too_long)', labelNames: ['reason'] as const, registers }),
    databaseReachable: new Gauge({ name: 'causeway_controller_database_reachable', help: 'Whether the last readiness check reached the database (1) or not (0)', registers }),
    authFailures: new Counter({ name: 'causeway_controller_admin_auth_failures_total', help: 'Admin API requests refused, by reason (unauthenticated, denied: no permission, throttled: too many failed authentications from one address)', labelNames: ['reason'] as const, registers }),
    databaseErrors: new Counter({ name: 'causeway_controller_database_errors_total', help: 'Database operations that failed, by operation', labelNames: ['operation'] as const, registers }),
    allocations: new Counter({ name: 'causeway_controller_allocations_total', help: 'Dedicated gateway allocations ended by this replica, by outcome (ready, rolled-back, released, failed: an undo never succeeded and the gateway is quarantined)', labelNames: ['outcome'] as const, registers }),
    allocationStepSeconds: new Histogram({
      name: 'causeway_controller_allocation_step_seconds',
      help: 'Time of each allocation step and undo, by step, direction (do, undo) and outcome (done, failed)',
      labelNames: ['step', 'direction', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    allocationUndoRetries: new Counter({ name: 'causeway_controller_allocation_undo_retries_total', help: 'Allocation undos that failed and were tried again, by step', labelNames: ['step'] as const, registers }),
    allocationRecoveries: new Counter({ name: 'causeway_controller_allocation_recoveries_total', help: 'Allocations taken over from a replica that stopped renewing its lease, by the state they were in', labelNames: ['state'] as const, registers }),
  };
}

export type ControllerMetrics = ReturnType<typeof createControllerMetrics>;
