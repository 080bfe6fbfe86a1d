/**
 * The in-memory store: the same behaviour as `store-sqlite.ts` in plain maps, for the development backend that ships
 * in the package (`npx miniprogram-login-kit dev`, `miniprogram-login-kit/testing`), which may need nothing native.
 * One process; everything is forgotten when it stops. The unique keys of the SQL stores — (source, openid), `phone`,
 * `unionid` — are checked here the same way. Each method runs to completion without awaiting, so it is as atomic as
 * a transaction.
 */
import { FixedWindowLimiter } from './rate-limit';
import {
  consultHook,
  identitiesOf,
  PhoneTakenError,
  refreshVerdict,
  type DeleteAccountOptions,
  type Erasure,
  type Purged,
  type RefreshRow,
  type Rotation,
  type Store,
  type TicketRow,
  type UserRow,
} from './store';

interface AvatarRow {
  id: string;
  source: string;
  owner: string;
  content_type: string;
  data: Buffer;
  created_at: number;
  claimed: boolean;
}

/** Opens an empty in-memory store. */
export function openMemoryStore(): MemoryStore {
  return new MemoryStore();
}

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly users = new Map<string, UserRow>();
  /** `source\nopenid` → user id. */
  private readonly identities = new Map<string, string>();
  private readonly tickets = new Map<string, TicketRow>();
  private readonly refresh = new Map<string, RefreshRow>();
  private readonly revoked = new Map<string, number>();
  private readonly avatars = new Map<string, AvatarRow>();
  private readonly limiters = new Map<string, FixedWindowLimiter>();

  private copy(user: UserRow | undefined): UserRow | undefined {
    return user && { ...user };
  }
  async userByOpenid(source: string, openid: string) {
    return this.copy(this.byOpenid(source, openid));
  }
  private byOpenid(source: string, openid: string): UserRow | undefined {
    const id = this.identities.get(`${source}\n${openid}`);
    return id === undefined ? undefined : this.users.get(id);
  }
  async userById(id: string) {
    return this.copy(this.users.get(id));
  }
  async userByUnionid(unionid: string) {
    return this.copy(this.byUnionid(unionid));
  }
  private byUnionid(unionid: string): UserRow | undefined {
    let first: UserRow | undefined;
    for (const user of this.users.values()) if (user.unionid === unionid && (!first || user.created_at < first.created_at)) first = user;
    return first;
  }
  async linkIdentity(source: string, openid: string, userId: string) {
    this.link(source, openid, userId);
  }
  private link(source: string, openid: string, userId: string): void {
    const key = `${source}\n${openid}`;
    if (!this.identities.has(key)) this.identities.set(key, userId);
  }
  async registerUser(u: Parameters<Store['registerUser']>[0]) {
    const taken = (field: 'phone' | 'unionid', value: string | null) =>
      value !== null && [...this.users.values()].some((user) => user[field] === value);
    const conflict =
      this.users.has(u.id) ||
      [...this.users.values()].some((user) => user.source === u.source && user.openid === u.openid) ||
      taken('phone', u.phone) ||
      taken('unionid', u.unionid);
    if (!conflict) {
      this.users.set(u.id, {
        id: u.id,
        source: u.source,
        openid: u.openid,
        unionid: u.unionid,
        nick_name: u.nickName,
        avatar_url: u.avatarUrl,
        phone: u.phone,
        created_at: u.now,
      });
      this.link(u.source, u.openid, u.id);
    }
    const own = this.byOpenid(u.source, u.openid);
    if (own) return { user: { ...own }, created: !conflict };
    const family = u.unionid === null ? undefined : this.byUnionid(u.unionid);
    if (!family) throw new PhoneTakenError();
    this.link(u.source, u.openid, family.id);
    return { user: { ...family }, created: false };
  }
  async updateProfile(id: string, nickName: string, avatarUrl: string | null) {
    const user = this.users.get(id);
    if (!user) return;
    user.nick_name = nickName;
    if (avatarUrl !== null) user.avatar_url = avatarUrl;
  }
  async updatePhone(id: string, phone: string) {
    if ([...this.users.values()].some((user) => user.phone === phone && user.id !== id)) throw new PhoneTakenError();
    const user = this.users.get(id);
    if (user) user.phone = phone;
  }
  async saveTicket(t: TicketRow) {
    if (this.tickets.has(t.ticket)) throw new Error(`ticket ${t.ticket} exists`);
    this.tickets.set(t.ticket, { ...t });
  }
  async takeTicket(ticket: string, source: string) {
    const row = this.tickets.get(ticket);
    if (!row || row.source !== source) return undefined;
    this.tickets.delete(ticket);
    return { ...row };
  }
  async peekTicket(ticket: string, source: string) {
    const row = this.tickets.get(ticket);
    return row && row.source === source ? { ...row } : undefined;
  }
  async saveRefreshToken(r: Parameters<Store['saveRefreshToken']>[0]) {
    this.refresh.set(r.hash, {
      hash: r.hash,
      family: r.family,
      user_id: r.userId,
      source: r.source,
      expires_at: r.expiresAt,
      used_at: null,
      revoked_at: null,
    });
  }
  async rotateRefreshToken(
    hash: string,
    now: number,
    reuseIntervalMs: number,
    successor: { hash: string; expiresAt: number },
  ): Promise<Rotation> {
    const row = this.refresh.get(hash);
    const user = row && this.users.get(row.user_id);
    const next = row && row.used_at !== null ? this.refresh.get(successor.hash) : undefined;
    const verdict = refreshVerdict(row, user !== undefined, now, reuseIntervalMs, next);
    if (typeof verdict === 'object') return verdict;
    if (verdict === 'revoke') {
      this.revokeNow(row!.family, now);
      return { status: 'reused' };
    }
    if (verdict === 'rotate') row!.used_at = now;
    // Contract 1.3: a repeat inside the reuse interval answers the successor already stored (stored only if missing).
    if (!this.refresh.has(successor.hash)) {
      void this.saveRefreshToken({
        hash: successor.hash,
        family: row!.family,
        userId: row!.user_id,
        source: row!.source,
        expiresAt: successor.expiresAt,
      });
    }
    return { status: 'rotated', user: { ...user! }, family: row!.family, source: row!.source };
  }
  async familyOf(hash: string) {
    return this.refresh.get(hash)?.family;
  }
  private revokeNow(family: string, now: number) {
    for (const row of this.refresh.values()) if (row.family === family && row.revoked_at === null) row.revoked_at = now;
    if (!this.revoked.has(family)) this.revoked.set(family, now);
  }
  async revokeFamily(family: string, now: number) {
    this.revokeNow(family, now);
  }
  async isFamilyRevoked(family: string) {
    return this.revoked.has(family);
  }
  /**
   * The hook first (it gets no SQL: `sql` is null), then — if it neither vetoed nor threw, and the account still exists
   * — the erase, in one synchronous stretch (nothing runs between its steps, and none of them can fail half-way).
   */
  async deleteAccount(userId: string, options: DeleteAccountOptions): Promise<Erasure | undefined> {
    const before = this.users.get(userId);
    if (!before) return undefined;
    await consultHook(options.hook, { user: { ...before }, identities: this.identitiesOf(before), sql: null });
    const user = this.users.get(userId);
    if (!user) return undefined; // another deletion ended it meanwhile
    const identities = this.identitiesOf(user);
    const owners = new Set(identities.map(({ source, openid }) => `${source}:${openid}`));
    const avatarId = user.avatar_url ? options.avatarIdOf(user.avatar_url) : null;
    const live = new Set<string>();
    let avatars = 0;
    for (const row of this.refresh.values()) {
      if (row.user_id !== userId) continue;
      if (row.revoked_at === null && row.expires_at > options.now && !this.revoked.has(row.family)) live.add(row.family);
      this.revokeNow(row.family, options.now);
      this.refresh.delete(row.hash);
    }
    for (const [id, row] of this.avatars) if ((owners.has(row.owner) || id === avatarId) && this.avatars.delete(id)) avatars++;
    for (const [key, row] of this.tickets)
      if (owners.has(`${row.source}:${row.openid}`) || (user.unionid !== null && row.unionid === user.unionid)) this.tickets.delete(key);
    for (const [key, id] of this.identities) if (id === userId) this.identities.delete(key);
    this.users.delete(userId);
    return {
      sources: [...new Set(identities.map((identity) => identity.source))].sort(),
      families: live.size,
      avatars,
      phone: user.phone !== null,
      unionid: user.unionid !== null,
    };
  }
  private identitiesOf(user: UserRow): Array<{ source: string; openid: string }> {
    const rows: Array<{ source: string; openid: string }> = [];
    for (const [key, id] of this.identities) {
      if (id !== user.id) continue;
      const [source, openid] = key.split('\n');
      rows.push({ source, openid });
    }
    return identitiesOf(user, rows);
  }
  async reserveAvatar(a: Parameters<Store['reserveAvatar']>[0], since: number, cap: number) {
    if (this.count(a.owner, since) >= cap) return false;
    this.avatars.set(a.id, {
      id: a.id,
      source: a.source,
      owner: a.owner,
      content_type: '',
      data: Buffer.alloc(0),
      created_at: a.now,
      claimed: a.claimed,
    });
    return true;
  }
  async releaseAvatar(id: string) {
    if (this.avatars.get(id)?.content_type === '') this.avatars.delete(id);
  }
  async saveAvatar(a: Parameters<Store['saveAvatar']>[0]) {
    const existing = this.avatars.get(a.id);
    if (existing) {
      existing.content_type = a.contentType;
      existing.data = a.data;
    } else {
      this.avatars.set(a.id, {
        id: a.id,
        source: a.source,
        owner: a.owner,
        content_type: a.contentType,
        data: a.data,
        created_at: a.now,
        claimed: a.claimed,
      });
    }
  }
  async avatar(id: string) {
    const row = this.avatars.get(id);
    return row && row.content_type !== '' ? { content_type: row.content_type, data: row.data } : undefined;
  }
  async claimAvatar(id: string) {
    const row = this.avatars.get(id);
    if (row) row.claimed = true;
  }
  async countAvatars(owner: string, since: number) {
    return this.count(owner, since);
  }
  private count(owner: string, since: number): number {
    return [...this.avatars.values()].filter((row) => row.owner === owner && row.created_at >= since).length;
  }
  async hitRateLimit(key: string, limit: number, windowMs: number, now: number) {
    const name = `${limit}/${windowMs}`;
    let limiter = this.limiters.get(name);
    if (!limiter) this.limiters.set(name, (limiter = new FixedWindowLimiter(limit, windowMs)));
    return limiter.hit(key, now);
  }
  async purge(now: number, keepMs: number): Promise<Purged> {
    const purged = { tickets: 0, refreshTokens: 0, avatars: 0 };
    for (const [key, row] of this.tickets) if (row.expires_at < now && this.tickets.delete(key)) purged.tickets++;
    for (const [key, row] of this.refresh) if (row.expires_at < now && this.refresh.delete(key)) purged.refreshTokens++;
    for (const [key, row] of this.avatars)
      if ((!row.claimed || row.content_type === '') && row.created_at < now - keepMs && this.avatars.delete(key)) purged.avatars++;
    return purged;
  }
  /** Forgets everything (the store stays usable, empty). */
  async close() {
    for (const map of [this.users, this.identities, this.tickets, this.refresh, this.revoked, this.avatars, this.limiters]) map.clear();
  }
}
