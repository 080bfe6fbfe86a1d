/**
 * The store interface, one behaviour for both databases: SQLite (better-sqlite3) and Postgres (the same SQL the `pg`
 * driver sends, run in-process by PGlite). What the server relies on: upserted registration, rotation with its
 * reuse interval and reuse detection, revocation, shared rate-limit windows, the purge.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import Database from 'better-sqlite3';
import { POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS } from '../../server/migrations';
import { PhoneTakenError, type Store } from '../../server/store';
import { openPostgresStore } from '../../server/store-postgres';
import { openMemoryStore } from '../../server/store-memory';
import { openSqliteStore } from '../../server/store-sqlite';
import { pglitePool } from '../helpers/pglite';

const TABLES = 'users, identities, login_tickets, refresh_tokens, revoked_families, avatars, rate_limits';
/** Each database once per file (PGlite takes about 2 s to start); emptied before each test. */
const stores: Array<[string, () => Promise<{ store: Store; reset(): Promise<void> }>]> = [
  [
    'sqlite',
    async () => {
      const store = openSqliteStore(':memory:');
      return {
        store,
        reset: async () =>
          void store.db.exec(
            TABLES.split(', ')
              .filter((t) => t !== 'rate_limits')
              .map((t) => `DELETE FROM ${t};`)
              .join(''),
          ),
      };
    },
  ],
  [
    // The development backend's store (no native dependency): the same behaviour in maps.
    'memory',
    async () => {
      const store = openMemoryStore();
      return { store, reset: () => store.close() };
    },
  ],
  [
    'postgres (PGlite)',
    async () => {
      const pool = await pglitePool();
      return { store: await openPostgresStore(pool), reset: async () => void (await pool.query(`TRUNCATE ${TABLES}`)) };
    },
  ],
];

const T0 = 1_700_000_000_000;
const newUser = (id: string, openid = 'o1', extra: { source?: string; unionid?: string | null; phone?: string | null } = {}) => ({
  id,
  source: 'app',
  openid,
  unionid: null,
  nickName: 'n',
  avatarUrl: '',
  phone: null,
  now: T0,
  ...extra,
});

describe.each(stores)('%s store', (_name, open) => {
  let store: Store;
  let reset: () => Promise<void>;
  beforeAll(async () => {
    ({ store, reset } = await open());
  });
  beforeEach(() => reset());
  afterAll(() => store.close());

  it('registers a user once: simultaneous registrations land on the same row', async () => {
    const [a, b] = await Promise.all([store.registerUser(newUser('id-a')), store.registerUser(newUser('id-b'))]);
    expect(a.user.id).toBe(b.user.id);
    expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
    await store.updateProfile(a.user.id, '小明', null);
    expect(await store.userById(a.user.id)).toMatchObject({ nick_name: '小明', avatar_url: '' });
  });

  it('rotates a refresh token once; within the reuse interval to the same successor (1.3); after it, reuse revokes the family', async () => {
    const { user } = await store.registerUser(newUser('u1'));
    await store.saveRefreshToken({ hash: 'h0', family: 'f1', userId: user.id, source: 'app', expiresAt: T0 + 86_400_000 });
    expect(await store.rotateRefreshToken('h0', T0, 10_000, { hash: 'h1', expiresAt: T0 + 1e6 })).toMatchObject({
      status: 'rotated',
      family: 'f1',
    });
    expect(await store.rotateRefreshToken('h0', T0 + 5_000, 10_000, { hash: 'h1', expiresAt: T0 + 2e6 })).toMatchObject({
      status: 'rotated',
    });
    expect(await store.familyOf('h1')).toBe('f1');
    expect(await store.rotateRefreshToken('h0', T0 + 20_000, 10_000, { hash: 'h3', expiresAt: T0 + 1e6 })).toEqual({ status: 'reused' });
    expect(await store.isFamilyRevoked('f1')).toBe(true);
    expect(await store.rotateRefreshToken('h1', T0 + 21_000, 10_000, { hash: 'h4', expiresAt: T0 + 1e6 })).toMatchObject({
      status: 'invalid',
    });
    expect(await store.rotateRefreshToken('nope', T0, 10_000, { hash: 'h5', expiresAt: T0 + 1e6 })).toMatchObject({ status: 'invalid' });
  });

  it('binds a phone number to one account: another gets PhoneTakenError, at a bind and at a registration', async () => {
    const { user: a } = await store.registerUser(newUser('a', 'oa'));
    const { user: b } = await store.registerUser(newUser('b', 'ob'));
    await store.updatePhone(a.id, '13900000000');
    await store.updatePhone(a.id, '13900000000'); // the same account again: nothing to refuse
    await expect(store.updatePhone(b.id, '13900000000')).rejects.toBeInstanceOf(PhoneTakenError);
    await expect(store.registerUser(newUser('c', 'oc', { phone: '13900000000' }))).rejects.toBeInstanceOf(PhoneTakenError);
    expect(await store.userByOpenid('app', 'oc')).toBeUndefined();
    expect((await store.userById(b.id))!.phone).toBeNull();
  });

  it('keeps one account per unionid: a registration under another mini-program links its openid to that account', async () => {
    const [first, second] = await Promise.all([
      store.registerUser(newUser('in-a', 'oa', { unionid: 'u1' })),
      store.registerUser(newUser('in-b', 'ob', { source: 'other', unionid: 'u1' })),
    ]);
    expect(first.user.id).toBe(second.user.id);
    expect([first.created, second.created].filter(Boolean)).toHaveLength(1);
    expect((await store.userByOpenid('other', 'ob'))!.id).toBe(first.user.id);
    expect((await store.userByOpenid('app', 'oa'))!.id).toBe(first.user.id);
  });

  it('reserves avatar uploads up to the cap; a reservation is never served, is released, and counts until then', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const row = (id: string) => ({ id, source: 'app', owner: 'app:o', now: T0, claimed: false });
    const reserved = await Promise.all(['r1', 'r2', 'r3'].map((id) => store.reserveAvatar(row(id), T0 - 86_400_000, 2)));
    expect(reserved.filter(Boolean)).toHaveLength(2);
    const [kept, dropped] = ['r1', 'r2', 'r3'].filter((_, i) => reserved[i]);
    expect(await store.avatar(kept)).toBeUndefined(); // reserved, not yet stored
    await store.saveAvatar({ ...row(kept), contentType: 'image/png', data: png });
    expect((await store.avatar(kept))!.data.equals(png)).toBe(true);
    await store.releaseAvatar(dropped);
    await store.releaseAvatar(kept); // a stored avatar is no reservation: kept
    expect(await store.countAvatars('app:o', T0 - 86_400_000)).toBe(1);
    expect(await store.reserveAvatar(row('r4'), T0 - 86_400_000, 2)).toBe(true);
    expect(await store.reserveAvatar(row('r5'), T0 - 86_400_000, 2)).toBe(false);
    expect(await store.reserveAvatar(row('r6'), T0 + 1, 2)).toBe(true); // uploads older than the window no longer count
  });

  it('contract 1.3: once the successor was used, a repeat of the old token inside the interval revokes the family', async () => {
    const { user } = await store.registerUser(newUser('u2', 'o2'));
    await store.saveRefreshToken({ hash: 'g0', family: 'f2', userId: user.id, source: 'app', expiresAt: T0 + 86_400_000 });
    expect(await store.rotateRefreshToken('g0', T0, 10_000, { hash: 'g1', expiresAt: T0 + 1e6 })).toMatchObject({ status: 'rotated' });
    expect(await store.rotateRefreshToken('g1', T0 + 1_000, 10_000, { hash: 'g2', expiresAt: T0 + 1e6 })).toMatchObject({
      status: 'rotated',
    });
    expect(await store.rotateRefreshToken('g0', T0 + 2_000, 10_000, { hash: 'g1', expiresAt: T0 + 1e6 })).toEqual({ status: 'reused' });
    expect(await store.isFamilyRevoked('f2')).toBe(true);
    expect(await store.rotateRefreshToken('g2', T0 + 3_000, 10_000, { hash: 'g3', expiresAt: T0 + 1e6 })).toMatchObject({
      status: 'invalid',
    });
  });

  it('takes a ticket once, and peeks without consuming', async () => {
    await store.saveTicket({ ticket: 't1', source: 'app', openid: 'o1', unionid: null, session_key: 'k', expires_at: T0 + 300_000 });
    expect(await store.peekTicket('t1', 'app')).toMatchObject({ openid: 'o1', expires_at: T0 + 300_000 });
    expect(await store.takeTicket('t1', 'other')).toBeUndefined();
    expect(await store.takeTicket('t1', 'app')).toMatchObject({ openid: 'o1' });
    expect(await store.takeTicket('t1', 'app')).toBeUndefined();
  });

  it('counts fixed rate-limit windows and tells the seconds to wait', async () => {
    const start = Math.ceil(T0 / 60_000) * 60_000; // a window boundary: Postgres aligns windows to the clock
    expect(await store.hitRateLimit('ip:1', 2, 60_000, start)).toBe(0);
    expect(await store.hitRateLimit('ip:1', 2, 60_000, start + 1)).toBe(0);
    expect(await store.hitRateLimit('ip:1', 2, 60_000, start + 2)).toBeGreaterThan(0);
    expect(await store.hitRateLimit('ip:2', 2, 60_000, start + 2)).toBe(0);
    expect(await store.hitRateLimit('ip:1', 2, 60_000, start + 61_000)).toBe(0);
  });

  it("contract 1.4: deletes one account — its links, tickets, avatars, tokens — and nothing of another's; counts live families only", async () => {
    const { user } = await store.registerUser(newUser('gone', 'og', { unionid: 'ug', phone: '13700000000' }));
    await store.linkIdentity('other', 'og2', user.id);
    const { user: kept } = await store.registerUser(newUser('kept', 'ok'));
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const avatar = (id: string, owner: string) =>
      store.saveAvatar({ id, source: 'app', owner, contentType: 'image/png', data: png, now: T0, claimed: true });
    await avatar('mine', 'app:og');
    await avatar('mine-too', 'other:og2');
    await avatar('named', 'app:somebody-else'); // uploaded with a ticket elsewhere, named by the profile
    await avatar('theirs', 'app:ok');
    await store.updateProfile(user.id, 'n', 'https://api.example/avatars/named');
    const token = (hash: string, family: string, userId: string, expiresAt = T0 + 1e6) =>
      store.saveRefreshToken({ hash, family, userId, source: 'app', expiresAt });
    await token('live-1', 'f-live-1', user.id);
    await token('live-2', 'f-live-2', user.id);
    await token('logged-out', 'f-out', user.id);
    await store.revokeFamily('f-out', T0);
    await token('expired', 'f-expired', user.id, T0 - 1);
    await token('other', 'f-other', kept.id);
    const ticket = (value: string, openid: string, unionid: string | null) =>
      store.saveTicket({ ticket: value, source: 'app', openid, unionid, session_key: 'k', expires_at: T0 + 1e6 });
    await ticket('t-mine', 'og', null);
    await ticket('t-union', 'o-new', 'ug');
    await ticket('t-theirs', 'ok', null);

    const erased = await store.deleteAccount(user.id, {
      now: T0,
      avatarIdOf: (url) => (url.indexOf('https://api.example/avatars/') === 0 ? url.slice(28) : null),
    });
    expect(erased).toEqual({ sources: ['app', 'other'], families: 2, avatars: 3, phone: true, unionid: true });
    expect(await store.userById(user.id)).toBeUndefined();
    expect(await store.userByOpenid('app', 'og')).toBeUndefined();
    expect(await store.userByOpenid('other', 'og2')).toBeUndefined();
    expect(await store.userByUnionid('ug')).toBeUndefined();
    for (const family of ['f-live-1', 'f-live-2', 'f-out', 'f-expired']) expect(await store.isFamilyRevoked(family)).toBe(true);
    expect(await store.familyOf('live-1')).toBeUndefined();
    for (const id of ['mine', 'mine-too', 'named']) expect(await store.avatar(id)).toBeUndefined();
    expect(await store.peekTicket('t-mine', 'app')).toBeUndefined();
    expect(await store.peekTicket('t-union', 'app')).toBeUndefined();
    // The other account is untouched; the freed number can be bound again.
    expect(await store.userByOpenid('app', 'ok')).toMatchObject({ id: kept.id });
    expect(await store.isFamilyRevoked('f-other')).toBe(false);
    expect(await store.familyOf('other')).toBe('f-other');
    expect(await store.avatar('theirs')).toBeDefined();
    expect(await store.peekTicket('t-theirs', 'app')).toBeDefined();
    await store.updatePhone(kept.id, '13700000000');
    expect(await store.deleteAccount(user.id, { now: T0, avatarIdOf: () => null })).toBeUndefined();
  });

  it('contract 1.4: a veto rolls back the deletion, and a call made while the hook runs is not rolled back with it', async () => {
    const { user } = await store.registerUser(newUser('vetoed', 'ov'));
    const { user: bystander } = await store.registerUser(newUser('bystander', 'ob'));
    await store.saveRefreshToken({ hash: 'h', family: 'f', userId: user.id, source: 'app', expiresAt: T0 + 1e6 });
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let entered!: () => void;
    const inHook = new Promise<void>((resolve) => (entered = resolve));
    const deletion = store.deleteAccount(user.id, {
      now: T0,
      avatarIdOf: () => null,
      hook: async (d) => {
        expect(d.user.id).toBe(user.id);
        entered();
        await held;
        return { veto: '有未完成的订单' };
      },
    });
    await inHook;
    // Issued while the deletion's transaction is open: on SQLite (one connection) it waits for it to end.
    const meanwhile = store.updateProfile(bystander.id, '旁观者', null);
    letGo();
    await expect(deletion).rejects.toMatchObject({ name: 'AccountDeletionVetoed', reason: '有未完成的订单' });
    await meanwhile;
    expect((await store.userById(bystander.id))!.nick_name).toBe('旁观者');
    expect(await store.userByOpenid('app', 'ov')).toMatchObject({ id: user.id });
    expect(await store.familyOf('h')).toBe('f');
    expect(await store.isFamilyRevoked('f')).toBe(false);
  });

  it('purges expired tickets and refresh tokens and unclaimed avatars, and keeps claimed ones', async () => {
    await store.saveTicket({ ticket: 'old', source: 'app', openid: 'o', unionid: null, session_key: 'k', expires_at: T0 - 1 });
    await store.saveRefreshToken({ hash: 'old', family: 'f', userId: 'u', source: 'app', expiresAt: T0 - 1 });
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    await store.saveAvatar({
      id: 'orphan',
      source: 'app',
      owner: 'app:o',
      contentType: 'image/png',
      data: png,
      now: T0 - 7_200_000,
      claimed: false,
    });
    await store.saveAvatar({
      id: 'kept',
      source: 'app',
      owner: 'app:o',
      contentType: 'image/png',
      data: png,
      now: T0 - 7_200_000,
      claimed: false,
    });
    await store.claimAvatar('kept');
    // A claimed reservation never filled (the process died between reserving and storing) goes too.
    await store.reserveAvatar({ id: 'stuck', source: 'app', owner: 'app:o', now: T0 - 7_200_000, claimed: true }, 0, 10);
    expect(await store.countAvatars('app:o', T0 - 86_400_000)).toBe(3);
    expect(await store.purge(T0, 3_600_000)).toEqual({ tickets: 1, refreshTokens: 1, avatars: 2 });
    expect(await store.avatar('orphan')).toBeUndefined();
    expect((await store.avatar('kept'))!.data.equals(png)).toBe(true);
  });
});

describe('the uniqueness migration on a database written before it', () => {
  /** Users that the old schema let share a phone number and a unionid; `old` registered first. */
  const duplicates = [
    ['old', 'app', 'o1', 'u1', '13900000000', T0],
    ['new', 'app', 'o2', 'u1', '13900000000', T0 + 1000],
    ['alone', 'other', 'o3', 'u2', '13900000001', T0],
  ] as const;
  const expectOldestKeeps = (rows: Array<{ id: string; unionid: string | null; phone: string | null }>) =>
    expect(rows.map((r) => [r.id, r.unionid, r.phone])).toEqual([
      ['alone', 'u2', '13900000001'],
      ['new', null, null],
      ['old', 'u1', '13900000000'],
    ]);

  it('sqlite: keeps the number and the unionid on the oldest account and clears them on the others', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-migrate-')), 'old.db');
    const old = new Database(file);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)');
    SQLITE_MIGRATIONS.slice(0, 3).forEach((sql, i) => {
      old.exec(sql);
      old.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(i + 1);
    });
    for (const [id, source, openid, unionid, phone, at] of duplicates)
      old
        .prepare('INSERT INTO users (id, source, openid, unionid, phone, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, source, openid, unionid, phone, at);
    old.close();
    const store = openSqliteStore(file);
    expectOldestKeeps(store.db.prepare('SELECT id, unionid, phone FROM users ORDER BY id').all() as never);
    await expect(store.updatePhone('new', '13900000000')).rejects.toBeInstanceOf(PhoneTakenError);
    await store.close();
  });

  it('postgres (PGlite): the same', async () => {
    const pool = await pglitePool();
    await pool.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)');
    for (const [i, sql] of POSTGRES_MIGRATIONS.slice(0, 2).entries()) {
      await pool.query(sql);
      await pool.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
    }
    for (const row of duplicates)
      await pool.query('INSERT INTO users (id, source, openid, unionid, phone, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [...row]);
    const store = await openPostgresStore(pool);
    expectOldestKeeps((await pool.query('SELECT id, unionid, phone FROM users ORDER BY id')).rows as never);
    await expect(store.updatePhone('new', '13900000000')).rejects.toBeInstanceOf(PhoneTakenError);
    await store.close();
  });
});
