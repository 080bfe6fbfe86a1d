/**
 * The reference server's storage, one interface for two databases: SQLite (`store-sqlite.ts`, the embedded default
 * that needs nothing) and Postgres (`store-postgres.ts`, shared by any number of server instances). Users per
 * (source, openid) — or per `unionid` across sources; refresh tokens stored as SHA-256 hashes with a family for reuse
 * detection; revoked families (checked on every access token); login tickets holding the `session_key` of the code
 * that created them (it never leaves the server); uploaded avatars; and, for Postgres, the rate-limit counters.
 * Times are epoch ms.
 */

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

/** A new user. */
export interface NewUser {
  id: string;
  source: string;
  openid: string;
  unionid: string | null;
  nickName: string;
  avatarUrl: string;
  phone: string | null;
  now: number;
}

/** The outcome of presenting a refresh token (see `Store.rotateRefreshToken`). */
export type Rotation =
  { status: 'rotated'; user: UserRow; family: string; source: string } | { status: 'invalid'; why: string } | { status: 'reused' };

/**
 * The contract's verdict on a presented refresh token `row` (the one rule both stores apply inside their transaction;
 * contract 1.3 "Reuse interval"): unknown, revoked, expired or userless → invalid; unused → rotate (mark it used, store
 * its successor); used within `reuseIntervalMs` of its first rotation while its `successor` (the row of the token
 * derived from it) is still unused → repeat (answer that same successor again; the interval never restarts); used
 * longer ago, or its successor already used → revoke its family (reuse).
 */
export function refreshVerdict(
  row: RefreshRow | undefined,
  userExists: boolean,
  now: number,
  reuseIntervalMs: number,
  successor?: RefreshRow,
): { status: 'invalid'; why: string } | 'revoke' | 'rotate' | 'repeat' {
  if (!row || row.revoked_at !== null) return { status: 'invalid', why: 'refresh token unknown or revoked' };
  if (row.expires_at <= now) return { status: 'invalid', why: 'refresh token expired' };
  if (!userExists) return { status: 'invalid', why: 'user no longer exists' };
  if (row.used_at === null) return 'rotate';
  if (now - row.used_at > reuseIntervalMs) return 'revoke';
  return successor && successor.used_at !== null ? 'revoke' : 'repeat';
}

/**
 * The phone number is bound to another account: the database's unique index on `users.phone` refused it (a check
 * before the write could not: two binds of one number on two instances both pass it). The server answers 409
 * `ACCOUNT_CONFLICT`.
 */
export class PhoneTakenError extends Error {
  readonly name = 'PhoneTakenError';
  constructor() {
    super('this phone number is bound to another account');
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * What an account deletion erased (contract 1.4, `POST /auth/account/delete`, the answer's `deleted` object): the
 * `sources` (mini-programs) whose openid links ended, sorted; the refresh-token `families` that were still live and are
 * now ended (their access tokens with them); the avatar files (`avatars`, stored uploads and reservations) removed;
 * whether a phone binding (`phone`) and a unionid link (`unionid`) were removed.
 */
export interface Erasure {
  sources: string[];
  families: number;
  avatars: number;
  phone: boolean;
  unionid: boolean;
}

/**
 * A connection inside the deletion's own transaction, for the app's hook: what it runs commits or rolls back with the
 * deletion. Placeholders are the database's own (`?` on SQLite, `$1` on Postgres); `rows` are the rows a query returns
 * (empty for a write), `rowCount` the rows a write changed. It refuses every call once the deletion has ended.
 */
export interface DeletionSql {
  query(text: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number }>;
}

/** What the app's deletion hook sees (`ServerOptions.onAccountDeletion`). */
export interface AccountDeletion {
  /** The account as it is before the deletion (the app's rows key on `user.id`). */
  user: UserRow;
  /** Every (source, openid) of the account: its mini-programs (one, or several linked by `unionid`). */
  identities: Array<{ source: string; openid: string }>;
  /** The deletion's transaction (SQLite, Postgres); null on the in-memory store, which has none. */
  sql: DeletionSql | null;
}

/**
 * The app's part of an account deletion (contract 1.4 "What the backend keeps"), called inside the deletion's
 * transaction before the kit's rows are erased: it keeps or anonymises the rows a law makes the app keep (orders,
 * invoices) through `deletion.sql`, or vetoes by resolving `{veto: "<reason the user sees>"}` — the answer is then
 * `409 DELETION_VETOED` with that `reason`, and the account stays whole. A hook that throws (or does not settle within
 * the server's bound) rolls everything back too: the answer is a `500` and the account stays whole. It must not call
 * the store itself (on SQLite the store waits for the deletion to end): `deletion.sql` is its connection.
 */
export type AccountDeletionHook = (
  deletion: AccountDeletion,
) => { veto: string } | void | undefined | Promise<{ veto: string } | void | undefined>;

/** The hook vetoed the deletion (its `reason` is shown to the user); thrown by `Store.deleteAccount` after the rollback. */
export class AccountDeletionVetoed extends Error {
  readonly name = 'AccountDeletionVetoed';
  constructor(readonly reason: string) {
    super(`account deletion vetoed: ${reason}`);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Runs the hook and throws `AccountDeletionVetoed` for a veto (each store calls it inside its transaction). */
export async function consultHook(hook: AccountDeletionHook | undefined, deletion: AccountDeletion): Promise<void> {
  if (!hook) return;
  const verdict = await hook(deletion);
  if (verdict && typeof verdict === 'object' && 'veto' in verdict) throw new AccountDeletionVetoed(String(verdict.veto));
}

/**
 * The kit's part of a deletion, the same SQL on both databases (`sql` takes `?` placeholders; the Postgres store numbers
 * them), run inside the store's transaction after the hook: see `Store.deleteAccount` for what it erases.
 */
export async function eraseAccount(
  sql: DeletionSql,
  user: UserRow,
  identities: Array<{ source: string; openid: string }>,
  options: DeleteAccountOptions,
): Promise<Erasure> {
  const families = (await sql.query('SELECT DISTINCT family FROM refresh_tokens WHERE user_id = ?', [user.id])).rows.map((row) =>
    String(row.family),
  );
  const live = await sql.query(
    `SELECT COUNT(DISTINCT family) AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
       AND family NOT IN (SELECT family FROM revoked_families)`,
    [user.id, options.now],
  );
  // Revoked, not only deleted: an access token names its family, and every one of them must fail from now on.
  for (const family of families)
    await sql.query('INSERT INTO revoked_families (family, revoked_at) VALUES (?, ?) ON CONFLICT DO NOTHING', [family, options.now]);
  await sql.query('DELETE FROM refresh_tokens WHERE user_id = ?', [user.id]);
  let avatars = 0;
  for (const { source, openid } of identities) {
    avatars += (await sql.query('DELETE FROM avatars WHERE owner = ?', [`${source}:${openid}`])).rowCount;
    await sql.query('DELETE FROM login_tickets WHERE source = ? AND openid = ?', [source, openid]);
  }
  const avatarId = user.avatar_url ? options.avatarIdOf(user.avatar_url) : null;
  if (avatarId) avatars += (await sql.query('DELETE FROM avatars WHERE id = ?', [avatarId])).rowCount;
  if (user.unionid !== null) await sql.query('DELETE FROM login_tickets WHERE unionid = ?', [user.unionid]);
  await sql.query('DELETE FROM identities WHERE user_id = ?', [user.id]);
  await sql.query('DELETE FROM users WHERE id = ?', [user.id]);
  return {
    sources: [...new Set(identities.map((identity) => identity.source))].sort(),
    families: Number(live.rows[0].n),
    avatars,
    phone: user.phone !== null,
    unionid: user.unionid !== null,
  };
}

/** The account's (source, openid) links: its identity rows, and its own first pair (rows written before identities). */
export function identitiesOf(
  user: UserRow,
  rows: Array<{ source?: unknown; openid?: unknown }>,
): Array<{ source: string; openid: string }> {
  const all = [
    { source: user.source, openid: user.openid },
    ...rows.map((row) => ({ source: String(row.source), openid: String(row.openid) })),
  ];
  return all.filter((identity, i) => all.findIndex((other) => other.source === identity.source && other.openid === identity.openid) === i);
}

/** Options of `Store.deleteAccount`. */
export interface DeleteAccountOptions {
  /** epoch ms (revocations are stamped with it; families live past it are counted). */
  now: number;
  /** The id of one of this server's avatars named by a profile's `avatar_url`, or null (a URL elsewhere). */
  avatarIdOf(url: string): string | null;
  hook?: AccountDeletionHook;
}

/** What the purge removed. */
export interface Purged {
  tickets: number;
  refreshTokens: number;
  avatars: number;
}

export interface Store {
  /** `sqlite` or `postgres`. */
  readonly kind: string;
  /** The account that has `openid` in mini-program `source` (its own, or one linked by unionid). */
  userByOpenid(source: string, openid: string): Promise<UserRow | undefined>;
  /** An account with this `unionid` (from any mini-program of the same Open Platform account). */
  userByUnionid(unionid: string): Promise<UserRow | undefined>;
  /** Links `openid` of mini-program `source` to an existing account (idempotent). */
  linkIdentity(source: string, openid: string, userId: string): Promise<void>;
  userById(id: string): Promise<UserRow | undefined>;
  /**
   * Registers a user, insert-or-get in one transaction with the database's unique keys deciding: two simultaneous
   * registrations of one user (source, openid) both get the same row, and so do simultaneous first logins of one
   * `unionid` in two mini-programs (the second `openid` is linked to the account the first created). `created` says
   * whether this call inserted it.
   * @throws PhoneTakenError when `user.phone` is bound to another account.
   */
  registerUser(user: NewUser): Promise<{ user: UserRow; created: boolean }>;
  /** Sets the nickname and, unless null, the avatar URL. */
  updateProfile(id: string, nickName: string, avatarUrl: string | null): Promise<void>;
  /**
   * Binds a phone number to the account (the same number again is a no-op).
   * @throws PhoneTakenError when another account holds it (the unique index decides, on every instance at once).
   */
  updatePhone(id: string, phone: string): Promise<void>;

  saveTicket(row: TicketRow): Promise<void>;
  /** Deletes and returns the ticket (single use). */
  takeTicket(ticket: string, source: string): Promise<TicketRow | undefined>;
  /** Returns the ticket without consuming it (the avatar upload checks it). */
  peekTicket(ticket: string, source: string): Promise<TicketRow | undefined>;

  saveRefreshToken(row: { hash: string; family: string; userId: string; source: string; expiresAt: number }): Promise<void>;
  /**
   * Presents a refresh token, in one transaction (`refreshVerdict`): unknown, revoked, expired or userless → invalid;
   * unused → marked used and `successor` stored (rotated); used within `reuseIntervalMs` (ms, from its first rotation)
   * while `successor` is unused → rotated again to the **same** successor (stored if it is missing); used before that,
   * or its successor already used → the family revoked (reused). `successor` is derived from the presented token
   * (`hash` SHA-256 of the successor token, `expiresAt` epoch ms), so every presentation names the same one.
   */
  rotateRefreshToken(hash: string, now: number, reuseIntervalMs: number, successor: { hash: string; expiresAt: number }): Promise<Rotation>;
  /** The family of a stored refresh token. */
  familyOf(hash: string): Promise<string | undefined>;
  /** Revokes a family's refresh tokens and records the family as revoked (its access tokens then fail). */
  revokeFamily(family: string, now: number): Promise<void>;
  isFamilyRevoked(family: string): Promise<boolean>;

  /**
   * Reserves one of `owner`'s avatar uploads before the file is read: atomically (on Postgres across instances) counts
   * `owner`'s uploads and reservations since `since` (epoch ms) and, when fewer than `cap`, records an empty row `id`
   * that `saveAvatar` fills. Resolves false (nothing recorded) when the cap is reached. A reservation is never served;
   * an unfilled one is purged like an unclaimed avatar, or dropped at once by `releaseAvatar`.
   */
  reserveAvatar(
    row: { id: string; source: string; owner: string; now: number; claimed: boolean },
    since: number,
    cap: number,
  ): Promise<boolean>;
  /** Drops a reservation that was never filled (the upload was refused). */
  releaseAvatar(id: string): Promise<void>;
  /** Stores an avatar: fills the reservation `id`, or inserts the row when there is none. */
  saveAvatar(row: {
    id: string;
    source: string;
    owner: string;
    contentType: string;
    data: Buffer;
    now: number;
    claimed: boolean;
  }): Promise<void>;
  /** A stored avatar (never a reservation not yet filled). */
  avatar(id: string): Promise<{ content_type: string; data: Buffer } | undefined>;
  /** A login's profile named this avatar: it is kept by the purge. */
  claimAvatar(id: string): Promise<void>;
  /** Uploads (and reservations) by `owner` since `since`. */
  countAvatars(owner: string, since: number): Promise<number>;

  /**
   * Counts a hit of `key` in the current fixed window of `windowMs`; resolves with 0 when allowed, else the seconds
   * until the window ends. Postgres keeps the counters in the database, so the limits hold across instances.
   */
  hitRateLimit(key: string, limit: number, windowMs: number, now: number): Promise<number>;

  /**
   * Deletes account `userId` in one transaction (contract 1.4): locks the user, calls `options.hook` (which may veto),
   * then erases the user row (profile, phone binding, unionid), every openid link (`identities`), the login tickets of
   * those openids and of the unionid, the avatars uploaded by those openids or named by the profile, and the refresh
   * tokens — their families recorded as revoked, so every access token of the user then fails. Resolves with what it
   * erased, or undefined when no such user exists (nothing done).
   * @throws AccountDeletionVetoed when the hook vetoed; the hook's own error when it threw; a database error — in each
   * case after the rollback: the account is whole.
   */
  deleteAccount(userId: string, options: DeleteAccountOptions): Promise<Erasure | undefined>;

  /**
   * Removes expired tickets, expired refresh tokens, and avatars older than `keepMs` that are unclaimed or reservations
   * never filled.
   */
  purge(now: number, keepMs: number): Promise<Purged>;
  close(): Promise<void>;
}
