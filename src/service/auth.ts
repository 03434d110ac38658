import { createHash } from "node:crypto";

/** The owner of everything when authentication is off (no `API_KEYS`), and of data from before it. */
export const ANONYMOUS = "anonymous";

/**
 * The owner id of an API key: `key_` and 32 hex digits of its SHA-256. Jobs and stored data sets
 * are stored under it, so the database never holds a key; the same key finds them again after a
 * restart. A rotated key is a new owner.
 */
export function ownerOf(key: string): string {
  return `key_${createHash("sha256").update(key, "utf8").digest("hex").slice(0, 32)}`;
}

/**
 * The configured API keys, looked up by hash: comparing hashes rather than the keys themselves
 * leaves no timing signal about a key's characters.
 */
export class ApiKeys {
  private readonly owners: Set<string>;

  constructor(keys: readonly string[]) {
    this.owners = new Set(keys.map(ownerOf));
  }

  /** Whether requests must carry a key (some are configured). */
  get enabled(): boolean {
    return this.owners.size > 0;
  }

  /**
   * The key a request presents: `Authorization: Bearer <key>` or, without an Authorization
   * header, `x-api-key: <key>`. An Authorization header of another scheme presents an invalid
   * (empty) key rather than falling through to x-api-key.
   */
  static presented(headers: Record<string, string | string[] | undefined>): string | undefined {
    const authorization = headers.authorization;
    if (typeof authorization === "string") {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      return match ? match[1] : "";
    }
    const header = headers["x-api-key"];
    return typeof header === "string" ? header.trim() : undefined;
  }

  /** The owner id of `key` when it is one of the configured keys. */
  ownerOf(key: string | undefined): string | undefined {
    if (!key) return undefined;
    const owner = ownerOf(key);
    return this.owners.has(owner) ? owner : undefined;
  }
}
