/**
 * The contract's routes: `POST /auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/bind`, the avatar upload, and the
 * account deletion (`POST /auth/account/delete`, contract 1.4).
 */
import crypto from 'crypto';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerContext } from './app';
import { randomToken, sha256 } from './secrets';
import { AccountDeletionVetoed, type AccountDeletionHook } from './store';
import { ContractError, wechatError } from './errors';
import { verifyUserInfo } from './open-data';
import { checkAvatarImage } from './avatar-image';
import { code2Session, getPhoneNumber, WeChatApiError, type WeChatApp } from './wechat-client';

const str = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength });

// Contract 1.3: unknown top-level request fields are ignored (a newer client may send more); the known fields, and
// the objects inside them, are checked strictly (a wrong type or an unknown field inside `profile` is 400).
const loginSchema = {
  type: 'object',
  required: ['source', 'mode'],
  properties: {
    source: str(64),
    mode: { type: 'string', enum: ['silent', 'authorize'] },
    code: str(256),
    loginTicket: str(256),
    profile: {
      type: 'object',
      required: ['nickName'],
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

const bindSchema = {
  type: 'object',
  properties: { profile: loginSchema.properties.profile, phoneCode: str(256) },
} as const;

// Contract 1.4: the account deletion's body — the source and a fresh wx.login code, both required.
const deleteSchema = {
  type: 'object',
  required: ['source', 'code'],
  properties: { source: str(64), code: str(256) },
} as const;

/** How long (ms) the app's deletion hook may take before the deletion is rolled back (a transaction is open meanwhile). */
const DELETION_HOOK_TIMEOUT_MS = 10_000;

/** `hook` bounded by `ms`: past it the call rejects, and the store rolls the deletion back. */
function bounded(hook: AccountDeletionHook | undefined, ms: number): AccountDeletionHook | undefined {
  if (!hook) return undefined;
  return (deletion) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the account deletion hook did not settle within ${ms} ms`)), ms);
    });
    return Promise.race([Promise.resolve().then(() => hook(deletion)), late]).finally(() => clearTimeout(timer));
  };
}

interface LoginBody {
  source: string;
  mode: 'silent' | 'authorize';
  code?: string;
  loginTicket?: string;
  profile?: { nickName: string; avatarUrl?: string };
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
  const { options, store, now, issueTokens, limits } = ctx;
  const ticketTtl = options.ticketTtlSeconds ?? 300;
  const reuseIntervalMs = (options.reuseIntervalSeconds ?? 10) * 1000;
  const avatarsPerDay = options.avatarsPerDay ?? 10;
  const deletionsPerHour = options.accountDeletionsPerHour ?? 5;
  if (!(Number.isInteger(deletionsPerHour) && deletionsPerHour > 0))
    throw new Error(`accountDeletionsPerHour must be a positive integer, got ${options.accountDeletionsPerHour}`);
  /**
   * The WeChat app of a contract `source`, looked up among own properties only (`__proto__` is no source); in
   * development (`anySource`) any other source is served by that app.
   */
  const appOf = (source: unknown): WeChatApp | undefined =>
    typeof source !== 'string'
      ? undefined
      : Object.prototype.hasOwnProperty.call(options.apps, source)
        ? options.apps[source]
        : options.anySource;

  async function identify(body: LoginBody, wxApp: WeChatApp): Promise<Identity> {
    if (body.loginTicket) {
      const row = await store.takeTicket(body.loginTicket, body.source);
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

  /** The id of one of this server's avatars named by `url`, or null (a URL elsewhere is kept as it is). */
  const avatarIdOf = (url: string | undefined): string | null => {
    const prefix = `${ctx.publicBaseURL()}/avatars/`;
    return url && url.indexOf(prefix) === 0 ? url.slice(prefix.length) : null;
  };

  /**
   * The account of this identity: by openid in this mini-program, else — when WeChat gave a unionid — the account of
   * the same person in another mini-program of the Open Platform account, which this openid is then linked to.
   */
  async function accountOf(source: string, identity: Identity) {
    const own = await store.userByOpenid(source, identity.openid);
    if (own || !identity.unionid) return own;
    const family = await store.userByUnionid(identity.unionid);
    if (family) await store.linkIdentity(source, identity.openid, family.id);
    return family;
  }

  app.post('/auth/login', { schema: { body: loginSchema } }, async (request, reply) => {
    const body = request.body as LoginBody;
    const wxApp = appOf(body.source);
    if (!wxApp) throw new ContractError(400, 'BAD_REQUEST', `unknown source "${body.source}"`);
    if (body.profile) checkAvatarUrl(body.profile.avatarUrl); // before the ticket is spent
    // Contract 1.3: exactly one credential; a ticket belongs to the authorize step.
    if (body.code && body.loginTicket) throw new ContractError(400, 'BAD_REQUEST', 'give either code or loginTicket, not both');
    if (body.loginTicket && body.mode === 'silent') throw new ContractError(400, 'BAD_REQUEST', 'a loginTicket is for mode "authorize"');
    await ctx.limit(`ip:${request.ip}`, limits.perIp);
    const identity = await identify(body, wxApp);
    await ctx.limit(`openid:${body.source}:${identity.openid}`, limits.perOpenid);
    const existing = await accountOf(body.source, identity);

    if (body.mode === 'silent') {
      if (existing) return { ...(await issueTokens(existing, undefined, body.source)), isNewUser: false };
      if (wxApp.registration === 'silent') {
        // "No-feeling" registration: an account with nothing but the identity; the client steps up for more.
        const { user, created } = await store.registerUser(newAccount(body.source, identity, undefined, null));
        return { ...(await issueTokens(user, undefined, body.source)), isNewUser: created };
      }
      const loginTicket = randomToken();
      await store.saveTicket({
        ticket: loginTicket,
        source: body.source,
        openid: identity.openid,
        unionid: identity.unionid,
        session_key: identity.sessionKey,
        expires_at: now() + ticketTtl * 1000,
      });
      return reply
        .code(401)
        .send({ code: 'USER_NOT_REGISTERED', message: 'this user has not authorized yet', loginTicket, ticketExpiresIn: ticketTtl });
    }
    // Contract 1.3: under the authorize policy, an authorize call with nothing authorized registers nobody.
    if (!existing && wxApp.registration !== 'silent' && !body.profile && !body.userInfo && !body.phoneCode)
      throw new ContractError(400, 'BAD_REQUEST', 'registration needs a profile, userInfo or phoneCode');

    let profile: { nickName: string; avatarUrl?: string } | undefined = body.profile;
    if (body.userInfo) profile = verifyUserInfo(body.userInfo, identity.sessionKey, wxApp.appid);
    const phone = body.phoneCode ? await exchangePhoneCode(wxApp, body.phoneCode) : undefined;
    const avatarId = avatarIdOf(profile?.avatarUrl);
    if (avatarId) await store.claimAvatar(avatarId);
    // Insert-or-get: two simultaneous registrations of one new user (or of one unionid in two mini-programs) land on
    // the same row. A phone number bound to another account throws PhoneTakenError (409), the database deciding.
    const { user: registered, created } = existing
      ? { user: existing, created: false }
      : await store.registerUser(newAccount(body.source, identity, profile, phone ?? null));
    if (!created && phone) await store.updatePhone(registered.id, phone); // first: a 409 leaves the profile as it was
    if (!created && profile) await store.updateProfile(registered.id, profile.nickName, profile.avatarUrl ?? null);
    const user = created ? registered : (await store.userById(registered.id))!;
    return { ...(await issueTokens(user, undefined, body.source)), isNewUser: !existing && created };
  });

  function newAccount(
    source: string,
    identity: Identity,
    profile: { nickName: string; avatarUrl?: string } | undefined,
    phone: string | null,
  ) {
    return {
      id: crypto.randomUUID(),
      source,
      openid: identity.openid,
      unionid: identity.unionid,
      nickName: profile?.nickName ?? '',
      avatarUrl: profile?.avatarUrl ?? '',
      phone,
      now: now(),
    };
  }

  /**
   * A profile's `avatarUrl` is stored only when it is empty, an `https:` URL, or one of this server's avatar links:
   * `javascript:`, `data:` and the like are 400 `BAD_REQUEST` (a client that renders the URL must not run it).
   */
  function checkAvatarUrl(url: string | undefined): void {
    if (!url || avatarIdOf(url)) return;
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      protocol = '';
    }
    if (protocol !== 'https:') throw new ContractError(400, 'BAD_REQUEST', 'profile.avatarUrl must be an https: URL');
  }

  // Step-up (contract 1.2): a logged-in user adds what the product needs now — a profile or a phone number.
  app.post('/auth/bind', { schema: { body: bindSchema } }, async (request) => {
    const user = (await ctx.authenticate(request))!;
    const body = request.body as { profile?: { nickName: string; avatarUrl?: string }; phoneCode?: string };
    if (!body.profile === !body.phoneCode) throw new ContractError(400, 'BAD_REQUEST', 'give exactly one of profile and phoneCode');
    if (body.profile) {
      checkAvatarUrl(body.profile.avatarUrl);
      const avatarId = avatarIdOf(body.profile.avatarUrl);
      if (avatarId) await store.claimAvatar(avatarId);
      await store.updateProfile(user.id, body.profile.nickName, body.profile.avatarUrl ?? null);
    } else {
      // A session of a mini-program this instance does not serve (a sibling's token, same secret): its phone code
      // can only be exchanged by that mini-program's own credentials.
      const wxApp = appOf(user.source);
      if (!wxApp)
        throw new ContractError(400, 'BAD_REQUEST', `this server does not serve the mini-program "${user.source}" of this session`);
      const phone = await exchangePhoneCode(wxApp, body.phoneCode!);
      await store.updatePhone(user.id, phone); // PhoneTakenError → 409 ACCOUNT_CONFLICT
    }
    return { user: ctx.publicUser((await store.userById(user.id))!) };
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

  // Optional capability of the contract: the temporary avatar from chooseAvatar, uploaded before the authorize call
  // (with the login ticket) or later (with an access token). Fields before the file: source, loginTicket.
  await app.register(multipart, { limits: { fileSize: 1024 * 1024, files: 1, fields: 3, parts: 4 } });
  // A refused upload ends its connection: the rest of the body (up to 1 MB) is neither read nor waited for, and the
  // socket does not linger until a timeout with the client still sending.
  const closeOnError = { onError: async (_request: unknown, reply: FastifyReply) => void reply.header('connection', 'close') };
  app.post('/auth/avatar', closeOnError, async (request) => {
    if (!request.isMultipart()) throw new ContractError(400, 'BAD_REQUEST', 'a multipart/form-data body is required');
    await ctx.limit(`avatar-ip:${request.ip}`, limits.perIp);
    let file;
    try {
      file = await request.file();
    } catch (error) {
      throw new ContractError(400, 'BAD_REQUEST', `malformed multipart body: ${(error as Error).message}`);
    }
    if (!file) throw new ContractError(400, 'BAD_REQUEST', 'a multipart "file" is required');
    const field = (name: string) => (file.fields[name] as { value?: unknown } | undefined)?.value;
    const source = field('source');
    if (typeof source !== 'string' || !appOf(source))
      throw new ContractError(400, 'BAD_REQUEST', 'a known "source" field is required (before the file)');
    const ticket = field('loginTicket');
    const ticketRow = typeof ticket === 'string' ? await store.peekTicket(ticket, source) : undefined;
    const validTicket = ticketRow && ticketRow.expires_at > now() ? ticketRow : undefined;
    const user = validTicket ? null : await ctx.authenticate(request, true);
    if (!user && !validTicket) {
      throw new ContractError(401, 'TOKEN_INVALID', 'an avatar upload needs a valid loginTicket field or an access token');
    }
    const owner = user ? `${user.source}:${user.openid}` : `${source}:${validTicket!.openid}`;
    const id = crypto.randomUUID();
    const claimed = user !== null; // with a ticket: claimed when the authorize call names it, else purged after an hour
    // Reserve, then read and store: the daily cap is counted atomically, so parallel uploads cannot all pass it.
    if (!(await store.reserveAvatar({ id, source, owner, now: now(), claimed }, now() - 86_400_000, avatarsPerDay))) {
      throw new ContractError(429, 'RATE_LIMITED', `at most ${avatarsPerDay} avatar uploads a day`, { retryAfter: 3600 });
    }
    let stored = false;
    try {
      let data: Buffer;
      try {
        data = await file.toBuffer();
      } catch (error) {
        throw new ContractError(400, 'BAD_REQUEST', `the avatar could not be read: ${(error as Error).message}`);
      }
      const image = checkAvatarImage(data);
      if ('refused' in image) throw new ContractError(400, 'BAD_REQUEST', image.refused);
      await store.saveAvatar({ id, source, owner, contentType: image.contentType, data, now: now(), claimed });
      stored = true;
    } finally {
      if (!stored) await store.releaseAvatar(id);
    }
    const avatarUrl = `${ctx.publicBaseURL()}/avatars/${id}`;
    if (user) await store.updateProfile(user.id, user.nick_name, avatarUrl); // after a login: it is the user's avatar now
    return { avatarUrl };
  });
  app.get('/avatars/:id', async (request, reply) => {
    const row = await store.avatar((request.params as { id: string }).id);
    if (!row) throw new ContractError(404, 'NOT_FOUND', 'no such avatar');
    // Served as an image and nothing else: a polyglot (image magic followed by HTML or SVG) opened as a page downloads
    // instead of rendering, and a sandboxing CSP forbids scripts, styles and frames if anything renders it anyway.
    return reply
      .type(row.content_type)
      .header('x-content-type-options', 'nosniff')
      .header('content-disposition', `attachment; filename="avatar.${row.content_type.slice('image/'.length)}"`)
      .header('content-security-policy', "default-src 'none'; sandbox")
      .send(row.data);
  });

  app.post(
    '/auth/refresh',
    {
      schema: { body: { type: 'object', required: ['refreshToken'], properties: { refreshToken: str(256) } } },
    },
    async (request) => {
      const { refreshToken } = request.body as { refreshToken: string };
      await ctx.limit(`ip:${request.ip}`, limits.perIp);
      // Derived from the presented token: a repeat inside the reuse interval gets the same successor (contract 1.3).
      const successor = ctx.successorOf(refreshToken);
      // One transaction in the store: read, mark used and store the successor (or revoke the family) — never half.
      const rotation = await store.rotateRefreshToken(sha256(refreshToken), now(), reuseIntervalMs, successor);
      if (rotation.status === 'invalid') throw new ContractError(401, 'REFRESH_TOKEN_INVALID', rotation.why);
      if (rotation.status === 'reused')
        throw new ContractError(401, 'REFRESH_TOKEN_INVALID', 'refresh token reused: the session was revoked');
      return ctx.tokenBody(rotation.user, rotation.family, successor.token, rotation.source);
    },
  );

  // Contract 1.4: account deletion (注销账号, PIPL Art. 47). The order of the checks is the contract's: nothing before
  // the code exchange consumes the code, and nothing changes before the deletion's transaction.
  app.post('/auth/account/delete', { schema: { body: deleteSchema } }, async (request) => {
    const body = request.body as { source: string; code: string };
    const wxApp = appOf(body.source);
    if (!wxApp) throw new ContractError(400, 'BAD_REQUEST', `unknown source "${body.source}"`);
    const user = (await ctx.authenticate(request))!; // 401 TOKEN_INVALID / TOKEN_EXPIRED
    await ctx.limit(`delete-ip:${request.ip}`, limits.perIp);
    await ctx.limit(`delete-user:${user.id}`, deletionsPerHour, 3_600_000);
    // The proof that the WeChat user is present: a fresh code of this mini-program, whose openid must be the token's
    // user's. A stolen access token alone deletes nothing.
    let openid: string;
    try {
      openid = (await code2Session(options.wechatBaseURL, wxApp, body.code)).openid;
    } catch (error) {
      if (error instanceof WeChatApiError) throw wechatError(error);
      throw error;
    }
    if (user.source !== body.source)
      throw new ContractError(403, 'IDENTITY_MISMATCH', 'the access token was issued for another mini-program than "source"');
    const owner = await store.userByOpenid(body.source, openid);
    if (!owner || owner.id !== user.id)
      throw new ContractError(403, 'IDENTITY_MISMATCH', "the code is another WeChat user's: nothing was deleted");
    let deleted;
    try {
      deleted = await store.deleteAccount(user.id, {
        now: now(),
        avatarIdOf,
        hook: bounded(ctx.accountDeletionHook, DELETION_HOOK_TIMEOUT_MS),
      });
    } catch (error) {
      if (error instanceof AccountDeletionVetoed)
        throw new ContractError(409, 'DELETION_VETOED', 'the app keeps this account for now: nothing was deleted', {
          reason: error.reason,
        });
      throw error;
    }
    // Deleted meanwhile by a parallel request with another code: this token's user is gone.
    if (!deleted) throw new ContractError(401, 'TOKEN_INVALID', 'unknown user');
    return { deleted };
  });

  app.post(
    '/auth/logout',
    { schema: { body: { type: ['object', 'null'], properties: { refreshToken: str(256) } } } },
    async (request, reply) => {
      // Contract 1.3: the family of each credential given (the refresh token's, the bearer's — both when they differ);
      // 204 whatever was given, known or not, revoked or not.
      const refreshToken = (request.body as { refreshToken?: string } | null)?.refreshToken;
      const families = new Set([
        refreshToken ? await store.familyOf(sha256(refreshToken)) : undefined,
        await ctx.bearerFamily(request.headers.authorization),
      ]);
      for (const family of families) if (family) await store.revokeFamily(family, now());
      return reply.code(204).send();
    },
  );
}
