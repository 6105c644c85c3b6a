import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** Verified (user, password) pairs remembered at once; past it the oldest is forgotten. */
const CACHE_LIMIT = 1000;

/**
 * HTTP basic auth against bcrypt hashes. A bcrypt check costs about 0.1 s of CPU at cost 10, so
 * a pair that checked out is remembered (as a SHA-256 of user, hash and password, never the
 * password itself) and the same scrape credentials every second cost one hash lookup. Checks of
 * the same pair that arrive together share one bcrypt run. Failed checks are not remembered, so
 * guessing stays as slow as bcrypt makes it.
 */
export class BasicAuth {
  readonly #users: ReadonlyMap<string, string>;
  /** A hash to spend the same time on when the user is unknown, so timing does not tell which users exist. */
  readonly #decoyHash: string;
  readonly #verified = new Set<string>();
  readonly #checking = new Map<string, Promise<boolean>>();

  constructor(users: ReadonlyMap<string, string>) {
    if (users.size === 0) throw new Error('BasicAuth needs at least one user');
    this.#users = users;
    this.#decoyHash = users.values().next().value!;
  }

  /** True when the Authorization header names a configured user with that user's password. */
  async check(authorization: string | undefined): Promise<boolean> {
    const credentials = parseBasic(authorization);
    if (!credentials) return false;
    const hash = this.#users.get(credentials.user);
    if (hash === undefined) {
      await bcrypt.compare(credentials.password, this.#decoyHash);
      return false;
    }
    const key = createHash('sha256').update(credentials.user).update('\0').update(hash).update('\0').update(credentials.password).digest('base64');
    if (this.#verified.has(key)) return true;
    let pending = this.#checking.get(key);
    if (!pending) {
      pending = bcrypt.compare(credentials.password, hash).finally(() => this.#checking.delete(key));
      this.#checking.set(key, pending);
    }
    const ok = await pending;
    if (ok) this.#remember(key);
    return ok;
  }

  #remember(key: string): void {
    if (this.#verified.has(key)) return;
    if (this.#verified.size >= CACHE_LIMIT) this.#verified.delete(this.#verified.values().next().value!);
    this.#verified.add(key);
  }
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
