/**
 * Which addresses an outbound media `url` may reach from the connector host (issue 11
 * item 8, SSRF). Refused by default: loopback, private, link-local, CGNAT, unspecified,
 * multicast/reserved and the cloud metadata endpoints — for IPv4, IPv6 and IPv4 written
 * inside IPv6 (`::ffff:127.0.0.1`). `OUTBOUND_MEDIA_ALLOW` lists host names or CIDRs that
 * may be fetched anyway (1C often serves files from the LAN).
 */
import { BlockList, isIP } from 'node:net';

/** What a refused address is, in the words of the error sentence. */
export type AddressKind =
  'cloud metadata' | 'loopback' | 'private' | 'link-local' | 'carrier-grade NAT (100.64.0.0/10)' | 'unspecified' | 'multicast or reserved';

/** Most specific first: the metadata address is also link-local / private. */
const RANGES: Array<[AddressKind, Array<[string, number, 'ipv4' | 'ipv6']>]> = [
  [
    'cloud metadata',
    [
      ['169.254.169.254', 32, 'ipv4'],
      ['fd00:ec2::254', 128, 'ipv6'],
    ],
  ],
  [
    'loopback',
    [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  ],
  [
    'unspecified',
    [
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ],
  ],
  [
    'private',
    [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
    ],
  ],
  [
    'link-local',
    [
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  ],
  ['carrier-grade NAT (100.64.0.0/10)', [['100.64.0.0', 10, 'ipv4']]],
  [
    'multicast or reserved',
    [
      ['224.0.0.0', 4, 'ipv4'],
      ['240.0.0.0', 4, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ],
  ],
];

const LISTS: Array<[AddressKind, BlockList]> = RANGES.map(([kind, nets]) => {
  const list = new BlockList();
  for (const [net, prefix, type] of nets) list.addSubnet(net, prefix, type);
  return [kind, list];
});

/** `::ffff:a.b.c.d` (and its hex spelling) → `a.b.c.d`; other addresses unchanged. */
export function unwrapMappedIpv4(address: string): string {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) return dotted[1];
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (hex) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return a;
}

/** The kind of a refused address, or null when it is a public one. */
export function forbiddenKind(address: string): AddressKind | null {
  const a = unwrapMappedIpv4(address);
  const family = isIP(a);
  if (family === 0) return 'unspecified';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [kind, list] of LISTS) if (list.check(a, type)) return kind;
  return null;
}

/** OUTBOUND_MEDIA_ALLOW: host names (exact, case-insensitive; `*.corp.local` for subdomains) and CIDRs / addresses. */
export class MediaAllowList {
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly nets = new BlockList();

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const e = raw.trim().toLowerCase();
      if (!e) continue;
      const cidr = /^(.+)\/(\d{1,3})$/.exec(e);
      const ip = unwrapMappedIpv4(cidr ? cidr[1] : e);
      const family = isIP(ip);
      if (family) {
        const bits = cidr ? Number(cidr[2]) : family === 4 ? 32 : 128;
        this.nets.addSubnet(ip, bits, family === 4 ? 'ipv4' : 'ipv6');
      } else if (e.startsWith('*.')) this.suffixes.push(e.slice(1));
      else this.hosts.add(e.replace(/\.$/, ''));
    }
  }

  /** Is this URL host (a name, or an address literal) listed by name? */
  allowsHost(host: string): boolean {
    const h = host
      .toLowerCase()
      .replace(/^\[|\]$/g, '')
      .replace(/\.$/, '');
    return this.hosts.has(h) || this.suffixes.some((s) => h.endsWith(s));
  }

  /** Is this resolved address inside a listed CIDR? */
  allowsAddress(address: string): boolean {
    const a = unwrapMappedIpv4(address);
    const family = isIP(a);
    return family !== 0 && this.nets.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** One sentence saying why an OUTBOUND_MEDIA_ALLOW entry is not usable, or null when it is. */
export function allowEntryProblem(entry: string): string | null {
  const e = entry.trim();
  const cidr = /^(.+)\/(\d{1,3})$/.exec(e);
  if (cidr) {
    const family = isIP(cidr[1]);
    if (!family) return `"${e}" is not a CIDR (an IP address, "/", a prefix length)`;
    if (Number(cidr[2]) > (family === 4 ? 32 : 128)) return `"${e}" has a prefix length above ${family === 4 ? 32 : 128}`;
    return null;
  }
  if (isIP(e) || /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(e)) return null;
  return `"${e}" is neither a host name nor an IP address or CIDR`;
}
