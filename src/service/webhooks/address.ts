import { type LookupAddress, lookup } from "node:dns";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * Where webhooks may be sent (against SSRF): public unicast addresses only, as ipaddr.js classes
 * them (`range() === "unicast"`), IPv4-mapped IPv6 read as the IPv4 address it carries. Private,
 * loopback, link-local (169.254.169.254, the cloud metadata address, among them), carrier-grade
 * NAT, unique-local, multicast, reserved and translation ranges are refused; loopback is let
 * through only with WEBHOOK_ALLOW_INSECURE (a receiver on this machine, for tests and development).
 */
export interface AddressPolicy {
  /** WEBHOOK_ALLOW_INSECURE: `http` to loopback addresses, and loopback addresses at all. */
  allowInsecure: boolean;
}

/** Why `address` (an IP address) may not be sent to, or undefined when it may. */
export function refusedAddress(address: string, policy: AddressPolicy): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const ip = ipaddr.process(address);
  // IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291 §2.5.5.1): ipaddr.js reads the dotted
  // spelling as the IPv4 address but calls the hex one the URL parser writes (::7f00:1) unicast.
  if (ip.kind() === "ipv6" && isIpv4Compatible(ip as ipaddr.IPv6))
    return `${ip.toString()} is not a public address (ipv4Compatible: a deprecated IPv6 form of an IPv4 address)`;
  const range = ip.range();
  if (range === "unicast") return undefined;
  if (range === "loopback" && policy.allowInsecure) return undefined;
  return `${ip.toString()} is not a public address (${range}${range === "loopback" ? "; WEBHOOK_ALLOW_INSECURE is not set" : ""})`;
}

/** Whether the first 96 bits are zero (`::/96`), apart from `::` and `::1`, which have ranges of their own. */
function isIpv4Compatible(ip: ipaddr.IPv6): boolean {
  const p = ip.parts;
  return p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1);
}

/** A URL's host as an address or name (IPv6 literals lose their brackets). */
function hostOf(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Why `text` may not be a webhook endpoint, before any name is resolved, or undefined: an https
 * URL (http only with WEBHOOK_ALLOW_INSECURE), without credentials or fragment, whose host, if an
 * address, passes `refusedAddress`. The WHATWG parser has already rewritten other IPv4 spellings
 * (`0x7f.1`, `2130706433`) to dotted decimal.
 */
export function refusedUrl(text: string, policy: AddressPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "expected an absolute URL (https://host/path)";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return `expected an https URL, got ${url.protocol.slice(0, 20)}`;
  if (url.protocol === "http:" && !policy.allowInsecure)
    return "expected an https URL (http is for loopback receivers, with WEBHOOK_ALLOW_INSECURE set)";
  if (url.username || url.password) return "a user name or password in the URL is not accepted";
  if (url.hash) return "a URL with a #fragment is not accepted";
  if (url.port === "0") return "port 0 is not a port a receiver can listen on";
  const host = hostOf(url);
  if (isIP(host)) return refusedFor(url, host, policy);
  return undefined;
}

/** `refusedAddress`, and for an http URL: loopback only. */
function refusedFor(url: URL, address: string, policy: AddressPolicy): string | undefined {
  const refused = refusedAddress(address, policy);
  if (refused) return refused;
  if (url.protocol === "http:" && ipaddr.process(address).range() !== "loopback")
    return `http is for loopback receivers only; ${address} is not one (use https)`;
  return undefined;
}

/** Every address `host` resolves to (the system resolver, as a connection would). */
function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    lookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );
}

/**
 * `refusedUrl`, then the host's addresses: each one it resolves to must pass (a name with one
 * private address among public ones is refused, since a connection may pick it).
 */
export async function refusedEndpoint(text: string, policy: AddressPolicy): Promise<string | undefined> {
  const refused = refusedUrl(text, policy);
  if (refused) return refused;
  const url = new URL(text);
  const host = hostOf(url);
  if (isIP(host)) return undefined;
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(host);
  } catch (err) {
    return `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? "lookup failed"})`;
  }
  for (const { address } of addresses) {
    const why = refusedFor(url, address, policy);
    if (why) return `${host} resolves to ${address}: ${why}`;
  }
  return undefined;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for `http.request` that resolves the name, checks every address (`refusedFor`), and
 * hands the connection only checked ones: the address connected to is the address checked, so
 * a name that resolves elsewhere between the check and the connection (DNS rebinding) is caught.
 */
export function checkedLookup(url: URL, policy: AddressPolicy) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    resolveAll(hostname).then(
      (addresses) => {
        for (const { address } of addresses) {
          const why = refusedFor(url, address, policy);
          if (why) {
            const err: NodeJS.ErrnoException = new Error(
              `refused: ${hostname} resolves to ${address}: ${why}`,
            );
            err.code = "EWEBHOOKADDRESS";
            callback(err, []);
            return;
          }
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}
