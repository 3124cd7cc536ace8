import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

interface Raw {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A GET with exactly these headers (fetch would add and undo its own Accept-Encoding). */
function rawGet(url: string, headers: Record<string, string>): Promise<Raw> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { authorization: `Bearer ${TEST_TOKEN}`, ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

/** A console polling a large installation's lists gets them gzip-compressed. */
describe('admin API answers compressed for clients that accept gzip', () => {
  let db: TestDatabase;
  let admin: AdminController;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
    const items = Array.from({ length: 60 }, (_, i) => ({ kind: 'GatewayPool', metadata: { name: `pool-${i}` }, spec: { members: [] } }));
    expect((await call(admin.base, 'POST', '/v1/apply', { items })).status).toBe(200);
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  it('compresses a large list, sends it as it is without Accept-Encoding, and leaves small answers alone', async () => {
    const plain = await rawGet(`${admin.base}/v1/gateway-pools`, {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(10_000);
    const gzipped = await rawGet(`${admin.base}/v1/gateway-pools`, { 'accept-encoding': 'gzip, deflate, br' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 5);
    expect(JSON.parse(gunzipSync(gzipped.body).toString('utf8'))).toEqual(JSON.parse(plain.body.toString('utf8')));

    const small = await rawGet(`${admin.base}/healthz`, { 'accept-encoding': 'gzip' });
    expect(small.status).toBe(200);
    expect(small.headers['content-encoding']).toBeUndefined();
    // Errors keep the one envelope, compressed or not.
    const missing = await rawGet(`${admin.base}/v1/gateway-pools/nothing`, { 'accept-encoding': 'gzip' });
    expect(missing.status).toBe(404);
    const body = missing.headers['content-encoding'] === 'gzip' ? gunzipSync(missing.body) : missing.body;
    expect(JSON.parse(body.toString('utf8'))).toMatchObject({ error: { code: 'not_found' } });
  });
});
