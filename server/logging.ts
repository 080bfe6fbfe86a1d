/**
 * The server's log when it runs for real (`server/main.ts`, `npm run server`): pino through Fastify, one JSON line per
 * event on standard output — the start, server errors (5xx, and failures of the hourly purge) and WeChat being
 * unreachable. Never a token, a code, a phone number or a client address: requests are not logged, a request's log
 * line names only its method and route, an error only its type, code, message and stack (a database error's
 * `detail`, which quotes the row's values, is left out), and anything shaped like `secret=…` in them is masked.
 */
import type { FastifyError, FastifyRequest, FastifyServerOptions } from 'fastify';
import { LogController } from 'fastify';

/** Query or form parameters whose values are credentials (WeChat's API URLs carry some of them). */
const CREDENTIAL = /\b(js_code|code|secret|access_token|refresh_?token|session_key|phone(?:Code|Number)?|loginTicket)=[^&\s"']+/gi;
/** `Bearer <token>` anywhere in a message. */
const BEARER = /\bbearer\s+[\w.~+/-]+=*/gi;

/** `text` with credential-shaped values masked. */
export function scrub(text: string): string {
  return text.replace(CREDENTIAL, '$1=[redacted]').replace(BEARER, 'Bearer [redacted]');
}

/** What a log line says of a request: its method and route pattern (never the query, the headers or the body). */
function request(req: FastifyRequest): { method: string; route: string } {
  return { method: req.method, route: req.routeOptions?.url ?? '(no route)' };
}

/** What a log line says of an error: type, code, message and stack, masked. */
function error(err: FastifyError): { type: string; message: string; stack: string; code?: string } {
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    message: scrub(String(err.message)),
    stack: scrub(String(err.stack ?? '')),
    ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
  };
}

/**
 * Fastify options of the production log: `level` (default `info`), the serializers above, pino's redaction of the
 * fields that could carry credentials should a line ever include them, and no per-request lines. `stream` (tests)
 * replaces standard output.
 */
export function productionLogging(
  level = 'info',
  stream?: { write(line: string): void },
): Pick<FastifyServerOptions, 'logger' | 'logController'> {
  return {
    logger: {
      level,
      ...(stream ? { stream } : {}),
      serializers: { req: request as never, err: error as never },
      redact: {
        paths: ['req.headers', 'req.body', 'req.query', 'err.detail', 'headers.authorization', 'body'],
        censor: '[redacted]',
      },
    },
    logController: new LogController({ disableRequestLogging: true }),
  };
}
