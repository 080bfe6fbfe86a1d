/**
 * The embedded store: SQLite through better-sqlite3 (a file, or `:memory:` in tests). One process: the rate-limit
 * counters live in memory. The database file is created with mode 0600 (owner only) and held by one process at a time.
 */
import fs from 'fs';
import Database from 'better-sqlite3';
import { migrate, SQLITE_MIGRATIONS } from './migrations';
import { FixedWindowLimiter } from './rate-limit';
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

/**
 * Opens (creating if needed, mode 0600), locks and migrates a SQLite store.
 * @throws Error when another process holds the file (see `holdExclusively`).
 */
export function openSqliteStore(file = ':memory:'): SqliteStore {
  if (file !== ':memory:' && !fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', 0o600));
  const db = new Database(file);
  if (file !== ':memory:') holdExclusively(db, file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  // WAL with synchronous=NORMAL: a commit survives a process crash (SIGKILL); only an OS crash or power loss can lose
  // the last commits. FULL would fsync every login and refresh.
  db.pragma('synchronous = NORMAL');
  migrate(
    {
      version: () => (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0,
      apply: (version, sql) =>
        db.transaction(() => {
          db.exec(sql);
          db.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(version);
        })(),
      init: () => void db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)'),
    },
    SQLITE_MIGRATIONS,
  );
  return new SqliteStore(db);
}

/**
 * One process per file: SQLite's exclusive locking mode holds the file's lock for as long as this connection is open
 * (the operating system drops it when the process dies, even by SIGKILL), so a second server process on the same file
 * refuses to start with a clear message instead of answering 500s with "database is locked" later. Waits up to 2 s for
 * a process that is shutting down.
 * @throws Error naming the file when another process holds it.
 */
function holdExclusively(db: Database.Database, file: string): void {
  try {
    db.pragma('busy_timeout = 2000');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
    throw new Error(
      `the SQLite file ${file} is in use by another process: one file serves one server instance (several instances share DATABASE_URL=postgres://...)`,
    );
  }
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly limiters = new Map<string, FixedWindowLimiter>();
  private readonly q;

  /** @param db an open, migrated database (tests reach it to simulate broken backends). */
  constructor(readonly db: Database.Database) {
    this.q = {
      userByOpenid: db.prepare<[string, string], UserRow>(
        'SELECT users.* FROM identities JOIN users ON users.id = identities.user_id WHERE identities.source = ? AND identities.openid = ?',
      ),
      userByUnionid: db.prepare<[string], UserRow>('SELECT * FROM users WHERE unionid = ? ORDER BY created_at LIMIT 1'),
      linkIdentity: db.prepare('INSERT INTO identities (source, openid, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      userById: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
      identitiesOf: db.prepare<[string], { source: string; openid: string }>('SELECT source, openid FROM identities WHERE user_id = ?'),
      insertUser: db.prepare(
        `INSERT INTO users (id, source, openid, unionid, nick_name, avatar_url, phone, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      ),
      updateProfile: db.prepare('UPDATE users SET nick_name = ?, avatar_url = COALESCE(?, avatar_url) WHERE id = ?'),
      updatePhone: db.prepare('UPDATE users SET phone = ? WHERE id = ?'),
      insertTicket: db.prepare(
        'INSERT INTO login_tickets (ticket, source, openid, unionid, session_key, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      takeTicket: db.prepare<[string, string], TicketRow>('DELETE FROM login_tickets WHERE ticket = ? AND source = ? RETURNING *'),
      peekTicket: db.prepare<[string, string], TicketRow>('SELECT * FROM login_tickets WHERE ticket = ? AND source = ?'),
      insertRefresh: db.prepare('INSERT INTO refresh_tokens (hash, family, user_id, source, expires_at) VALUES (?, ?, ?, ?, ?)'),
      insertSuccessor: db.prepare(
        'INSERT INTO refresh_tokens (hash, family, user_id, source, expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING',
      ),
      refreshByHash: db.prepare<[string], RefreshRow>('SELECT * FROM refresh_tokens WHERE hash = ?'),
      markUsed: db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL'),
      revokeTokens: db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL'),
      revokeFamily: db.prepare('INSERT OR IGNORE INTO revoked_families (family, revoked_at) VALUES (?, ?)'),
      familyRevoked: db.prepare<[string], { revoked_at: number }>('SELECT revoked_at FROM revoked_families WHERE family = ?'),
      insertAvatar: db.prepare(
        `INSERT INTO avatars (id, source, owner, content_type, data, created_at, claimed) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data`,
      ),
      releaseAvatar: db.prepare("DELETE FROM avatars WHERE id = ? AND content_type = ''"),
      // A reservation (content_type '') is never served.
      avatarById: db.prepare<[string], { content_type: string; data: Buffer }>(
        "SELECT content_type, data FROM avatars WHERE id = ? AND content_type <> ''",
      ),
      claimAvatar: db.prepare('UPDATE avatars SET claimed = 1 WHERE id = ?'),
      countAvatars: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM avatars WHERE owner = ? AND created_at >= ?'),
      purgeTickets: db.prepare('DELETE FROM login_tickets WHERE expires_at < ?'),
      purgeRefresh: db.prepare('DELETE FROM refresh_tokens WHERE expires_at < ?'),
      // Unclaimed uploads, and reservations never filled (a process that died between reserving and storing).
      purgeAvatars: db.prepare("DELETE FROM avatars WHERE (claimed = 0 OR content_type = '') AND created_at < ?"),
    };
  }

  /**
   * Runs `work` now, or — while an account deletion holds its transaction open across the app's (asynchronous) hook —
   * once it has ended: one connection serves every request, so a statement run meanwhile would join that transaction
   * (and be rolled back with a veto). `work` itself runs synchronously, as better-sqlite3 does.
   */
  private run<T>(work: () => T): T | Promise<T> {
    return this.exclusive ? this.exclusive.then(() => this.run(work)) : work();
  }
  /** Set while `deleteAccount` holds a transaction open; resolves when it has ended. */
  private exclusive: Promise<void> | undefined;

  async userByOpenid(source: string, openid: string) {
    return this.run(() => this.q.userByOpenid.get(source, openid));
  }
  async userById(id: string) {
    return this.run(() => this.q.userById.get(id));
  }
  async userByUnionid(unionid: string) {
    return this.run(() => this.q.userByUnionid.get(unionid));
  }
  async linkIdentity(source: string, openid: string, userId: string) {
    await this.run(() => this.q.linkIdentity.run(source, openid, userId));
  }
  async registerUser(u: Parameters<Store['registerUser']>[0]) {
    return this.run(() =>
      this.db.transaction(() => {
        // Insert-or-get: any unique key taken ((source, openid), unionid, phone) leaves the row out; which one says why.
        const created = this.q.insertUser.run(u.id, u.source, u.openid, u.unionid, u.nickName, u.avatarUrl, u.phone, u.now).changes === 1;
        if (created) this.q.linkIdentity.run(u.source, u.openid, u.id);
        const own = this.q.userByOpenid.get(u.source, u.openid);
        if (own) return { user: own, created };
        const family = u.unionid === null ? undefined : this.q.userByUnionid.get(u.unionid);
        if (!family) throw new PhoneTakenError();
        this.q.linkIdentity.run(u.source, u.openid, family.id);
        return { user: this.q.userByOpenid.get(u.source, u.openid)!, created: false };
      })(),
    );
  }
  async updateProfile(id: string, nickName: string, avatarUrl: string | null) {
    await this.run(() => this.q.updateProfile.run(nickName, avatarUrl, id));
  }
  async updatePhone(id: string, phone: string) {
    await this.run(() => {
      try {
        this.q.updatePhone.run(phone, id);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new PhoneTakenError();
        throw error;
      }
    });
  }
  async saveTicket(t: TicketRow) {
    await this.run(() => this.q.insertTicket.run(t.ticket, t.source, t.openid, t.unionid, t.session_key, t.expires_at));
  }
  async takeTicket(ticket: string, source: string) {
    return this.run(() => this.q.takeTicket.get(ticket, source));
  }
  async peekTicket(ticket: string, source: string) {
    return this.run(() => this.q.peekTicket.get(ticket, source));
  }
  async saveRefreshToken(r: Parameters<Store['saveRefreshToken']>[0]) {
    await this.run(() => this.q.insertRefresh.run(r.hash, r.family, r.userId, r.source, r.expiresAt));
  }
  async rotateRefreshToken(
    hash: string,
    now: number,
    reuseIntervalMs: number,
    successor: { hash: string; expiresAt: number },
  ): Promise<Rotation> {
    return this.run(() =>
      this.db.transaction((): Rotation => {
        const row = this.q.refreshByHash.get(hash);
        const user = row && this.q.userById.get(row.user_id);
        const next = row && row.used_at !== null ? this.q.refreshByHash.get(successor.hash) : undefined;
        const verdict = refreshVerdict(row, user !== undefined, now, reuseIntervalMs, next);
        if (typeof verdict === 'object') return verdict;
        if (verdict === 'revoke') {
          this.q.revokeTokens.run(now, row!.family);
          this.q.revokeFamily.run(row!.family, now);
          return { status: 'reused' };
        }
        if (verdict === 'rotate') this.q.markUsed.run(now, hash);
        // A repeat inside the reuse interval answers the successor already stored (inserted only if it is missing).
        this.q.insertSuccessor.run(successor.hash, row!.family, row!.user_id, row!.source, successor.expiresAt);
        return { status: 'rotated', user: user!, family: row!.family, source: row!.source };
      })(),
    );
  }
  async familyOf(hash: string) {
    return this.run(() => this.q.refreshByHash.get(hash)?.family);
  }
  async revokeFamily(family: string, now: number) {
    await this.run(() =>
      this.db.transaction(() => {
        this.q.revokeTokens.run(now, family);
        this.q.revokeFamily.run(family, now);
      })(),
    );
  }
  async isFamilyRevoked(family: string) {
    return this.run(() => this.q.familyRevoked.get(family) !== undefined);
  }
  async deleteAccount(userId: string, options: DeleteAccountOptions): Promise<Erasure | undefined> {
    return this.run(() => this.deleteNow(userId, options));
  }
  /**
   * `deleteAccount` once no other deletion runs: BEGIN IMMEDIATE, the hook (awaited, while every other call of this
   * store waits in `run`), the erase, COMMIT — or ROLLBACK on a veto or any error.
   */
  private async deleteNow(userId: string, options: DeleteAccountOptions): Promise<Erasure | undefined> {
    let release!: () => void;
    this.exclusive = new Promise((resolve) => (release = resolve));
    let open = true;
    const sql: DeletionSql = {
      query: async (text, params = []) => {
        if (!open) throw new Error('this account deletion has ended: its transaction takes no more statements');
        const statement = this.db.prepare(text);
        if (statement.reader) return { rows: statement.all(...params) as Array<Record<string, unknown>>, rowCount: 0 };
        return { rows: [], rowCount: statement.run(...params).changes };
      },
    };
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const user = this.q.userById.get(userId);
        let erased: Erasure | undefined;
        if (user) {
          const identities = identitiesOf(user, this.q.identitiesOf.all(userId));
          await consultHook(options.hook, { user: { ...user }, identities, sql });
          erased = await eraseAccount(sql, user, identities, options);
        }
        this.db.exec('COMMIT');
        return erased;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      open = false;
      this.exclusive = undefined;
      release();
    }
  }
  async reserveAvatar(a: Parameters<Store['reserveAvatar']>[0], since: number, cap: number) {
    // One synchronous transaction: nothing else runs on this connection between the count and the insert.
    return this.run(() =>
      this.db.transaction(() => {
        if (this.q.countAvatars.get(a.owner, since)!.n >= cap) return false;
        this.q.insertAvatar.run(a.id, a.source, a.owner, '', Buffer.alloc(0), a.now, a.claimed ? 1 : 0);
        return true;
      })(),
    );
  }
  async releaseAvatar(id: string) {
    await this.run(() => this.q.releaseAvatar.run(id));
  }
  async saveAvatar(a: Parameters<Store['saveAvatar']>[0]) {
    await this.run(() => this.q.insertAvatar.run(a.id, a.source, a.owner, a.contentType, a.data, a.now, a.claimed ? 1 : 0));
  }
  async avatar(id: string) {
    return this.run(() => this.q.avatarById.get(id));
  }
  async claimAvatar(id: string) {
    await this.run(() => this.q.claimAvatar.run(id));
  }
  async countAvatars(owner: string, since: number) {
    return this.run(() => this.q.countAvatars.get(owner, since)!.n);
  }
  async hitRateLimit(key: string, limit: number, windowMs: number, now: number) {
    const name = `${limit}/${windowMs}`;
    let limiter = this.limiters.get(name);
    if (!limiter) this.limiters.set(name, (limiter = new FixedWindowLimiter(limit, windowMs)));
    return limiter.hit(key, now);
  }
  async purge(now: number, keepMs: number): Promise<Purged> {
    return this.run(() =>
      this.db.transaction(() => ({
        tickets: this.q.purgeTickets.run(now).changes,
        refreshTokens: this.q.purgeRefresh.run(now).changes,
        avatars: this.q.purgeAvatars.run(now - keepMs).changes,
      }))(),
    );
  }
  async close() {
    await this.run(() => this.db.close());
  }
}
