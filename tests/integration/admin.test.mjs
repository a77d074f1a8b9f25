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
let S, url, adminCookie, userCookie, adminId, userId, adminToken, plainToken, opsSecret;

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
  opsSecret = r.stdout.match(/client_secret: (\S+)/)[1];
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
  // Clients added by the CLI may ask for the scope roles (migration 013's default).
  assert.equal(psql(url, "SELECT 'roles' = ANY(scopes) FROM oauth_clients WHERE client_id = 'plain-bot'"), 't');
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
  // A long profile still comes whole (roles included).
  const long = await call('/api/admin/users', { method: 'POST', token: adminToken, body: { email: `${'l'.repeat(60)}@${'d'.repeat(60)}.example.com`,
    name: 'N'.repeat(80), groups: Array.from({ length: 14 }, (_, i) => `group-${String(i).padStart(3, '0')}`) } });
  assert.equal(long.status, 201, long.text);
  const longGot = await call(`/api/admin/users/${long.json.id}`, { token: adminToken });
  assert.deepEqual(longGot.json.roles, []);
  assert.equal(longGot.json.groups.length, 14);
  assert.equal((await call(`/api/admin/users/${long.json.id}`, { method: 'DELETE', token: adminToken })).status, 200);
  assert.equal((await call('/api/admin/users/00000000-0000-4000-8000-000000000000', { cookie: adminCookie })).status, 404);
  assert.equal((await call('/api/admin/users/not-a-uuid', { cookie: adminCookie })).status, 404);
  assert.equal((await call('/api/admin/users/%27%3B--', { cookie: adminCookie })).status, 400);
  assert.equal((await call('/api/admin/users/a/../../x', { cookie: adminCookie })).status, 404);
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
  // (the TOTP is turned off with the rest: DELETE …/second-factor; no separate path)
  assert.equal((await call(`/api/admin/users/${userId}/totp`, { method: 'DELETE', token: adminToken })).status, 404);
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

test('clients: create shows the secret once, rotation ends the old one, update, delete; configured ones read-only', async () => {
  const bad = [[{}, 400], [{ name: 'x', redirectUris: ['ftp://x'] }, 400], [{ name: 'x', redirectUris: 'http://localhost/cb' }, 400],
    [{ name: 'x', redirectUris: ['http://localhost/cb'], grantTypes: ['password'] }, 400],
    [{ name: 'x', redirectUris: ['http://localhost/cb'], scopes: ['admin'] }, 400],
    [{ name: 'x', redirectUris: ['http://localhost/cb'], public: true, admin: true }, 400],
    [{ clientId: 'bad id!', name: 'x', redirectUris: ['http://localhost/cb'] }, 400],
    [{ clientId: 'cfg-app', name: 'x', redirectUris: ['http://localhost/cb'] }, 409],
    [{ name: 'x', redirectUris: Array(17).fill('http://localhost/cb') }, 400],
    [{ name: 'x', redirectUris: ['http://localhost/cb'], idTokenAlg: 'none' }, 400]];
  for (const [body, status] of bad) {
    const r = await call('/api/admin/clients', { method: 'POST', token: adminToken, body });
    assert.equal(r.status, status, JSON.stringify(body) + r.text);
  }
  const made = await call('/api/admin/clients', { method: 'POST', token: adminToken, body: { clientId: 'grafana',
    name: 'Grafana', redirectUris: ['http://localhost:3000/cb'], grantTypes: ['authorization_code', 'client_credentials'] } });
  assert.equal(made.status, 201, made.text);
  const secret = made.json.clientSecret;
  assert.ok(secret && secret.length >= 43);
  assert.equal((await call('/api/admin/clients', { method: 'POST', token: adminToken,
    body: { clientId: 'grafana', name: 'again', redirectUris: ['http://localhost:3000/cb'] } })).status, 409);
  const stored = psql(url, "SELECT encode(secret_hash, 'hex') FROM oauth_clients WHERE client_id = 'grafana'");
  assert.ok(!stored.includes(Buffer.from(secret).toString('hex')));
  const got = await call('/api/admin/clients/grafana', { token: adminToken });
  assert.equal(got.status, 200);
  assert.equal(got.json.clientSecret, undefined, 'never shown again');
  assert.equal((await clientToken('grafana', secret)).status, 200);
  // Rotation: the new secret works at once, the old one no more.
  const rot = await call('/api/admin/clients/grafana/rotate-secret', { method: 'POST', token: adminToken });
  assert.equal(rot.status, 200, rot.text);
  assert.notEqual(rot.json.clientSecret, secret);
  assert.equal((await clientToken('grafana', secret)).status, 401);
  assert.equal((await clientToken('grafana', rot.json.clientSecret)).status, 200);
  // Update, list (configured clients apart, read-only).
  const upd = await call('/api/admin/clients/grafana', { method: 'PATCH', token: adminToken,
    body: { name: 'Grafana 11', redirectUris: ['http://localhost:3000/login/generic_oauth'], skipConsent: true } });
  assert.equal(upd.status, 200, upd.text);
  assert.equal(upd.json.name, 'Grafana 11');
  assert.deepEqual(upd.json.redirectUris, ['http://localhost:3000/login/generic_oauth']);
  assert.equal((await call('/api/admin/clients/grafana', { method: 'PATCH', token: adminToken, body: { public: true } })).status, 400);
  assert.equal((await call('/api/admin/clients/nope', { method: 'PATCH', token: adminToken, body: { name: 'x' } })).status, 404);
  const list = await call('/api/admin/clients', { cookie: adminCookie });
  assert.ok(list.json.clients.some((c) => c.clientId === 'grafana'));
  assert.deepEqual(list.json.configured.map((c) => c.clientId), ['cfg-app']);
  assert.equal(list.json.configured[0].readOnly, true);
  for (const [method, path, body] of [['PATCH', '/api/admin/clients/cfg-app', { name: 'x' }],
    ['DELETE', '/api/admin/clients/cfg-app'], ['POST', '/api/admin/clients/cfg-app/rotate-secret', {}]])
    assert.equal((await call(path, { method, token: adminToken, body })).status, 409, `${method} ${path}`);
  // Delete: its tokens stop.
  const tok = (await clientToken('grafana', rot.json.clientSecret)).json.access_token;
  assert.equal((await call('/api/admin/clients/grafana', { method: 'DELETE', token: adminToken })).status, 200);
  assert.equal((await call('/api/admin/clients/grafana', { method: 'DELETE', token: adminToken })).status, 404);
  assert.equal((await call('/api/admin/clients/grafana', { token: adminToken })).status, 404);
  const v = await fetch(S.url + '/api/verify', { headers: { authorization: `Bearer ${tok}` } });
  assert.equal(v.status, 401);
});

test('signing keys: list, rotate (new kid in /jwks and in new tokens), revoke (out of /jwks)', async () => {
  const before = await call('/api/admin/keys', { token: adminToken });
  assert.equal(before.status, 200);
  const active = before.json.keys.filter((k) => k.state === 'active');
  assert.equal(active.length, 3);
  assert.ok(before.json.keys.every((k) => !('sealed_private' in k) && !('d' in k)));
  assert.equal((await call('/api/admin/keys/rotate', { method: 'POST', token: adminToken, body: { alg: 'HS256' } })).status, 400);
  const rot = await call('/api/admin/keys/rotate', { method: 'POST', token: adminToken, body: { alg: 'RS256' } });
  assert.equal(rot.status, 200, rot.text);
  const newKid = rot.json.rotated[0].kid, oldKid = rot.json.rotated[0].retiring;
  assert.ok(newKid && oldKid && newKid !== oldKid);
  let jwks;
  for (let i = 0; i < 40; i++) {
    jwks = await (await fetch(S.url + '/jwks')).json();
    if (jwks.keys.some((k) => k.kid === newKid)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(jwks.keys.some((k) => k.kid === newKid), 'new key published');
  assert.ok(jwks.keys.some((k) => k.kid === oldKid), 'retiring key still published');
  // Revoke the retiring one: gone from /jwks.
  assert.equal((await call('/api/admin/keys/' + 'A'.repeat(43) + '/revoke', { method: 'POST', token: adminToken })).status, 404);
  assert.equal((await call('/api/admin/keys/x/revoke', { method: 'POST', token: adminToken })).status, 404);
  const rev = await call(`/api/admin/keys/${oldKid}/revoke`, { method: 'POST', token: adminToken });
  assert.equal(rev.status, 200, rev.text);
  for (let i = 0; i < 40; i++) {
    jwks = await (await fetch(S.url + '/jwks')).json();
    if (!jwks.keys.some((k) => k.kid === oldKid)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(!jwks.keys.some((k) => k.kid === oldKid), 'revoked key left /jwks');
  const after = await call('/api/admin/keys', { cookie: adminCookie });
  assert.equal(after.json.keys.find((k) => k.kid === oldKid).state, 'revoked');
  // The admin token was signed by the revoked key: refused now; a new one works.
  for (let i = 0; i < 40 && (await call('/api/admin/keys', { token: adminToken })).status !== 401; i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.equal((await call('/api/admin/keys', { token: adminToken })).status, 401);
  adminToken = (await clientToken('ops-bot', opsSecret, 'admin')).json.access_token;
  assert.equal((await call('/api/admin/keys', { token: adminToken })).status, 200);
  // A non-admin cannot reach the signer through the API.
  assert.equal((await call('/api/admin/keys/rotate', { method: 'POST', cookie: userCookie, body: {} })).status, 403);
});

test('a rotation shows in new tokens: they carry the new kid', async () => {
  const rot = await call('/api/admin/keys/rotate', { method: 'POST', token: adminToken, body: { alg: 'RS256' } });
  assert.equal(rot.status, 200, rot.text);
  const t = await clientToken('cfg-app', 'cfg-secret-123');
  const kid = rot.json.rotated[0].kid;
  assert.equal(jose.decodeProtectedHeader(t.json.access_token).kid, kid);
  let jwks;	// the workers fetch the new JWKS on their next tick
  for (let i = 0; i < 40; i++) {
    jwks = await (await fetch(S.url + '/jwks')).json();
    if (jwks.keys.some((k) => k.kid === kid)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const JWKS = jose.createLocalJWKSet(jwks);
  await jose.jwtVerify(t.json.access_token, JWKS);
});

// The authorization code flow by hand for Joe's session (skipConsent client).
async function codeFlowTokens(clientId, secret, scope) {
  const verifier = 'v'.repeat(50);
  const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
  const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: 'http://localhost:4000/cb',
    scope, state: 'st', code_challenge: challenge, code_challenge_method: 'S256' });
  const a = await fetch(`${S.url}/oauth2/authorize?${q}`, { headers: { cookie: userCookie }, redirect: 'manual' });
  assert.equal(a.status, 302, await a.text());
  const code = new URL(a.headers.get('location')).searchParams.get('code');
  assert.ok(code, a.headers.get('location'));
  const r = await fetch(S.url + '/oauth2/token', { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code',
    code, redirect_uri: 'http://localhost:4000/cb', code_verifier: verifier }),
    headers: { authorization: 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64'),
      'content-type': 'application/x-www-form-urlencoded' } });
  const json = await r.json();
  assert.equal(r.status, 200, JSON.stringify(json));
  return json;
}

test('roles: defined per application, given to users, in access token, ID token (scope roles), userinfo, introspection; change without re-login', async () => {
  const app = await call('/api/admin/clients', { method: 'POST', token: adminToken, body: { clientId: 'wiki', name: 'Wiki',
    redirectUris: ['http://localhost:4000/cb'], skipConsent: true } });
  assert.equal(app.status, 201, app.text);
  const secret = app.json.clientSecret;
  for (const [name, body, status] of [['Editor', {}, 400], ['a,b', {}, 400], ['editor', { permissions: 'x' }, 400],
    ['editor', { permissions: ['bad perm'] }, 400], ['editor', { permissions: Array(65).fill(0).map((_, i) => `p${i}`) }, 400],
    ['editor', { description: 'd'.repeat(201) }, 400]]) {
    const r = await call(`/api/admin/clients/wiki/roles/${encodeURIComponent(name)}`, { method: 'PUT', token: adminToken, body });
    assert.equal(r.status, status, name + JSON.stringify(body) + r.text);
  }
  let r = await call('/api/admin/clients/wiki/roles/editor', { method: 'PUT', token: adminToken,
    body: { description: 'Edits pages', permissions: ['pages:read', 'pages:write', 'pages:read'] } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.permissions, ['pages:read', 'pages:write']);
  r = await call('/api/admin/clients/wiki/roles/viewer', { method: 'PUT', cookie: adminCookie, body: { permissions: ['pages:read'] } });
  assert.equal(r.status, 200, r.text);
  // A configured client is an application too.
  assert.equal((await call('/api/admin/clients/cfg-app/roles/ops', { method: 'PUT', token: adminToken, body: {} })).status, 200);
  const roles = await call('/api/admin/clients/wiki/roles', { token: adminToken });
  assert.deepEqual(roles.json.roles.map((x) => x.name), ['editor', 'viewer']);
  // Give Joe the editor role.
  assert.equal((await call(`/api/admin/users/${userId}/roles/wiki/editor`, { method: 'PUT', token: adminToken })).status, 200);
  assert.equal((await call(`/api/admin/users/${userId}/roles/wiki/editor`, { method: 'PUT', token: adminToken })).status, 404);
  assert.equal((await call(`/api/admin/users/${userId}/roles/wiki/nosuch`, { method: 'PUT', token: adminToken })).status, 404);
  assert.equal((await call('/api/admin/users/00000000-0000-4000-8000-000000000000/roles/wiki/editor',
    { method: 'PUT', token: adminToken })).status, 404);
  assert.deepEqual((await call(`/api/admin/users/${userId}/roles`, { token: adminToken })).json.roles,
    [{ clientId: 'wiki', role: 'editor' }]);

  const tokens = await codeFlowTokens('wiki', secret, 'openid email roles offline_access');
  const at = jose.decodeJwt(tokens.access_token), id = jose.decodeJwt(tokens.id_token);
  assert.deepEqual(at.roles, ['editor']);
  assert.deepEqual(at.permissions, ['pages:read', 'pages:write']);
  assert.deepEqual(id.roles, ['editor']);
  assert.deepEqual(id.permissions, ['pages:read', 'pages:write']);
  // Without scope roles: the access token still, the ID token not.
  const plain = await codeFlowTokens('wiki', secret, 'openid email');
  assert.deepEqual(jose.decodeJwt(plain.access_token).roles, ['editor']);
  assert.equal(jose.decodeJwt(plain.id_token).roles, undefined);
  const userinfo = async () => (await fetch(S.url + '/oauth2/userinfo', { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
  assert.deepEqual((await userinfo()).roles, ['editor']);
  const intro = await (await fetch(S.url + '/oauth2/introspect', { method: 'POST',
    body: new URLSearchParams({ token: tokens.access_token }), headers: { authorization: 'Basic ' + Buffer.from(`wiki:${secret}`).toString('base64'),
      'content-type': 'application/x-www-form-urlencoded' } })).json();
  assert.equal(intro.active, true);
  assert.deepEqual(intro.roles, ['editor']);
  assert.deepEqual(intro.permissions, ['pages:read', 'pages:write']);

  // Change the role's permissions and Joe's roles: userinfo at once, a refresh at once, no new sign-in.
  await call('/api/admin/clients/wiki/roles/editor', { method: 'PUT', token: adminToken, body: { permissions: ['pages:*'] } });
  await call(`/api/admin/users/${userId}/roles/wiki/viewer`, { method: 'PUT', token: adminToken });
  const now = await userinfo();
  assert.deepEqual(now.roles, ['editor', 'viewer']);
  assert.deepEqual(now.permissions, ['pages:*', 'pages:read']);
  const refreshed = await (await fetch(S.url + '/oauth2/token', { method: 'POST', body: new URLSearchParams({
    grant_type: 'refresh_token', refresh_token: tokens.refresh_token }), headers: {
    authorization: 'Basic ' + Buffer.from(`wiki:${secret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' } })).json();
  assert.deepEqual(jose.decodeJwt(refreshed.access_token).roles, ['editor', 'viewer']);
  assert.deepEqual(jose.decodeJwt(refreshed.id_token).permissions, ['pages:*', 'pages:read']);
  // Another application's roles never leak into this one's tokens.
  assert.equal((await call(`/api/admin/users/${userId}/roles/cfg-app/ops`, { method: 'PUT', token: adminToken })).status, 200);
  assert.deepEqual((await userinfo()).roles, ['editor', 'viewer']);

  // /api/verify: role required per app, X-Auth-Roles passed.
  const verify = (q, h = { cookie: userCookie }) => fetch(`${S.url}/api/verify${q}`, { headers: h });
  let v = await verify('?app=wiki&role=editor');
  assert.equal(v.status, 200);
  assert.equal(v.headers.get('x-auth-roles'), 'editor,viewer');
  assert.equal(v.headers.get('x-auth-permissions'), 'pages:*,pages:read');
  assert.equal((await verify('?app=wiki&role=owner')).status, 403);
  assert.equal((await verify('?app=cfg-app&role=ops')).status, 200);
  assert.equal((await verify('?app=other&role=editor')).status, 403);
  assert.equal((await verify('?app=wiki')).headers.get('x-auth-roles'), 'editor,viewer');
  assert.equal((await verify('?app=wiki&role=Bad,Role')).status, 400);
  assert.equal((await verify('?app=wi%0Dki')).status, 400);
  assert.equal((await verify('?app=wiki&role=editor', {})).status, 401);
  assert.equal((await verify('')).headers.get('x-auth-roles'), null);
  // Taking the role away: the next verify refuses.
  assert.equal((await call(`/api/admin/users/${userId}/roles/wiki/editor`, { method: 'DELETE', token: adminToken })).status, 200);
  assert.equal((await call(`/api/admin/users/${userId}/roles/wiki/editor`, { method: 'DELETE', token: adminToken })).status, 404);
  assert.equal((await verify('?app=wiki&role=editor')).status, 403);
  // A Bearer access token of Joe's is held to the same role check.
  const fwd = (q) => verify(q, { authorization: `Bearer ${tokens.access_token}` });
  assert.ok([401, 403].includes((await fwd('?app=wiki&role=editor')).status));
  // Deleting a role takes its assignments with it.
  assert.equal((await call('/api/admin/clients/wiki/roles/viewer', { method: 'DELETE', token: adminToken })).status, 200);
  assert.deepEqual((await userinfo()).roles, []);
  assert.equal((await call('/api/admin/clients/wiki/roles/viewer', { method: 'DELETE', token: adminToken })).status, 404);
});

test('passkeys: listed and deleted; the passkey second factor goes with the last one', async () => {
  psql(url, `INSERT INTO passkeys (user_id, credential_id, public_key, alg, aaguid, attestation_fmt, attestation_type,
    backup_eligible, backup_state, user_verified, name) VALUES
    ('${userId}', '\\x0102', '\\x0304', -7, '00000000-0000-0000-0000-000000000000', 'none', 'none', false, false, true, 'Key A'),
    ('${userId}', '\\x0506', '\\x0708', -7, '00000000-0000-0000-0000-000000000000', 'none', 'none', false, false, true, 'Key B');
    INSERT INTO passkey_second_factor (user_id) VALUES ('${userId}')`);
  const list = await call(`/api/admin/users/${userId}/passkeys`, { token: adminToken });
  assert.deepEqual(list.json.passkeys.map((p) => p.name).sort(), ['Key A', 'Key B']);
  assert.ok(list.json.passkeys.every((p) => !('publicKey' in p)));
  const [a, b] = list.json.passkeys;
  assert.equal((await call(`/api/admin/users/${adminId}/passkeys/${a.id}`, { method: 'DELETE', token: adminToken })).status, 404,
    "another user's passkey");
  assert.equal((await call(`/api/admin/users/${userId}/passkeys/${a.id}`, { method: 'DELETE', token: adminToken })).status, 200);
  assert.equal(psql(url, `SELECT count(*) FROM passkey_second_factor WHERE user_id = '${userId}'`), '1', 'one passkey left');
  // Turning the second factor off (a lost passkey) without deleting the passkey.
  assert.equal((await call(`/api/admin/users/${userId}/second-factor`, { method: 'DELETE', token: adminToken })).status, 200);
  assert.equal(psql(url, `SELECT count(*) FROM passkey_second_factor WHERE user_id = '${userId}'`), '0');
  assert.equal((await call(`/api/admin/users/${userId}/second-factor`, { method: 'DELETE', token: adminToken })).status, 404);
  // a TOTP and its recovery codes go too (a user who lost the phone and the codes)
  psql(url, `INSERT INTO totp_credentials (user_id, secret_sealed, verified_at) VALUES ('${userId}', '\\x${'ab'.repeat(40)}', now());
    INSERT INTO recovery_codes (user_id, code_hash) VALUES ('${userId}', '\\x${'cd'.repeat(32)}')`);
  assert.equal((await call(`/api/admin/users/${userId}/second-factor`, { method: 'DELETE', token: adminToken })).status, 200);
  assert.equal(psql(url, `SELECT (SELECT count(*) FROM totp_credentials WHERE user_id = '${userId}')
    + (SELECT count(*) FROM recovery_codes WHERE user_id = '${userId}')`), '0', 'TOTP and recovery codes removed');
  psql(url, `INSERT INTO passkey_second_factor (user_id) VALUES ('${userId}')`);
  assert.equal((await call(`/api/admin/users/${userId}/passkeys/${b.id}`, { method: 'DELETE', cookie: adminCookie, body: {} })).status, 200);
  assert.equal(psql(url, `SELECT count(*) FROM passkey_second_factor WHERE user_id = '${userId}'`), '0', 'the last one took the second factor');
  assert.deepEqual((await call(`/api/admin/users/${userId}/passkeys`, { token: adminToken })).json.passkeys, []);
});
