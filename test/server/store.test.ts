/**
 * The store interface, one behaviour for both databases: SQLite (better-sqlite3) and Postgres (the same SQL the `pg`
 * driver sends, run in-process by PGlite). What the server relies on: upserted registration, rotation with its
 * reuse interval and reuse detection, revocation, shared rate-limit windows, the purge.
 */
import type { Store } from '../../server/store';
import { openPostgresStore } from '../../server/store-postgres';
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
    'postgres (PGlite)',
    async () => {
      const pool = await pglitePool();
      return { store: await openPostgresStore(pool), reset: async () => void (await pool.query(`TRUNCATE ${TABLES}`)) };
    },
  ],
];

const T0 = 1_700_000_000_000;
const newUser = (id: string, openid = 'o1') => ({
  id,
  source: 'app',
  openid,
  unionid: null,
  nickName: 'n',
  avatarUrl: '',
  phone: null,
  now: T0,
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
    expect(await store.countAvatars('app:o', T0 - 86_400_000)).toBe(2);
    expect(await store.purge(T0, 3_600_000)).toEqual({ tickets: 1, refreshTokens: 1, avatars: 1 });
    expect(await store.avatar('orphan')).toBeUndefined();
    expect((await store.avatar('kept'))!.data.equals(png)).toBe(true);
  });
});
