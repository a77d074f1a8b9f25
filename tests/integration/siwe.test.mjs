// Sign-In With Ethereum (EIP-4361) against the real binary: messages built by
// the `siwe` package and signed by `ethers` wallets sign up, sign in, link and
// unlink; every forged, stale or foreign variant is refused with a 4xx and a
// clear error and stores nothing; nonces are single use across instances
// sharing the database; ENABLE_SIWE=false hides it all; the session's amr is
// "eth" in /api/verify's session and in ID tokens. Ends with headless
// Chromium signing in through /login with an injected EIP-1193 provider.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { SiweMessage, generateNonce } from 'siwe';
import { Wallet, Signature, getBytes } from 'ethers';
import { Server, freshDatabase, psql, TEST_SECRET, call, cookieFrom, launchChromium } from './harness.mjs';

const COOKIE = 'dreamauth_session';
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const CLIENT = { clientId: 'app', clientSecret: 'app-secret-0123456789', name: 'App',
  redirectURLs: ['http://127.0.0.1:9/cb'], skipConsent: true };

const servers = [];
let S;		// registration open, chains 1 and 10, OIDC on
let B;		// a second instance on the same database, registration closed, 3 attempts per IP
let dbUrl;

async function startServer(env) {
  const s = new Server({ AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', ...env });
  servers.push(s);
  await s.start();
  return s;
}

before(async () => {
  dbUrl = freshDatabase('siwe');
  // These tests ask S for many nonces from one address: lift the per-IP limit there.
  S = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', SIWE_CHAIN_IDS: '1,10',
    ENABLE_OIDC_PROVIDER: 'true', OIDC_CLIENTS: JSON.stringify([CLIENT]), LOGIN_IP_MAX_ATTEMPTS: '100000' });
  // Instances behind one name share AUTH_URL: messages for S are for B too.
  B = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'false', LOGIN_IP_MAX_ATTEMPTS: '3',
    AUTH_URL: originOf(S) });
});
after(async () => { for (const s of servers) await s.stop(); });	// SIGTERM: sanitizer reports at exit count too

// ---- helpers ----

const domainOf = (s) => `localhost:${s.port}`;
const originOf = (s) => `http://localhost:${s.port}`;

async function nonceFrom(s, body) {
  const r = body === undefined ? await call(s, '/api/auth/siwe/nonce', { method: 'POST' })
    : await call(s, '/api/auth/siwe/nonce', { json: body });
  assert.equal(r.status, 200, r.text);
  return r.json.nonce;
}

// A message as the siwe package builds it, for s unless fields say otherwise.
function message(s, wallet, nonce, fields = {}) {
  return new SiweMessage({ domain: domainOf(s), address: wallet.address, statement: 'Sign in to the test.',
    uri: originOf(s), version: '1', chainId: 1, nonce, issuedAt: new Date().toISOString(), ...fields })
    .prepareMessage();
}

async function signed(s, wallet, fields = {}, signer = wallet) {
  const nonce = fields.nonce ?? await nonceFrom(s);
  const text = message(s, wallet, nonce, { ...fields, nonce });
  return { message: text, signature: await signer.signMessage(text) };
}

const verify = (s, body, cookie) => call(s, '/api/auth/siwe/verify', { json: body, cookie });
const forwardAuth = (s, cookie) => call(s, '/api/verify', { cookie });

// Everything a refused attempt must leave as it was.
const stored = () => psql(dbUrl, "select (select count(*) from users) || ':' || (select count(*) from wallets)"
  + " || ':' || (select count(*) from sessions) || ':' || coalesce((select md5(string_agg(address || user_id"
  + " || chain_id, ',' order by address)) from wallets), '')");

async function refused(s, body, status, error, descriptionPattern, cookie) {
  const before = stored();
  const r = await verify(s, body, cookie);
  assert.equal(r.status, status, `${error}: ${r.text}`);
  assert.equal(r.json.error, error, r.text);
  assert.ok(r.json.error_description, r.text);
  if (descriptionPattern) assert.match(r.json.error_description, descriptionPattern);
  assert.equal(r.setCookies.filter((c) => c.startsWith(COOKIE + '=')).length, 0);
  assert.equal(stored(), before, `${error}: something was stored`);
  return r;
}

// r || s' || v' with s' = n - s: the same signature's malleable twin.
function highS(signature) {
  const sig = Signature.from(signature);
  const s = SECP256K1_N - BigInt(sig.s);
  const v = sig.v === 27 ? 28 : 27;
  return '0x' + sig.r.slice(2) + s.toString(16).padStart(64, '0') + v.toString(16);
}

function decodeJwt(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

// ---- the nonce endpoint ----

test('nonce: GET, POST empty or {walletAddress, chainId}, the get-nonce alias; 24 alphanumerics, all different', async () => {
  const seen = new Set();
  for (const [path, opts] of [['/api/auth/siwe/nonce', {}], ['/api/auth/siwe/nonce', { method: 'POST' }],
    ['/api/auth/siwe/get-nonce', { method: 'POST' }], ['/api/auth/siwe/get-nonce', {}],
    ['/api/auth/siwe/nonce', { json: {} }]]) {
    const r = await call(S, path, opts);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    assert.match(r.json.nonce, /^[A-Za-z0-9]{24}$/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    seen.add(r.json.nonce);
  }
  assert.equal(seen.size, 5);
  // BetterAuth 1.6's shape: bound to the wallet; the address comes back checksummed
  const w = Wallet.createRandom();
  const r = await call(S, '/api/auth/siwe/nonce', { json: { walletAddress: w.address.toLowerCase(), chainId: 10 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.walletAddress, w.address);
  // stored hashed, never as sent
  const hash = createHash('sha256').update(r.json.nonce).digest('hex');
  assert.equal(psql(dbUrl, `select count(*) from siwe_nonces where nonce_hash = '\\x${hash}'::bytea`), '1');
  assert.equal(psql(dbUrl, `select count(*) from siwe_nonces where encode(nonce_hash, 'escape') like '%${r.json.nonce}%'`), '0');
  assert.equal(psql(dbUrl, `select address || ' ' || chain_id from siwe_nonces where nonce_hash = '\\x${hash}'::bytea`),
    `${w.address.toLowerCase()} 10`);
  // refusals
  const bad = [
    [{ json: { walletAddress: '0x1234' } }, 400, 'invalid_wallet_address'],
    // EIP-55's own example with one letter's case flipped: mixed case, wrong checksum
    [{ json: { walletAddress: '0x52908400098527886e0F7030069857D2E4169EE7' } }, 400, 'invalid_wallet_address'],
    [{ json: { chainId: 5 } }, 400, 'unsupported_chain'],
    [{ json: { chainId: 'ten' } }, 400, 'unsupported_chain'],
    [{ json: '[1]' }, 400, 'invalid_request'],
    [{ body: 'walletAddress=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported_media_type'],
    [{ method: 'POST', headers: { origin: 'https://evil.example' } }, 403, 'invalid_origin'],
    [{ method: 'PUT' }, 405, 'method_not_allowed'],
    [{ method: 'HEAD' }, 405, undefined],
  ];
  for (const [opts, status, error] of bad) {
    const before = psql(dbUrl, 'select count(*) from siwe_nonces');
    const res = await call(S, '/api/auth/siwe/nonce', opts);
    assert.equal(res.status, status, `${JSON.stringify(opts)}: ${res.text}`);
    if (error) assert.equal(res.json.error, error);
    assert.equal(psql(dbUrl, 'select count(*) from siwe_nonces'), before);
  }
});

test('nonce requests are counted per IP (LOGIN_IP_MAX_ATTEMPTS per LOGIN_WINDOW): then 429 with Retry-After', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await call(B, '/api/auth/siwe/nonce')).status, 200);
  const before = psql(dbUrl, 'select count(*) from siwe_nonces');
  const r = await call(B, '/api/auth/siwe/nonce');
  assert.equal(r.status, 429, r.text);
  assert.equal(r.json.error, 'too_many_requests');
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  assert.equal(psql(dbUrl, 'select count(*) from siwe_nonces'), before);
});

// ---- sign-up, sign-in, forward-auth, OIDC ----

test('a message from the siwe package signed by ethers signs up, then signs in; amr "eth"; /api/verify passes', async () => {
  const w = Wallet.createRandom();
  const before = stored();
  let r = await verify(S, await signed(S, w));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.success, true);
  assert.equal(r.json.status, 'signed_up');
  assert.equal(r.json.user.walletAddress, w.address);
  assert.equal(r.json.user.chainId, 1);
  assert.equal(r.json.redirect, '/account');
  // no email given: a placeholder in the reserved .invalid domain, no password
  const placeholder = `${w.address.toLowerCase()}@wallet.invalid`;
  assert.equal(r.json.user.email, placeholder);
  assert.equal(psql(dbUrl, `select coalesce(password_hash, 'none') || ' ' || is_admin from users where id = '${r.json.user.id}'`),
    'none false');
  assert.notEqual(stored(), before);
  // nobody can claim a wallet account's placeholder address with a password
  const squat = await call(S, '/api/auth/sign-up/email',
    { json: { email: `0x${'ab'.repeat(20)}@wallet.invalid`, password: 'correct horse battery staple', name: 'S' } });
  assert.equal(squat.status, 400, squat.text);
  assert.equal(squat.json.error, 'invalid_email');
  const cookie = cookieFrom(r);
  assert.ok(cookie);
  assert.equal(psql(dbUrl, `select amr from sessions where user_id = '${r.json.user.id}'`), 'eth');
  let fa = await forwardAuth(S, cookie);
  assert.equal(fa.status, 200);
  assert.equal(fa.headers.get('x-auth-email'), placeholder);
  assert.equal(fa.headers.get('x-auth-id'), r.json.user.id);
  // the other instance knows the session too
  assert.equal((await forwardAuth(B, cookie)).status, 200);
  const me = await call(S, '/api/auth/me', { cookie });
  assert.equal(me.status, 200);

  // the same wallet again: signed in to the same account (here with
  // BetterAuth 1.6's walletAddress/chainId, which match the message)
  const again = await signed(S, w, { chainId: 10 });
  r = await verify(S, { ...again, walletAddress: w.address, chainId: 10, callbackURL: '/account?tab=wallets' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'signed_in');
  assert.equal(r.json.redirect, '/account?tab=wallets');
  assert.equal(r.json.user.id, (await forwardAuth(S, cookie)).headers.get('x-auth-id'));
  assert.equal(psql(dbUrl, `select chain_id from wallets where address = '${w.address.toLowerCase()}'`), '10');
  // a foreign callbackURL is not followed
  r = await verify(S, { ...await signed(S, w), callbackURL: 'https://evil.example/' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.redirect, '/account');
});

test('sign-up with an email; a taken email is refused (409) and stores nothing', async () => {
  const w = Wallet.createRandom();
  let r = await verify(S, { ...await signed(S, w), email: '  Wallet.Owner@Example.com ' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.user.email, 'Wallet.Owner@Example.com');
  assert.equal(psql(dbUrl, `select email_normalized from users where id = '${r.json.user.id}'`), 'wallet.owner@example.com');
  await refused(S, { ...await signed(S, Wallet.createRandom()), email: 'wallet.owner@example.com' }, 409, 'user_exists');
  await refused(S, { ...await signed(S, Wallet.createRandom()), email: 'not an email' }, 400, 'invalid_email');
});

test('nonces are single use and valid across instances; registration closed refuses unknown wallets', async () => {
  const w = Wallet.createRandom();
  // issued by S, used at B: the database is what both share; B's
  // registration is closed, so an unknown wallet gets no account
  let body = await signed(S, w);
  await refused(B, body, 403, 'registration_disabled', /registration is closed/);
  // that nonce is spent now, on both
  await refused(S, body, 401, 'invalid_nonce', /unknown or was already used/);
  // the wallet signs up at S, then signs in at B with a nonce from S
  let r = await verify(S, await signed(S, w));
  assert.equal(r.status, 201, r.text);
  body = await signed(S, w);
  r = await verify(B, body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'signed_in');
  assert.equal((await forwardAuth(S, cookieFrom(r))).status, 200);
  // replayed: at the same instance and at the other
  await refused(B, body, 401, 'invalid_nonce');
  await refused(S, body, 401, 'invalid_nonce');
  // a nonce we never issued: the siwe package's own, and one of our shape
  await refused(S, await signed(S, w, { nonce: generateNonce() }), 401, 'invalid_nonce', /not issued by this server/);
  const ours = Array.from(randomBytes(24), (b) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[b % 62]).join('');
  await refused(S, await signed(S, w, { nonce: ours }), 401, 'invalid_nonce');
  // bound to another wallet (BetterAuth 1.6's nonce request)
  const other = Wallet.createRandom();
  const bound = await nonceFrom(S, { walletAddress: other.address, chainId: 1 });
  await refused(S, await signed(S, w, { nonce: bound }), 401, 'invalid_nonce', /another wallet or chain/);
  // ... and burnt by that attempt, even for its own wallet
  await refused(S, await signed(S, other, { nonce: bound }), 401, 'invalid_nonce');
});

test('forged, stale and foreign messages are refused with a 4xx and a clear error, storing nothing', async (t) => {
  const w = Wallet.createRandom();
  assert.equal((await verify(S, await signed(S, w))).status, 201);
  const past = (s) => new Date(Date.now() - s * 1000).toISOString();
  const future = (s) => new Date(Date.now() + s * 1000).toISOString();
  const cases = [
    ['wrong domain', { domain: 'evil.example' }, 401, 'invalid_domain', /evil\.example/],
    ['wrong port', { domain: `localhost:${S.port + 1}` }, 401, 'invalid_domain'],
    ['domain by IP', { domain: `127.0.0.1:${S.port}` }, 401, 'invalid_domain'],
    ['wrong URI', { uri: `http://localhost:${S.port}/elsewhere` }, 401, 'invalid_uri'],
    ['wrong URI scheme', { uri: `https://localhost:${S.port}` }, 401, 'invalid_uri'],
    ['wrong scheme', { scheme: 'https' }, 401, 'invalid_domain'],
    ['wrong chain', { chainId: 5 }, 401, 'unsupported_chain', /chain 5/],
    ['expired', { expirationTime: past(600) }, 401, 'message_expired'],
    ['not yet valid', { notBefore: future(600) }, 401, 'message_not_yet_valid'],
    ['issued in the future', { issuedAt: future(600) }, 401, 'invalid_issued_at'],
    ['issued before any live nonce', { issuedAt: past(3600) }, 401, 'invalid_issued_at'],
  ];
  for (const [name, fields, status, error, pattern] of cases) {
    await t.test(name, async () => refused(S, await signed(S, w, fields), status, error, pattern));
  }
  // within the clock skew (60 s): accepted
  const skewed = await verify(S, await signed(S, w, { issuedAt: future(30), expirationTime: past(30), notBefore: future(30) }));
  assert.equal(skewed.status, 200, skewed.text);

  const good = await signed(S, w);
  const contract = /signature does not match the address \(contract wallets are not supported\)/;
  await refused(S, { ...good, message: good.message.replace('Sign in to the test.', 'Sign in to the tests.') },
    401, 'invalid_signature', contract);
  // wrong signer: the message names w, another key signs
  await refused(S, await signed(S, w, {}, Wallet.createRandom()), 401, 'invalid_signature', contract);
  // not checksummed: the message (signed as such) spells the address in lower case
  const nonce = await nonceFrom(S);
  const lower = message(S, w, nonce).replace(w.address, w.address.toLowerCase());
  assert.ok(lower.includes(w.address.toLowerCase()));
  await refused(S, { message: lower, signature: await w.signMessage(lower) }, 400, 'invalid_message', /EIP-55/);
  // high s: the malleable twin of a valid signature
  await refused(S, { ...good, signature: highS(good.signature) }, 401, 'invalid_signature', /s is above n\/2/);
  // truncated, and other malformed signatures
  for (const signature of [good.signature.slice(0, -2), good.signature.slice(2), good.signature + '00', '0x', '',
    good.signature.slice(0, -2) + '1d']) {
    await refused(S, { ...good, signature }, 400, 'malformed_signature');
  }
  // walletAddress / chainId that are not the message's
  await refused(S, { ...good, walletAddress: Wallet.createRandom().address }, 401, 'invalid_wallet_address');
  await refused(S, { ...good, chainId: 10 }, 401, 'unsupported_chain');
  // malformed bodies and messages
  await refused(S, { message: good.message }, 400, 'invalid_request');
  await refused(S, { message: 'hello', signature: good.signature }, 400, 'invalid_message');
  await refused(S, { ...good, message: good.message.replace(/\n/g, '\r\n') }, 400, 'invalid_message');
  await refused(S, { ...good, message: good.message.replace('Version: 1', 'Version: 2') }, 400, 'invalid_message');
  // the good one still works: none of the above spent its nonce
  const ok = await verify(S, good);
  assert.equal(ok.status, 200, ok.text);
  // cross-site and non-JSON requests never reach the checks
  for (const [opts, status] of [[{ headers: { origin: 'https://evil.example' } }, 403],
    [{ headers: { 'content-type': 'text/plain' } }, 415]]) {
    const r = await call(S, '/api/auth/siwe/verify', { method: 'POST', body: JSON.stringify(good), ...opts,
      headers: { 'content-type': 'application/json', ...opts.headers } });
    assert.equal(r.status, status, r.text);
  }
});

// ---- linking ----

test('a signed-in account links several wallets, lists and unlinks them; a wallet belongs to one account', async () => {
  const up = await call(S, '/api/auth/sign-up/email', { json: { email: 'linker@example.com', password: 'correct horse battery' } });
  assert.equal(up.status, 201, up.text);
  const cookie = cookieFrom(up);
  const [w1, w2] = [Wallet.createRandom(), Wallet.createRandom()];
  for (const w of [w1, w2]) {
    const r = await verify(S, await signed(S, w), cookie);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'linked');
    assert.equal(r.json.walletAddress, w.address);
    assert.equal(r.setCookies.filter((c) => c.startsWith(COOKIE + '=')).length, 0);	// the session stays
  }
  // again: fine, nothing new
  assert.equal((await verify(S, await signed(S, w1), cookie)).json.status, 'linked');
  let list = await call(S, '/api/auth/siwe/wallets', { cookie });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json.wallets.map((x) => x.address).sort(), [w1.address, w2.address].sort());
  assert.ok(list.json.wallets.every((x) => x.chainId === 1 && x.createdAt > 0));
  // a linked wallet signs in to that account (without a cookie)
  let r = await verify(S, await signed(S, w2));
  assert.equal(r.status, 200, r.text);
  assert.equal((await forwardAuth(S, cookieFrom(r))).headers.get('x-auth-email'), 'linker@example.com');
  // someone else's wallet cannot be linked
  const stranger = Wallet.createRandom();
  assert.equal((await verify(S, await signed(S, stranger))).status, 201);
  await refused(S, await signed(S, stranger), 409, 'wallet_in_use', /another account/, cookie);
  // unlink (any case of the address), then it is gone
  r = await call(S, '/api/auth/siwe/unlink', { json: { walletAddress: w1.address.toLowerCase() }, cookie });
  assert.equal(r.status, 200, r.text);
  r = await call(S, '/api/auth/siwe/unlink', { json: { walletAddress: w1.address }, cookie });
  assert.equal(r.status, 404, r.text);
  // not one's own: 404, still theirs
  r = await call(S, '/api/auth/siwe/unlink', { json: { walletAddress: stranger.address }, cookie });
  assert.equal(r.status, 404, r.text);
  list = await call(S, '/api/auth/siwe/wallets', { cookie });
  assert.deepEqual(list.json.wallets.map((x) => x.address), [w2.address]);
  // the password account may drop its last wallet
  assert.equal((await call(S, '/api/auth/siwe/unlink', { json: { walletAddress: w2.address }, cookie })).status, 200);
  // a wallet-only account may not: it could never sign in again
  const solo = Wallet.createRandom();
  const made = await verify(S, await signed(S, solo));
  r = await call(S, '/api/auth/siwe/unlink', { json: { walletAddress: solo.address }, cookie: cookieFrom(made) });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.json.error, 'last_sign_in_method');
  // signed out: 401; cross-site: refused
  assert.equal((await call(S, '/api/auth/siwe/wallets')).status, 401);
  assert.equal((await call(S, '/api/auth/siwe/unlink', { json: { walletAddress: w2.address } })).status, 401);
  r = await call(S, '/api/auth/siwe/unlink', { json: { walletAddress: w2.address }, cookie, headers: { origin: 'https://evil.example' } });
  assert.equal(r.status, 403);
  r = await call(S, '/api/auth/siwe/unlink', { json: { walletAddress: 'nope' }, cookie });
  assert.equal(r.status, 400);
});

test('ID tokens of a wallet session say amr ["eth"]; scope wallet adds wallet_address (EIP-55)', async () => {
  const w = Wallet.createRandom();
  const cookie = cookieFrom(await verify(S, await signed(S, w)));
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: CLIENT.redirectURLs[0],
    scope: 'openid email wallet', state: 's', nonce: 'n', code_challenge: challenge, code_challenge_method: 'S256' });
  const a = await call(S, '/oauth2/authorize?' + q, { cookie });
  assert.equal(a.status, 302, a.text);
  const code = new URL(a.headers.get('location')).searchParams.get('code');
  assert.ok(code);
  const t = await call(S, '/oauth2/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`app:${CLIENT.clientSecret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectURLs[0],
      code_verifier: verifier }).toString() });
  assert.equal(t.status, 200, t.text);
  const id = decodeJwt(t.json.id_token);
  assert.deepEqual(id.amr, ['eth']);
  assert.equal(id.email, `${w.address.toLowerCase()}@wallet.invalid`);
  assert.equal(id.wallet_address, w.address, 'the wallet, EIP-55 spelled');
  const ui = await call(S, '/oauth2/userinfo', { headers: { authorization: `Bearer ${t.json.access_token}` } });
  assert.equal(ui.status, 200, ui.text);
  assert.equal(ui.json.wallet_address, w.address);
  const disco = await call(S, '/.well-known/openid-configuration');
  assert.ok(disco.json.scopes_supported.includes('wallet') && disco.json.claims_supported.includes('wallet_address'));
});

// ---- the pages, and ENABLE_SIWE=false ----

test('the sign-in and account pages carry the buttons and the script; ENABLE_SIWE=false: every SIWE path is 404', async () => {
  let page = await call(S, '/login');
  assert.match(page.text, /id="siwe-sign-in"[^>]*>Sign in with Ethereum</);
  assert.match(page.text, /<script src="\/static\/siwe.js" defer><\/script>/);
  const js = await call(S, '/static/siwe.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.match(js.text, /personal_sign/);
  const up = await call(S, '/api/auth/sign-up/email', { json: { email: 'pages@example.com', password: 'correct horse battery' } });
  page = await call(S, '/account', { cookie: cookieFrom(up) });
  assert.equal(page.status, 200);
  assert.match(page.text, /id="siwe-link"/);
  assert.match(page.text, /id="siwe-wallets"/);

  const off = await startServer({ DATABASE_URL: dbUrl, ENABLE_SIWE: 'false', ENABLE_REGISTRATION: 'true' });
  for (const [path, opts] of [['/api/auth/siwe/nonce', {}], ['/api/auth/siwe/nonce', { method: 'POST' }],
    ['/api/auth/siwe/get-nonce', { method: 'POST' }], ['/api/auth/siwe/verify', { json: {} }],
    ['/api/auth/siwe/unlink', { json: {} }], ['/api/auth/siwe/wallets', {}], ['/api/auth/siwe/verify', { method: 'PUT' }],
    ['/static/siwe.js', {}]]) {
    const r = await call(off, path, opts);
    assert.equal(r.status, 404, `${path}: ${r.status}`);
  }
  page = await call(off, '/login');
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.text, /siwe|Ethereum/i);
  page = await call(off, '/account', { cookie: cookieFrom(up) });
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.text, /siwe|Ethereum/i);
  // and a message signed for it (its nonce from S) is refused
  const w = Wallet.createRandom();
  assert.equal((await verify(off, await signed(S, w))).status, 404);
  await off.stop();
});

// ---- end to end in a browser ----

// An EIP-1193 provider in the page whose key lives in this test: the page
// calls window.__walletSign (exposed from Node), which signs with ethers.
function injectedProvider({ address, chainIdHex }) {
  window.ethereum = {
    isDreamauthTest: true,
    async request({ method, params }) {
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return [address.toLowerCase()];
        case 'eth_chainId':
          return chainIdHex;
        case 'personal_sign':
          if (params[1].toLowerCase() !== address.toLowerCase()) throw Object.assign(new Error('unknown account'), { code: 4100 });
          return window.__walletSign(params[0]);
        default:
          throw Object.assign(new Error(`unsupported method ${method}`), { code: 4200 });
      }
    },
  };
}

test('headless Chromium: "Sign in with Ethereum" on /login with an injected wallet, then forward-auth', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const wallet = Wallet.createRandom();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Script errors and failed requests, but for the favicon (there is none).
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('response', (r) => {
      if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') consoleErrors.push(`${r.status()} ${r.url()}`);
    });
    let signedMessages = 0;
    await page.exposeFunction('__walletSign', async (hex) => {
      signedMessages++;
      return wallet.signMessage(getBytes(hex));
    });
    await page.addInitScript(injectedProvider, { address: wallet.address, chainIdHex: '0x1' });

    await page.goto(`${originOf(S)}/login?rd=${encodeURIComponent('/account')}`);
    const button = page.getByRole('button', { name: 'Sign in with Ethereum' });
    await button.waitFor({ state: 'visible' });
    await page.screenshot({ path: join(S.dir, 'siwe-login.png') });
    await Promise.all([page.waitForURL(`${originOf(S)}/account`), button.click()]);
    assert.equal(signedMessages, 1);
    // the account page lists the wallet (rendered by siwe.js)
    await page.locator('#siwe-wallets code').filter({ hasText: wallet.address }).waitFor();
    const shot = join(S.dir, 'siwe-account.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 1000);
    t.diagnostic(`screenshots: ${join(S.dir, 'siwe-login.png')}, ${shot}`);

    const session = (await context.cookies()).find((c) => c.name === COOKIE);
    assert.ok(session, 'no session cookie in the browser');
    const fa = await forwardAuth(S, `${COOKIE}=${session.value}`);
    assert.equal(fa.status, 200);
    assert.equal(fa.headers.get('x-auth-email'), `${wallet.address.toLowerCase()}@wallet.invalid`);
    assert.equal(psql(dbUrl, `select amr from sessions s join wallets w on w.user_id = s.user_id`
      + ` where w.address = '${wallet.address.toLowerCase()}'`), 'eth');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
  }
});
