import { BlockList, isIPv4 } from 'node:net';
import type { IpAccessPolicy } from '@causeway/shared';

function blockListOf(cidrs: readonly string[]): BlockList | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix = ''] = cidr.split('/');
    list.addSubnet(address, Number(prefix), isIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return list;
}

const mappedPrefix = '::ffff:';

/**
 * IP allow and deny lists: the client is the address of the connection (a header such as
 * X-Forwarded-For is not trusted); a denied address is refused even if allowed, and with
 * an allow list every address not on it is refused.
 */
export class IpAccess {
  private readonly allow: BlockList | undefined;
  private readonly deny: BlockList | undefined;

  constructor(policy: IpAccessPolicy) {
    this.allow = blockListOf(policy.allow);
    this.deny = blockListOf(policy.deny);
  }

  admits(rawAddress: string): boolean {
    // An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d.
    const address = rawAddress.startsWith(mappedPrefix) && isIPv4(rawAddress.slice(mappedPrefix.length)) ? rawAddress.slice(mappedPrefix.length) : rawAddress;
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (address === '') return false;
    if (this.deny?.check(address, family) === true) return false;
    return this.allow === undefined || this.allow.check(address, family);
  }
}
