/**
 * The rules of `handler.allow_net`: which entries are well formed (a
 * concrete `host:port`, no wildcards, no unspecified address), which reach
 * this machine's loopback (allowed only with `cortex serve
 * --allow-loopback-net`), and which name one of the server's own ports
 * (never allowed: a net grant also lets the handler listen there).
 *
 * Pure: the same checks run when cortex.yaml is loaded (with line numbers),
 * when a deploy or patch arrives, and when the serving process computes a
 * replica's permissions.
 *
 * @module
 */

/** A well-formed `allow_net` entry. */
export interface NetEntry {
  /** Lower-case host; an IPv6 address without its brackets. */
  host: string;
  port: number;
  /** The address is IPv6 (written in brackets). */
  ipv6: boolean;
  /** The host is a loopback address or a name for one. */
  loopback: boolean;
}

/** One port the server itself listens on. */
export interface OwnPort {
  port: number;
  /** How messages name it: "HTTP", "gRPC", "control". */
  what: string;
  /**
   * The server listens on it on loopback only (the control API), so only
   * loopback entries can reach it.
   */
  loopbackOnly?: boolean;
}

/** What the server allows beyond well-formed entries. */
export interface NetRules {
  /** `cortex serve --allow-loopback-net`: loopback entries are allowed. */
  allowLoopback: boolean;
  /** The server's own ports (0 or unknown ports are left out). */
  ownPorts: OwnPort[];
}

/** The serve flag that allows loopback entries. */
export const LOOPBACK_FLAG = "--allow-loopback-net";

/** The shape every entry must have, for messages. */
export const NET_ENTRY_HINT =
  'expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"';

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Names that resolve to loopback on common systems (RFC 6761, /etc/hosts). */
const LOOPBACK_NAMES = new Set([
  "localhost",
  "localhost.localdomain",
  "ip6-localhost",
  "ip6-loopback",
]);

/**
 * Parses an `allow_net` entry.
 *
 * @param text The entry as written.
 * @returns The entry, or why it is not a concrete `host:port`.
 */
export function parseNetEntry(text: string): NetEntry | string {
  if (text.includes("*")) {
    return `wildcards are not allowed: list each host and port, ${NET_ENTRY_HINT}`;
  }
  let host: string;
  let port: string | undefined;
  let ipv6 = false;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    ipv6 = true;
    host = bracketed[1]!.toLowerCase();
    port = bracketed[2];
    if (parseIpv6(host) === null) {
      return `expected an IPv6 address in brackets, e.g. "[2001:db8::1]:443"`;
    }
  } else {
    if (text.split(":").length > 2) {
      return 'expected an IPv6 address in brackets, e.g. "[2001:db8::1]:443"';
    }
    const colon = text.indexOf(":");
    host = (colon < 0 ? text : text.slice(0, colon)).toLowerCase();
    port = colon < 0 ? undefined : text.slice(colon + 1);
    const problem = hostProblem(host);
    if (problem !== null) return problem;
  }
  if (port === undefined || port === "") {
    return `a port is required: ${NET_ENTRY_HINT}`;
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
    return "the port must be an integer from 1 to 65535";
  }
  if (isUnspecified(host, ipv6)) {
    return `the unspecified address means "any address" (it reaches this machine): ${NET_ENTRY_HINT}`;
  }
  return { host, port: n, ipv6, loopback: isLoopbackHost(host, ipv6) };
}

/** Why `host` (not bracketed) is not a host name or dotted IPv4 address. */
function hostProblem(host: string): string | null {
  if (host === "" || host.length > 253) return NET_ENTRY_HINT;
  const labels = host.split(".");
  if (!labels.every((l) => LABEL.test(l))) return NET_ENTRY_HINT;
  // Resolvers read "127.1", "0x7f.0.0.1" or "017.0.0.1" as IPv4 addresses
  // (inet_aton): a host whose last label is numeric must be a plain
  // dotted quad, so it is checked as the address it is.
  if (/^(0x[0-9a-f]*|\d+)$/.test(labels[labels.length - 1]!)) {
    if (parseIpv4(host) === null) {
      return `expected a host name or an IPv4 address of four decimal numbers 0-255 without leading zeros, e.g. "10.0.0.1:8080"`;
    }
  }
  return null;
}

/** Parses a canonical dotted-quad IPv4 address. */
export function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    out.push(Number(part));
  }
  return out;
}

/** Parses an IPv6 address (no brackets, no zone) into 8 16-bit groups. */
export function parseIpv6(text: string): number[] | null {
  if (text.includes("%")) return null;
  let groups = text;
  let tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const four = parseIpv4(v4[2]!);
    if (four === null) return null;
    tail = [(four[0]! << 8) | four[1]!, (four[2]! << 8) | four[3]!];
    groups = v4[1]!.endsWith("::") ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = groups.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) =>
    s === ""
      ? []
      : s.split(":").map((g) =>
        /^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN
      );
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if ([...head, ...rest].some((n) => Number.isNaN(n))) return null;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1) {
    return known === 8 ? [...head, ...tail] : null;
  }
  if (known > 7) return null;
  return [...head, ...new Array(8 - known).fill(0), ...rest, ...tail];
}

/** The IPv4 address an IPv6 one maps or embeds (::ffff:a.b.c.d, ::a.b.c.d). */
function embeddedIpv4(groups: number[]): number | null {
  const zeros = groups.slice(0, 5).every((g) => g === 0);
  if (!zeros) return null;
  if (groups[5] === 0xffff || (groups[5] === 0 && groups[6] !== 0)) {
    return groups[6]! >> 8;
  }
  return null;
}

function isUnspecified(host: string, ipv6: boolean): boolean {
  if (ipv6) {
    const groups = parseIpv6(host)!;
    if (groups.every((g) => g === 0)) return true;
    return embeddedIpv4(groups) === 0;
  }
  const four = parseIpv4(host);
  return four !== null && four[0] === 0; // 0.0.0.0/8: "this host"
}

/** True when `host` is a loopback address or a name for one. */
function isLoopbackHost(host: string, ipv6: boolean): boolean {
  if (ipv6) {
    const groups = parseIpv6(host)!;
    if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) {
      return true;
    }
    return embeddedIpv4(groups) === 127;
  }
  const four = parseIpv4(host);
  if (four !== null) return four[0] === 127;
  return LOOPBACK_NAMES.has(host) || host.endsWith(".localhost");
}

/**
 * Why the server refuses `text` as an `allow_net` entry, or null when it
 * is allowed.
 *
 * @param text The entry as written.
 * @param rules The server's rules; without them only the form is checked
 *   (`cortex validate`, a project loaded outside a server).
 */
export function netEntryProblem(
  text: string,
  rules?: NetRules,
): string | null {
  const entry = parseNetEntry(text);
  if (typeof entry === "string") return entry;
  if (rules === undefined) return null;
  if (entry.loopback && !rules.allowLoopback) {
    return `a loopback address: handlers may not reach this machine's own services unless the server was started with ${LOOPBACK_FLAG}`;
  }
  for (const own of rules.ownPorts) {
    if (own.port !== entry.port) continue;
    if (own.loopbackOnly && !entry.loopback) continue;
    return `port ${own.port} is this server's ${own.what} port: handlers may never reach or listen on the server's own ports (call another API at http://api-<name>:8888 instead)`;
  }
  return null;
}

/**
 * The server's own ports as {@linkcode NetRules} list them: ports of 0 (not
 * known yet) are left out.
 */
export function ownPorts(
  ports: {
    http?: number | null;
    grpc?: number | null;
    control?: number | null;
  },
): OwnPort[] {
  const out: OwnPort[] = [];
  if (ports.http) out.push({ port: ports.http, what: "HTTP" });
  if (ports.grpc) out.push({ port: ports.grpc, what: "gRPC" });
  if (ports.control) {
    out.push({ port: ports.control, what: "control", loopbackOnly: true });
  }
  return out;
}
