// TRUST_PROXY: behind a reverse proxy the per-IP sign-in limit keys on the
// address the proxy appended to X-Forwarded-For; without it, a client-sent
// X-Forwarded-For changes nothing (it cannot dodge the limit).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, freshDatabase, TEST_SECRET } from './harness.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.stop(); });

async function start(trust) {
  const s = new Server({ DATABASE_URL: freshDatabase('proxy'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    TRUST_PROXY: trust ? 'true' : 'false', LOGIN_IP_MAX_ATTEMPTS: '3', LOGIN_MAX_ATTEMPTS: '100' });
  servers.push(s);
  return s.start();
}

function signIn(s, i, xff) {
  return fetch(s.url + '/api/auth/sign-in/email', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': xff },
    body: JSON.stringify({ email: `nobody${i}@example.com`, password: 'wrong password' }),
  });
}

test('TRUST_PROXY=true: the per-IP limit follows the proxy-appended address', async () => {
  const s = await start(true);
  for (let i = 0; i < 3; i++) assert.equal((await signIn(s, i, `198.51.100.9, 203.0.113.1`)).status, 401);
  const blocked = await signIn(s, 3, `198.51.100.10, 203.0.113.1`);
  assert.equal(blocked.status, 429, 'same proxy-seen client, forged left part changed');
  assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  assert.equal((await signIn(s, 4, '203.0.113.2')).status, 401, 'another client is not throttled');
});

test('TRUST_PROXY=false: X-Forwarded-For from the client is ignored', async () => {
  const s = await start(false);
  for (let i = 0; i < 3; i++) assert.equal((await signIn(s, i, `203.0.113.${i + 10}`)).status, 401);
  assert.equal((await signIn(s, 3, '203.0.113.99')).status, 429, 'rotating X-Forwarded-For does not dodge the limit');
});
