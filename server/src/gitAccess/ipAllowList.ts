import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * Per-token IP allow-lists (`allowedIps`): entries are IPv4 or IPv6 addresses or CIDR ranges,
 * checked here and nowhere else, for the git routes and the auth hook alike (decision.ts) and
 * for what create and edit accept (services/tokens.ts). An empty list allows every address.
 */

export const MAX_ALLOWED_IPS = 20;

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

export type AllowListEntryResult = { ok: true; entry: string } | { ok: false; message: string };

/**
 * One entry in its normal form ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7"), or why it is refused.
 * Only the strict spellings count: no "127.1", no "0x7f.0.0.1", no zone ("fe80::1%eth0").
 */
export function normalizeAllowListEntry(raw: string): AllowListEntryResult {
  const text = raw.trim();
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  const refused = {
    ok: false as const,
    message: `"${raw}" is not an IPv4 or IPv6 address or CIDR range (e.g. 192.0.2.0/24, 2001:db8::/32)`,
  };
  if (family === 0 || address.includes("%")) return refused;
  const ip = toPlain(ipaddr.parse(address));
  if (slash < 0) return { ok: true, entry: ip.toString() };
  const bitsText = text.slice(slash + 1);
  const maxBits = ip.kind() === "ipv4" ? 32 : 128;
  // A mapped IPv6 range ("::ffff:10.0.0.0/104") is written as the IPv4 range it means.
  let bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (family === 6 && ip.kind() === "ipv4") bits -= 96;
  if (!Number.isInteger(bits) || bits < 0 || bits > maxBits) return refused;
  const network =
    ip.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(`${ip.toString()}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${ip.toString()}/${bits}`);
  return { ok: true, entry: `${network.toString()}/${bits}` };
}

/** The entries in normal form, duplicates dropped, or the first refused one's message. */
export function normalizeAllowList(entries: string[]): { ok: true; entries: string[] } | { ok: false; message: string } {
  const normal: string[] = [];
  for (const raw of entries) {
    const result = normalizeAllowListEntry(raw);
    if (!result.ok) return result;
    if (!normal.includes(result.entry)) normal.push(result.entry);
  }
  if (normal.length > MAX_ALLOWED_IPS) return { ok: false, message: `allowedIps holds at most ${MAX_ALLOWED_IPS} entries` };
  return { ok: true, entries: normal };
}

// Stored lists are already normal; parsing them once per distinct list keeps the hot path cheap.
const parsedLists = new Map<string, Range[]>();

function ranges(entries: readonly string[]): Range[] {
  const key = entries.join(",");
  let parsed = parsedLists.get(key);
  if (!parsed) {
    parsed = entries.map((entry): Range => {
      if (entry.includes("/")) return ipaddr.parseCIDR(entry);
      const ip = ipaddr.parse(entry);
      return [ip, ip.kind() === "ipv4" ? 32 : 128];
    });
    if (parsedLists.size >= 10_000) parsedLists.clear();
    parsedLists.set(key, parsed);
  }
  return parsed;
}

/** Whether a client address may use a token with this list; an unknown address never matches a non-empty list. */
export function allowListPermits(entries: readonly string[], address: string | null): boolean {
  if (entries.length === 0) return true;
  if (!address || isIP(address) === 0) return false;
  const ip = toPlain(ipaddr.parse(address));
  return ranges(entries).some(([network, bits]) => network.kind() === ip.kind() && ip.match(network, bits));
}

/** IPv4-mapped IPv6 (::ffff:192.0.2.1) is the IPv4 address, as clientAddress reads it. */
function toPlain(ip: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip;
}
