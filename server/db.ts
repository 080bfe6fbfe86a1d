/**
 * The reference server's storage: SQLite through better-sqlite3 (a file, or `:memory:` in tests).
 * Users per (source, openid); refresh tokens stored as SHA-256 hashes with a family for reuse detection, and the
 * revoked families (checked on every access token, so a logout or a detected reuse reaches the access tokens too);
 * login tickets holding the `session_key` of the code that created them (it never leaves the server).
 */
import Database from 'better-sqlite3';

export interface UserRow {
  id: string;
  source: string;
  openid: string;
  unionid: string | null;
  nick_name: string;
  avatar_url: string;
  phone: string | null;
  created_at: number;
}

export interface TicketRow {
  ticket: string;
  source: string;
  openid: string;
  unionid: string | null;
  session_key: string;
  expires_at: number;
}

export interface RefreshRow {
  hash: string;
  family: string;
  user_id: string;
  source: string;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}

export function openDatabase(file = ':memory:'): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS users (
      id TEXT PRIMARY KEY,
      source TEXT NOT NULL,
      openid TEXT NOT NULL,
      unionid TEXT,
      nick_name TEXT NOT NULL DEFAULT '',
      avatar_url TEXT NOT NULL DEFAULT '',
      phone TEXT,
      created_at INTEGER NOT NULL,
      UNIQUE (source, openid)
    );
    CREATE TABLE IF NOT EXISTS login_tickets (
      ticket TEXT PRIMARY KEY,
      source TEXT NOT NULL,
      openid TEXT NOT NULL,
      unionid TEXT,
      session_key TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS refresh_tokens (
      hash TEXT PRIMARY KEY,
      family TEXT NOT NULL,
      user_id TEXT NOT NULL,
      source TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      used_at INTEGER,
      revoked_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family);
    CREATE TABLE IF NOT EXISTS revoked_families (
      family TEXT PRIMARY KEY,
      revoked_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS avatars (
      id TEXT PRIMARY KEY,
      source TEXT NOT NULL,
      content_type TEXT NOT NULL,
      data BLOB NOT NULL,
      created_at INTEGER NOT NULL
    );
  `);
  return db;
}
