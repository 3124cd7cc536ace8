/**
 * A controller stand-in for tests: a real grpc-js server speaking DiscoveryService and,
 * with TLS, IdentityService (join tokens, renewal over mTLS, certificates from shared/src/pki).
 */
import { create } from '@bufbuild/protobuf';
import {
  experimental,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { grpcServiceDefinition } from '@causeway/shared';
import {
  DiscoveryService,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';
import {
  IdentityService,
  IssueCertificateResponseSchema,
  type IssueCertificateRequest,
  type IssueCertificateResponse,
} from '@causeway/shared/gen/causeway/identity/v1/identity_pb.js';
import {
  certificateUris,
  identityFromUris,
  identityUris,
  signClientCertificate,
  spiffeId,
  type KeyedCertificate,
  type RuntimeIdentity,
} from '@causeway/shared/pki';

/** Values that arrive over time, taken in order with `next()`. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) this.items.push(item);
    else waiter(item);
  }

  next(): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** TLS for the fake: its CA and serving certificate, the join tokens it accepts, the lifetime it issues. */
export interface FakeTls {
  readonly ca: KeyedCertificate;
  readonly server: KeyedCertificate;
  /** Join token → the identity (but the node id) a certificate issued for it carries. */
  readonly tokens: ReadonlyMap<string, Omit<RuntimeIdentity, 'nodeId'>>;
  lifetimeMs: number;
}

export interface IssuedRecord {
  readonly renewal: boolean;
  readonly identity: RuntimeIdentity;
  readonly notAfter: Date;
}

/**
 * Fixed certificates for the listener (createSsl with an optional client certificate does
 * not even ask for one). Listeners are called after `add…Listener` returns: grpc-js
 * registers its watcher only then, and an update delivered before would be lost.
 */
function staticProvider(tls: FakeTls): experimental.CertificateProvider {
  return {
    addCaCertificateListener: (listener) => queueMicrotask(() => listener({ caCertificate: Buffer.from(tls.ca.certificatePem) })),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) =>
      queueMicrotask(() => listener({ certificate: Buffer.from(tls.server.certificatePem), privateKey: Buffer.from(tls.server.privateKeyPem) })),
    removeIdentityCertificateListener: () => undefined,
  };
}

/** The identity of a call's verified client certificate, if any. */
function peerIdentity(call: { getAuthContext(): { sslPeerCertificate?: { raw: Buffer } } | null }): RuntimeIdentity | undefined {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  return raw === undefined ? undefined : identityFromUris(certificateUris(raw));
}

export class FakeStream {
  readonly call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  /** Who the client certificate says the runtime is (with TLS). */
  readonly peer: RuntimeIdentity | undefined;
  /** Every request, reports included. */
  readonly all: DiscoveryRequest[] = [];
  private readonly requests = new Inbox<DiscoveryRequest>();
  private readonly reports = new Inbox<DiscoveryRequest>();

  constructor(call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) {
    this.call = call;
    this.peer = peerIdentity(call);
    call.on('data', (request: DiscoveryRequest) => {
      this.all.push(request);
      if (request.typeUrl === '') this.reports.push(request);
      else this.requests.push(request);
    });
    call.on('error', () => undefined);
  }

  /** The next request that is not a report: a subscription, an ACK or a NACK. */
  next(): Promise<DiscoveryRequest> {
    return this.requests.next();
  }

  nextReport(): Promise<DiscoveryRequest> {
    return this.reports.next();
  }

  send(response: DiscoveryResponse): void {
    this.call.write(response);
  }

  /** Ends the stream with a status, as a controller refusing or closing it does. */
  end(code: GrpcStatus, details: string): void {
    this.call.emit('error', { code, details });
  }
}

export class FakeController {
  readonly server: Server;
  port = 0;
  /** Every stream opened, refused ones included. */
  readonly opened: FakeStream[] = [];
  /** Every certificate issued. */
  readonly issued: IssuedRecord[] = [];
  private readonly streams = new Inbox<FakeStream>();
  private readonly tls: FakeTls | undefined;
  private readonly denied = new Map<string, string>();

  private constructor(tls: FakeTls | undefined) {
    this.tls = tls;
    this.server = new Server();
    this.server.addService(grpcServiceDefinition(DiscoveryService), {
      streamResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => this.onStream(new FakeStream(call)),
    });
    if (tls !== undefined) {
      this.server.addService(grpcServiceDefinition(IdentityService), {
        issueCertificate: (call: ServerUnaryCall<IssueCertificateRequest, IssueCertificateResponse>, done: sendUnaryData<IssueCertificateResponse>) => {
          this.issue(tls, call).then(
            (response) => done(null, response),
            (error: { code: GrpcStatus; details: string }) => done(error),
          );
        },
      });
    }
  }

  /**
   * Starts on a free port; `port` can be given to come back where a stopped one was.
   * With `tls`, streams need a client certificate signed by its CA (else UNAUTHENTICATED).
   */
  static async start(port = 0, tls?: FakeTls): Promise<FakeController> {
    const fake = new FakeController(tls);
    const credentials =
      tls === undefined
        ? ServerCredentials.createInsecure()
        : // As the controller: a client certificate is asked for but not required (joining has none).
          experimental.createCertificateProviderServerCredentials(staticProvider(tls), staticProvider(tls), false);
    fake.port = await new Promise<number>((resolve, reject) => {
      fake.server.bindAsync(`127.0.0.1:${port}`, credentials, (error, p) => (error ? reject(error) : resolve(p)));
    });
    return fake;
  }

  /** Revokes a node: its streams end with PERMISSION_DENIED, and it is refused streams and renewals from now on. */
  deny(nodeId: string, details = `runtime ${nodeId} was revoked`): void {
    this.denied.set(nodeId, details);
    for (const stream of this.opened) if (stream.peer?.nodeId === nodeId) stream.end(GrpcStatus.PERMISSION_DENIED, details);
  }

  private onStream(stream: FakeStream): void {
    this.opened.push(stream);
    if (this.tls !== undefined) {
      const refusal = stream.peer === undefined ? 'a client certificate signed by the CA is required' : this.denied.get(stream.peer.nodeId);
      if (refusal !== undefined) {
        stream.end(stream.peer === undefined ? GrpcStatus.UNAUTHENTICATED : GrpcStatus.PERMISSION_DENIED, refusal);
        return;
      }
    }
    this.streams.push(stream);
  }

  private async issue(tls: FakeTls, call: ServerUnaryCall<IssueCertificateRequest, IssueCertificateResponse>): Promise<IssueCertificateResponse> {
    const { joinToken, csrPem, nodeId } = call.request;
    const renewal = joinToken === '';
    const joined = tls.tokens.get(joinToken);
    const identity = renewal ? peerIdentity(call) : joined && { ...joined, nodeId };
    if (identity === undefined) throw { code: GrpcStatus.UNAUTHENTICATED, details: renewal ? 'renewal needs a client certificate' : 'unknown join token' };
    const denied = this.denied.get(identity.nodeId);
    if (denied !== undefined) throw { code: GrpcStatus.PERMISSION_DENIED, details: denied };
    const issued = await signClientCertificate(tls.ca, csrPem, `CN=${identity.nodeId}`, identityUris(identity), tls.lifetimeMs);
    if (issued === undefined) throw { code: GrpcStatus.INVALID_ARGUMENT, details: 'csr_pem: not a signing request that verifies' };
    this.issued.push({ renewal, identity, notAfter: issued.notAfter });
    return create(IssueCertificateResponseSchema, {
      certificatePem: issued.certificatePem,
      caPem: tls.ca.certificatePem,
      notAfterUnixMs: BigInt(issued.notAfter.getTime()),
      spiffeId: spiffeId(identity),
    });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  nextStream(): Promise<FakeStream> {
    return this.streams.next();
  }

  close(): void {
    this.server.forceShutdown();
  }
}
