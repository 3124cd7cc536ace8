import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { Logger } from '@causeway/shared';

/** One range of the upstream deny list (`CAUSEWAY_UPSTREAM_DENY_CIDRS`). */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

const prefixPattern = /^\d{1,3}$/;

/** `a.b.c.d/n` or `v6::/n`; a bare address is one address (/32, /128). Undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  if (slash === -1) return { address, prefix: max, family: version === 4 ? 'ipv4' : 'ipv6' };
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!prefixPattern.test(prefixText) || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A connect the deny list refused: classified where it enters the proxy (upstream-errors.ts). */
export class AddressDeniedError extends Error {
  readonly code = 'CAUSEWAY_ADDRESS_DENIED';
  readonly address: string;

  constructor(host: string, address: string) {
    super(`connecting to ${host} (${address}) is denied by CAUSEWAY_UPSTREAM_DENY_CIDRS`);
    this.address = address;
  }
}

/** Builds the connector of one undici pool or agent, with its connect timeout. */
export type ConnectorFactory = (connectTimeoutMs: number) => buildConnector.connector;

export interface AddressGuardOptions {
  readonly cidrs: readonly Cidr[];
  readonly log: Logger;
  /** Counts every connect refused. */
  readonly onDenied: () => void;
}

/** Distinct host/address pairs logged before the set is forgotten (bounds memory, not logs per request). */
const maxLogged = 1_024;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The upstream deny list, applied at connect time to the address actually connected to:
 * an IP literal before connecting, a host name's resolved addresses (denied ones are
 * skipped; none left fails the connect), and the connected socket's remote address once
 * more. So a member URL with a name that resolves (or later re-resolves) into a denied
 * range cannot reach it. Traffic pools and health checks use the same connector.
 */
export class AddressGuard {
  private readonly blockList = new BlockList();
  private readonly options: AddressGuardOptions;
  private readonly logged = new Set<string>();
  readonly active: boolean;

  constructor(options: AddressGuardOptions) {
    this.options = options;
    for (const cidr of options.cidrs) this.blockList.addSubnet(cidr.address, cidr.prefix, cidr.family);
    this.active = options.cidrs.length > 0;
  }

  /** Whether connecting to this IP address is denied (IPv4-mapped IPv6 addresses count as IPv4). */
  denies(address: string): boolean {
    if (!this.active) return false;
    const version = isIP(address);
    return version !== 0 && this.blockList.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }

  /** A connector that refuses denied addresses; plain undici options when nothing is denied. */
  readonly connector: ConnectorFactory = (connectTimeoutMs) => {
    if (!this.active) return buildConnector({ timeout: connectTimeoutMs });
    const connect = buildConnector({ timeout: connectTimeoutMs, lookup: this.lookup });
    return (options, callback) => {
      const { hostname } = options;
      if (this.denies(hostname)) {
        callback(this.refuse(hostname, hostname), null);
        return;
      }
      connect(options, (error, socket) => {
        if (error !== null) {
          callback(error, null);
          return;
        }
        const remote = (socket as Socket).remoteAddress;
        if (remote !== undefined && this.denies(remote)) {
          socket.destroy();
          callback(this.refuse(hostname, remote), null);
          return;
        }
        callback(null, socket);
      });
    };
  };

  private readonly lookup = (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) {
        callback(error, []);
        return;
      }
      const allowed = addresses.filter((entry) => !this.denies(entry.address));
      const first = allowed[0];
      if (first === undefined) {
        callback(this.refuse(hostname, addresses[0]?.address ?? ''), []);
        return;
      }
      if (options.all === true) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  };

  private refuse(host: string, address: string): AddressDeniedError {
    this.options.onDenied();
    const key = `${host} ${address}`;
    if (!this.logged.has(key)) {
      if (this.logged.size >= maxLogged) this.logged.clear();
      this.logged.add(key);
      this.options.log.warn({ host, address }, 'upstream address denied');
    }
    return new AddressDeniedError(host, address);
  }
}
