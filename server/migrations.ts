/**
 * Schema migrations of both stores, applied in order and recorded in `schema_migrations` (version numbers only grow;
 * a migration never changes once released). SQLite's first migration is the 0.1 schema, so an existing database file
 * is upgraded in place; Postgres starts at the current schema.
 */

/** What `migrate` needs from a database. */
export interface Migrator {
  /** Creates `schema_migrations` if absent. */
  init(): void | Promise<void>;
  /** The highest applied version (0 when none). */
  version(): number | Promise<number>;
  /** Runs `sql` and records `version`, in one transaction. */
  apply(version: number, sql: string): void | Promise<void>;
}

/** Applies the migrations above the database's version. Synchronous for SQLite, a promise for Postgres. */
export function migrate(db: Migrator, migrations: readonly string[]): void | Promise<void> {
  const run = (current: number): void | Promise<void> => {
    for (let v = current + 1; v <= migrations.length; v++) {
      const applied = db.apply(v, migrations[v - 1]);
      if (applied instanceof Promise) return applied.then(() => run(v));
    }
  };
  const initialised = db.init();
  if (initialised instanceof Promise) return initialised.then(() => db.version()).then((v) => run(v));
  const version = db.version();
  return version instanceof Promise ? version.then((v) => run(v)) : run(version);
}

/**
 * One account per phone number and per unionid, enforced by partial unique indexes (the same SQL on SQLite and
 * Postgres): a check before a write cannot hold across instances. A database that already holds duplicates (written
 * before this migration) keeps the number, or the unionid, on its oldest account and clears it on the others: their
 * users are asked for the number again (and get 409 `ACCOUNT_CONFLICT`), and those accounts stay reachable by their
 * own openid — the unionid lookup already chose the oldest account, so no login changes account.
 */
const UNIQUE_PHONE_AND_UNIONID = `
   UPDATE users SET phone = NULL WHERE phone IS NOT NULL AND EXISTS (SELECT 1 FROM users AS older
     WHERE older.phone = users.phone AND (older.created_at < users.created_at OR (older.created_at = users.created_at AND older.id < users.id)));
   UPDATE users SET unionid = NULL WHERE unionid IS NOT NULL AND EXISTS (SELECT 1 FROM users AS older
     WHERE older.unionid = users.unionid AND (older.created_at < users.created_at OR (older.created_at = users.created_at AND older.id < users.id)));
   DROP INDEX users_phone;
   DROP INDEX users_unionid;
   CREATE UNIQUE INDEX users_phone_unique ON users (phone) WHERE phone IS NOT NULL;
   CREATE UNIQUE INDEX users_unionid_unique ON users (unionid) WHERE unionid IS NOT NULL;`;

export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS users (
     id TEXT PRIMARY KEY, source TEXT NOT NULL, openid TEXT NOT NULL, unionid TEXT,
     nick_name TEXT NOT NULL DEFAULT '', avatar_url TEXT NOT NULL DEFAULT '', phone TEXT, created_at INTEGER NOT NULL,
     UNIQUE (source, openid));
   CREATE TABLE IF NOT EXISTS login_tickets (
     ticket TEXT PRIMARY KEY, source TEXT NOT NULL, openid TEXT NOT NULL, unionid TEXT, session_key TEXT NOT NULL,
     expires_at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS refresh_tokens (
     hash TEXT PRIMARY KEY, family TEXT NOT NULL, user_id TEXT NOT NULL, source TEXT NOT NULL, expires_at INTEGER NOT NULL,
     used_at INTEGER, revoked_at INTEGER);
   CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family);
   CREATE TABLE IF NOT EXISTS avatars (
     id TEXT PRIMARY KEY, source TEXT NOT NULL, content_type TEXT NOT NULL, data BLOB NOT NULL, created_at INTEGER NOT NULL);`,
  `CREATE TABLE revoked_families (family TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL);
   ALTER TABLE avatars ADD COLUMN owner TEXT NOT NULL DEFAULT '';
   ALTER TABLE avatars ADD COLUMN claimed INTEGER NOT NULL DEFAULT 1;
   CREATE INDEX avatars_owner ON avatars (owner, created_at);
   CREATE INDEX avatars_unclaimed ON avatars (claimed, created_at);
   CREATE INDEX login_tickets_expiry ON login_tickets (expires_at);
   CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
   CREATE INDEX users_unionid ON users (unionid);`,
  // 3: identities — one account, one openid per mini-program (a unionid links them); phone numbers looked up.
  `CREATE TABLE identities (source TEXT NOT NULL, openid TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (source, openid));
   INSERT INTO identities (source, openid, user_id) SELECT source, openid, id FROM users;
   CREATE INDEX users_phone ON users (phone);`,
  // 4: uniqueness the database enforces (issue 27).
  UNIQUE_PHONE_AND_UNIONID,
];

export const POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     id TEXT PRIMARY KEY, source TEXT NOT NULL, openid TEXT NOT NULL, unionid TEXT,
     nick_name TEXT NOT NULL DEFAULT '', avatar_url TEXT NOT NULL DEFAULT '', phone TEXT, created_at BIGINT NOT NULL,
     UNIQUE (source, openid));
   CREATE INDEX users_unionid ON users (unionid);
   CREATE TABLE login_tickets (
     ticket TEXT PRIMARY KEY, source TEXT NOT NULL, openid TEXT NOT NULL, unionid TEXT, session_key TEXT NOT NULL,
     expires_at BIGINT NOT NULL);
   CREATE INDEX login_tickets_expiry ON login_tickets (expires_at);
   CREATE TABLE refresh_tokens (
     hash TEXT PRIMARY KEY, family TEXT NOT NULL, user_id TEXT NOT NULL, source TEXT NOT NULL, expires_at BIGINT NOT NULL,
     used_at BIGINT, revoked_at BIGINT);
   CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
   CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
   CREATE TABLE revoked_families (family TEXT PRIMARY KEY, revoked_at BIGINT NOT NULL);
   CREATE TABLE avatars (
     id TEXT PRIMARY KEY, source TEXT NOT NULL, owner TEXT NOT NULL, content_type TEXT NOT NULL, data BYTEA NOT NULL,
     created_at BIGINT NOT NULL, claimed BOOLEAN NOT NULL);
   CREATE INDEX avatars_owner ON avatars (owner, created_at);
   CREATE INDEX avatars_unclaimed ON avatars (claimed, created_at);
   CREATE TABLE rate_limits (key TEXT PRIMARY KEY, window_start BIGINT NOT NULL, count INTEGER NOT NULL);`,
  `CREATE TABLE identities (source TEXT NOT NULL, openid TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (source, openid));
   INSERT INTO identities (source, openid, user_id) SELECT source, openid, id FROM users;
   CREATE INDEX users_phone ON users (phone);`,
  // 3: uniqueness the database enforces (issue 27).
  UNIQUE_PHONE_AND_UNIONID,
];
