// CORS over real HTTP (no browser; tests/integration/spa.test.mjs has one):
// which origin gets which header on which path. Discovery and JWKS: "*",
// never credentials. Token, userinfo, revocation: the origins of the
// clients' redirect URIs and CORS_ORIGINS, echoed, never credentials; a
// foreign origin refused before the handler. The account API: only
// AUTH_URL's origin and CORS_ORIGINS, with credentials. Introspection:
// nothing (resource servers are not browsers). Vary: Origin everywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Server, freshDatabase, TEST_SECRET, BIN } from './harness.mjs';

const APP = 'https://app.example.com';		// a client's redirect URI origin
const FIRST = 'https://portal.example.com';	// CORS_ORIGINS
const EVIL = 'https://evil.example';
const CLIENTS = [
  { clientId: 'spa', public: true, redirectURLs: [`${APP}/callback`, 'http://localhost:5173/cb', 'app.example:/cb'] },
  { clientId: 'off', public: true, disabled: true, redirectURLs: ['https://disabled.example.com/cb'] },
];
let S;

before(async () => {
  S = new Server({ DATABASE_URL: freshDatabase('cors'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_OIDC_PROVIDER: 'true', ENABLE_REGISTRATION: 'true', OIDC_CLIENTS: JSON.stringify(CLIENTS),
    CORS_ORIGINS: `${FIRST}, https://other.example.com:8443` });
  await S.start();
});
after(() => S?.stop());

const preflight = (path, origin, method = 'POST') => fetch(S.url + path, { method: 'OPTIONS', headers: {
  origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' } });
const h = (r, name) => r.headers.get(name);

test('preflights: 204 with methods, headers and max-age for allowed origins, 403 without ACAO for others', async () => {
  for (const [path, origin, creds] of [['/oauth2/token', APP, null], ['/oauth2/token', 'http://localhost:5173', null],
    ['/oauth2/userinfo', FIRST, null], ['/oauth2/revoke', APP, null], ['/api/auth/get-session', FIRST, 'true'],
    ['/api/auth/sign-in/email', 'https://other.example.com:8443', 'true'], ['/api/auth/passkey/generate-authenticate-options', FIRST, 'true']]) {
    const r = await preflight(path, origin);
    assert.equal(r.status, 204, `${path} ${origin}`);
    assert.equal(h(r, 'access-control-allow-origin'), origin, path);
    assert.equal(h(r, 'access-control-allow-credentials'), creds, path);
    assert.match(h(r, 'access-control-allow-methods'), /POST/);
    assert.match(h(r, 'access-control-allow-headers'), /Authorization/);
    assert.equal(h(r, 'access-control-max-age'), '600');
    assert.equal(h(r, 'vary'), 'Origin');
    assert.equal(h(r, 'content-length'), null, 'no Content-Length on a 204 (RFC 9110 8.6)');
  }
  // A client's origin is not first-party: no credentialed account API for it.
  for (const [path, origin] of [['/api/auth/get-session', APP], ['/oauth2/token', EVIL], ['/oauth2/token', 'null'],
    ['/oauth2/token', 'https://disabled.example.com'], ['/oauth2/token', `${APP}/`], ['/oauth2/userinfo', 'https://APP.example.com.evil']]) {
    const r = await preflight(path, origin);
    assert.equal(r.status, 403, `${path} ${origin}`);
    assert.equal(h(r, 'access-control-allow-origin'), null, `${path} ${origin}`);
    assert.equal(h(r, 'vary'), 'Origin');
  }
  // Discovery and JWKS: anyone, no credentials.
  for (const path of ['/.well-known/openid-configuration', '/jwks', '/.well-known/jwks.json']) {
    const r = await preflight(path, EVIL, 'GET');
    assert.equal(r.status, 204, path);
    assert.equal(h(r, 'access-control-allow-origin'), '*');
    assert.equal(h(r, 'access-control-allow-credentials'), null);
  }
  // Plain OPTIONS (no Origin): the methods, as HTTP says.
  const plain = await fetch(S.url + '/oauth2/token', { method: 'OPTIONS' });
  assert.equal(plain.status, 204);
  assert.equal(h(plain, 'allow'), 'POST');
  // Introspection is for resource servers: no CORS, OPTIONS not routed.
  const intro = await preflight('/oauth2/introspect', APP);
  assert.equal(intro.status, 405);
  assert.equal(h(intro, 'access-control-allow-origin'), null);
});

test('actual requests: wildcard only on public documents, echo without credentials on OAuth endpoints, '
  + 'credentials on the first-party account API; Vary always', async () => {
  for (const path of ['/.well-known/openid-configuration', '/jwks', '/.well-known/jwks.json']) {
    for (const headers of [{ origin: EVIL }, {}]) {
      const r = await fetch(S.url + path, { headers });
      assert.equal(r.status, 200);
      assert.equal(h(r, 'access-control-allow-origin'), '*');
      assert.equal(h(r, 'access-control-allow-credentials'), null);
      assert.equal(h(r, 'vary'), 'Origin');
    }
  }
  let r = await fetch(S.url + '/oauth2/userinfo', { headers: { origin: APP, authorization: 'Bearer nope' } });
  assert.equal(r.status, 401);
  assert.equal(h(r, 'access-control-allow-origin'), APP, 'errors are readable by the page too');
  assert.equal(h(r, 'access-control-expose-headers'), 'WWW-Authenticate, Retry-After');
  assert.match(h(r, 'www-authenticate'), /invalid_token/);
  assert.equal(h(r, 'access-control-allow-credentials'), null);
  r = await fetch(S.url + '/oauth2/userinfo', { headers: { authorization: 'Bearer nope' } });
  assert.equal(h(r, 'access-control-allow-origin'), null, 'no Origin, no CORS headers');
  assert.equal(h(r, 'vary'), 'Origin', 'but Vary, for caches');
  r = await fetch(S.url + '/oauth2/token', { method: 'POST', headers: { origin: APP,
    'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=x&client_id=spa' });
  assert.equal(r.status, 400);
  assert.equal(h(r, 'access-control-allow-origin'), APP);
  // The account API from a first-party origin: sign up and read the session with credentials.
  r = await fetch(S.url + '/api/auth/sign-up/email', { method: 'POST', headers: { origin: FIRST,
    'content-type': 'application/json' }, body: JSON.stringify({ email: 'cors@example.com', password: 'correct horse battery' }) });
  assert.equal(r.status, 201, await r.text());
  assert.equal(h(r, 'access-control-allow-origin'), FIRST);
  assert.equal(h(r, 'access-control-allow-credentials'), 'true');
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  r = await fetch(S.url + '/api/auth/get-session', { headers: { origin: FIRST, cookie } });
  assert.equal(r.status, 200);
  assert.equal(h(r, 'access-control-allow-origin'), FIRST);
  // From a client's origin or a foreign one: no CORS headers (the browser hides
  // the answer), and state changes refused by the handlers as before.
  for (const origin of [APP, EVIL]) {
    r = await fetch(S.url + '/api/auth/get-session', { headers: { origin, cookie } });
    assert.equal(h(r, 'access-control-allow-origin'), null, origin);
    assert.equal(h(r, 'access-control-allow-credentials'), null, origin);
    r = await fetch(S.url + '/api/auth/sign-out', { method: 'POST', headers: { origin, cookie } });
    assert.equal(r.status, 403, origin);
  }
  r = await fetch(S.url + '/api/auth/get-session', { headers: { cookie } });
  assert.equal(r.status, 200, 'still signed in');
});

test('CORS_ORIGINS is parsed strictly: the server refuses to start and names the bad item', () => {
  for (const [value, want] of [['*', /CORS_ORIGINS: "\*" is not allowed/], ['https://a.example/', /item 1 "https:\/\/a.example\/" is not an origin/],
    ['https://a.example,,https://b.example', /item 2 "" is not an origin/], ['app.example.com', /item 1/]]) {
    const r = spawnSync(BIN, ['serve'], { encoding: 'utf8', timeout: 10000, env: { PATH: process.env.PATH,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x', AUTH_SECRET: TEST_SECRET, CORS_ORIGINS: value } });
    assert.equal(r.status, 1, value);
    assert.match(r.stderr, want, value);
  }
});

test('a database client (`dreamauth client add`): its origin is allowed within seconds, and no longer once removed', async () => {
  const { execFileSync } = await import('node:child_process');
  const cli = (...args) => execFileSync(BIN, args, { encoding: 'utf8',
    env: { PATH: process.env.PATH, DATABASE_URL: S.env.DATABASE_URL, AUTH_SECRET: TEST_SECRET } });
  const origin = 'https://db-spa.example.com';
  const allowed = async () => (await preflight('/oauth2/token', origin)).status === 204;
  const waitFor = async (want) => {
    for (let i = 0; i < 60; i++) {
      if (await allowed() === want) return true;
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  };
  assert.equal(await allowed(), false);
  cli('client', 'add', 'dbspa', '--public', '--redirect-uri', `${origin}/callback`);
  assert.ok(await waitFor(true), 'allowed after client add');
  for (let i = 0; i < 6; i++) assert.ok(await allowed(), 'stays allowed');
  cli('client', 'remove', 'dbspa');
  assert.ok(await waitFor(false), 'refused after client remove');
});

test('"disabled": true (BetterAuth): the client is refused at authorize and at the token endpoint', async () => {
  const authorize = (id, redirect) => fetch(`${S.url}/oauth2/authorize?client_id=${id}&response_type=code&scope=openid`
    + `&redirect_uri=${encodeURIComponent(redirect)}&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM`
    + '&code_challenge_method=S256', { redirect: 'manual' });
  const on = await authorize('spa', `${APP}/callback`);
  assert.equal(on.status, 302, 'the enabled client goes on to sign in');
  const off = await authorize('off', 'https://disabled.example.com/cb');
  assert.equal(off.status, 400, 'the disabled client is refused, and not redirected anywhere');
  assert.equal(off.headers.get('location'), null);
  const token = await fetch(S.url + '/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=authorization_code&code=x&client_id=off&redirect_uri=https%3A%2F%2Fdisabled.example.com%2Fcb&code_verifier='
      + 'a'.repeat(43) });
  assert.equal(token.status, 401);
  assert.equal((await token.json()).error, 'invalid_client');
});
