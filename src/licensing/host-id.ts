/**
 * This host's id (`chat-connector license host-id`), the value feature 42 and 31 are bound to.
 *
 * Derived from the machine's own identity: `/etc/machine-id` (or `/var/lib/dbus/machine-id`);
 * when neither exists (some containers), the MAC addresses of the non-internal network
 * interfaces plus the hostname. The material is hashed (SHA-256 with a fixed label) and the
 * first 80 bits are shown as RFC 4648 base32 in four groups: `H1-XXXX-XXXX-XXXX-XXXX`.
 * The raw machine id is never shown. Same machine → same id across restarts; another
 * machine → another id.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';

/** Where the machine identity comes from; injectable for tests. */
export interface HostIdentitySource {
  /** The machine id (trimmed), or null when the machine has none. */
  machineId(): string | null;
  /** MAC addresses of non-internal interfaces. */
  macAddresses(): string[];
  hostname(): string;
}

export const MACHINE_ID_PATHS = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

export const systemHostIdentity: HostIdentitySource = {
  machineId() {
    for (const p of MACHINE_ID_PATHS) {
      try {
        const v = readFileSync(p, 'utf8').trim();
        if (v && !/^0+$/.test(v) && v !== 'uninitialized') return v;
      } catch {
        // try the next one
      }
    }
    return null;
  },
  macAddresses() {
    const out: string[] = [];
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) {
        if (!i.internal && i.mac && i.mac !== '00:00:00:00:00:00') out.push(i.mac.toLowerCase());
      }
    }
    return out;
  },
  hostname: () => hostname(),
};

/** How the id was derived (never the material itself). */
export type HostIdBasis = 'machine-id' | 'mac-and-hostname';

export interface HostIdInfo {
  hostId: string;
  basis: HostIdBasis;
}

export function describeHostId(source: HostIdentitySource = systemHostIdentity): HostIdInfo {
  const mid = source.machineId();
  if (mid) return { hostId: formatHostId(`machine-id:${mid.toLowerCase()}`), basis: 'machine-id' };
  const macs = [...new Set(source.macAddresses().map((m) => m.toLowerCase()))].sort();
  const material = `mac:${macs.join(',')};host:${source.hostname().trim().toLowerCase()}`;
  return { hostId: formatHostId(material), basis: 'mac-and-hostname' };
}

/** This host's id, e.g. `H1-7QKD-M2ZC-XA4P-E9RT`. */
export function computeHostId(source: HostIdentitySource = systemHostIdentity): string {
  return describeHostId(source).hostId;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function formatHostId(material: string): string {
  const digest = createHash('sha256').update('chat-connector host id v1\0').update(material).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest.subarray(0, 10)) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return `H1-${out.match(/.{4}/g)!.join('-')}`;
}
