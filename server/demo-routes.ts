/** The demo app's protected resources (`/api/*`): not part of the contract, they show the kit's requests at work. */
import crypto from 'crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from './app';
import type { AccountDeletionHook } from './store';

const text = { type: 'string', minLength: 1, maxLength: 500 } as const;

/** What the demo's deletion hook answers while the user has an unfinished demo order (shown to the user). */
export const DEMO_UNFINISHED_ORDER_REASON = '您有未完成的订单，请完成后再注销';

/**
 * Registers `GET /api/me`, `GET /api/feed` (personalised when authenticated), `POST /api/comments`, `POST /api/orders`
 * (which needs a bound phone: 403 `PHONE_REQUIRED` otherwise), `POST /api/files` / `GET /api/files/:id` (a protected
 * upload and download), and `GET` / `PUT /api/unfinished-order` (the demo's "unfinished order" flag of the user:
 * `{"unfinished": boolean}`). Multipart parsing is registered with the contract routes.
 * @returns the demo's account-deletion hook: while the user's flag is set, it vetoes the deletion (contract 1.4, `409
 * DELETION_VETOED` with `reason` `DEMO_UNFINISHED_ORDER_REASON`), so a client engineer can walk both paths.
 */
export function registerDemoRoutes(app: FastifyInstance, ctx: ServerContext): AccountDeletionHook {
  const { authenticate, publicUser } = ctx;
  app.get('/api/me', async (request) => ({ user: publicUser((await authenticate(request))!) }));

  app.get('/api/feed', async (request) => {
    const user = await authenticate(request, true);
    return user
      ? { personalised: true, greeting: `欢迎回来，${user.nick_name || '微信用户'}`, items: ['为你推荐 1', '为你推荐 2'] }
      : { personalised: false, greeting: '欢迎', items: ['热门 1', '热门 2'] };
  });

  app.post(
    '/api/comments',
    { schema: { body: { type: 'object', required: ['text'], additionalProperties: false, properties: { text } } } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const user = (await authenticate(request))!;
      return reply.code(201).send({ id: crypto.randomUUID(), text: (request.body as { text: string }).text, author: publicUser(user) });
    },
  );

  app.post('/api/orders', async (request: FastifyRequest, reply: FastifyReply) => {
    const user = (await authenticate(request))!;
    if (user.phone === null) return reply.code(403).send({ code: 'PHONE_REQUIRED', message: 'an order needs a bound phone number' });
    return reply.code(201).send({ id: crypto.randomUUID(), buyer: publicUser(user) });
  });

  // Files of the demo (in memory): a protected upload and download, for the kit's uploadFile/downloadFile.
  const files = new Map<string, { owner: string; data: Buffer }>();
  app.post('/api/files', async (request: FastifyRequest, reply: FastifyReply) => {
    const user = (await authenticate(request))!;
    const file = await request.file();
    if (!file) return reply.code(400).send({ code: 'BAD_REQUEST', message: 'a multipart "file" is required' });
    const id = crypto.randomUUID();
    files.set(id, { owner: user.id, data: await file.toBuffer() });
    return reply.code(201).send({ id, size: files.get(id)!.data.length });
  });
  app.get('/api/files/:id', async (request: FastifyRequest, reply: FastifyReply) => {
    const user = (await authenticate(request))!;
    const file = files.get((request.params as { id: string }).id);
    if (!file || file.owner !== user.id) return reply.code(404).send({ code: 'NOT_FOUND', message: 'no such file' });
    return reply.type('application/octet-stream').send(file.data);
  });

  // The demo app's own data that the law would make it keep: an "unfinished order" per user (in memory). While it is
  // set, the demo's deletion hook vetoes the account deletion; clearing it lets the deletion through.
  const unfinished = new Set<string>();
  app.get('/api/unfinished-order', async (request) => ({ unfinished: unfinished.has((await authenticate(request))!.id) }));
  app.put(
    '/api/unfinished-order',
    {
      schema: {
        body: { type: 'object', required: ['unfinished'], additionalProperties: false, properties: { unfinished: { type: 'boolean' } } },
      },
    },
    async (request: FastifyRequest) => {
      const user = (await authenticate(request))!;
      const flag = (request.body as { unfinished: boolean }).unfinished;
      if (flag) unfinished.add(user.id);
      else unfinished.delete(user.id);
      return { unfinished: flag };
    },
  );
  return ({ user }) => (unfinished.has(user.id) ? { veto: DEMO_UNFINISHED_ORDER_REASON } : undefined);
}
