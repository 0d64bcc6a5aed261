/**
 * `redis://` and `rediss://` URLs, as the Python libraries Larder replaces take them
 * (`redis://[user[:password]@]host[:port][/db]`), checked with the fix named in each error. A
 * `?cluster=true` query (or several URLs) means the seed nodes of a Redis Cluster. Credentials
 * never appear in messages: the URL is shown with them masked.
 *
 * @module
 */
import { ConfigError } from "../core/errors.ts";

/** One parsed URL: where to connect and how. */
export interface RedisAddress {
  /** Host name or address. */
  readonly host: string;
  /** TCP port. @default 6379 */
  readonly port: number;
  /** ACL user name, when given. */
  readonly username?: string;
  /** Password, when given. */
  readonly password?: string;
  /** Database index from the path (`/2`), when given. */
  readonly db?: number;
  /** `rediss://`: TLS. */
  readonly tls: boolean;
  /** `?cluster=true`. */
  readonly cluster: boolean;
}

/** The URL with its user name and password replaced by `***`, for messages. */
export function maskUrl(text: string): string {
  return text.replace(/\/\/[^/@]*@/, "//***@");
}

/** Parses one URL; `where` names the option in errors (e.g. `redisStore: \`url\``). */
export function parseRedisUrl(text: unknown, where: string): RedisAddress {
  if (typeof text !== "string" || text.trim() === "") {
    throw new ConfigError(`${where} must be a redis:// or rediss:// URL, e.g. redis://localhost:6379/0`);
  }
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError(
      `${where} is not a valid URL: ${
        JSON.stringify(maskUrl(text))
      }; expected redis://[user:password@]host[:port][/db]`,
    );
  }
  const shown = JSON.stringify(maskUrl(text));
  if (url.protocol === "http:" || url.protocol === "https:") {
    throw new ConfigError(
      `${where} is an ${url.protocol}// URL (${shown}): that is a REST endpoint; use upstashStore from "larder/stores/upstash" with its token, or give a redis:// URL`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new ConfigError(
      `${where} must start with redis:// (or rediss:// for TLS), got ${JSON.stringify(url.protocol)} in ${shown}`,
    );
  }
  if (url.hostname === "") throw new ConfigError(`${where} has no host: ${shown}`);
  if (url.hash) throw new ConfigError(`${where} must not have a fragment (#…): ${shown}`);
  const port = url.port === "" ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\/+/, "");
  let db: number | undefined;
  if (path !== "") {
    if (!/^\d{1,5}$/.test(path)) {
      throw new ConfigError(`${where}: the path must be a database index such as /0, got /${path} in ${shown}`);
    }
    db = Number(path);
  }
  let cluster = false;
  for (const [name, value] of url.searchParams) {
    if (name !== "cluster") {
      throw new ConfigError(`${where}: unknown query parameter "${name}" in ${shown} (only ?cluster=true is known)`);
    }
    if (value !== "true" && value !== "false") {
      throw new ConfigError(`${where}: cluster must be true or false, got ${JSON.stringify(value)}`);
    }
    cluster = value === "true";
  }
  const decode = (part: string): string | undefined => part === "" ? undefined : decodeURIComponent(part);
  const username = decode(url.username);
  const password = decode(url.password);
  return {
    // `new URL` keeps the brackets of an IPv6 literal; sockets want the bare address.
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(db === undefined ? {} : { db }),
    tls: url.protocol === "rediss:",
    cluster,
  };
}
