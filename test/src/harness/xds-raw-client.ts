/**
 * A config stream client that sends whatever it is given: DiscoveryRequests with any
 * field values, or arbitrary bytes as the gRPC message. For tests of what the controller
 * accepts from a misbehaving or hostile peer.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  credentials,
  makeGenericClientConstructor,
  type ChannelCredentials,
  type Client,
  type ClientDuplexStream,
  type ServiceDefinition,
  type StatusObject,
} from '@grpc/grpc-js';
import { PROTOCOL_VERSION, SOFTWARE_VERSION, typeUrls, type ResourceKind } from '@causeway/shared';
import {
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  DiscoveryService,
  type DiscoveryResponse,
} from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';

const path = `/${DiscoveryService.typeName}/${DiscoveryService.method.streamResources.name}`;
const identity = (bytes: Buffer): Buffer => bytes;
const definition: ServiceDefinition = {
  streamResources: {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'streamResources',
  },
};
const RawClient = makeGenericClientConstructor(definition, 'DiscoveryService');

export type RequestInit = MessageInitShape<typeof DiscoveryRequestSchema>;

/** A first request as a well-behaved runtime sends it, with `overrides` on its node. */
export function hello(nodeId: string, kind: ResourceKind = 'cluster', node: { zone?: string; version?: string; labels?: Record<string, string> } = {}): RequestInit {
  return {
    typeUrl: typeUrls[kind],
    node: { id: nodeId, zone: 'default', version: SOFTWARE_VERSION, protocolVersion: PROTOCOL_VERSION, ...node },
  };
}

/** One HTTP/2 connection to a controller, for several streams (`new RawStream(connection)`). */
export function rawConnection(address: string, channelCredentials: ChannelCredentials = credentials.createInsecure()): Client {
  return new RawClient(address, channelCredentials, { 'grpc.max_send_message_length': -1, 'grpc.use_local_subchannel_pool': 1 });
}

export class RawStream {
  readonly responses: DiscoveryResponse[] = [];
  /** Bytes that did not decode as a DiscoveryResponse (there should be none). */
  undecodable = 0;
  /** Resolves with the status the stream ended with. */
  readonly status: Promise<StatusObject>;
  private readonly client: Client;
  private readonly ownClient: boolean;
  private readonly call: ClientDuplexStream<Buffer, Buffer>;
  private readonly waiters: (() => void)[] = [];

  /** A stream on a connection of its own to `target` (plaintext unless credentials are given), or on a shared connection. */
  constructor(target: string | Client, channelCredentials?: ChannelCredentials) {
    this.ownClient = typeof target === 'string';
    this.client = typeof target === 'string' ? rawConnection(target, channelCredentials) : target;
    this.call = this.client.makeBidiStreamRequest<Buffer, Buffer>(path, identity, identity);
    this.call.on('data', (bytes: Buffer) => {
      try {
        this.responses.push(fromBinary(DiscoveryResponseSchema, bytes));
      } catch {
        this.undecodable++;
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.call.on('error', () => undefined);
    this.status = new Promise((resolve) => this.call.on('status', resolve));
  }

  /** Sends bytes as one gRPC message. */
  writeBytes(bytes: Uint8Array): void {
    this.call.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  send(request: RequestInit): void {
    this.writeBytes(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, request)));
  }

  /** Resolves once `count` responses arrived (or rejects with the status if the stream ends first). */
  async responsesAtLeast(count: number): Promise<DiscoveryResponse[]> {
    while (this.responses.length < count) {
      const arrived = new Promise<void>((resolve) => this.waiters.push(resolve));
      const ended = this.status.then((s) => Promise.reject(new Error(`stream ended (${s.code}: ${s.details}) after ${this.responses.length} responses`)));
      await Promise.race([arrived, ended]);
    }
    return this.responses;
  }

  /** Ends the sending side, as a runtime that leaves does. */
  end(): void {
    this.call.end();
  }

  close(): void {
    this.call.cancel();
    if (this.ownClient) this.client.close();
  }
}
