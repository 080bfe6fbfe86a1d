/**
 * The shared store: Postgres, for any number of server instances (`DATABASE_URL=postgres://...` selects it). Users,
 * refresh-token families, tickets, avatars and the rate-limit counters all live in the database, so rotation, reuse
 * detection and rate limits hold across instances. Through the well-kept `pg` driver in production; the same SQL runs
 * on PGlite (Postgres in-process) in unit tests.
 */
import { migrate, POSTGRES_MIGRATIONS } from './migrations';
import {
  consultHook,
  eraseAccount,
  identitiesOf,
  PhoneTakenError,
  refreshVerdict,
  type DeleteAccountOptions,
  type DeletionSql,
  type Erasure,
  type Purged,
  type RefreshRow,
  type Rotation,
  type Store,
  type TicketRow,
  type UserRow,
} from './store';

/** What the store needs from a Postgres connection. */
export interface SqlClient {
  query(text: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number }>;
}

/** A pool: queries, transactions on one connection, close. */
export interface SqlPool extends SqlClient {
  transaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A `pg.Pool` as a `SqlPool`. `BIGINT` columns are read as numbers (epoch ms fit in 2^53). */
export async function pgPool(connectionString: string): Promise<SqlPool> {
  const pg = await import('pg');
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    types: {
      getTypeParser: ((oid: number, format?: string) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as never,
    },
  });
  // node-postgres: an idle client whose connection the database ends (restart, failover, shutdown) makes the pool emit
  // 'error'; unhandled, that would end the process. The pool drops that client and connects anew on the next query.
  pool.on('error', (error) => console.warn(`postgres: an idle connection was lost (${error.message}); it will be replaced`));
  const client = (c: { query: (t: string, p?: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }> }): SqlClient => ({
    query: async (text, params) => {
      const result = await c.query(text, params);
      return { rows: result.rows as Array<Record<string, unknown>>, rowCount: result.rowCount ?? 0 };
    },
  });
  return {
    ...client(pool),
    async transaction(work) {
      const connection = await pool.connect();
      try {
        await connection.query('BEGIN');
        const result = await work(client(connection));
        await connection.query('COMMIT');
        return result;
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Opens and migrates a Postgres store over `pool`. The whole migration runs in one transaction under an advisory
 * lock, so instances starting at once take turns: one migrates, the others find the work done.
 */
export async function openPostgresStore(pool: SqlPool): Promise<PostgresStore> {
  await pool.transaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(727272)');
    await migrate(
      {
        init: async () => void (await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)')),
        version: async () => Number((await client.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0].v),
        apply: async (version, sql) => {
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
        },
      },
      POSTGRES_MIGRATIONS,
    );
  });
  return new PostgresStore(pool);
}

const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function user(row: Record<string, unknown> | undefined): UserRow | undefined {
  return row && ({ ...row, created_at: num(row.created_at) } as unknown as UserRow);
}
function ticket(row: Record<string, unknown> | undefined): TicketRow | undefined {
  return row && ({ ...row, expires_at: num(row.expires_at) } as unknown as TicketRow);
}
function refresh(row: Record<string, unknown> | undefined): RefreshRow | undefined {
  return (
    row &&
    ({
      ...row,
      expires_at: num(row.expires_at),
      used_at: numOrNull(row.used_at),
      revoked_at: numOrNull(row.revoked_at),
    } as unknown as RefreshRow)
  );
}

async function revoke(client: SqlClient, family: string, now: number): Promise<void> {
  await client.query('UPDATE refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL', [now, family]);
  await client.query('INSERT INTO revoked_families (family, revoked_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [family, now]);
}

const USER_BY_OPENID =
  'SELECT users.* FROM identities JOIN users ON users.id = identities.user_id WHERE identities.source = $1 AND identities.openid = $2';
const USER_BY_UNIONID = 'SELECT * FROM users WHERE unionid = $1';

/** The first key of the advisory locks that serialise one owner's avatar reservations (the migration uses 727272 alone). */
const AVATAR_LOCK = 727273;

/** Postgres's unique_violation SQLSTATE. */
const UNIQUE_VIOLATION = '23505';

/** How long (ms) an instance trusts "this family is not revoked" before asking the database again. */
const REVOCATION_CACHE_MS = 1000;

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  /**
   * family → until when (epoch ms) it is known not revoked. Every authenticated request checks its family; the cache
   * spares a round trip per request at the price of a revocation reaching the *other* instances up to 1 s late (this
   * instance forgets the family at once when it revokes it).
   */
  private notRevoked = new Map<string, number>();

  constructor(private readonly pool: SqlPool) {}

  async userByOpenid(source: string, openid: string) {
    return user((await this.pool.query(USER_BY_OPENID, [source, openid])).rows[0]);
  }
  async userByUnionid(unionid: string) {
    return user((await this.pool.query(USER_BY_UNIONID, [unionid])).rows[0]);
  }
  async linkIdentity(source: string, openid: string, userId: string) {
    await this.pool.query('INSERT INTO identities (source, openid, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      source,
      openid,
      userId,
    ]);
  }
  async userById(id: string) {
    return user((await this.pool.query('SELECT * FROM users WHERE id = $1', [id])).rows[0]);
  }
  async registerUser(u: Parameters<Store['registerUser']>[0]) {
    return this.pool.transaction(async (client) => {
      // Insert-or-get: a unique key taken ((source, openid), unionid, phone) — by a transaction still open on another
      // instance too: Postgres waits for it — leaves the row out; which one says why.
      const inserted = await client.query(
        `INSERT INTO users (id, source, openid, unionid, nick_name, avatar_url, phone, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT DO NOTHING`,
        [u.id, u.source, u.openid, u.unionid, u.nickName, u.avatarUrl, u.phone, u.now],
      );
      const created = inserted.rowCount === 1;
      const link = (userId: string) =>
        client.query('INSERT INTO identities (source, openid, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
          u.source,
          u.openid,
          userId,
        ]);
      if (created) await link(u.id);
      const own = user((await client.query(USER_BY_OPENID, [u.source, u.openid])).rows[0]);
      if (own) return { user: own, created };
      const family = u.unionid === null ? undefined : user((await client.query(USER_BY_UNIONID, [u.unionid])).rows[0]);
      if (!family) throw new PhoneTakenError();
      await link(family.id);
      return { user: user((await client.query(USER_BY_OPENID, [u.source, u.openid])).rows[0])!, created: false };
    });
  }
  async updateProfile(id: string, nickName: string, avatarUrl: string | null) {
    await this.pool.query('UPDATE users SET nick_name = $1, avatar_url = COALESCE($2, avatar_url) WHERE id = $3', [
      nickName,
      avatarUrl,
      id,
    ]);
  }
  async updatePhone(id: string, phone: string) {
    try {
      await this.pool.query('UPDATE users SET phone = $1 WHERE id = $2', [phone, id]);
    } catch (error) {
      if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) throw new PhoneTakenError();
      throw error;
    }
  }
  async saveTicket(t: TicketRow) {
    await this.pool.query(
      'INSERT INTO login_tickets (ticket, source, openid, unionid, session_key, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [t.ticket, t.source, t.openid, t.unionid, t.session_key, t.expires_at],
    );
  }
  async takeTicket(value: string, source: string) {
    return ticket(
      (await this.pool.query('DELETE FROM login_tickets WHERE ticket = $1 AND source = $2 RETURNING *', [value, source])).rows[0],
    );
  }
  async peekTicket(value: string, source: string) {
    return ticket((await this.pool.query('SELECT * FROM login_tickets WHERE ticket = $1 AND source = $2', [value, source])).rows[0]);
  }
  async saveRefreshToken(r: Parameters<Store['saveRefreshToken']>[0]) {
    await this.pool.query('INSERT INTO refresh_tokens (hash, family, user_id, source, expires_at) VALUES ($1, $2, $3, $4, $5)', [
      r.hash,
      r.family,
      r.userId,
      r.source,
      r.expiresAt,
    ]);
  }
  async rotateRefreshToken(
    hash: string,
    now: number,
    reuseIntervalMs: number,
    successor: { hash: string; expiresAt: number },
  ): Promise<Rotation> {
    return this.pool.transaction(async (client): Promise<Rotation> => {
      // FOR UPDATE: parallel rotations of one token, on any instance, take turns — a family never forks.
      const row = refresh((await client.query('SELECT * FROM refresh_tokens WHERE hash = $1 FOR UPDATE', [hash])).rows[0]);
      const owner = row && user((await client.query('SELECT * FROM users WHERE id = $1', [row.user_id])).rows[0]);
      const next =
        row && row.used_at !== null
          ? refresh((await client.query('SELECT * FROM refresh_tokens WHERE hash = $1', [successor.hash])).rows[0])
          : undefined;
      const verdict = refreshVerdict(row, owner !== undefined, now, reuseIntervalMs, next);
      if (typeof verdict === 'object') return verdict;
      if (verdict === 'revoke') {
        this.notRevoked.delete(row!.family);
        await revoke(client, row!.family, now);
        return { status: 'reused' };
      }
      if (verdict === 'rotate') await client.query('UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2', [now, hash]);
      // A repeat inside the reuse interval answers the successor already stored (inserted only if it is missing).
      const insert = 'INSERT INTO refresh_tokens (hash, family, user_id, source, expires_at) VALUES ($1, $2, $3, $4, $5)';
      await client.query(`${insert} ON CONFLICT (hash) DO NOTHING`, [
        successor.hash,
        row!.family,
        row!.user_id,
        row!.source,
        successor.expiresAt,
      ]);
      return { status: 'rotated', user: owner!, family: row!.family, source: row!.source };
    });
  }
  async familyOf(hash: string) {
    const row = (await this.pool.query('SELECT family FROM refresh_tokens WHERE hash = $1', [hash])).rows[0];
    return row ? String(row.family) : undefined;
  }
  async revokeFamily(family: string, now: number) {
    this.notRevoked.delete(family);
    await this.pool.transaction((client) => revoke(client, family, now));
  }
  async isFamilyRevoked(family: string) {
    const now = Date.now();
    if ((this.notRevoked.get(family) ?? 0) > now) return false;
    const revoked = (await this.pool.query('SELECT 1 FROM revoked_families WHERE family = $1', [family])).rows.length > 0;
    if (!revoked) {
      if (this.notRevoked.size >= 10_000) this.notRevoked = new Map();
      this.notRevoked.set(family, now + REVOCATION_CACHE_MS);
    }
    return revoked;
  }
  async deleteAccount(userId: string, options: DeleteAccountOptions): Promise<Erasure | undefined> {
    let open = true;
    const families: string[] = [];
    try {
      const erased = await this.pool.transaction(async (client) => {
        // The hook's connection: the deletion's own, refused once the transaction has ended.
        const sql: DeletionSql = {
          query: (text, params) =>
            open
              ? client.query(text, params)
              : Promise.reject(new Error('this account deletion has ended: its transaction takes no more statements')),
        };
        // FOR UPDATE: a second deletion, or a bind, of this account on any instance waits for this one to end.
        const row = user((await client.query('SELECT * FROM users WHERE id = $1 FOR UPDATE', [userId])).rows[0]);
        if (!row) return undefined;
        const identities = identitiesOf(
          row,
          (await client.query('SELECT source, openid FROM identities WHERE user_id = $1', [userId])).rows,
        );
        await consultHook(options.hook, { user: { ...row }, identities, sql });
        for (const r of (await client.query('SELECT DISTINCT family FROM refresh_tokens WHERE user_id = $1', [userId])).rows)
          families.push(String(r.family));
        // The shared erase writes `?`; Postgres numbers its parameters.
        const numbered: DeletionSql = {
          query: (text, params) => {
            let n = 0;
            return client.query(
              text.replace(/\?/g, () => `$${++n}`),
              params,
            );
          },
        };
        return eraseAccount(numbered, row, identities, options);
      });
      return erased;
    } finally {
      open = false;
      // This instance forgets at once that these families were live (others within REVOCATION_CACHE_MS).
      for (const family of families) this.notRevoked.delete(family);
    }
  }
  async reserveAvatar(a: Parameters<Store['reserveAvatar']>[0], since: number, cap: number) {
    return this.pool.transaction(async (client) => {
      // The owner's uploads take turns on every instance: count and insert under one transaction-scoped lock.
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [AVATAR_LOCK, a.owner]);
      const n = num(
        (await client.query('SELECT COUNT(*) AS n FROM avatars WHERE owner = $1 AND created_at >= $2', [a.owner, since])).rows[0].n,
      );
      if (n >= cap) return false;
      await client.query(
        "INSERT INTO avatars (id, source, owner, content_type, data, created_at, claimed) VALUES ($1, $2, $3, '', $4, $5, $6)",
        [a.id, a.source, a.owner, Buffer.alloc(0), a.now, a.claimed],
      );
      return true;
    });
  }
  async releaseAvatar(id: string) {
    await this.pool.query("DELETE FROM avatars WHERE id = $1 AND content_type = ''", [id]);
  }
  async saveAvatar(a: Parameters<Store['saveAvatar']>[0]) {
    await this.pool.query(
      `INSERT INTO avatars (id, source, owner, content_type, data, created_at, claimed) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET content_type = EXCLUDED.content_type, data = EXCLUDED.data`,
      [a.id, a.source, a.owner, a.contentType, a.data, a.now, a.claimed],
    );
  }
  async avatar(id: string) {
    // A reservation (content_type '') is never served.
    const row = (await this.pool.query("SELECT content_type, data FROM avatars WHERE id = $1 AND content_type <> ''", [id])).rows[0];
    return row && { content_type: String(row.content_type), data: Buffer.from(row.data as Uint8Array) };
  }
  async claimAvatar(id: string) {
    await this.pool.query('UPDATE avatars SET claimed = TRUE WHERE id = $1', [id]);
  }
  async countAvatars(owner: string, since: number) {
    return num(
      (await this.pool.query('SELECT COUNT(*) AS n FROM avatars WHERE owner = $1 AND created_at >= $2', [owner, since])).rows[0].n,
    );
  }
  async hitRateLimit(key: string, limit: number, windowMs: number, now: number) {
    const start = Math.floor(now / windowMs) * windowMs;
    const row = (
      await this.pool.query(
        `INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1)
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN rate_limits.window_start = EXCLUDED.window_start THEN rate_limits.count + 1 ELSE 1 END,
           window_start = EXCLUDED.window_start
         RETURNING count`,
        [`${limit}/${windowMs}/${key}`, start],
      )
    ).rows[0];
    return num(row.count) > limit ? Math.max(1, Math.ceil((start + windowMs - now) / 1000)) : 0;
  }
  async purge(now: number, keepMs: number): Promise<Purged> {
    return this.pool.transaction(async (client) => ({
      tickets: (await client.query('DELETE FROM login_tickets WHERE expires_at < $1', [now])).rowCount,
      refreshTokens: (await client.query('DELETE FROM refresh_tokens WHERE expires_at < $1', [now])).rowCount,
      // Unclaimed uploads, and reservations never filled (an instance that died between reserving and storing).
      avatars: (await client.query("DELETE FROM avatars WHERE (claimed = FALSE OR content_type = '') AND created_at < $1", [now - keepMs]))
        .rowCount,
      // Rate-limit windows end within minutes; older counters only take room.
      ...((await client.query('DELETE FROM rate_limits WHERE window_start < $1', [now - keepMs])) && {}),
    }));
  }
  async close() {
    await this.pool.close();
  }
}
