// The admin API (/api/admin/): who may call it (admin session cookie, same
// origin JSON; Bearer token with scope admin from an admin client), users,
// sessions, passkeys, clients (secret shown once, rotation), signing keys
// (rotate/revoke reflected in /jwks), per-application roles in tokens,
// userinfo, introspection and /api/verify. Real server, real PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as jose from 'jose';
import { Server, freshDatabase, psql, TEST_SECRET, BIN } from './harness.mjs';

const PASSWORD = 'correct horse battery';
const CONFIG_CLIENTS = [
  { clientId: 'cfg-app', clientSecret: 'cfg-secret-123', name: 'Configured', redirectURLs: ['http://localhost:9999/cb'],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] },
];
let S, url, adminCookie, userCookie, adminId, userId, adminToken, plainToken;

function cli(args, input, env = {}) {
  return spawnSync(BIN, args, {
    env: { PATH: process.env.PATH, DATABASE_URL: url, AUTH_SECRET: TEST_SECRET, LOG_LEVEL: 'warn', ...env },
    input, encoding: 'utf8', timeout: 60000,
  });
}

async function call(path, { method = 'GET', cookie, body, token, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (cookie) h.cookie = cookie;
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined && !raw) h['content-type'] = h['content-type'] || 'application/json';
  const r = await fetch(S.url + path, { method, headers: h, redirect: 'manual',
    body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

async function signIn(email) {
  const r = await fetch(S.url + '/api/auth/sign-in/email', { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  assert.equal(r.status, 200, await r.text());
  return r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

async function clientToken(id, secret, scope) {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope) body.set('scope', scope);
  const r = await fetch(S.url + '/oauth2/token', { method: 'POST', body,
    headers: { authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64'),
      'content-type': 'application/x-www-form-urlencoded' } });
  return { status: r.status, json: await r.json() };
}

before(async () => {
  url = freshDatabase('admin');
  S = new Server({ DATABASE_URL: url, AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', ENABLE_OIDC_PROVIDER: 'true',
    OIDC_CLIENTS: JSON.stringify(CONFIG_CLIENTS), FORWARD_AUTH_ALLOW_MACHINE_TOKENS: 'true' });
  await S.start();
  for (const [email, admin] of [['root@example.com', true], ['joe@example.com', false]]) {
    const r = cli(['user', 'add', email, ...(admin ? ['--admin'] : []), '--name', admin ? 'Root' : 'Joe'], PASSWORD + '\n');
    assert.equal(r.status, 0, r.stderr);
  }
  adminId = psql(url, "SELECT id FROM users WHERE email = 'root@example.com'");
  userId = psql(url, "SELECT id FROM users WHERE email = 'joe@example.com'");
  adminCookie = await signIn('root@example.com');
  userCookie = await signIn('joe@example.com');
  let r = cli(['client', 'add', 'ops-bot', '--redirect-uri', 'http://localhost:9999/cb', '--admin']);
  assert.equal(r.status, 0, r.stderr);
  const opsSecret = r.stdout.match(/client_secret: (\S+)/)[1];
  r = cli(['client', 'add', 'plain-bot', '--redirect-uri', 'http://localhost:9999/cb', '--grant', 'client_credentials']);
  assert.equal(r.status, 0, r.stderr);
  const plainSecret = r.stdout.match(/client_secret: (\S+)/)[1];
  const t = await clientToken('ops-bot', opsSecret, 'admin');
  assert.equal(t.status, 200, JSON.stringify(t.json));
  adminToken = t.json.access_token;
  // A client without the flag cannot even ask for the scope...
  const refused = await clientToken('plain-bot', plainSecret, 'admin');
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error, 'invalid_scope');
  // ...and its ordinary token does not open the admin API.
  plainToken = (await clientToken('plain-bot', plainSecret)).json.access_token;
  assert.ok(plainToken);
});

after(async () => { await S.stop(); });

test('authentication matrix: 401 without credentials, 403 for non-admins, admin cookie and admin token pass', async () => {
  assert.equal((await call('/api/admin/users')).status, 401);
  assert.equal((await call('/api/admin/users', { cookie: 'dreamauth_session=bogus' })).status, 401);
  assert.equal((await call('/api/admin/users', { cookie: userCookie })).status, 403);
  const ok = await call('/api/admin/users', { cookie: adminCookie });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.users.map((u) => u.email).sort(), ['joe@example.com', 'root@example.com']);
  const byToken = await call('/api/admin/users', { token: adminToken });
  assert.equal(byToken.status, 200, byToken.text);
  const plain = await call('/api/admin/users', { token: plainToken });
  assert.equal(plain.status, 403);
  assert.equal(plain.json.error, 'insufficient_scope');
  assert.equal((await call('/api/admin/users', { token: 'not.a.jwt' })).status, 401);
  assert.equal((await call('/api/admin/users', { token: adminToken.slice(0, -3) + 'AAA' })).status, 401);
  // The console takes no Bearer token and sends strangers to sign in.
  const page = await call('/admin');
  assert.equal(page.status, 302);
  assert.equal(page.headers.get('location'), '/login?rd=%2Fadmin');
});

test('CSRF: a cookie-borne change needs JSON from our own origin', async () => {
  const body = { email: 'csrf@example.com' };
  const evil = await call('/api/admin/users', { method: 'POST', cookie: adminCookie, body,
    headers: { origin: 'https://evil.example' } });
  assert.equal(evil.status, 403);
  const form = await call('/api/admin/users', { method: 'POST', cookie: adminCookie, raw: true,
    body: 'email=csrf%40example.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(form.status, 415);
  const plainText = await call('/api/admin/users', { method: 'POST', cookie: adminCookie, raw: true,
    body: JSON.stringify(body), headers: { 'content-type': 'text/plain' } });
  assert.equal(plainText.status, 415);
  assert.equal(psql(url, "SELECT count(*) FROM users WHERE email = 'csrf@example.com'"), '0');
  const same = await call('/api/admin/users', { method: 'POST', cookie: adminCookie, body,
    headers: { origin: new URL(S.url).origin.replace('127.0.0.1', 'localhost') } });
  assert.equal(same.status, 201, same.text);
});

test('users: create, get, search, page, update, disable/enable, sign out, delete; malformed input and 404s', async () => {
  const created = await call('/api/admin/users', { method: 'POST', token: adminToken,
    body: { email: 'Ann@Example.com', name: 'Ann', password: PASSWORD, groups: ['dev', 'ops'] } });
  assert.equal(created.status, 201, created.text);
  const ann = created.json;
  assert.deepEqual(ann.groups, ['dev', 'ops']);
  assert.equal(ann.admin, false);
  const dup = await call('/api/admin/users', { method: 'POST', token: adminToken, body: { email: 'ann@example.com' } });
  assert.equal(dup.status, 409);
  for (const [body, why] of [[{}, /email/], [{ email: 'not-an-email' }, /email/],
    [{ email: 'x@example.com', password: 'short' }, /password/], [{ email: 'x@example.com', groups: 'dev' }, /groups/],
    [{ email: 'x@example.com', groups: ['a,b'] }, /groups/], [{ email: 'x@example.com', name: 'a\u001bb' }, /name/],
    [{ email: 'x@example.com', admin: 'yes' }, /admin/], [{ email: 'x'.repeat(300) + '@example.com' }, /email/]]) {
    const r = await call('/api/admin/users', { method: 'POST', token: adminToken, body });
    assert.equal(r.status, 400, JSON.stringify(body) + r.text);
    assert.match(r.json.error_description, why);
  }
  const notJson = await call('/api/admin/users', { method: 'POST', token: adminToken, raw: true, body: '{"email":',
    headers: { 'content-type': 'application/json' } });
  assert.equal(notJson.status, 400);
  const huge = await call('/api/admin/users', { method: 'POST', token: adminToken, raw: true,
    body: JSON.stringify({ email: 'big@example.com', name: 'n'.repeat(200000) }), headers: { 'content-type': 'application/json' } });
  assert.ok(huge.status === 400 || huge.status === 413, String(huge.status));
  assert.equal(psql(url, "SELECT count(*) FROM users WHERE email IN ('x@example.com', 'big@example.com')"), '0');

  // The new account signs in with its password.
  const annCookie = await signIn('ann@example.com');
  const got = await call(`/api/admin/users/${ann.id}`, { cookie: adminCookie });
  assert.equal(got.status, 200);
  assert.equal(got.json.email, 'Ann@Example.com');
  assert.deepEqual(got.json.roles, []);
  assert.equal((await call('/api/admin/users/00000000-0000-4000-8000-000000000000', { cookie: adminCookie })).status, 404);
  assert.equal((await call('/api/admin/users/not-a-uuid', { cookie: adminCookie })).status, 404);
  assert.equal((await call('/api/admin/users/%27%3B--', { cookie: adminCookie })).status, 404);
  assert.equal((await call('/api/admin/nothing', { cookie: adminCookie })).status, 404);
  assert.equal((await call('/api/admin/users', { method: 'PUT', cookie: adminCookie, body: {} })).status, 405);

  // Search (a % is only a character) and pages.
  const search = await call('/api/admin/users?q=ANN', { token: adminToken });
  assert.deepEqual(search.json.users.map((u) => u.id), [ann.id]);
  assert.deepEqual((await call('/api/admin/users?q=%25', { token: adminToken })).json.users, []);
  const p1 = await call('/api/admin/users?limit=2', { token: adminToken });
  assert.equal(p1.json.users.length, 2);
  assert.ok(p1.json.nextCursor);
  const p2 = await call(`/api/admin/users?limit=2&cursor=${p1.json.nextCursor}`, { token: adminToken });
  const seen = [...p1.json.users, ...p2.json.users].map((u) => u.id);
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.includes(ann.id));
  for (const q of ['limit=0', 'limit=101', 'limit=x', 'cursor=garbage', 'cursor=' + 'A'.repeat(40)])
    assert.equal((await call(`/api/admin/users?${q}`, { token: adminToken })).status, 400, q);

  // Update: name, groups, admin; the running session sees it at once.
  const upd = await call(`/api/admin/users/${ann.id}`, { method: 'PATCH', cookie: adminCookie,
    body: { name: 'Ann B', groups: ['ops'], admin: true } });
  assert.equal(upd.status, 200, upd.text);
  const me = await (await fetch(S.url + '/api/auth/me', { headers: { cookie: annCookie } })).json();
  assert.equal(me.user.name, 'Ann B');
  assert.deepEqual(me.user.groups, ['ops']);
  assert.equal(me.user.isAdmin, true);
  assert.equal((await call(`/api/admin/users/${ann.id}`, { method: 'PATCH', cookie: adminCookie, body: { groups: [''] } })).status, 400);
  assert.equal((await call(`/api/admin/users/${adminId}`, { method: 'PATCH', cookie: adminCookie, body: { admin: false } })).status, 409);

  // Sessions: list, revoke one.
  const sessions = await call(`/api/admin/users/${ann.id}/sessions`, { cookie: adminCookie });
  assert.equal(sessions.json.sessions.length, 1);
  const sid = sessions.json.sessions[0].id;
  assert.equal((await call(`/api/admin/users/${ann.id}/sessions/${sid}`, { method: 'DELETE', cookie: adminCookie })).status, 200);
  assert.equal((await fetch(S.url + '/api/auth/me', { headers: { cookie: annCookie } })).status, 401);
  assert.equal((await call(`/api/admin/users/${ann.id}/sessions/${sid}`, { method: 'DELETE', cookie: adminCookie })).status, 404);

  // Disable: sessions end, sign-in refused; a disabled admin is refused by the API.
  const annCookie2 = await signIn('ann@example.com');
  assert.equal((await call('/api/admin/users', { cookie: annCookie2 })).status, 200);	// admin now
  const dis = await call(`/api/admin/users/${ann.id}/disable`, { method: 'POST', cookie: adminCookie, body: {} });
  assert.equal(dis.status, 200, dis.text);
  assert.equal(dis.json.revoked.sessions, 1);
  assert.equal((await call('/api/admin/users', { cookie: annCookie2 })).status, 401);
  const refused = await fetch(S.url + '/api/auth/sign-in/email', { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ann@example.com', password: PASSWORD }) });
  assert.notEqual(refused.status, 200);
  assert.equal((await call(`/api/admin/users/${ann.id}/enable`, { method: 'POST', cookie: adminCookie, body: {} })).status, 200);
  await signIn('ann@example.com');
  assert.equal((await call(`/api/admin/users/${adminId}/disable`, { method: 'POST', cookie: adminCookie, body: {} })).status, 409);

  // Revoke everything, then delete (hard): the email is free again.
  const out = await call(`/api/admin/users/${ann.id}/revoke-sessions`, { method: 'POST', token: adminToken });
  assert.equal(out.json.revoked.sessions, 1);
  assert.equal((await call(`/api/admin/users/${ann.id}`, { method: 'DELETE', token: adminToken })).status, 200);
  assert.equal((await call(`/api/admin/users/${ann.id}`, { token: adminToken })).status, 404);
  assert.equal((await call(`/api/admin/users/${ann.id}`, { method: 'DELETE', token: adminToken })).status, 404);
  assert.equal(psql(url, `SELECT count(*) FROM users WHERE id = '${ann.id}'`), '0');
  // Hooks of the other branches answer 501, clearly.
  assert.equal((await call(`/api/admin/users/${userId}/totp`, { method: 'DELETE', token: adminToken })).status, 501);
  assert.equal((await call(`/api/admin/users/${userId}/password-reset`, { method: 'POST', token: adminToken })).status, 501);
  assert.deepEqual((await call(`/api/admin/users/${userId}/passkeys`, { token: adminToken })).json.passkeys, []);
  assert.equal((await call(`/api/admin/users/${userId}/passkeys/00000000-0000-4000-8000-000000000000`,
    { method: 'DELETE', token: adminToken })).status, 404);
});

test('a demoted admin is refused by the store even while the session lives', async () => {
  const r = cli(['user', 'add', 'temp-admin@example.com', '--admin'], PASSWORD + '\n');
  assert.equal(r.status, 0, r.stderr);
  const cookie = await signIn('temp-admin@example.com');
  assert.equal((await call('/api/admin/users', { cookie })).status, 200);
  const id = psql(url, "SELECT id FROM users WHERE email = 'temp-admin@example.com'");
  assert.equal((await call(`/api/admin/users/${id}`, { method: 'PATCH', token: adminToken, body: { admin: false } })).status, 200);
  assert.equal((await call('/api/admin/users', { cookie })).status, 403);
  // An admin token whose client loses the flag is refused at once too.
  psql(url, "UPDATE oauth_clients SET admin = false WHERE client_id = 'ops-bot'");
  assert.equal((await call('/api/admin/users', { token: adminToken })).status, 403);
  psql(url, "UPDATE oauth_clients SET admin = true WHERE client_id = 'ops-bot'");
  assert.equal((await call('/api/admin/users', { token: adminToken })).status, 200);
});
