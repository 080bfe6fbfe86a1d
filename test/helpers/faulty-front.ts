/**
 * A deliberately buggy backend for the conformance check's own tests: an HTTP front on 127.0.0.1 that passes every
 * request to a correct backend (the reference server) and lets a test put one bug into the exchange — answer a request
 * itself, or change the answer. Each bug class of issue 26 is one `Fault`; the check must fail the front naming it.
 */
import http from 'http';
import type { AddressInfo } from 'net';

/** A request as the front received it. `json` is the parsed body when it is JSON, else undefined. */
export interface FrontRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  json: unknown;
}

/** An answer: status, headers (lower-case names), body. */
export interface FrontResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** One bug: any of the hooks, each optional. */
export interface Fault {
  /** Answers the request itself (a buggy code path), or returns undefined to pass it on. `'reset'` drops the connection. */
  answer?(request: FrontRequest): FrontResponse | 'reset' | undefined | Promise<FrontResponse | 'reset' | undefined>;
  /** Changes the request before it is passed on (e.g. swaps a token). */
  rewrite?(request: FrontRequest): FrontRequest;
  /** Changes the correct backend's answer. */
  alter?(request: FrontRequest, response: FrontResponse): FrontResponse | Promise<FrontResponse>;
}

/** A JSON answer. */
export const jsonAnswer = (status: number, value: unknown, headers: Record<string, string> = {}): FrontResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: Buffer.from(JSON.stringify(value)),
});

/** Parses a JSON body, or undefined. */
export function parseJson(body: Buffer): unknown {
  try {
    return body.length ? (JSON.parse(body.toString('utf8')) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

const HOP_BY_HOP = ['connection', 'content-length', 'transfer-encoding', 'keep-alive', 'content-encoding'];

/** Starts the front before `upstream` (a base URL) with `fault`; resolves with its base URL and a close function. */
export async function startFaultyFront(upstream: string, fault: Fault): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
        let request: FrontRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers, body, json: parseJson(body) };
        let response: FrontResponse | 'reset' | undefined = await fault.answer?.(request);
        if (response === 'reset') return void req.socket.destroy();
        if (!response) {
          if (fault.rewrite) request = fault.rewrite(request);
          const forwarded: Record<string, string> = {};
          for (const name of ['content-type', 'authorization']) if (request.headers[name]) forwarded[name] = request.headers[name];
          const upstreamAnswer = await fetch(upstream + request.url, {
            method: request.method,
            headers: forwarded,
            body: request.method === 'GET' || request.method === 'HEAD' ? undefined : new Uint8Array(request.body),
          });
          const answerHeaders: Record<string, string> = {};
          upstreamAnswer.headers.forEach((value, name) => {
            if (HOP_BY_HOP.indexOf(name) < 0) answerHeaders[name] = value;
          });
          response = { status: upstreamAnswer.status, headers: answerHeaders, body: Buffer.from(await upstreamAnswer.arrayBuffer()) };
          if (fault.alter) response = await fault.alter(request, response);
        }
        res.writeHead(response.status, { ...response.headers, 'content-length': String(response.body.length) });
        res.end(response.body);
      })().catch((error: Error) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'FRONT_ERROR', message: error.message }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
