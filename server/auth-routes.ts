/** The contract's routes: `POST /auth/login`, `/auth/refresh`, `/auth/logout`, and the avatar upload. */
import crypto from 'crypto';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from './app';
import { randomToken, sha256 } from './secrets';
import { ContractError, wechatError } from './errors';
import { verifyUserInfo } from './open-data';
import { code2Session, getPhoneNumber, WeChatApiError, type WeChatApp } from './wechat-client';

const str = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength });

const loginSchema = {
  type: 'object',
  required: ['source', 'mode'],
  additionalProperties: false,
  properties: {
    source: str(64),
    mode: { type: 'string', enum: ['silent', 'authorize'] },
    code: str(256),
    loginTicket: str(256),
    profile: {
      type: 'object',
      required: ['nickName', 'avatarUrl'],
      additionalProperties: false,
      properties: { nickName: str(64), avatarUrl: { type: 'string', maxLength: 2048 } },
    },
    userInfo: {
      type: 'object',
      required: ['rawData', 'signature', 'encryptedData', 'iv'],
      additionalProperties: false,
      properties: { rawData: str(4096), signature: str(128), encryptedData: str(8192), iv: str(64) },
    },
    phoneCode: str(256),
  },
} as const;

interface LoginBody {
  source: string;
  mode: 'silent' | 'authorize';
  code?: string;
  loginTicket?: string;
  profile?: { nickName: string; avatarUrl: string };
  userInfo?: { rawData: string; signature: string; encryptedData: string; iv: string };
  phoneCode?: string;
}

interface Identity {
  openid: string;
  unionid: string | null;
  sessionKey: string;
}

/** Registers the contract routes on `app`. */
export async function registerAuthRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { options, q, now, issueTokens } = ctx;
  const ticketTtl = options.ticketTtlSeconds ?? 300;

  async function identify(body: LoginBody, wxApp: WeChatApp): Promise<Identity> {
    if (body.loginTicket) {
      const row = q.takeTicket.get(body.loginTicket, body.source);
      if (!row || row.expires_at <= now()) throw new ContractError(400, 'INVALID_TICKET', 'login ticket unknown, used or expired');
      return { openid: row.openid, unionid: row.unionid, sessionKey: row.session_key };
    }
    if (!body.code) throw new ContractError(400, 'BAD_REQUEST', 'either code or loginTicket is required');
    try {
      const session = await code2Session(options.wechatBaseURL, wxApp, body.code);
      return { openid: session.openid, unionid: session.unionid ?? null, sessionKey: session.session_key };
    } catch (error) {
      if (error instanceof WeChatApiError) throw wechatError(error);
      throw error;
    }
  }

  app.post('/auth/login', { schema: { body: loginSchema } }, async (request, reply) => {
    const body = request.body as LoginBody;
    const wxApp = options.apps[body.source];
    if (!wxApp) throw new ContractError(400, 'BAD_REQUEST', `unknown source "${body.source}"`);
    ctx.limitIp(request.ip);
    const identity = await identify(body, wxApp);
    ctx.limitOpenid(`${body.source}:${identity.openid}`);
    const existing = q.userByOpenid.get(body.source, identity.openid);

    if (body.mode === 'silent') {
      if (existing) return { ...(await issueTokens(existing)), isNewUser: false };
      const loginTicket = randomToken();
      q.insertTicket.run(loginTicket, body.source, identity.openid, identity.unionid, identity.sessionKey, now() + ticketTtl * 1000);
      return reply.code(401).send({ code: 'USER_NOT_REGISTERED', message: 'this user has not authorized yet', loginTicket });
    }

    let profile: { nickName: string; avatarUrl: string } | undefined = body.profile;
    if (body.userInfo) profile = verifyUserInfo(body.userInfo, identity.sessionKey, wxApp.appid);
    const phone = body.phoneCode ? await exchangePhoneCode(wxApp, body.phoneCode) : undefined;
    let user = existing;
    if (!user) {
      const id = crypto.randomUUID();
      q.insertUser.run(id, body.source, identity.openid, identity.unionid, profile?.nickName ?? '', profile?.avatarUrl ?? '', now());
      user = q.userById.get(id)!;
    } else if (profile) {
      q.updateProfile.run(profile.nickName, profile.avatarUrl, user.id);
      user = q.userById.get(user.id)!;
    }
    if (phone) {
      q.updatePhone.run(phone, user.id);
      user = q.userById.get(user.id)!;
    }
    return { ...(await issueTokens(user)), isNewUser: !existing };
  });

  /** The server-side phone exchange; a bad code is the client's `INVALID_USER_DATA`, anything else WeChat's trouble. */
  async function exchangePhoneCode(wxApp: WeChatApp, code: string): Promise<string> {
    try {
      return await getPhoneNumber(options.wechatBaseURL, wxApp, code);
    } catch (error) {
      if (error instanceof WeChatApiError && error.errcode === 40029)
        throw new ContractError(400, 'INVALID_USER_DATA', 'phoneCode rejected by WeChat (40029)');
      if (error instanceof WeChatApiError) throw wechatError(error);
      throw error;
    }
  }

  // Extension of the contract for profile logins: the temporary avatar from chooseAvatar is uploaded here first.
  await app.register(multipart, { limits: { fileSize: 1024 * 1024, files: 1, fields: 2 } });
  app.post('/auth/avatar', async (request) => {
    const file = await request.file();
    if (!file) throw new ContractError(400, 'BAD_REQUEST', 'a multipart "file" is required');
    const source = (file.fields.source as { value?: unknown } | undefined)?.value;
    if (typeof source !== 'string' || !options.apps[source])
      throw new ContractError(400, 'BAD_REQUEST', 'a known "source" field is required (before the file)');
    if (!/^image\/(png|jpe?g|gif|webp)$/.test(file.mimetype))
      throw new ContractError(400, 'BAD_REQUEST', `unsupported avatar type ${file.mimetype}`);
    const data = await file.toBuffer();
    const id = crypto.randomUUID();
    q.insertAvatar.run(id, source, file.mimetype, data, now());
    return { avatarUrl: `${request.protocol}://${request.host}/avatars/${id}` };
  });
  app.get('/avatars/:id', async (request, reply) => {
    const row = q.avatarById.get((request.params as { id: string }).id);
    if (!row) throw new ContractError(404, 'NOT_FOUND', 'no such avatar');
    return reply.type(row.content_type).send(row.data);
  });

  app.post(
    '/auth/refresh',
    {
      schema: { body: { type: 'object', required: ['refreshToken'], additionalProperties: false, properties: { refreshToken: str(256) } } },
    },
    async (request) => {
      const { refreshToken } = request.body as { refreshToken: string };
      ctx.limitIp(request.ip);
      const row = q.refreshByHash.get(sha256(refreshToken));
      const invalid = (why: string) => new ContractError(401, 'REFRESH_TOKEN_INVALID', why);
      if (!row || row.revoked_at !== null) throw invalid('refresh token unknown or revoked');
      if (row.expires_at <= now()) throw invalid('refresh token expired');
      if (row.used_at !== null || q.markUsed.run(now(), row.hash).changes === 0) {
        q.revokeFamily.run(now(), row.family);
        throw invalid('refresh token reused: the session was revoked');
      }
      const user = q.userById.get(row.user_id);
      if (!user) throw invalid('user no longer exists');
      return issueTokens(user, row.family);
    },
  );

  app.post(
    '/auth/logout',
    { schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { refreshToken: str(256) } } } },
    async (request, reply) => {
      const refreshToken = (request.body as { refreshToken?: string } | null)?.refreshToken;
      const row = refreshToken ? q.refreshByHash.get(sha256(refreshToken)) : undefined;
      if (row) q.revokeFamily.run(now(), row.family);
      return reply.code(204).send();
    },
  );
}
