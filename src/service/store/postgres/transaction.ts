import type pg from "pg";

/**
 * Runs `fn` in one transaction on a connection of `pool`: COMMIT when it resolves, ROLLBACK when
 * it throws (and the error is rethrown); the connection goes back to the pool either way.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (err) {
    await c.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}
