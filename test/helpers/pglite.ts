/** PGlite (Postgres in-process, WASM) as the Postgres store's `SqlPool`, for unit tests without a server. */
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlPool } from '../../server/store-postgres';

type Queryable = { query: (text: string, params?: unknown[]) => Promise<{ rows: unknown[]; affectedRows?: number }> };

const client = (db: Queryable): SqlClient => ({
  query: async (text, params) => {
    // PGlite's query takes one statement; the migrations are several, which exec runs.
    if (!params && /;\s*\S/.test(text)) {
      await (db as unknown as { exec(sql: string): Promise<unknown> }).exec(text);
      return { rows: [], rowCount: 0 };
    }
    const result = await db.query(text, params);
    return { rows: result.rows as Array<Record<string, unknown>>, rowCount: result.affectedRows ?? 0 };
  },
});

export async function pglitePool(): Promise<SqlPool> {
  const db = new PGlite();
  await db.waitReady;
  return {
    ...client(db),
    transaction: (work) => db.transaction((tx) => work(client(tx as unknown as Queryable))),
    close: () => db.close(),
  };
}
