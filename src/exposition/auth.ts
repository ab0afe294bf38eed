/**
 * Credentials on /metrics: bearer tokens and basic auth, as Prometheus sends them
 * (`authorization` and `basic_auth` in a scrape config).
 *
 * Each presented credential is hashed and compared with `timingSafeEqual` against the digest
 * of every configured one, all of them every time: neither the position of the first wrong
 * byte, nor the length, nor which credential matched shows in the response time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../errors.js';
import { optionsObject } from '../catalog/validate.js';

/** A username and password accepted by basic auth. */
export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Who may scrape. A request passes when it carries any one of the configured credentials;
 * with both kinds configured, either works. Give more than one token or user to rotate a
 * credential without a failed scrape. Over plain HTTP a credential crosses the network in
 * clear text: serve TLS (`listen({ tls })`) or keep the port on loopback.
 */
export interface ScrapeAuthOptions {
  /** Accepted `Authorization: Bearer <token>` values. */
  readonly bearerToken?: string | readonly string[];
  /** Accepted `Authorization: Basic` users. */
  readonly basic?: BasicCredentials | readonly BasicCredentials[];
  /** Realm named in the `WWW-Authenticate` challenge. @default 'metrics' */
  readonly realm?: string;
}

/** Checks a request; on refusal it has already answered `401` with the challenges. */
export type AuthGuard = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The longest `Authorization` header looked at; longer ones are refused unread. */
const MAX_AUTHORIZATION = 4096;

// RFC 6750 b64token and RFC 7230 token characters: what can travel in the header at all.
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const REALM = /^[\x20-\x7e]{1,100}$/;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function list<T>(v: T | readonly T[] | undefined): readonly T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as readonly T[]) : [v as T];
}

/** Returns undefined when `options` is undefined (no auth). Throws {@link ConfigError} on bad options. */
export function createAuthGuard(options: ScrapeAuthOptions | undefined, path: string): AuthGuard | undefined {
  if (options === undefined) return undefined;
  const o = optionsObject(options, path) as ScrapeAuthOptions;
  const tokens = list(o.bearerToken).map((t, i) => {
    const p = Array.isArray(o.bearerToken) ? `${path}.bearerToken[${i}]` : `${path}.bearerToken`;
    if (typeof t !== 'string' || !BEARER_TOKEN.test(t)) throw new ConfigError(p, 'a non-empty token of letters, digits and -._~+/ (what an Authorization header can carry)', '<redacted>');
    return digest(t);
  });
  const users = list(o.basic).map((u, i) => {
    const p = Array.isArray(o.basic) ? `${path}.basic[${i}]` : `${path}.basic`;
    if (typeof u !== 'object' || u === null) throw new ConfigError(p, 'an object with username and password', u);
    const { username, password } = u;
    // RFC 7617: the user-id cannot hold a colon; control characters cannot be typed by a client.
    if (typeof username !== 'string' || username === '' || /[:\p{Cc}]/u.test(username)) {
      throw new ConfigError(`${p}.username`, 'a non-empty string without ":" or control characters', username);
    }
    if (typeof password !== 'string' || password === '' || /\p{Cc}/u.test(password)) {
      throw new ConfigError(`${p}.password`, 'a non-empty string without control characters', '<redacted>');
    }
    return digest(`${username}:${password}`);
  });
  if (tokens.length === 0 && users.length === 0) throw new ConfigError(path, 'at least one bearerToken or basic user', 'none');
  const realm = o.realm ?? 'metrics';
  if (typeof realm !== 'string' || !REALM.test(realm) || realm.includes('"') || realm.includes('\\')) {
    throw new ConfigError(`${path}.realm`, 'printable ASCII without quotes or backslashes, 1 to 100 characters', realm);
  }
  const challenges = [
    ...(tokens.length > 0 ? [`Bearer realm="${realm}"`] : []),
    ...(users.length > 0 ? [`Basic realm="${realm}", charset="UTF-8"`] : []),
  ];

  const matches = (presented: Buffer, accepted: readonly Buffer[]): boolean => {
    let ok = false;
    // No early exit: every configured credential is compared on every request.
    for (const a of accepted) ok = timingSafeEqual(presented, a) || ok;
    return ok;
  };
  const allowed = (header: string | undefined): boolean => {
    if (typeof header !== 'string' || header.length > MAX_AUTHORIZATION) return false;
    const space = header.indexOf(' ');
    if (space === -1) return false;
    // The scheme is case-insensitive (RFC 7235); what follows is taken as sent, less outer blanks.
    const scheme = header.slice(0, space).toLowerCase();
    const rest = header.slice(space + 1).trim();
    if (scheme === 'bearer') return tokens.length > 0 && matches(digest(rest), tokens);
    if (scheme === 'basic') return users.length > 0 && matches(digest(Buffer.from(rest, 'base64').toString('utf8')), users);
    return false;
  };

  return (req, res) => {
    if (allowed(req.headers.authorization)) return true;
    res
      .writeHead(401, { 'WWW-Authenticate': challenges, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
      .end('unauthorized\n');
    return false;
  };
}
