/**
 * Account deletion (注销账号, contract 1.4, `POST /auth/account/delete`) from the outside: HTTP against the running
 * reference server with the WeChat emulator as WeChat, on each store (a SQLite file, the memory store of the dev CLI,
 * Postgres through PGlite). A stolen access token alone deletes nothing; a deletion erases the whole person (both
 * mini-programs of a unionid, phone, avatar, every session) and answers what it did; a veto, a throwing hook or a
 * failing store step leaves the account whole; the limit counts before the code is spent.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { AccountDeletionHook, Store } from '../../server/store';
import { openMemoryStore } from '../../server/store-memory';
import { openPostgresStore } from '../../server/store-postgres';
import { openSqliteStore, type SqliteStore } from '../../server/store-sqlite';
import { DEMO_UNFINISHED_ORDER_REASON } from '../../server/demo-routes';
import { startStack, type Stack } from '../../scripts/stack';
import { png } from '../helpers/images';
import { pglitePool } from '../helpers/pglite';
import type { SqlPool } from '../../server/store-postgres';

// PGlite takes seconds to start on a busy machine.
jest.setTimeout(60_000);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A store, and a way to make one of its erase steps fail (null: the memory store has no SQL to break). */
interface Opened {
  store: Store;
  /** Makes the deletion of the users row throw (after the other erase steps ran), or undoes it. */
  breakUsersDelete: ((broken: boolean) => Promise<void>) | null;
  /** Runs SQL outside any deletion (the app's own table in the hook tests); null for the memory store. */
  sql: ((text: string) => Promise<Json[]>) | null;
}

const stores: Array<[string, () => Promise<Opened>]> = [
  [
    'a SQLite file',
    async () => {
      const store: SqliteStore = openSqliteStore(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-del-')), 'login.db'));
      return {
        store,
        breakUsersDelete: async (broken) =>
          void store.db.exec(
            broken
              ? "CREATE TRIGGER fail_user_delete BEFORE DELETE ON users BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
              : 'DROP TRIGGER fail_user_delete',
          ),
        sql: async (text) => {
          const statement = store.db.prepare(text);
          return statement.reader ? (statement.all() as Json[]) : (statement.run(), []);
        },
      };
    },
  ],
  ['the memory store (dev CLI)', async () => ({ store: openMemoryStore(), breakUsersDelete: null, sql: null })],
  [
    'Postgres (PGlite)',
    async () => {
      const pool: SqlPool = await pglitePool();
      return {
        store: await openPostgresStore(pool),
        breakUsersDelete: async (broken) =>
          void (await pool.query(
            broken
              ? `CREATE FUNCTION fail_user_delete() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql;
                 CREATE TRIGGER fail_user_delete BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION fail_user_delete();`
              : 'DROP TRIGGER fail_user_delete ON users; DROP FUNCTION fail_user_delete();',
          )),
        sql: async (text) => (await pool.query(text)).rows,
      };
    },
  ],
];

describe.each(stores)('account deletion on %s', (_name, open) => {
  let stack: Stack;
  let opened: Opened;
  /** The app's hook of the current test (the server calls it after the demo's). */
  let hook: AccountDeletionHook | undefined;
  let n = 0;
  /** A fresh WeChat person of this test (openid in the primary mini-program). */
  const person = (name: string) => `${name}-${++n}`;

  beforeAll(async () => {
    opened = await open();
    stack = await startStack({
      registration: 'silent',
      otherSources: [{ source: 'shop', registration: 'silent' }],
      server: {
        store: opened.store,
        rateLimit: { perIp: 100_000, perOpenid: 1000 },
        accountDeletionsPerHour: 1000,
        onAccountDeletion: (deletion) => (hook ? hook(deletion) : undefined),
      },
    });
  });
  afterAll(() => stack.close());
  beforeEach(() => {
    hook = undefined;
  });

  const call = async (method: string, url: string, body?: unknown, token?: string) => {
    const response = await fetch(url.indexOf('http') === 0 ? url : stack.baseURL + url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as Json };
  };
  const shopAppid = () => stack.appids.shop;
  const login = async (who: string, source = 'demo-app') => {
    const code = stack.emulator.issueCode(who, source === 'shop' ? shopAppid() : undefined);
    const a = await call('POST', '/auth/login', { source, mode: 'silent', code });
    expect(a.status).toBe(200);
    return a.body;
  };
  const remove = (token: string | undefined, body: unknown) => call('POST', '/auth/account/delete', body, token);
  const code = (who: string, source = 'demo-app') => stack.emulator.issueCode(who, source === 'shop' ? shopAppid() : undefined);
  const me = (token: string) => call('GET', '/api/me', undefined, token);
  const refresh = (refreshToken: string) => call('POST', '/auth/refresh', { refreshToken });

  /** A person with everything the deletion erases: two mini-programs (one unionid), a phone, an avatar, two sessions. */
  async function fullAccount() {
    const who = person('full');
    stack.emulator.user(who, { unionid: `union-${who}` });
    const main = await login(who);
    const shop = await login(who, 'shop');
    expect(shop.user.id).toBe(main.user.id);
    const phone = `139${String(1e7 + n).padStart(8, '0')}`;
    const bound = await call('POST', '/auth/bind', { phoneCode: stack.emulator.phoneDetail(who, phone).code }, main.accessToken);
    expect(bound.body.user.phoneBound).toBe(true);
    const form = new FormData();
    form.append('source', 'demo-app');
    form.append('file', new Blob([new Uint8Array(png(8, 8))], { type: 'image/png' }), 'a.png');
    const upload = await fetch(`${stack.baseURL}/auth/avatar`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${main.accessToken}` },
    });
    expect(upload.status).toBe(200);
    const { avatarUrl } = (await upload.json()) as { avatarUrl: string };
    return { who, main, shop, phone, avatarUrl };
  }

  /** The account is whole: its sessions work, its avatar is served, its phone is bound, the same person logs in to it. */
  async function expectWhole(account: Awaited<ReturnType<typeof fullAccount>>) {
    const mine = await me(account.main.accessToken);
    expect(mine.status).toBe(200);
    expect(mine.body.user).toMatchObject({ id: account.main.user.id, phoneBound: true, avatarUrl: account.avatarUrl });
    expect((await me(account.shop.accessToken)).status).toBe(200);
    expect((await fetch(account.avatarUrl)).status).toBe(200);
    const again = await login(account.who);
    expect(again).toMatchObject({ isNewUser: false, user: { id: account.main.user.id } });
    const renewed = await refresh(account.shop.refreshToken);
    expect(renewed.status).toBe(200);
    account.shop = { ...account.shop, ...renewed.body };
  }

  it("refuses a stolen access token alone: no code, a wrong source, the attacker's own code, a reused code, another mini-program's session", async () => {
    const victim = await fullAccount();
    const attacker = await login(person('attacker'));
    const attackerWho = `attacker-${n}`;

    const noCode = await remove(victim.main.accessToken, { source: 'demo-app' });
    expect([noCode.status, noCode.body.code]).toEqual([400, 'BAD_REQUEST']);
    const unknownSource = await remove(victim.main.accessToken, { source: 'nope', code: code(victim.who) });
    expect([unknownSource.status, unknownSource.body.code]).toEqual([400, 'BAD_REQUEST']);
    const noToken = await remove(undefined, { source: 'demo-app', code: code(victim.who) });
    expect([noToken.status, noToken.body.code]).toEqual([401, 'TOKEN_INVALID']);

    const ownCode = code(attackerWho);
    const mismatch = await remove(victim.main.accessToken, { source: 'demo-app', code: ownCode });
    expect([mismatch.status, mismatch.body.code]).toEqual([403, 'IDENTITY_MISMATCH']);
    const reused = await remove(victim.main.accessToken, { source: 'demo-app', code: ownCode });
    expect([reused.status, reused.body.code]).toEqual([400, 'INVALID_CODE']);
    // The victim's own code of the other mini-program, with a session of this one: not this session's proof.
    const crossed = await remove(victim.main.accessToken, { source: 'shop', code: code(victim.who, 'shop') });
    expect([crossed.status, crossed.body.code]).toEqual([403, 'IDENTITY_MISMATCH']);
    // The attacker's own session with the victim's code (a code phished from the victim) deletes neither account.
    const phished = await remove(attacker.accessToken, { source: 'demo-app', code: code(victim.who) });
    expect([phished.status, phished.body.code]).toEqual([403, 'IDENTITY_MISMATCH']);

    await expectWhole(victim);
    expect((await me(attacker.accessToken)).status).toBe(200);
  });

  it('erases the whole person in every mini-program of the unionid, answers what it did, and frees the phone number', async () => {
    const account = await fullAccount();
    const answer = await remove(account.main.accessToken, { source: 'demo-app', code: code(account.who), fromANewerClient: 1 });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toMatch(/no-store/);
    expect(answer.body).toEqual({ deleted: { sources: ['demo-app', 'shop'], families: 2, avatars: 1, phone: true, unionid: true } });

    for (const session of [account.main, account.shop]) {
      expect((await me(session.accessToken)).body.code).toBe('TOKEN_INVALID');
      expect((await refresh(session.refreshToken)).body.code).toBe('REFRESH_TOKEN_INVALID');
    }
    expect((await fetch(account.avatarUrl)).status).toBe(404);
    const again = await remove(account.main.accessToken, { source: 'demo-app', code: code(account.who) });
    expect([again.status, again.body.code]).toEqual([401, 'TOKEN_INVALID']);

    // The same WeChat person arrives as a new user, in both mini-programs, with nothing of the old account.
    const reborn = await login(account.who);
    expect(reborn.isNewUser).toBe(true);
    expect(reborn.user).toMatchObject({ profileComplete: false, phoneBound: false, avatarUrl: '' });
    expect(reborn.user.id).not.toBe(account.main.user.id);
    expect((await login(account.who, 'shop')).user.id).toBe(reborn.user.id);

    // The freed number can be bound by another account.
    const other = await login(person('heir'));
    const bind = await call(
      'POST',
      '/auth/bind',
      { phoneCode: stack.emulator.phoneDetail(`heir-${n}`, account.phone).code },
      other.accessToken,
    );
    expect([bind.status, bind.body.user?.phoneBound]).toEqual([200, true]);
  });

  it('the demo: an unfinished order vetoes the deletion with its reason and the account stays whole; once finished, it goes', async () => {
    const account = await fullAccount();
    expect((await call('PUT', '/api/unfinished-order', { unfinished: true }, account.main.accessToken)).body).toEqual({ unfinished: true });
    const vetoed = await remove(account.main.accessToken, { source: 'demo-app', code: code(account.who) });
    expect(vetoed.status).toBe(409);
    expect(vetoed.body).toMatchObject({ code: 'DELETION_VETOED', reason: DEMO_UNFINISHED_ORDER_REASON, message: expect.any(String) });
    await expectWhole(account);

    expect((await call('PUT', '/api/unfinished-order', { unfinished: false }, account.main.accessToken)).status).toBe(200);
    const deleted = await remove(account.main.accessToken, { source: 'demo-app', code: code(account.who) });
    expect(deleted.status).toBe(200);
  });

  it("a hook that throws, or vetoes after writing the app's rows, rolls everything back; an accepted deletion commits the app's rows", async () => {
    const account = await fullAccount();
    await opened.sql?.('CREATE TABLE IF NOT EXISTS app_orders (user_id TEXT, buyer TEXT)');
    await opened.sql?.(`INSERT INTO app_orders (user_id, buyer) VALUES ('${account.main.user.id}', '张三')`);
    const seen: string[] = [];
    /** The app anonymises its orders inside the deletion's transaction, then `then` decides. */
    const anonymiseThen =
      (then: () => { veto: string } | undefined): AccountDeletionHook =>
      async (deletion) => {
        seen.push(
          deletion.identities
            .map((i) => i.source)
            .sort()
            .join(','),
        );
        const placeholder = opened.store.kind === 'postgres' ? '$1' : '?';
        await deletion.sql?.query(`UPDATE app_orders SET buyer = '已注销用户' WHERE user_id = ${placeholder}`, [deletion.user.id]);
        return then();
      };
    const buyer = async () => (await opened.sql?.('SELECT buyer FROM app_orders'))?.[0]?.buyer;

    hook = anonymiseThen(() => {
      throw new Error('the order service is down');
    });
    const failed = await remove(account.main.accessToken, { source: 'demo-app', code: code(account.who) });
    expect([failed.status, failed.body.code]).toEqual([500, 'INTERNAL']);
    await expectWhole(account);
    if (opened.sql) expect(await buyer()).toBe('张三');

    hook = anonymiseThen(() => ({ veto: '发票未开具' }));
    const vetoed = await remove(account.main.accessToken, { source: 'demo-app', code: code(account.who) });
    expect([vetoed.status, vetoed.body.reason]).toEqual([409, '发票未开具']);
    await expectWhole(account);
    if (opened.sql) expect(await buyer()).toBe('张三');

    hook = anonymiseThen(() => undefined);
    expect((await remove(account.main.accessToken, { source: 'demo-app', code: code(account.who) })).status).toBe(200);
    if (opened.sql) expect(await buyer()).toBe('已注销用户');
    expect(seen).toEqual(['demo-app,shop', 'demo-app,shop', 'demo-app,shop']);
  });

  it('a store step that fails half-way leaves the account whole', async () => {
    if (!opened.breakUsersDelete) return; // the memory store erases in one synchronous stretch with no step that fails
    const account = await fullAccount();
    await opened.breakUsersDelete(true);
    try {
      const failed = await remove(account.main.accessToken, { source: 'demo-app', code: code(account.who) });
      expect(failed.status).toBe(500);
    } finally {
      await opened.breakUsersDelete(false);
    }
    await expectWhole(account);
    expect((await remove(account.main.accessToken, { source: 'demo-app', code: code(account.who) })).status).toBe(200);
  });

  it('requests arriving while the hook runs neither wait forever nor roll back with a veto', async () => {
    const account = await fullAccount();
    const bystander = await login(person('bystander'));
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let entered!: () => void;
    const inHook = new Promise<void>((resolve) => (entered = resolve));
    hook = async () => {
      entered();
      await held;
      return { veto: '稍后再试' };
    };
    const deletion = remove(account.main.accessToken, { source: 'demo-app', code: code(account.who) });
    await inHook;
    const bind = call('POST', '/auth/bind', { profile: { nickName: '旁观者' } }, bystander.accessToken);
    letGo();
    expect((await deletion).status).toBe(409);
    expect((await bind).status).toBe(200);
    expect((await me(bystander.accessToken)).body.user.nickName).toBe('旁观者');
    await expectWhole(account);
  });
});

describe('account deletion: the authorize policy, the limit, the expired token', () => {
  let stack: Stack;
  let clock = Date.now();
  beforeAll(async () => {
    stack = await startStack({ registration: 'authorize', server: { accessTtlSeconds: 60, accountDeletionsPerHour: 2, now: () => clock } });
  });
  afterAll(() => stack.close());
  const post = async (url: string, body: unknown, token?: string) => {
    const response = await fetch(stack.baseURL + url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
  };
  const register = async (who: string) => {
    const silent = await post('/auth/login', { source: 'demo-app', mode: 'silent', code: stack.emulator.issueCode(who) });
    const a = await post('/auth/login', {
      source: 'demo-app',
      mode: 'authorize',
      loginTicket: silent.body.loginTicket,
      profile: { nickName: who },
    });
    expect(a.status).toBe(200);
    return a.body;
  };

  it('after a deletion the same WeChat user is unknown again: USER_NOT_REGISTERED', async () => {
    const a = await register('authorize-user');
    expect(
      (await post('/auth/account/delete', { source: 'demo-app', code: stack.emulator.issueCode('authorize-user') }, a.accessToken)).status,
    ).toBe(200);
    const silent = await post('/auth/login', { source: 'demo-app', mode: 'silent', code: stack.emulator.issueCode('authorize-user') });
    expect([silent.status, silent.body.code]).toEqual([401, 'USER_NOT_REGISTERED']);
  });

  it('limits attempts per user per hour with retryAfter and Retry-After, before the code is spent', async () => {
    const a = await register('limited');
    const attempt = (code: string) => post('/auth/account/delete', { source: 'demo-app', code }, a.accessToken);
    expect((await attempt('not-a-code')).body.code).toBe('INVALID_CODE');
    expect((await attempt('not-a-code')).body.code).toBe('INVALID_CODE');
    const code = stack.emulator.issueCode('limited');
    const limited = await attempt(code);
    expect([limited.status, limited.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(limited.body.retryAfter).toBeGreaterThanOrEqual(1);
    expect(limited.body.retryAfter).toBeLessThanOrEqual(3600);
    expect(limited.headers.get('retry-after')).toBe(String(limited.body.retryAfter));
    // The code was not exchanged: it still logs in.
    expect((await post('/auth/login', { source: 'demo-app', mode: 'silent', code })).status).toBe(200);
  });

  it('an expired access token is TOKEN_EXPIRED and spends no code', async () => {
    const a = await register('expired');
    clock += 61_000;
    const code = stack.emulator.issueCode('expired');
    const answer = await post('/auth/account/delete', { source: 'demo-app', code }, a.accessToken);
    expect([answer.status, answer.body.code]).toEqual([401, 'TOKEN_EXPIRED']);
    expect((await post('/auth/login', { source: 'demo-app', mode: 'silent', code })).status).toBe(200);
  });
});
