// OpenID Connect provider against a certified relying-party library
// (openid-client 6) and jose: discovery, code + PKCE (confidential, public,
// ES256), consent, refresh rotation, userinfo, client_credentials,
// introspection, revocation, RP-initiated logout; and the negative cases:
// wrong redirect_uri, missing/wrong/plain PKCE, code replay, expired code,
// wrong secret, refresh-token reuse, tampered JWT, unknown client, malformed
// bodies, clients-file reload, the provider switched off; failed client
// authentication limits; revoked access tokens refused at /api/verify on
// every worker and every instance; a refresh token reused on one instance
// while another rotates it; `dreamauth user passwd` ending a user's
// tokens everywhere, `user set` changing the next tokens' groups.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, renameSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync, spawn } from 'node:child_process';
import * as client from 'openid-client';
import * as jose from 'jose';
import { Server, freshDatabase, sleep, TEST_SECRET, BIN, rawRequest, statusOf, psql } from './harness.mjs';

const REDIRECT = 'http://localhost:9999/cb';
const BYE = 'http://localhost:9999/bye';
const PASSWORD = 'correct horse battery';
const CLIENTS = [
  { clientId: 'app', clientSecret: 'app-secret-123', name: 'Test App', redirectURLs: [REDIRECT],
    postLogoutRedirectURLs: [BYE], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] },
  { clientId: 'spa', public: true, name: 'SPA', redirectURLs: [REDIRECT], skipConsent: true },
  { clientId: 'es', clientSecret: 'es-secret-1234', name: 'ES', redirectURLs: [REDIRECT], skipConsent: true,
    idTokenSignedResponseAlg: 'ES256', accessTokenSignedResponseAlg: 'ES256',
    grantTypes: ['authorization_code', 'client_credentials'] },
  { clientId: 'ed', clientSecret: 'ed-secret-12345', name: 'Ed', redirectURLs: [REDIRECT], skipConsent: true,
    idTokenSignedResponseAlg: 'EdDSA', accessTokenSignedResponseAlg: 'EdDSA' },
];

// Tokens checked at /api/verify ask for the forward-auth resource (RFC 8707);
// the revocation tests use machine tokens there too.
const FORWARD_AUTH = 'https://apps.test';
const FWD = { resource: FORWARD_AUTH };

const servers = [];
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

async function start(env = {}) {
  const s = new Server({ DATABASE_URL: freshDatabase('oidc'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_OIDC_PROVIDER: 'true', ENABLE_REGISTRATION: 'true', OIDC_CLIENTS: JSON.stringify(CLIENTS),
    FORWARD_AUTH_AUDIENCE: FORWARD_AUTH, FORWARD_AUTH_ALLOW_MACHINE_TOKENS: 'true', ...env });
  servers.push(s);
  await s.start();
  return s;
}

// ---- a minimal browser: cookie jar, manual redirects
class Browser {
  constructor(base) { this.base = base; this.origin = base.replace('127.0.0.1', 'localhost'); this.jar = new Map(); }
  cookieHeader() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  store(r) {
    for (const c of r.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim(), value = pair.slice(i + 1).trim();
      if (attrs.some((a) => /max-age=0/i.test(a.trim())) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
  async get(url) {
    const r = await fetch(new URL(url, this.base), { redirect: 'manual', headers: { cookie: this.cookieHeader() } });
    this.store(r);
    return r;
  }
  async post(url, fields) {
    const r = await fetch(new URL(url, this.base), { method: 'POST', redirect: 'manual',
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', origin: this.origin },
      body: new URLSearchParams(fields).toString() });
    this.store(r);
    return r;
  }
}

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  assert.ok(m, `hidden field ${name} in page`);
  return unescape(m[1]);
}

async function signUp(s, email) {
  const r = await fetch(s.url + '/api/auth/sign-up/email', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, name: 'Ada Lovelace' }) });
  assert.equal(r.status, 201, await r.text());
}

// Follows the browser part of the flow until the redirect to the client; returns that URL.
// pages collects { url, status, csp } of every page shown on the way, expectReauth
// whether the sign-in form came up at /oauth2/authorize itself (a signed-in user asked to sign in again).
async function browse(b, url, email, { consent = 'allow', expectConsent, expectReauth, pages } = {}) {
  let r = await b.get(url);
  let sawConsent = false, sawReauth = false;
  for (let hops = 0; hops < 10; hops++) {
    if (r.status === 200 && pages) pages.push({ url: r.url, csp: r.headers.get('content-security-policy') });
    if (r.status === 302 || r.status === 303) {
      const loc = new URL(r.headers.get('location'), b.base);
      // Arrived at the client: its web callback, or a native app's own scheme.
      if (loc.href.startsWith('http://localhost:9999/') || !/^https?:$/.test(loc.protocol)) {
        if (expectConsent !== undefined) assert.equal(sawConsent, expectConsent, 'consent page shown as expected');
        if (expectReauth !== undefined) assert.equal(sawReauth, expectReauth, 'asked to sign in again as expected');
        return loc;
      }
      if (loc.pathname === '/login') {
        const page = await b.get(loc);
        if (pages) pages.push({ url: page.url, csp: page.headers.get('content-security-policy') });
        const html = await page.text();
        r = await b.post('/login', { csrf: hidden(html, 'csrf'), rd: hidden(html, 'rd'), email, password: PASSWORD });
        assert.equal(r.status, 303);
        continue;
      }
      r = await b.get(loc);
      continue;
    }
    const html = await r.text();
    if (r.status === 200 && html.includes('action="/login"') && new URL(r.url).pathname === '/oauth2/authorize') {
      sawReauth = true;
      r = await b.post('/login', { csrf: hidden(html, 'csrf'), rd: hidden(html, 'rd'), email, password: PASSWORD });
      assert.equal(r.status, 303);
      continue;
    }
    if (r.status === 200 && html.includes('action="/oauth2/consent"')) {
      sawConsent = true;
      r = await b.post('/oauth2/consent', { csrf: hidden(html, 'csrf'), request: hidden(html, 'request'), decision: consent });
      continue;
    }
    return { status: r.status, html };
  }
  throw new Error('too many hops');
}

async function discover(s, id, secret, auth) {
  return client.discovery(new URL(`http://localhost:${s.port}`), id, secret, auth, { execute: [client.allowInsecureRequests] });
}

async function authUrl(config, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState(), nonce = client.randomNonce();
  const params = { redirect_uri: REDIRECT, scope: 'openid profile email groups offline_access', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra };
  for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
  return { url: client.buildAuthorizationUrl(config, params), verifier, state, nonce };
}

async function codeFlow(s, b, config, email, opts = {}) {
  const a = await authUrl(config, opts.params);
  const cb = await browse(b, a.url, email, opts);
  assert.ok(cb instanceof URL, `redirected to client, got ${JSON.stringify(cb).slice(0, 300)}`);
  const tokens = await client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: a.verifier, expectedState: a.state,
    expectedNonce: a.nonce, idTokenExpected: true }, opts.tokenParams);
  return { ...a, cb, tokens };
}

let s, jwks, issuer;
before(async () => {
  s = await start();
  issuer = `http://localhost:${s.port}`;
  jwks = jose.createRemoteJWKSet(new URL(issuer + '/jwks'));
  await signUp(s, 'ada@example.com');
  await signUp(s, 'bob@example.com');
});

async function tokenPost(fields, headers = {}) {
  return fetch(s.url + '/oauth2/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: typeof fields === 'string' ? fields : new URLSearchParams(fields).toString() });
}
const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

test('discovery is complete and truthful', async () => {
  const d = await (await fetch(s.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.issuer, issuer);
  for (const [k, p] of [['authorization_endpoint', '/oauth2/authorize'], ['token_endpoint', '/oauth2/token'],
    ['userinfo_endpoint', '/oauth2/userinfo'], ['introspection_endpoint', '/oauth2/introspect'],
    ['revocation_endpoint', '/oauth2/revoke'], ['end_session_endpoint', '/oauth2/end_session'], ['jwks_uri', '/jwks']])
    assert.equal(d[k], issuer + p, k);
  assert.deepEqual(d.response_types_supported, ['code']);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(d.grant_types_supported.sort(), ['authorization_code', 'client_credentials', 'refresh_token']);
  assert.deepEqual(d.token_endpoint_auth_methods_supported.sort(), ['client_secret_basic', 'client_secret_post', 'none']);
  assert.deepEqual(d.introspection_endpoint_auth_methods_supported.sort(), ['client_secret_basic', 'client_secret_post'],
    'public clients may not introspect');
  assert.deepEqual(d.revocation_endpoint_auth_methods_supported.sort(), ['client_secret_basic', 'client_secret_post', 'none']);
  assert.deepEqual(d.claims_supported.sort(), ['acr', 'amr', 'at_hash', 'aud', 'auth_time', 'email', 'email_verified', 'exp',
    'groups', 'iat', 'iss', 'name', 'nonce', 'permissions', 'preferred_username', 'roles', 'sid', 'sub', 'wallet_address']);
  assert.deepEqual(d.prompt_values_supported.sort(), ['consent', 'login', 'none', 'select_account']);
  assert.deepEqual(d.scopes_supported.sort(), ['email', 'groups', 'offline_access', 'openid', 'profile', 'roles', 'wallet']);
  assert.deepEqual(d.id_token_signing_alg_values_supported.sort(), ['ES256', 'EdDSA', 'RS256']);
  // every advertised endpoint answers (not 404)
  for (const k of ['token_endpoint', 'userinfo_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint']) {
    const r = await fetch(d[k].replace(issuer, s.url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    assert.notEqual(r.status, 404, k);
  }
  // Each advertised client authentication method works at its endpoint, and
  // the one left out (none at introspection) is refused. A request that got
  // past client authentication answers 200, or 400 invalid_grant for a bogus grant.
  const post = (path, body, headers = {}) => fetch(s.url + path, { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const auth = {
    client_secret_basic: (body) => [body, { authorization: basic('app', 'app-secret-123') }],
    client_secret_post: (body) => [body + '&client_id=app&client_secret=app-secret-123', {}],
    none: (body) => [body + '&client_id=spa', {}],
  };
  const endpoints = {
    token_endpoint_auth_methods_supported: ['/oauth2/token', 'grant_type=refresh_token&refresh_token=bogus', 400, 'invalid_grant'],
    introspection_endpoint_auth_methods_supported: ['/oauth2/introspect', 'token=bogus', 200],
    revocation_endpoint_auth_methods_supported: ['/oauth2/revoke', 'token=bogus', 200],
  };
  for (const [key, [path, body, okStatus, okError]] of Object.entries(endpoints)) {
    for (const [method, build] of Object.entries(auth)) {
      const r = await post(path, ...build(body));
      const text = await r.text();
      if (d[key].includes(method)) {
        assert.equal(r.status, okStatus, `${path} with ${method}: ${text}`);
        if (okError) assert.equal(JSON.parse(text).error, okError, `${path} with ${method}`);
      } else {
        assert.equal(r.status, 401, `${path} refuses ${method}`);
        assert.equal(JSON.parse(text).error, 'invalid_client');
      }
    }
  }
});

test('code + PKCE with consent, Basic auth: ID token, access token, userinfo, refresh, introspection, revocation', async () => {
  const config = await discover(s, 'app', 'app-secret-123', client.ClientSecretBasic('app-secret-123'));
  const b = new Browser(s.url);
  const { tokens, nonce } = await codeFlow(s, b, config, 'ada@example.com', { expectConsent: true });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  const { payload: id, protectedHeader: idh } = await jose.jwtVerify(tokens.id_token, jwks, { issuer, audience: 'app' });
  assert.equal(idh.alg, 'RS256');
  assert.equal(id.nonce, nonce);
  assert.equal(id.email, 'ada@example.com');
  assert.equal(id.name, 'Ada Lovelace');
  assert.deepEqual(id.amr, ['pwd']);
  assert.ok(id.auth_time <= id.iat && id.auth_time > id.iat - 60);
  assert.deepEqual(id.groups, []);
  const expectAtHash = Buffer.from(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(tokens.access_token))).slice(0, 16)).toString('base64url');
  assert.equal(id.at_hash, expectAtHash);
  const { payload: at, protectedHeader: ath } = await jose.jwtVerify(tokens.access_token, jwks, { issuer, typ: 'at+jwt' });
  assert.equal(ath.typ, 'at+jwt');
  assert.equal(at.client_id, 'app');
  assert.equal(at.sub, id.sub);
  assert.equal(at.email, 'ada@example.com');
  assert.ok(at.jti && at.scope.split(' ').includes('openid'));

  const info = await client.fetchUserInfo(config, tokens.access_token, id.sub);
  assert.equal(info.sub, id.sub);
  assert.equal(info.email, 'ada@example.com');
  // POST userinfo too
  const post = await fetch(s.url + '/oauth2/userinfo', { method: 'POST', headers: { authorization: 'Bearer ' + tokens.access_token } });
  assert.equal(post.status, 200);

  // the consent is remembered: no consent page the second time
  await codeFlow(s, b, config, 'ada@example.com', { expectConsent: false });

  // refresh rotates
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
  assert.notEqual(refreshed.access_token, tokens.access_token);

  // introspection
  const intro = await client.tokenIntrospection(config, refreshed.access_token);
  assert.equal(intro.active, true);
  assert.equal(intro.client_id, 'app');
  assert.equal(intro.sub, id.sub);
  const introRt = await client.tokenIntrospection(config, refreshed.refresh_token);
  assert.equal(introRt.active, true);
  assert.equal((await client.tokenIntrospection(config, 'nonsense')).active, false);

  // revocation of the access token
  await client.tokenRevocation(config, refreshed.access_token);
  assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, false);
  const r = await fetch(s.url + '/oauth2/userinfo', { headers: { authorization: 'Bearer ' + refreshed.access_token } });
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /invalid_token/);

  // revocation of the refresh token revokes its family
  await client.tokenRevocation(config, refreshed.refresh_token);
  await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), (e) => e.error === 'invalid_grant');
});

test('refresh-token reuse revokes the whole family', async () => {
  const config = await discover(s, 'app', 'app-secret-123');
  const b = new Browser(s.url);
  const { tokens } = await codeFlow(s, b, config, 'ada@example.com');
  const second = await client.refreshTokenGrant(config, tokens.refresh_token);
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
  // the thief's reuse burned the legitimate new token too
  await assert.rejects(client.refreshTokenGrant(config, second.refresh_token), (e) => e.error === 'invalid_grant');
  assert.equal((await client.tokenIntrospection(config, second.access_token)).active, false);
  assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
});

test('public client with PKCE and auth none; ES256 client', async () => {
  const pub = await discover(s, 'spa', undefined, client.None());
  const b = new Browser(s.url);
  const { tokens } = await codeFlow(s, b, pub, 'bob@example.com', { expectConsent: false, params: { scope: 'openid email' } });
  assert.equal(tokens.refresh_token, undefined, 'no offline_access, no refresh token');
  const { payload } = await jose.jwtVerify(tokens.id_token, jwks, { issuer, audience: 'spa' });
  assert.equal(payload.email, 'bob@example.com');
  assert.equal(payload.name, undefined, 'profile not in scope');

  const es = await discover(s, 'es', 'es-secret-1234');
  const t2 = (await codeFlow(s, b, es, 'bob@example.com', { params: { scope: 'openid profile' } })).tokens;
  const { protectedHeader: h1 } = await jose.jwtVerify(t2.id_token, jwks, { issuer, audience: 'es' });
  const { protectedHeader: h2 } = await jose.jwtVerify(t2.access_token, jwks, { issuer });
  assert.equal(h1.alg, 'ES256');
  assert.equal(h2.alg, 'ES256');
});

test('client_credentials', async () => {
  const config = await discover(s, 'app', 'app-secret-123');
  const t = await client.clientCredentialsGrant(config, {});
  const { payload } = await jose.jwtVerify(t.access_token, jwks, { issuer, typ: 'at+jwt' });
  assert.equal(payload.sub, 'app');
  assert.equal(payload.client_id, 'app');
  // Stored like any access token (so revocation reaches it), without a user.
  assert.equal(psql(s.env.DATABASE_URL, `SELECT count(*) FROM oauth_access_tokens WHERE jti = '${payload.jti}'
    AND client_id = 'app' AND user_id IS NULL AND family_id IS NULL AND revoked_at IS NULL`), '1');
  assert.equal(t.refresh_token, undefined);
  assert.equal(t.id_token, undefined);
  assert.equal((await client.tokenIntrospection(config, t.access_token)).active, true);
  // revocation works for machine tokens too, and only for their own client
  const other = await client.clientCredentialsGrant(config, {});
  const es = await discover(s, 'es', 'es-secret-1234');
  await client.tokenRevocation(es, other.access_token);
  assert.equal((await client.tokenIntrospection(config, other.access_token)).active, true, 'another client cannot revoke it');
  await client.tokenRevocation(config, other.access_token);
  assert.equal((await client.tokenIntrospection(config, other.access_token)).active, false);
  assert.equal((await client.tokenIntrospection(config, t.access_token)).active, true, 'the other token is untouched');
  // no user: userinfo refuses it
  const r = await fetch(s.url + '/oauth2/userinfo', { headers: { authorization: 'Bearer ' + t.access_token } });
  assert.equal(r.status, 403);
  // openid makes no sense without a user
  const bad = await tokenPost({ grant_type: 'client_credentials', scope: 'openid' }, { authorization: basic('app', 'app-secret-123') });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error, 'invalid_scope');
  // a public client may not
  const pub = await tokenPost({ grant_type: 'client_credentials', client_id: 'spa' });
  assert.equal(pub.status, 401);
});

test('authorize errors: unknown client and wrong redirect_uri are shown, never redirected', async () => {
  const b = new Browser(s.url);
  for (const q of ['client_id=nope&redirect_uri=' + encodeURIComponent(REDIRECT) + '&response_type=code&scope=openid',
    'client_id=app&redirect_uri=' + encodeURIComponent('https://evil.example/cb') + '&response_type=code&scope=openid',
    'client_id=app&redirect_uri=' + encodeURIComponent(REDIRECT + '/') + '&response_type=code&scope=openid',
    'client_id=app&client_id=app&redirect_uri=x']) {
    const r = await b.get('/oauth2/authorize?' + q);
    assert.equal(r.status, 400, q);
    assert.equal(r.headers.get('location'), null);
    assert.match(r.headers.get('content-type'), /text\/html/);
  }
});

test('authorize errors with a valid client go back to it: PKCE missing or plain, bad response_type, prompt=none', async () => {
  const config = await discover(s, 'app', 'app-secret-123');
  const b = new Browser(s.url);
  const cases = [
    [{ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
    [{ code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request'],
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ prompt: 'none' }, 'login_required'],
  ];
  for (const [extra, error] of cases) {
    const a = await authUrl(config, extra);
    const r = await b.get(a.url);
    assert.equal(r.status, 302);
    const loc = new URL(r.headers.get('location'));
    assert.equal(loc.origin + loc.pathname, REDIRECT);
    assert.equal(loc.searchParams.get('error'), error, JSON.stringify(extra));
    assert.equal(loc.searchParams.get('state'), a.state);
    assert.equal(loc.searchParams.get('iss'), issuer);
  }
  // consent denied
  const a = await authUrl(config);
  const cb = await browse(b, a.url, 'bob@example.com', { consent: 'deny' });
  assert.equal(cb.searchParams.get('error'), 'access_denied');
  // prompt=none with a session but no consent → consent_required
  const a2 = await authUrl(config, { prompt: 'none' });
  const r2 = await b.get(a2.url);
  assert.equal(new URL(r2.headers.get('location')).searchParams.get('error'), 'consent_required');
  // prompt=login with a session → the sign-in form, coming back without prompt=login
  const a3 = await authUrl(config, { prompt: 'login' });
  const r3 = await b.get(a3.url);
  assert.equal(r3.status, 200);
  const rd = hidden(await r3.text(), 'rd');
  assert.match(rd, /^\/oauth2\/authorize\?/);
  assert.ok(!rd.includes('prompt=login'));
});

async function getCode(config, b, email, extra) {
  const a = await authUrl(config, extra);
  const cb = await browse(b, a.url, email);
  return { ...a, cb, code: cb.searchParams.get('code') };
}

test('token errors: wrong/missing verifier, code replay revokes, wrong redirect_uri, wrong secret', async () => {
  const config = await discover(s, 'es', 'es-secret-1234');
  const b = new Browser(s.url);
  const auth = { authorization: basic('es', 'es-secret-1234') };

  let g = await getCode(config, b, 'ada@example.com');
  let r = await tokenPost({ grant_type: 'authorization_code', code: g.code, redirect_uri: REDIRECT, code_verifier: client.randomPKCECodeVerifier() }, auth);
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, 'invalid_grant');
  assert.equal(r.headers.get('cache-control'), 'no-store');

  g = await getCode(config, b, 'ada@example.com');
  r = await tokenPost({ grant_type: 'authorization_code', code: g.code, redirect_uri: REDIRECT }, auth);
  assert.equal((await r.json()).error, 'invalid_grant', 'missing verifier');

  g = await getCode(config, b, 'ada@example.com');
  r = await tokenPost({ grant_type: 'authorization_code', code: g.code, redirect_uri: 'http://localhost:9999/other', code_verifier: g.verifier }, auth);
  assert.equal((await r.json()).error, 'invalid_grant', 'wrong redirect_uri');

  g = await getCode(config, b, 'ada@example.com');
  r = await tokenPost({ grant_type: 'authorization_code', code: g.code, redirect_uri: REDIRECT, code_verifier: g.verifier }, { authorization: basic('es', 'wrong-secret') });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error, 'invalid_client');
  assert.match(r.headers.get('www-authenticate'), /^Basic/);
  // the code was not burnt by the wrong secret: it still works once…
  r = await tokenPost({ grant_type: 'authorization_code', code: g.code, redirect_uri: REDIRECT, code_verifier: g.verifier }, auth);
  assert.equal(r.status, 200);
  const first = await r.json();
  const ui = await fetch(s.url + '/oauth2/userinfo', { headers: { authorization: 'Bearer ' + first.access_token } });
  assert.equal(ui.status, 200);
  // …and a replay is refused and revokes what the code gave
  r = await tokenPost({ grant_type: 'authorization_code', code: g.code, redirect_uri: REDIRECT, code_verifier: g.verifier }, auth);
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, 'invalid_grant');
  const ui2 = await fetch(s.url + '/oauth2/userinfo', { headers: { authorization: 'Bearer ' + first.access_token } });
  assert.equal(ui2.status, 401);

  // unknown client, secret in the wrong place, both methods at once
  r = await tokenPost({ grant_type: 'client_credentials' }, { authorization: basic('ghost', 'x'.repeat(12)) });
  assert.equal(r.status, 401);
  r = await tokenPost({ grant_type: 'client_credentials', client_id: 'es', client_secret: 'es-secret-1234' }, auth);
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, 'invalid_request');
});

// ---- failed client authentication limits

test('client authentication failures: 429 + Retry-After per client and per IP, checked before the secret', async () => {
  // A day-long window: the fixed window cannot roll over in the middle of the test.
  const t = await start({ CLIENT_AUTH_MAX_ATTEMPTS: '3', CLIENT_AUTH_IP_MAX_ATTEMPTS: '6', TRUST_PROXY: 'true', LOGIN_WINDOW: '86400' });
  const post = (path, body, ip, headers = {}) => fetch(t.url + path, { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip, ...headers }, body });
  const cc = (id, secret, ip) => post('/oauth2/token', 'grant_type=client_credentials', ip, { authorization: basic(id, secret) });

  // A distributed guesser: every attempt from another address.
  for (let i = 1; i <= 3; i++) assert.equal((await cc('app', 'wrong-secret-' + i, `203.0.113.${i}`)).status, 401);
  let r = await cc('app', 'wrong-secret-4', '203.0.113.4');
  assert.equal(r.status, 429);
  const retry = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 86400, `Retry-After ${r.headers.get('retry-after')}`);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const body = await r.json();
  assert.equal(body.error, 'invalid_client');
  assert.match(body.error_description, /too many failed/);
  // The right secret is refused too while locked (the limit comes before the
  // comparison), by both methods and at every endpoint that authenticates clients.
  r = await cc('app', 'app-secret-123', '203.0.113.5');
  assert.equal(r.status, 429, 'right secret, locked client');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  r = await post('/oauth2/token', 'grant_type=client_credentials&client_id=app&client_secret=app-secret-123', '203.0.113.5');
  assert.equal(r.status, 429, 'client_secret_post');
  for (const path of ['/oauth2/introspect', '/oauth2/revoke'])
    assert.equal((await post(path, 'token=abc', '203.0.113.5', { authorization: basic('app', 'app-secret-123') })).status, 429, path);
  // Other clients are not affected, from the same addresses.
  assert.equal((await cc('es', 'es-secret-1234', '203.0.113.4')).status, 200);
  assert.equal((await cc('es', 'es-secret-1234', '203.0.113.5')).status, 200);

  // Per IP: failures across clients from one address add up; a success in
  // between resets nothing; other addresses are not affected.
  const ip = '198.51.100.7';
  assert.equal((await cc('es', 'wrong-secret-a', ip)).status, 401);
  assert.equal((await cc('es', 'wrong-secret-b', ip)).status, 401);
  assert.equal((await cc('es', 'es-secret-1234', ip)).status, 200, 'es has 2 of 3 failures: still open');
  for (const id of ['ghost1', 'ghost2', 'ghost3']) assert.equal((await cc(id, 'x'.repeat(12), ip)).status, 401);
  // A public client has no secret to guess; asking for what it may not have still counts for the address.
  assert.equal((await post('/oauth2/token', 'grant_type=authorization_code&code=abc&redirect_uri=' + encodeURIComponent(REDIRECT) + '&client_id=spa&client_secret=guess', ip)).status, 401);
  r = await cc('es', 'es-secret-1234', ip);
  assert.equal(r.status, 429, 'six failures from this address: locked, right secret or not');
  assert.equal((await r.json()).error, 'invalid_client');
  assert.equal((await cc('es', 'es-secret-1234', '198.51.100.8')).status, 200, 'another address');
  assert.equal((await cc('ghost1', 'x'.repeat(12), '198.51.100.8')).status, 401);
  assert.match(t.logs(), /client authentication locked for client app after 3 failures/);
  assert.match(t.logs(), /client authentication locked for IP 198\.51\.100\.7 after 6 failures/);
  assert.ok(!t.logs().includes('wrong-secret'), 'secrets are not logged');
  await t.stop();
});

test('a grant type the client is not registered for: 400 unauthorized_client naming it, before the grant is looked at', async () => {
  const cases = [
    [basic('es', 'es-secret-1234'), 'grant_type=refresh_token&refresh_token=not-a-token', 'refresh_token'],
    [basic('ed', 'ed-secret-12345'), 'grant_type=client_credentials', 'client_credentials'],
  ];
  for (const [authorization, body, grant] of cases) {
    const r = await tokenPost(body, { authorization });
    assert.equal(r.status, 400, body);
    assert.deepEqual(await r.json(), { error: 'unauthorized_client', error_description: `this client may not use ${grant}` }, body);
  }
});

test('malformed token requests: bodies, content types, grant types', async () => {
  const auth = { authorization: basic('app', 'app-secret-123') };
  const cases = [
    ['grant_type=client_credentials&grant_type=client_credentials', 'invalid_request'],
    ['grant_type=client%ZZcredentials', 'invalid_request'],
    ['grant_type=password&username=a&password=b', 'unsupported_grant_type'],
    ['', 'invalid_request'],
    ['grant_type=authorization_code', 'invalid_request'],
    ['grant_type=authorization_code&code=abc&redirect_uri=' + encodeURIComponent(REDIRECT) + '&code_verifier=short', 'invalid_request'],
    ['grant_type=refresh_token', 'invalid_request'],
    ['grant_type=refresh_token&refresh_token=not-a-token', 'invalid_grant'],
    ['grant_type=authorization_code&code=nope&redirect_uri=' + encodeURIComponent(REDIRECT), 'invalid_grant'],
  ];
  for (const [body, error] of cases) {
    const r = await tokenPost(body, auth);
    assert.equal(r.status, 400, body);
    assert.equal((await r.json()).error, error, body);
  }
  const j = await fetch(s.url + '/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{"grant_type":"client_credentials"}' });
  assert.equal(j.status, 400);
  const g = await fetch(s.url + '/oauth2/token');
  assert.equal(g.status, 405);
  const bad = await tokenPost('grant_type=client_credentials', { authorization: 'Basic !!!' });
  assert.equal(bad.status, 401);
  const big = await tokenPost('grant_type=client_credentials&x=' + 'a'.repeat(20000), auth);
  assert.equal(big.status, 400);
  // still alive
  assert.equal((await fetch(s.url + '/api/health')).status, 200);
});

test('tampered and foreign JWTs are refused', async () => {
  const config = await discover(s, 'app', 'app-secret-123');
  const t = await client.clientCredentialsGrant(config, {});
  const [h, p, sig] = t.access_token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.sub = 'someone-else';
  const forged = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), sig].join('.');
  const flipped = [h, p, sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1)].join('.');
  const none = [Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url'), p, ''].join('.');
  for (const tok of [forged, flipped, none, 'garbage']) {
    const r = await fetch(s.url + '/oauth2/userinfo', { headers: { authorization: 'Bearer ' + tok } });
    assert.equal(r.status, 401);
    assert.equal((await client.tokenIntrospection(config, tok)).active, false);
  }
  await assert.rejects(jose.jwtVerify(forged, jwks, { issuer }));
});

test('RP-initiated logout with id_token_hint, post_logout_redirect_uri and state', async () => {
  const config = await discover(s, 'app', 'app-secret-123');
  const b = new Browser(s.url);
  const { tokens } = await codeFlow(s, b, config, 'ada@example.com');
  assert.equal((await b.get('/api/auth/me')).status, 200);
  // unregistered post-logout URI: no redirect
  let r = await b.get(client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://evil.example/' }));
  assert.equal(r.status, 400);
  assert.equal((await b.get('/api/auth/me')).status, 200, 'still signed in');
  r = await b.get(client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: BYE, state: 'st8' }));
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), BYE + '?state=st8');
  assert.equal((await b.get('/api/auth/me')).status, 401, 'signed out of dreamauth');

  // without a hint the user confirms first
  const b2 = new Browser(s.url);
  await codeFlow(s, b2, config, 'ada@example.com');
  r = await b2.get('/oauth2/end_session');
  assert.equal(r.status, 200);
  const html = await r.text();
  assert.equal((await b2.get('/api/auth/me')).status, 200, 'a bare link signs nobody out');
  r = await b2.post('/oauth2/end_session', { csrf: hidden(html, 'csrf'), request: hidden(html, 'request'), decision: 'logout' });
  assert.equal(r.status, 200);
  assert.equal((await b2.get('/api/auth/me')).status, 401);
});

test('expired code (OIDC_CODE_TTL=1)', async () => {
  const s2 = await start({ OIDC_CODE_TTL: '1' });
  await fetch(s2.url + '/api/auth/sign-up/email', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'eve@example.com', password: PASSWORD }) });
  const config = await discover(s2, 'es', 'es-secret-1234');
  const b = new Browser(s2.url);
  const g = await getCode(config, b, 'eve@example.com');
  await sleep(2200);
  await assert.rejects(client.authorizationCodeGrant(config, g.cb, { pkceCodeVerifier: g.verifier, expectedState: g.state, expectedNonce: g.nonce }),
    (e) => e.error === 'invalid_grant');
  await s2.stop();
});

test('OIDC_CLIENTS_FILE: reload on change and SIGHUP; a bad file keeps the old clients', async () => {
  const file = join(s.dir, 'clients.json');
  const write = (list) => { writeFileSync(file + '.tmp', JSON.stringify(list)); chmodSync(file + '.tmp', 0o644); renameSync(file + '.tmp', file); };
  const fileClient = (id) => ({ clientId: id, clientSecret: 'file-secret-123', redirectURLs: [REDIRECT], grantTypes: ['client_credentials'] });
  write([fileClient('one')]);
  const s3 = await start({ OIDC_CLIENTS_FILE: file, OIDC_CLIENTS: undefined, WORKERS: '1' });
  const cc = (id) => fetch(s3.url + '/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, 'file-secret-123') }, body: 'grant_type=client_credentials' });
  assert.equal((await cc('one')).status, 200);
  assert.equal((await cc('two')).status, 401);
  write([fileClient('two')]);
  await sleep(1600);
  assert.equal((await cc('two')).status, 200, 'picked up by polling');
  assert.equal((await cc('one')).status, 401, 'removed client is gone');
  writeFileSync(file, '[{"clientId": "broken"');
  await sleep(1600);
  assert.equal((await cc('two')).status, 200, 'bad file keeps the previous clients');
  assert.match(s3.logs(), /OIDC clients not reloaded.*not valid JSON/);
  write([fileClient('three')]);
  process.kill(s3.proc.pid, 'SIGHUP');
  await sleep(500);
  assert.equal((await cc('three')).status, 200, 'SIGHUP reload');
  await s3.stop();
});

test('a bad OIDC_CLIENTS stops start-up with one clear error', async () => {
  const bad = new Server({ DATABASE_URL: freshDatabase('oidc'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', ENABLE_OIDC_PROVIDER: 'true',
    OIDC_CLIENTS: JSON.stringify([{ clientId: 'x', clientSecret: 'long-enough', redirectURLs: ['http://example.com/cb'] }]) });
  servers.push(bad);
  await bad.start({ waitHealthy: false });
  const { code } = await bad.exited;
  assert.equal(code, 1);
  assert.match(bad.logs(), /redirectURLs\[0\] must be an absolute https URL/);
});

test('HEAD on /oauth2/authorize and /oauth2/end_session: 405, and no code is stored', async () => {
  const config = await discover(s, 'app', 'app-secret-123');
  const b = new Browser(s.url);
  await signUp(s, 'head@example.com');
  await codeFlow(s, b, config, 'head@example.com', { expectConsent: true });
  const codes = () => Number(psql(s.env.DATABASE_URL, 'select count(*) from oauth_codes'));
  const before = codes();
  const a = await authUrl(config, {});
  const r = await fetch(a.url, { method: 'HEAD', headers: { cookie: b.cookieHeader() }, redirect: 'manual' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET, POST');
  assert.equal(codes(), before, 'a HEAD probe stored an authorization code');
  const e = await fetch(s.url + '/oauth2/end_session', { method: 'HEAD', headers: { cookie: b.cookieHeader() } });
  assert.equal(e.status, 405);
  // The same GET does store one: the count above can move.
  const g = await b.get(a.url);
  assert.equal(g.status, 302);
  assert.equal(codes(), before + 1);
});

test('dreamauth client add prints a secret once; the database client works', async () => {
  const out = execFileSync(BIN, ['client', 'add', 'dbapp', '--redirect-uri', 'https://app.example/cb', '--grant', 'client_credentials'],
    { env: { PATH: process.env.PATH, DATABASE_URL: s.env.DATABASE_URL, AUTH_SECRET: TEST_SECRET }, encoding: 'utf8' });
  const secret = out.match(/client_secret: (\S+)/)[1];
  assert.equal(secret.length, 43);
  const list = execFileSync(BIN, ['client', 'list'], { env: { PATH: process.env.PATH, DATABASE_URL: s.env.DATABASE_URL, AUTH_SECRET: TEST_SECRET }, encoding: 'utf8' });
  assert.match(list, /^dbapp\t/m);
  assert.ok(!list.includes(secret));
  // Without --id-token-alg the client takes the server's SIGNING_ALG, as configured clients do.
  assert.equal(psql(s.env.DATABASE_URL, "select id_token_alg from oauth_clients where client_id = 'dbapp'"), 'RS256');
  execFileSync(BIN, ['client', 'add', 'dbapp-es', '--redirect-uri', 'https://app.example/cb'],
    { env: { PATH: process.env.PATH, DATABASE_URL: s.env.DATABASE_URL, AUTH_SECRET: TEST_SECRET, SIGNING_ALG: 'ES256' }, encoding: 'utf8' });
  assert.equal(psql(s.env.DATABASE_URL, "select id_token_alg from oauth_clients where client_id = 'dbapp-es'"), 'ES256');
  execFileSync(BIN, ['client', 'remove', 'dbapp-es'], { env: { PATH: process.env.PATH, DATABASE_URL: s.env.DATABASE_URL, AUTH_SECRET: TEST_SECRET } });
  let r = await tokenPost({ grant_type: 'client_credentials', resource: FORWARD_AUTH }, { authorization: basic('dbapp', secret) });
  assert.equal(r.status, 200);
  const machine = (await r.json()).access_token;
  assert.deepEqual(await verifyBearer(s, machine, 3), all(200, 3));
  r = await tokenPost({ grant_type: 'client_credentials' }, { authorization: basic('dbapp', secret.slice(0, -1) + 'x') });
  assert.equal(r.status, 401);
  execFileSync(BIN, ['client', 'remove', 'dbapp'], { env: { PATH: process.env.PATH, DATABASE_URL: s.env.DATABASE_URL, AUTH_SECRET: TEST_SECRET } });
  r = await tokenPost({ grant_type: 'client_credentials' }, { authorization: basic('dbapp', secret) });
  assert.equal(r.status, 401);
  // Its client_credentials tokens were stored, so the removal revoked them too.
  const ms = await msUntilRefused(s, machine);
  assert.ok(ms < 1000, `the removed client's token refused after ${ms} ms`);
  assert.deepEqual(await verifyBearer(s, machine, 3), all(401, 3));
});

// ---- revoked access tokens at /api/verify

// /api/verify with a Bearer token, over n fresh connections at once so the
// workers share them out; the statuses.
async function verifyBearer(srv, token, n = 12) {
  const req = `GET /api/verify HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
  return Promise.all(Array.from({ length: n }, () => rawRequest(srv.port, req).then(statusOf)));
}
const all = (status, n = 12) => Array(n).fill(status);

// Polls /api/verify on srv until it refuses token; the ms it took.
async function msUntilRefused(srv, token, limitMs = 3000) {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    const r = await fetch(srv.url + '/api/verify', { headers: { authorization: 'Bearer ' + token } });
    if (r.status === 401) return Date.now() - t0;
    assert.equal(r.status, 200);
    await sleep(20);
  }
  return Infinity;
}

test('/api/verify refuses a revoked access token at once on every worker: revoke, family revocation, code replay', async () => {
  const config = await discover(s, 'app', 'app-secret-123');
  // A machine token, revoked at /oauth2/revoke.
  const cc = await client.clientCredentialsGrant(config, FWD);
  assert.deepEqual(await verifyBearer(s, cc.access_token), all(200));
  await client.tokenRevocation(config, cc.access_token);
  assert.deepEqual(await verifyBearer(s, cc.access_token), all(401));
  const r = await fetch(s.url + '/api/verify', { headers: { authorization: 'Bearer ' + cc.access_token } });
  assert.match(r.headers.get('www-authenticate'), /invalid_token/);

  // Revoking a refresh token revokes its family's access tokens.
  const b = new Browser(s.url);
  const { tokens } = await codeFlow(s, b, config, 'ada@example.com', { tokenParams: FWD });
  const second = await client.refreshTokenGrant(config, tokens.refresh_token, FWD);
  assert.deepEqual(await verifyBearer(s, tokens.access_token), all(200));
  assert.deepEqual(await verifyBearer(s, second.access_token), all(200));
  await client.tokenRevocation(config, second.refresh_token);
  assert.deepEqual(await verifyBearer(s, tokens.access_token), all(401));
  assert.deepEqual(await verifyBearer(s, second.access_token), all(401));

  // A reused refresh token revokes the family too.
  const fam = (await codeFlow(s, b, config, 'ada@example.com', { tokenParams: FWD })).tokens;
  const next = await client.refreshTokenGrant(config, fam.refresh_token, FWD);
  assert.deepEqual(await verifyBearer(s, next.access_token), all(200));
  await assert.rejects(client.refreshTokenGrant(config, fam.refresh_token, FWD), (e) => e.error === 'invalid_grant');
  assert.deepEqual(await verifyBearer(s, next.access_token), all(401));

  // A replayed authorization code revokes what it gave.
  const g = await getCode(config, b, 'ada@example.com');
  const exchange = () => tokenPost({ grant_type: 'authorization_code', code: g.code, redirect_uri: REDIRECT, code_verifier: g.verifier, ...FWD },
    { authorization: basic('app', 'app-secret-123') });
  let x = await exchange();
  assert.equal(x.status, 200);
  const first = await x.json();
  assert.ok(first.refresh_token, 'offline_access: the code gave a refresh token too');
  assert.deepEqual(await verifyBearer(s, first.access_token), all(200));
  x = await exchange();
  assert.equal(x.status, 400);
  assert.deepEqual(await verifyBearer(s, first.access_token), all(401));
  // …and the refresh token it gave is dead too.
  assert.equal((await client.tokenIntrospection(config, first.refresh_token)).active, false);
  await assert.rejects(client.refreshTokenGrant(config, first.refresh_token, FWD), (e) => e.error === 'invalid_grant');

  // Tokens nobody revoked still pass.
  const fresh = await client.clientCredentialsGrant(config, FWD);
  assert.deepEqual(await verifyBearer(s, fresh.access_token), all(200));
  const user = (await codeFlow(s, b, config, 'bob@example.com', { tokenParams: FWD })).tokens;
  assert.deepEqual(await verifyBearer(s, user.access_token), all(200));
});

test('two instances on one database: a revocation on A reaches /api/verify on B within 1 s; a restarted store or a new instance knows it too', async () => {
  // Replicas share the database and the public URL (the issuer).
  const B = await start({ DATABASE_URL: s.env.DATABASE_URL, AUTH_URL: issuer });
  const config = await discover(s, 'app', 'app-secret-123');
  const t1 = await client.clientCredentialsGrant(config, FWD);
  assert.deepEqual(await verifyBearer(B, t1.access_token), all(200));
  await client.tokenRevocation(config, t1.access_token);
  const ms = await msUntilRefused(B, t1.access_token);
  assert.ok(ms < 1000, `B refused it after ${ms} ms`);
  assert.deepEqual(await verifyBearer(B, t1.access_token), all(401));

  // Family revocation (refresh-token reuse on A) travels too.
  const b = new Browser(s.url);
  const fam = (await codeFlow(s, b, config, 'bob@example.com', { tokenParams: FWD })).tokens;
  const next = await client.refreshTokenGrant(config, fam.refresh_token, FWD);
  assert.deepEqual(await verifyBearer(B, next.access_token), all(200));
  await assert.rejects(client.refreshTokenGrant(config, fam.refresh_token, FWD), (e) => e.error === 'invalid_grant');
  assert.ok(await msUntilRefused(B, next.access_token) < 1000);
  assert.ok(await msUntilRefused(B, fam.access_token) < 1000);

  // B's store (its listener) is killed: a revocation made while it is down
  // reaches B when the restarted store's listener catches up from the
  // revocation log; later ones travel as before.
  const t2 = await client.clientCredentialsGrant(config, FWD);
  const t3 = await client.clientCredentialsGrant(config, FWD);
  assert.deepEqual(await verifyBearer(B, t2.access_token), all(200));
  const store = B.childPid('dreamauth: store');
  assert.ok(store);
  process.kill(store, 'SIGKILL');
  for (let i = 0; i < 100 && !/store died from signal 9/.test(B.logs()); i++) await sleep(10);
  assert.match(B.logs(), /store died from signal 9/, 'the master has noticed');
  await client.tokenRevocation(config, t2.access_token);
  const t0 = Date.now();
  while (Date.now() - t0 < 5000 && [undefined, store].includes(B.childPid('dreamauth: store'))) await sleep(20);
  await B.waitHealthy(5000);
  assert.ok(await msUntilRefused(B, t2.access_token, 5000) < 5000, 'the restarted store caught up');
  assert.deepEqual(await verifyBearer(B, t2.access_token), all(401));
  assert.deepEqual(await verifyBearer(B, t3.access_token), all(200));
  await client.tokenRevocation(config, t3.access_token);
  assert.ok(await msUntilRefused(B, t3.access_token) < 1000);

  // An instance started after the revocations knows them from its first answer.
  const C = await start({ DATABASE_URL: s.env.DATABASE_URL, AUTH_URL: issuer, WORKERS: '1' });
  for (const tok of [t1, t2, t3, next]) assert.deepEqual(await verifyBearer(C, tok.access_token, 3), all(401, 3));
  const t4 = await client.clientCredentialsGrant(config, FWD);
  assert.deepEqual(await verifyBearer(C, t4.access_token, 3), all(200, 3));
  await B.stop();
  await C.stop();
});

// `dreamauth user ...` against this provider's database (password on stdin).
function userCli(args, input = '') {
  return spawnSync(BIN, ['user', ...args], { env: { PATH: process.env.PATH, DATABASE_URL: s.env.DATABASE_URL,
    AUTH_SECRET: TEST_SECRET, ARGON2_MEMORY_KIB: '8192', ARGON2_ITERATIONS: '1' }, input, encoding: 'utf8', timeout: 60000 });
}

test('dreamauth user set: the next tokens carry the new groups; user passwd ends app sessions on every instance (refresh, access tokens, browser session)', async () => {
  const B = await start({ DATABASE_URL: s.env.DATABASE_URL, AUTH_URL: issuer });
  await signUp(s, 'reset@example.com');
  const config = await discover(s, 'app', 'app-secret-123');
  const b = new Browser(s.url);
  const { tokens } = await codeFlow(s, b, config, 'reset@example.com', { tokenParams: FWD });
  assert.deepEqual(tokens.claims().groups, []);
  assert.equal(userCli(['set', 'reset@example.com', '--groups', 'family,media']).status, 0);
  const live = await client.refreshTokenGrant(config, tokens.refresh_token, FWD);
  assert.deepEqual(live.claims().groups, ['family', 'media'], 'the refreshed ID token has the new groups');
  assert.deepEqual((await client.fetchUserInfo(config, live.access_token, live.claims().sub)).groups, ['family', 'media']);
  const other = (await codeFlow(s, new Browser(s.url), config, 'bob@example.com', { tokenParams: FWD })).tokens;
  for (const srv of [s, B]) {
    assert.deepEqual(await verifyBearer(srv, tokens.access_token, 4), all(200, 4));
    assert.deepEqual(await verifyBearer(srv, live.access_token, 4), all(200, 4));
  }
  assert.equal((await b.get('/api/verify')).status, 200, 'the browser session works');

  const r = userCli(['passwd', 'reset@example.com'], 'a brand new password\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'reset@example.com: password changed; revoked 2 session(s), 1 refresh token(s), 2 access token(s)\n'); // sign-up's and the browser's
  const t0 = Date.now();
  for (const srv of [s, B]) for (const tok of [tokens, live]) {
    const ms = await msUntilRefused(srv, tok.access_token, 1000);
    assert.ok(ms < 1000, `access token refused after ${ms} ms`);
  }
  assert.ok(Date.now() - t0 < 1000);
  for (const srv of [s, B]) {
    assert.deepEqual(await verifyBearer(srv, live.access_token), all(401));
    assert.deepEqual(await verifyBearer(srv, tokens.access_token), all(401));
  }
  await assert.rejects(client.refreshTokenGrant(config, live.refresh_token, FWD), (e) => e.error === 'invalid_grant');
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token, FWD), (e) => e.error === 'invalid_grant');
  assert.equal((await client.tokenIntrospection(config, live.access_token)).active, false);
  assert.equal((await client.tokenIntrospection(config, live.refresh_token)).active, false);
  const info = await fetch(s.url + '/oauth2/userinfo', { headers: { authorization: 'Bearer ' + live.access_token } });
  assert.equal(info.status, 401);
  assert.equal((await b.get('/api/verify')).status, 401, 'the browser session is gone');
  // Another user's tokens are untouched.
  for (const srv of [s, B]) assert.deepEqual(await verifyBearer(srv, other.access_token, 4), all(200, 4));
  assert.ok((await client.refreshTokenGrant(config, other.refresh_token, FWD)).access_token);
  await B.stop();
});

test('REVOKED_TOKEN_ENTRIES smaller than the revocations: every revoked token is still refused (the database answers)', async () => {
  const small = await start({ REVOKED_TOKEN_ENTRIES: '64' });
  const config = await discover(small, 'app', 'app-secret-123');
  const tokens = [];
  for (let i = 0; i < 100; i++) tokens.push((await client.clientCredentialsGrant(config, FWD)).access_token);
  // 90 revoked cannot all fit in 64 slots (8-way sets: some overflow sooner).
  for (const tok of tokens.slice(0, 90)) await client.tokenRevocation(config, tok);
  const statuses = await Promise.all(tokens.map(async (tok) =>
    (await fetch(small.url + '/api/verify', { headers: { authorization: 'Bearer ' + tok } })).status));
  assert.deepEqual(statuses, [...all(401, 90), ...all(200, 10)]);
  await small.stop();
});

test('ENABLE_OIDC_PROVIDER=false: /oauth2/* answer 404, discovery omits them', async () => {
  const off = await start({ ENABLE_OIDC_PROVIDER: 'false' });
  for (const p of ['/oauth2/authorize', '/oauth2/userinfo', '/oauth2/end_session']) assert.equal((await fetch(off.url + p)).status, 404, p);
  assert.equal((await fetch(off.url + '/oauth2/token', { method: 'POST' })).status, 404);
  const d = await (await fetch(off.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.authorization_endpoint, undefined);
  assert.equal(d.jwks_uri, `http://localhost:${off.port}/jwks`);
  await off.stop();
});

test('native app redirect (RFC 8252 private-use scheme, as Immich mobile uses): exact match, code delivered and exchanged', async () => {
  const APP = 'app.immich:///oauth-callback';
  const s2 = await start({ OIDC_CLIENTS: JSON.stringify([...CLIENTS, { clientId: 'immich', clientSecret: 'immich-secret-123',
    name: 'Immich', redirectURLs: ['https://immich.example/auth/login', APP], skipConsent: true }]) });
  await signUp(s2, 'native@example.com');
  const config = await discover(s2, 'immich', 'immich-secret-123');
  const b = new Browser(s2.url);
  const a = await authUrl(config, { redirect_uri: APP });
  const cb = await browse(b, a.url, 'native@example.com');
  assert.ok(cb instanceof URL, `redirected to the app, got ${JSON.stringify(cb).slice(0, 200)}`);
  assert.equal(cb.href.split('?')[0], APP);
  assert.equal(cb.searchParams.get('state'), a.state);
  const tokens = await client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: a.verifier, expectedState: a.state,
    expectedNonce: a.nonce });
  assert.ok(tokens.access_token && tokens.id_token);
  assert.equal(tokens.claims().email, 'native@example.com');
  // Near misses are not the registered URI: refused on a page, never redirected.
  for (const uri of ['app.immich:///oauth-callbackX', 'app.immich://oauth-callback', 'APP.IMMICH:///oauth-callback']) {
    const bad = await authUrl(config, { redirect_uri: uri });
    const r = await b.get(bad.url);
    assert.equal(r.status, 400, uri);
    assert.equal(r.headers.get('location'), null, uri);
  }
  await s2.stop();
});

// ---- native apps and the Content-Security-Policy

// Whether a CSP lets a form POST (and, in Chrome, every redirect after it) reach url.
function cspAllowsFormTarget(csp, url) {
  const directive = csp.split(';').map((d) => d.trim().split(/\s+/)).find(([name]) => name === 'form-action');
  if (!directive) return true;	// form-action does not fall back to default-src
  const scheme = new URL(url).protocol;
  return directive.slice(1).some((src) => src === scheme || src === '*' || (src === 'http:' && scheme === 'https:'));
}

test('native app sign-in: the login and consent pages let their form POST end at the app scheme (CSP form-action)', async () => {
  const APP = 'app.immich:///oauth-callback';
  const s2 = await start({ OIDC_CLIENTS: JSON.stringify([...CLIENTS, { clientId: 'immich', clientSecret: 'immich-secret-123',
    name: 'Immich', redirectURLs: [APP] }]) });
  await signUp(s2, 'csp@example.com');
  const config = await discover(s2, 'immich', 'immich-secret-123');
  const a = await authUrl(config, { redirect_uri: APP, scope: 'openid email' });
  const pages = [];
  const b = new Browser(s2.url);
  const cb = await browse(b, a.url, 'csp@example.com', { pages, expectConsent: true });
  assert.ok(cb instanceof URL && cb.href.startsWith(APP + '?'), `redirected to the app, got ${JSON.stringify(cb).slice(0, 200)}`);
  assert.deepEqual(pages.map((p) => new URL(p.url).pathname), ['/login', '/oauth2/authorize'], 'login, then consent');
  for (const { url, csp } of pages) {
    assert.ok(cspAllowsFormTarget(csp, APP), `${url}: ${csp} blocks ${APP}`);
    // the rest of the policy stays
    for (const d of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"])
      assert.ok(csp.includes(d), `${url}: ${d} in ${csp}`);
  }
  // The RP-initiated logout confirmation and the sign-up page, whose forms also end
  // at a client, likewise; pages whose forms stay here keep form-action.
  for (const path of ['/oauth2/end_session', '/signup']) {
    const r = await b.get(path);
    assert.equal(r.status, 200, path);
    assert.ok(cspAllowsFormTarget(r.headers.get('content-security-policy'), APP), path);
  }
  const msg = await fetch(s2.url + '/oauth2/authorize?client_id=nope');
  assert.equal(msg.status, 400);
  assert.ok(!cspAllowsFormTarget(msg.headers.get('content-security-policy'), APP), 'an error page keeps form-action');
  await s2.stop();
});

// ---- authorization-code replay racing the first exchange

// A psql session holding a lock until release() (a stand-in for a slow database moment).
async function holdLock(url, sql) {
  const p = spawn('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qtA'], { stdio: ['pipe', 'pipe', 'inherit'] });
  p.stdin.write(`BEGIN; ${sql}; SELECT 'locked';\n`);
  await new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => { out += d; if (out.includes('locked')) resolve(); });
    p.on('exit', () => reject(new Error('psql exited before taking the lock')));
  });
  return { release: () => { p.stdin.end('COMMIT;\n'); return new Promise((r) => p.on('exit', r)); } };
}

test('a code replay that lands while the first exchange is still storing its tokens: no live tokens come out of it', async () => {
  // Two instances on one database: the first exchange waits on A (its user
  // lookup blocked by a lock), the replay runs on B in the meantime.
  const B = await start({ DATABASE_URL: s.env.DATABASE_URL, AUTH_URL: issuer, WORKERS: '1' });
  const config = await discover(s, 'app', 'app-secret-123');
  const g = await getCode(config, new Browser(s.url), 'ada@example.com');
  const exchange = (srv) => fetch(srv.url + '/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded',
    authorization: basic('app', 'app-secret-123') }, body: new URLSearchParams({ grant_type: 'authorization_code', code: g.code,
    redirect_uri: REDIRECT, code_verifier: g.verifier }).toString() });
  const lock = await holdLock(s.env.DATABASE_URL, 'LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
  let first;
  try {
    first = exchange(s);
    // Wait until A has spent the code and waits on the lock.
    let waiting = '0';
    for (let i = 0; i < 200 && waiting === '0'; i++) {
      await sleep(10);
      waiting = psql(s.env.DATABASE_URL, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM users%'");
    }
    assert.equal(waiting, '1', 'the first exchange waits on the lock');
    const replay = await exchange(B);
    assert.equal(replay.status, 400);
    assert.equal((await replay.json()).error, 'invalid_grant');
  } finally {
    await lock.release();
  }
  const r = await first;
  const body = await r.json();
  assert.equal(r.status, 400, `the first exchange must not issue tokens after the replay: ${JSON.stringify(body).slice(0, 200)}`);
  assert.equal(body.error, 'invalid_grant');
  assert.equal(psql(s.env.DATABASE_URL, `SELECT count(*) FROM oauth_access_tokens WHERE code_hash = sha256('${g.code}'::bytea) AND revoked_at IS NULL`), '0');
  assert.match(s.logs(), /replayed during its exchange/);
  await B.stop();
});

// ---- refresh-token reuse racing the rotation it reuses (issue 9 item 2)

test('one refresh token sent to two instances at once while the refresh path waits on a lock: one 200, one "already used", and the whole family revoked, the winner\'s new tokens too', async () => {
  const B = await start({ DATABASE_URL: s.env.DATABASE_URL, AUTH_URL: issuer, WORKERS: '1' });
  const config = await discover(s, 'app', 'app-secret-123');
  const { tokens } = await codeFlow(s, new Browser(s.url), config, 'ada@example.com');
  const db = s.env.DATABASE_URL;
  const family = psql(db, `SELECT family_id FROM oauth_refresh_tokens WHERE token_hash = sha256('${tokens.refresh_token}'::bytea)`);
  assert.match(family, /^[0-9a-f-]{36}$/);
  const refresh = (srv, token = tokens.refresh_token) => fetch(srv.url + '/oauth2/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('app', 'app-secret-123') },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString() });
  const waiting = () => Number(psql(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()" +
    " AND wait_event_type = 'Lock' AND query LIKE '%oauth_%'"));
  const lock = await holdLock(db, 'LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
  let both;
  try {
    both = [refresh(s), refresh(B)];
    // One of them waits on the lock; give the other time to arrive (it waits
    // too, on the first, or answers at once as it did before the fix).
    for (let i = 0; i < 300 && waiting() < 1; i++) await sleep(10);
    assert.ok(waiting() >= 1, 'a refresh waits on the lock');
    await sleep(300);
  } finally {
    await lock.release();
  }
  const answers = await Promise.all(both);
  assert.deepEqual(answers.map((r) => r.status).sort(), [200, 400]);
  const won = await answers.find((r) => r.status === 200).json();
  const lost = await answers.find((r) => r.status === 400).json();
  assert.equal(lost.error, 'invalid_grant');
  assert.equal(lost.error_description, 'the refresh token was already used');
  assert.ok(won.refresh_token && won.access_token);
  // Every row of the family is revoked: the first pair and the winner's.
  assert.equal(psql(db, `SELECT count(*) FROM oauth_refresh_tokens WHERE family_id = '${family}'`), '2');
  assert.equal(psql(db, `SELECT count(*) FROM oauth_access_tokens WHERE family_id = '${family}'`), '2');
  assert.equal(psql(db, `SELECT (SELECT count(*) FROM oauth_refresh_tokens WHERE family_id = '${family}' AND revoked_at IS NULL)
    + (SELECT count(*) FROM oauth_access_tokens WHERE family_id = '${family}' AND revoked_at IS NULL)`), '0');
  // The winner's new refresh token is refused, on either instance.
  for (const srv of [s, B]) {
    const again = await refresh(srv, won.refresh_token);
    assert.equal(again.status, 400);
    assert.equal((await again.json()).error, 'invalid_grant');
  }
  // Its access token is refused by /api/verify and by userinfo, on both instances.
  for (const srv of [s, B]) {
    assert.ok(await msUntilRefused(srv, won.access_token) < 1000);
    assert.deepEqual(await verifyBearer(srv, won.access_token, 3), all(401, 3));
    const ui = await fetch(srv.url + '/oauth2/userinfo', { headers: { authorization: 'Bearer ' + won.access_token } });
    assert.equal(ui.status, 401);
  }
  await B.stop();
});

// ---- re-authentication: prompt=login and max_age

test('prompt=login and max_age: the sign-in form again, the session is not ended, the new ID token has a fresh auth_time', async () => {
  await signUp(s, 'again@example.com');
  const config = await discover(s, 'app', 'app-secret-123');
  const b = new Browser(s.url);
  const first = (await codeFlow(s, b, config, 'again@example.com', { expectConsent: true })).tokens;
  const oldCookie = b.cookieHeader();
  const verifyWith = async (cookie) => (await fetch(s.url + '/api/verify', { headers: { cookie } })).status;
  let lastAuthTime = first.claims().auth_time;
  // auth_time is the session's sign-in second, floored like every timestamp
  // read back from the database: the same value in every token of the session.
  const stored = Number(psql(s.env.DATABASE_URL, `select floor(extract(epoch from s.auth_time))::bigint from sessions s
    join users u on u.id = s.user_id where u.email = 'again@example.com' order by s.auth_time desc limit 1`));
  assert.equal(lastAuthTime, stored, 'the ID token auth_time is the floored session auth_time');
  // A session young enough for max_age goes straight on.
  const young = await codeFlow(s, b, config, 'again@example.com', { params: { max_age: '3600' }, expectReauth: false, expectConsent: false });
  assert.equal(young.tokens.claims().auth_time, lastAuthTime);
  for (const params of [{ prompt: 'login' }, { max_age: '0' }, { max_age: '1' }]) {
    // auth_time is whole seconds (rounded): 3 s make the session surely older than max_age=1.
    await sleep(3100);
    const a = await authUrl(config, params);
    const r = await b.get(a.url);
    assert.equal(r.status, 200, JSON.stringify(params));
    const html = await r.text();
    assert.match(html, /action="\/login"/);
    assert.equal(hidden(html, 'email'), 'again@example.com', 'the form offers the signed-in account');
    // Any site can link here: the link alone must sign nobody out.
    assert.equal(await verifyWith(oldCookie), 200, `${JSON.stringify(params)}: the session lives on`);
    assert.equal(await verifyWith(b.cookieHeader()), 200);
    const rd = hidden(html, 'rd');
    assert.ok(!/[?&](prompt=login|max_age=)/.test(rd), rd);
    // Coming back without signing in gets the form again (browse's first page);
    // signing in there goes on to the application.
    const before = Math.floor(Date.now() / 1000);
    const cb = await browse(b, rd, 'again@example.com', { expectReauth: true, expectConsent: false });
    assert.ok(cb instanceof URL, `back at the client, got ${JSON.stringify(cb).slice(0, 200)}`);
    const tokens = await client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: a.verifier, expectedState: a.state,
      expectedNonce: a.nonce });
    const { auth_time } = tokens.claims();
    assert.ok(auth_time > lastAuthTime && auth_time >= before - 1, `auth_time ${auth_time} fresh (was ${lastAuthTime}, now ${before})`);
    lastAuthTime = auth_time;
    assert.equal(await verifyWith(oldCookie), 200, 'signing in again does not end the old session either');
  }
  // prompt=none cannot ask for a sign-in: login_required, and the session stays.
  const none = await authUrl(config, { prompt: 'none', max_age: '0' });
  await sleep(2100);
  const r = await b.get(none.url);
  assert.equal(new URL(r.headers.get('location')).searchParams.get('error'), 'login_required');
  assert.equal(await verifyWith(b.cookieHeader()), 200);
});

// ---- consent

test('consent: prompt=consent asks again though remembered; more scopes ask again; the grant is remembered as the union', async () => {
  await signUp(s, 'consent@example.com');
  const config = await discover(s, 'app', 'app-secret-123');
  const b = new Browser(s.url);
  const flow = (scope, extra = {}, expectConsent) => codeFlow(s, b, config, 'consent@example.com',
    { params: { scope, ...extra }, expectConsent });
  await flow('openid email', {}, true);
  await flow('openid email', {}, false);
  await flow('openid email', { prompt: 'consent' }, true);
  await flow('openid email', {}, false);
  const more = await flow('openid email profile', {}, true);
  assert.equal(more.tokens.claims().name, 'Ada Lovelace');
  await flow('openid profile', {}, false);
  await flow('openid email profile', {}, false);
  await flow('openid groups', {}, true);
  // prompt=consent with a denial: access_denied, and nothing is forgotten
  const a = await authUrl(config, { scope: 'openid email', prompt: 'consent' });
  const cb = await browse(b, a.url, 'consent@example.com', { consent: 'deny', expectConsent: true });
  assert.equal(cb.searchParams.get('error'), 'access_denied');
  await flow('openid email profile groups', {}, false);
});

// ---- EdDSA

test('EdDSA client: ID and access tokens verify with jose against /jwks; at_hash is the left half of SHA-512', async () => {
  const config = await discover(s, 'ed', 'ed-secret-12345');
  const b = new Browser(s.url);
  const { tokens, nonce } = await codeFlow(s, b, config, 'bob@example.com', { params: { scope: 'openid email' } });
  const { payload: id, protectedHeader: h } = await jose.jwtVerify(tokens.id_token, jwks, { issuer, audience: 'ed', algorithms: ['EdDSA'] });
  assert.equal(h.alg, 'EdDSA');
  assert.ok(h.kid);
  assert.equal(id.nonce, nonce);
  assert.equal(id.email, 'bob@example.com');
  const sha512 = new Uint8Array(await crypto.subtle.digest('SHA-512', new TextEncoder().encode(tokens.access_token)));
  assert.equal(id.at_hash, Buffer.from(sha512.slice(0, 32)).toString('base64url'));
  const { protectedHeader: ah, payload: at } = await jose.jwtVerify(tokens.access_token, jwks, { issuer, typ: 'at+jwt', algorithms: ['EdDSA'] });
  assert.equal(ah.alg, 'EdDSA');
  assert.equal(at.client_id, 'ed');
  const key = (await (await fetch(s.url + '/jwks')).json()).keys.find((k) => k.kid === h.kid);
  assert.equal(key.kty, 'OKP');
  assert.equal(key.crv, 'Ed25519');
  // A changed byte in the access token no longer matches at_hash.
  const other = new Uint8Array(await crypto.subtle.digest('SHA-512', new TextEncoder().encode(tokens.access_token + 'x')));
  assert.notEqual(id.at_hash, Buffer.from(other.slice(0, 32)).toString('base64url'));
});

// ---- OIDC_REQUIRE_PKCE=false

test('OIDC_REQUIRE_PKCE=false: a confidential client may skip PKCE; a verifier for a code without PKCE is refused; public clients still need PKCE', async () => {
  const s2 = await start({ OIDC_REQUIRE_PKCE: 'false' });
  await signUp(s2, 'nopkce@example.com');
  const config = await discover(s2, 'es', 'es-secret-1234');
  const b = new Browser(s2.url);
  const noPkce = { code_challenge: undefined, code_challenge_method: undefined };
  // Without PKCE: works.
  let a = await authUrl(config, noPkce);
  let cb = await browse(b, a.url, 'nopkce@example.com');
  assert.ok(cb.searchParams.get('code'), `a code without PKCE, got ${cb.href}`);
  const tokens = await client.authorizationCodeGrant(config, cb, { expectedState: a.state, expectedNonce: a.nonce });
  assert.equal(tokens.claims().sub.length, 36);
  // A code_verifier sent for a code issued without PKCE: refused (an attacker guessing the flow).
  a = await authUrl(config, noPkce);
  cb = await browse(b, a.url, 'nopkce@example.com');
  const post = (body) => fetch(s2.url + '/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded',
    authorization: basic('es', 'es-secret-1234') }, body: new URLSearchParams(body).toString() });
  let r = await post({ grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: REDIRECT, code_verifier: client.randomPKCECodeVerifier() });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, 'invalid_grant');
  // With PKCE the confidential client still gets it checked.
  a = await authUrl(config);
  cb = await browse(b, a.url, 'nopkce@example.com');
  r = await post({ grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: REDIRECT });
  assert.equal((await r.json()).error, 'invalid_grant', 'the verifier is required once a challenge was sent');
  // A public client still needs PKCE.
  const pub = await discover(s2, 'spa', undefined, client.None());
  a = await authUrl(pub, noPkce);
  r = await b.get(a.url);
  assert.equal(r.status, 302);
  const loc = new URL(r.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, REDIRECT);
  assert.equal(loc.searchParams.get('error'), 'invalid_request');
  assert.match(loc.searchParams.get('error_description'), /PKCE/);
  await s2.stop();
});

// ---- OIDC_CLIENTS_FILE and a restarted worker

test('OIDC_CLIENTS_FILE: a worker restarted after a crash uses the file as it is now, not as it was at start-up', async () => {
  const file = join(s.dir, 'clients-restart.json');
  const write = (text) => { writeFileSync(file + '.tmp', text); chmodSync(file + '.tmp', 0o644); renameSync(file + '.tmp', file); };
  const fileClient = (id) => ({ clientId: id, clientSecret: 'file-secret-123', redirectURLs: [REDIRECT], grantTypes: ['client_credentials'] });
  write(JSON.stringify([fileClient('one')]));
  const w = await start({ OIDC_CLIENTS_FILE: file, OIDC_CLIENTS: undefined, WORKERS: '1' });
  const cc = async (id) => (await fetch(w.url + '/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded',
    authorization: basic(id, 'file-secret-123') }, body: 'grant_type=client_credentials' })).status;
  assert.equal(await cc('one'), 200);
  write(JSON.stringify([fileClient('two')]));
  for (let i = 0; i < 40 && await cc('two') !== 200; i++) await sleep(100);
  assert.equal(await cc('two'), 200, 'the running worker picked up the change');
  const restart = async () => {
    const pid = w.childPid('dreamauth: worker 1');
    process.kill(pid, 'SIGKILL');
    const t0 = Date.now();
    while (Date.now() - t0 < 5000 && [undefined, pid].includes(w.childPid('dreamauth: worker 1'))) await sleep(10);
    await w.waitHealthy(5000);
  };
  await restart();
  // At once, not after the next file check: the new worker read the file itself.
  assert.equal(await cc('two'), 200, 'the restarted worker knows the current clients');
  assert.equal(await cc('one'), 401, 'and not the start-up ones');
  // A bad file at restart: the worker says so and keeps what it was given.
  write('[{"clientId": "broken"');
  await restart();
  assert.equal(await cc('one'), 200, 'the start-up clients, the only good list this worker has');
  for (let i = 0; i < 50 && !/unreadable at worker start/.test(w.logs()); i++) await sleep(20);	// the log arrives through a pipe
  assert.match(w.logs(), /OIDC clients file unreadable at worker start, using the 1 from server start-up: .*not valid JSON/);
  await w.stop();
});
