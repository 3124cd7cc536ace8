/** A controller stand-in for tests: a real grpc-js server speaking DiscoveryService. */
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { grpcServiceDefinition } from '@causeway/shared';
import {
  DiscoveryService,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '@causeway/shared/gen/causeway/discovery/v1/discovery_pb.js';

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

export class FakeStream {
  readonly call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  /** Every request, reports included. */
  readonly all: DiscoveryRequest[] = [];
  private readonly requests = new Inbox<DiscoveryRequest>();
  private readonly reports = new Inbox<DiscoveryRequest>();

  constructor(call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) {
    this.call = call;
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
}

export class FakeController {
  readonly server: Server;
  readonly port: number;
  private readonly streams: Inbox<FakeStream>;

  private constructor(server: Server, port: number, streams: Inbox<FakeStream>) {
    this.server = server;
    this.port = port;
    this.streams = streams;
  }

  /** Starts on a free port; `port` can be given to come back where a stopped one was. */
  static async start(port = 0): Promise<FakeController> {
    const streams = new Inbox<FakeStream>();
    const server = new Server();
    server.addService(grpcServiceDefinition(DiscoveryService), {
      streamResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => streams.push(new FakeStream(call)),
    });
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p)));
    });
    return new FakeController(server, bound, streams);
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
