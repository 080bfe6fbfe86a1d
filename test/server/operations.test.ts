/**
 * The reference server as an operator runs it (issue 27), started as a deployment starts it (`startServer` with
 * environment variables, or `node build/server/main.js`) and met over real HTTP and raw sockets on 127.0.0.1: rate
 * limits from the environment, the proxy rule, one process per SQLite file, the committed secrets refused in
 * production, and slow clients cut off by the header and request timeouts.
 */
import { spawn, spawnSync } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { WeChatEmulator } from '../../emulator/wechat';
import { startServer, type RunningServer } from '../../server/main';
import { startStack } from '../../scripts/stack';
import { openSqliteStore } from '../../server/store-sqlite';
import { png } from '../helpers/images';

const root = path.resolve(__dirname, '../..');
const SECRET = 'an-operators-test-secret-of-its-own-0123456789';
let emulator: WeChatEmulator;

beforeAll(async () => {
  emulator = new WeChatEmulator({ appid: 'wx1234567890abcdef', secret: 'a-real-looking-app-secret' });
  await emulator.listen();
});
afterAll(() => emulator.close());

/** The environment of a deployment against the emulator, with `extra` on top. */
const deployment = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PORT: '0',
  JWT_SECRET: SECRET,
  WX_APPID: emulator.appid,
  WX_SECRET: emulator.secret,
  WECHAT_API_BASE: emulator.baseURL,
  LOG_LEVEL: 'warn',
  ...extra,
});

/** Starts a server for one test and closes it afterwards. */
async function withServer(env: NodeJS.ProcessEnv, work: (server: RunningServer) => Promise<void>): Promise<void> {
  const server = await startServer(deployment(env));
  try {
    await work(server);
  } finally {
    await server.close();
  }
}

const post = (server: RunningServer, url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(server.url + url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('the per-IP limit keys on the address the trusted proxy appended, never on the left-most X-Forwarded-For entry', () => {
  it.each(['true', '1', '127.0.0.1'])('TRUST_PROXY=%s: 30 refreshes with a new first entry each time are limited at 20', async (trust) => {
    await withServer({ TRUST_PROXY: trust, RATE_LIMIT_PER_IP: '20' }, async (server) => {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        // The client writes "10.0.x.y"; the proxy appends the address it saw: 203.0.113.9.
        const forwarded = { 'x-forwarded-for': `10.0.${i}.${i + 1}, 203.0.113.9` };
        statuses.push((await post(server, '/auth/refresh', { refreshToken: `x${i}` }, forwarded)).status);
      }
      expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
      expect(statuses.slice(20)).toEqual(Array(10).fill(429));
      // Another client behind the same proxy has a budget of its own.
      const other = await post(server, '/auth/refresh', { refreshToken: 'y' }, { 'x-forwarded-for': '10.0.0.1, 198.51.100.4' });
      expect(other.status).toBe(401);
    });
  });
});

describe('rate limits from the environment', () => {
  it('RATE_LIMIT_PER_OPENID=3: the fourth login of one user in a minute is 429 with retryAfter', async () => {
    await withServer({ RATE_LIMIT_PER_OPENID: '3' }, async (server) => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await post(server, '/auth/login', { source: 'demo-app', mode: 'silent', code: emulator.issueCode('eager') })).status,
        );
      expect(statuses).toEqual([401, 401, 401, 429]);
    });
  });

  it('AVATARS_PER_DAY=2: the third upload of one user is 429', async () => {
    await withServer({ AVATARS_PER_DAY: '2' }, async (server) => {
      const silent = await (
        await post(server, '/auth/login', { source: 'demo-app', mode: 'silent', code: emulator.issueCode('selfie') })
      ).json();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const form = new FormData();
        form.append('source', 'demo-app');
        form.append('loginTicket', silent.loginTicket);
        form.append('file', new Blob([new Uint8Array(png(8, 8))], { type: 'image/png' }), 'a.png');
        statuses.push((await fetch(`${server.url}/auth/avatar`, { method: 'POST', body: form })).status);
      }
      expect(statuses).toEqual([200, 200, 429]);
    });
  });

  it('ACCOUNT_DELETIONS_PER_HOUR=1: a second deletion attempt of one user in the hour is 429, before its code is spent', async () => {
    await withServer({ ACCOUNT_DELETIONS_PER_HOUR: '1', REGISTRATION: 'silent' }, async (server) => {
      const session = await (
        await post(server, '/auth/login', { source: 'demo-app', mode: 'silent', code: emulator.issueCode('leaver') })
      ).json();
      const attempt = async () => {
        const response = await fetch(`${server.url}/auth/account/delete`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
          body: JSON.stringify({ source: 'demo-app', code: 'not-a-code' }),
        });
        return [response.status, (await response.json()).code];
      };
      expect(await attempt()).toEqual([400, 'INVALID_CODE']);
      expect(await attempt()).toEqual([429, 'RATE_LIMITED']);
    });
  });

  it.each([
    ['RATE_LIMIT_PER_IP', 'many'],
    ['RATE_LIMIT_PER_OPENID', '0'],
    ['AVATARS_PER_DAY', '2.5'],
    ['ACCOUNT_DELETIONS_PER_HOUR', '-1'],
  ])('refuses to start with %s=%s, naming the variable', async (name, value) => {
    await expect(startServer(deployment({ [name]: value }))).rejects.toThrow(name);
  });
});

describe('JWT_SECRET in production', () => {
  /** Every JWT secret literal in the repository's files (tracked, or new and not ignored; (`'…'.padEnd(n, 'c')` and `'c'.repeat(n)` evaluated). */
  function committedSecrets(): string[] {
    const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
      .stdout.split('\n')
      .filter((file) => /\.(ts|js|mjs|md|json|sh|ya?ml)$/.test(file) && file !== 'package-lock.json');
    const found = new Set<string>();
    const literal = /(['"`])([^'"`\s]+)\1(?:\.padEnd\((\d+),\s*(['"`])(.)\4\)|\.repeat\((\d+)\))?/g;
    for (const file of files) {
      if (!fs.existsSync(path.join(root, file))) continue;
      for (const line of fs.readFileSync(path.join(root, file), 'utf8').split('\n')) {
        if (!/jwt_?secret|\bSECRET\s*=|secrets?:\s*\[/i.test(line)) continue;
        for (const match of line.matchAll(literal)) {
          const value = match[3] ? match[2].padEnd(Number(match[3]), match[5]) : match[6] ? match[2].repeat(Number(match[6])) : match[2];
          if (value.length >= 32) found.add(value);
        }
      }
    }
    return [...found];
  }

  it('refuses every secret committed to this repository (the development stack, the tests, the docs)', async () => {
    const secrets = committedSecrets();
    expect(secrets).toEqual(expect.arrayContaining(['development-stack-secret-'.padEnd(40, 'x'), SECRET]));
    for (const secret of secrets) {
      await expect(startServer(deployment({ NODE_ENV: 'production', JWT_SECRET: secret }))).rejects.toThrow(
        /refusing to start in production.*JWT_SECRET/,
      );
    }
  });

  it('starts in production with 32 random characters of its own', async () => {
    const server = await startServer(deployment({ NODE_ENV: 'production', JWT_SECRET: crypto.randomBytes(24).toString('base64') }));
    expect((await fetch(`${server.url}/api/feed`)).status).toBe(200);
    await server.close();
  });
});

describe('the production log', () => {
  it("logs a server error as one JSON line with its route, leaving out the database's detail and masking credentials", async () => {
    const lines: string[] = [];
    const store = openSqliteStore(':memory:');
    // A database failure whose error, like Postgres's, quotes row values in `detail` and a credential in its message.
    store.userByOpenid = async () => {
      throw Object.assign(new Error('lookup failed near js_code=0a1b2c3d for Bearer eyJhbGciOi.eyJzdWIi.c2ln'), {
        code: 'XX000',
        detail: 'Key (phone)=(13900000000) already exists.',
      });
    };
    const stack = await startStack({ server: { store, logger: { stream: { write: (line: string) => void lines.push(line) } } } });
    try {
      const code = stack.emulator.issueCode('logged');
      const response = await fetch(`${stack.baseURL}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.77' },
        body: JSON.stringify({ source: 'demo-app', mode: 'silent', code }),
      });
      expect(response.status).toBe(500);
      const errors = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        msg: 'server error',
        req: { method: 'POST', route: '/auth/login' },
        err: { type: 'Error', code: 'XX000', message: 'lookup failed near js_code=[redacted] for Bearer [redacted]' },
      });
      const all = lines.join('');
      for (const secret of [code, '0a1b2c3d', 'eyJhbGciOi', '13900000000', '203.0.113.77'])
        expect([secret, all.includes(secret)]).toEqual([secret, false]);
    } finally {
      await stack.close();
    }
  });
});

describe('one process per SQLite file', () => {
  it('a second process on the same file refuses to start with a clear message; the first never answers 500', async () => {
    const dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-lock-')), 'login.db');
    const first = await startServer(deployment({ DB_FILE: dbFile }));
    try {
      const second = spawnSync(process.execPath, [path.join(root, 'build/server/main.js')], {
        env: { ...process.env, ...deployment({ DB_FILE: dbFile, PORT: '0' }) },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/in use by another process.*DATABASE_URL/);
      for (let i = 0; i < 5; i++) {
        const answer = await post(first, '/auth/login', { source: 'demo-app', mode: 'silent', code: emulator.issueCode(`first-${i}`) });
        expect(answer.status).toBe(401); // USER_NOT_REGISTERED: the database answered
      }
    } finally {
      await first.close();
    }
    // Closed, the file is free again.
    const again = await startServer(deployment({ DB_FILE: dbFile }));
    await again.close();
  }, 90_000);
});

/**
 * A slow client on a raw socket: sends `head`, then one more byte of `drip` every `everyMs`, until the server closes
 * the socket. Resolves with how long (ms) the server let it live, or Infinity when it was still open after `giveUpMs`.
 */
function slowClient(port: number, head: string, drip: string, everyMs: number, giveUpMs: number): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let timer: NodeJS.Timeout | undefined;
    const done = (ms: number) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve(ms);
    };
    const giveUp = setTimeout(() => done(Infinity), giveUpMs);
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => socket.write(drip), everyMs);
    });
    socket.on('data', () => undefined);
    socket.on('error', () => done(Date.now() - started));
    socket.on('close', () => done(Date.now() - started));
  });
}

const HEAD_DRIP = ['POST /auth/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'x'];
const BODY_DRIP = [
  'POST /auth/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n',
  ' ',
];

describe('slow clients are cut off (each socket is a file descriptor)', () => {
  it('the production start closes 50 sockets trickling their headers within its 10 s header timeout, and answers others meanwhile', async () => {
    const server = await startServer(deployment());
    try {
      const port = Number(new URL(server.url).port);
      const slow = Array.from({ length: 50 }, () => slowClient(port, HEAD_DRIP[0], HEAD_DRIP[1], 500, 45_000));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await post(server, '/auth/refresh', { refreshToken: 'meanwhile' })).status).toBe(401);
      const lived = await Promise.all(slow);
      console.log(`production start: 50 header-trickling sockets closed after ${Math.min(...lived)}–${Math.max(...lived)} ms`);
      expect(lived.every((ms) => ms >= 9_000 && ms < 45_000)).toBe(true); // cut by the 10 s timeout, not at once, nor never
    } finally {
      await server.close();
    }
  }, 90_000);

  it('with short timeouts: 100 sockets trickling headers or a body are all closed, by the header and the request timeout', async () => {
    const stack = await startStack({ server: { timeouts: { headers: 1000, request: 2000, check: 200 } } });
    try {
      const port = Number(new URL(stack.baseURL).port);
      const heads = Array.from({ length: 50 }, () => slowClient(port, HEAD_DRIP[0], HEAD_DRIP[1], 200, 30_000));
      const bodies = Array.from({ length: 50 }, () => slowClient(port, BODY_DRIP[0], BODY_DRIP[1], 200, 30_000));
      const [headLived, bodyLived] = [await Promise.all(heads), await Promise.all(bodies)];
      console.log(
        `short timeouts: header trickle closed after ${Math.min(...headLived)}–${Math.max(...headLived)} ms, ` +
          `body trickle after ${Math.min(...bodyLived)}–${Math.max(...bodyLived)} ms`,
      );
      expect(headLived.every((ms) => ms >= 900 && ms < 30_000)).toBe(true);
      expect(bodyLived.every((ms) => ms >= 1900 && ms < 30_000)).toBe(true);
      const after = await fetch(`${stack.baseURL}/api/feed`);
      expect(after.status).toBe(200);
    } finally {
      await stack.close();
    }
  }, 90_000);

  it('1 100 slow sockets against a server limited to 1 024 descriptors: it answers again once the header timeout cut them', async () => {
    const child = spawn('sh', ['-c', `ulimit -n 1024 && exec "${process.execPath}" build/server/main.js`], {
      cwd: root,
      env: { ...process.env, ...deployment({ PORT: '0', LOG_LEVEL: 'error' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk;
          const match = /login server on (\S+)/.exec(out);
          if (match) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const port = Number(new URL(url).port);
      const started = Date.now();
      const slow = Array.from({ length: 1100 }, () => slowClient(port, HEAD_DRIP[0], HEAD_DRIP[1], 1000, 60_000));
      await new Promise((resolve) => setTimeout(resolve, 2000));
      // Probe until a request gets an answer (each probe bounded), the slow sockets still trickling.
      let answeredAfter = Infinity;
      while (Date.now() - started < 60_000) {
        const status = await fetch(`${url}/api/feed`, { signal: AbortSignal.timeout(2000) }).then(
          (response) => response.status,
          () => 0,
        );
        if (status === 200) {
          answeredAfter = Date.now() - started;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const lived = await Promise.all(slow);
      console.log(
        `1 100 slow sockets at ulimit -n 1024: the server answered again after ${answeredAfter} ms; ` +
          `every slow socket was closed after ${Math.min(...lived)}–${Math.max(...lived)} ms`,
      );
      expect(answeredAfter).toBeLessThan(60_000);
      expect(lived.every((ms) => ms < 60_000)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
