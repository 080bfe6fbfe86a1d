/**
 * From the position of a backend team that implements only the contract's required endpoints (docs/contract.md):
 * a minimal backend written here from the contract alone — opaque tokens, no avatar upload, its own call to WeChat's
 * code2Session (the emulator) — and the kit's default profile login against it, then after a logout (no ticket).
 */
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import Fastify, { type FastifyInstance } from 'fastify';
import { WeChatEmulator } from '../../emulator/wechat';
import { createNodeWx } from '../../emulator/node-wx';
import { LoginKit } from '../../lib/login-kit';
import { png } from '../helpers/images';

/** The required endpoints only: /auth/login, /auth/refresh, /auth/logout, and one protected resource. */
async function contractOnlyBackend(emulator: WeChatEmulator): Promise<{ app: FastifyInstance; url: string; seen: string[] }> {
  const users = new Map<string, { id: string; nickName: string }>();
  const tickets = new Map<string, string>();
  const access = new Map<string, string>();
  const refresh = new Map<string, string>();
  const seen: string[] = [];
  const app = Fastify();
  app.addHook('onRequest', async (request) => void seen.push(`${request.method} ${request.url}`));
  const tokens = (openid: string) => {
    const accessToken = crypto.randomUUID();
    const refreshToken = crypto.randomUUID();
    access.set(accessToken, openid);
    refresh.set(refreshToken, openid);
    return { accessToken, expiresIn: 900, refreshToken, refreshExpiresIn: 86400, user: users.get(openid) };
  };
  app.post('/auth/login', async (request, reply) => {
    const body = request.body as { mode: string; code?: string; loginTicket?: string; profile?: { nickName: string } };
    let openid = body.loginTicket ? tickets.get(body.loginTicket) : undefined;
    if (body.loginTicket) tickets.delete(body.loginTicket);
    if (!openid && body.code) {
      const query = new URLSearchParams({
        appid: emulator.appid,
        secret: emulator.secret,
        js_code: body.code,
        grant_type: 'authorization_code',
      });
      const answer = (await (await fetch(`${emulator.baseURL}/sns/jscode2session?${query}`)).json()) as { openid?: string };
      openid = answer.openid;
    }
    if (!openid) return reply.code(400).send({ code: body.loginTicket ? 'INVALID_TICKET' : 'INVALID_CODE', message: 'no' });
    if (body.mode === 'silent' && !users.has(openid)) {
      const loginTicket = crypto.randomUUID();
      tickets.set(loginTicket, openid);
      return reply.code(401).send({ code: 'USER_NOT_REGISTERED', message: 'new user', loginTicket });
    }
    const isNewUser = !users.has(openid);
    if (body.mode === 'authorize') users.set(openid, { id: openid, nickName: body.profile?.nickName ?? '' });
    return { ...tokens(openid), isNewUser };
  });
  app.post('/auth/refresh', async (request, reply) => {
    const openid = refresh.get((request.body as { refreshToken: string }).refreshToken);
    if (!openid) return reply.code(401).send({ code: 'REFRESH_TOKEN_INVALID', message: 'no' });
    refresh.delete((request.body as { refreshToken: string }).refreshToken);
    return tokens(openid);
  });
  app.post('/auth/logout', async (_request, reply) => reply.code(204).send());
  app.get('/api/me', async (request, reply) => {
    const openid = access.get((request.headers.authorization ?? '').replace('Bearer ', ''));
    return openid ? { user: users.get(openid) } : reply.code(401).send({ code: 'TOKEN_INVALID', message: 'no' });
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, seen };
}

let emulator: WeChatEmulator;
beforeAll(async () => {
  emulator = new WeChatEmulator();
  await emulator.listen();
});
afterAll(() => emulator.close());

it('a new user logs in through the default profile UI; the avatar, which the backend cannot take, is left out', async () => {
  const backend = await contractOnlyBackend(emulator);
  const avatar = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-')), 'avatar.png');
  fs.writeFileSync(avatar, png(1, 1));
  const ui = jest.fn(async () => ({
    succeeded: true as const,
    authType: 'profile' as const,
    data: { nickName: '小契', avatarUrl: avatar },
  }));
  const kit = new LoginKit();
  kit.config({ source: 'demo-app', baseURL: backend.url, wx: createNodeWx({ emulator, openid: 'contract-only' }), userAuthHandler: ui });
  try {
    const response = await kit.requestWithLogin<{ user: { nickName: string } }>({ url: '/api/me' });
    expect(response.statusCode).toBe(200);
    expect(response.data.user.nickName).toBe('小契');
    expect(ui).toHaveBeenCalledTimes(1);
    expect(backend.seen).toContain('POST /auth/avatar'); // tried once: 404, the optional capability is absent

    // After a logout there is no ticket: the nickname is registered, the avatar upload is skipped again, no failure.
    await kit.logout();
    await kit.login();
    expect(ui).toHaveBeenCalledTimes(2);
    expect(kit.getUser()?.nickName).toBe('小契');
  } finally {
    await backend.app.close();
  }
});
