// Passkeys (WebAuthn Level 3) against the real binary.
//
// A software authenticator written here (P-256 keys, CBOR by hand, "none"
// attestation) drives the API directly: sign-up with a passkey alone,
// sign-in, the account page's API, the second factor after a password, and
// every hostile variant (malformed JSON, base64url and CBOR, a replayed or
// foreign challenge, a wrong origin or RP ID, a tampered signature, an
// unknown credential, ...) is refused with a 4xx and a clear error, stores
// nothing, and leaves the server up. Challenges work across instances
// sharing the database, once. ENABLE_PASSKEYS=false removes it all.
//
// Then real headless Chromium (Debian's /usr/bin/chromium through
// playwright-core) with the DevTools virtual authenticator: a ctap2
// "internal" authenticator with resident keys and user verification signs up
// on /signup, signs out, signs in username-less, passes /api/verify and gets
// an ID token whose amr says so; passkey autofill (conditional mediation) on
// /login; a u2f authenticator with attestation "direct" (fido-u2f) and a
// ctap2 one with "direct" (packed) added from the account page; the second
// factor page. Screenshots are kept in the test's temporary directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Server, freshDatabase, psql, TEST_SECRET, call, launchChromium } from './harness.mjs';

const COOKIE = 'dreamauth_session';
const CLIENT = { clientId: 'app', clientSecret: 'app-secret-0123456789', name: 'App',
  redirectURLs: ['http://127.0.0.1:8/cb'], skipConsent: true };
const API = '/api/auth/passkey';

const servers = [];
let S;		// registration open, OIDC on
let S2;		// a second instance of S (same database, same AUTH_URL)
let dbUrl;

async function startServer(env) {
  const s = new Server({ AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', LOGIN_IP_MAX_ATTEMPTS: '100000', ...env });
  servers.push(s);
  await s.start();
  return s;
}

const originOf = (s) => `http://localhost:${s.port}`;

before(async () => {
  dbUrl = freshDatabase('passkeys');
  S = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', ENABLE_OIDC_PROVIDER: 'true',
    OIDC_CLIENTS: JSON.stringify([CLIENT]) });
  S2 = await startServer({ DATABASE_URL: dbUrl, AUTH_URL: originOf(S) });
});
after(async () => { for (const s of servers) await s.stop(); });	// SIGTERM: sanitizer reports at exit count too

// ---- HTTP with a cookie jar per "browser" ----

class Browser {
  constructor() { this.cookies = new Map(); }
  get header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  take(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';').map((x) => x.trim());
      const eq = pair.indexOf('=');
      if (attrs.some((a) => /^max-age=0$/i.test(a))) this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  get session() { return this.cookies.get(COOKIE); }
}

// ---- CBOR (RFC 8949), just what WebAuthn needs ----

function cborHead(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  if (n < 65536) return Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

function cbor(v) {
  if (typeof v === 'number') return v >= 0 ? cborHead(0, v) : cborHead(1, -1 - v);
  if (Buffer.isBuffer(v)) return Buffer.concat([cborHead(2, v.length), v]);
  if (typeof v === 'string') return Buffer.concat([cborHead(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (v instanceof Map) {
    return Buffer.concat([cborHead(5, v.size), ...[...v].flatMap(([k, x]) => [cbor(k), cbor(x)])]);
  }
  throw new Error('cbor: unsupported value');
}

// ---- a software authenticator ----

const sha256 = (...parts) => createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest();
const b64u = (buf) => Buffer.from(buf).toString('base64url');

class SoftAuthenticator {
  constructor({ rpId = 'localhost', uv = true } = {}) {
    this.rpId = rpId;
    this.uv = uv;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.cose = cbor(new Map([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x, 'base64url')],
      [-3, Buffer.from(jwk.y, 'base64url')]]));
    this.credentialId = randomBytes(32);
    this.count = 0;
    this.userHandle = null;
  }
  flags(extra = 0) { return 0x01 | (this.uv ? 0x04 : 0) | extra; }
  authData({ attested = false, rpId = this.rpId, flags, count = this.count } = {}) {
    const head = Buffer.alloc(37);
    sha256(rpId).copy(head, 0);
    head[32] = flags ?? this.flags(attested ? 0x40 : 0);
    head.writeUInt32BE(count, 33);
    if (!attested) return head;
    const len = Buffer.alloc(2);
    len.writeUInt16BE(this.credentialId.length);
    return Buffer.concat([head, Buffer.alloc(16), len, this.credentialId, this.cose]);
  }
  clientData(type, challenge, origin, extra = {}) {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false, ...extra }));
  }
  // RegistrationResponseJSON for creation options
  create(options, { origin, type = 'webauthn.create', clientData, attestationObject } = {}) {
    this.userHandle ??= Buffer.from(options.user.id, 'base64url');	// fixed when the credential is made
    const cd = clientData ?? this.clientData(type, options.challenge, origin);
    const ao = attestationObject ?? cbor(new Map([['fmt', 'none'], ['attStmt', new Map()],
      ['authData', this.authData({ attested: true })]]));
    return { id: b64u(this.credentialId), rawId: b64u(this.credentialId), type: 'public-key',
      response: { clientDataJSON: b64u(cd), attestationObject: b64u(ao), transports: ['internal', 'hybrid'] },
      clientExtensionResults: {}, authenticatorAttachment: 'platform' };
  }
  // AuthenticationResponseJSON for request options
  get(options, { origin, type = 'webauthn.get', rpId, flags, count, tamper = false, userHandle } = {}) {
    this.count = count ?? this.count + 1;
    const ad = this.authData({ rpId, flags });
    const cd = this.clientData(type, options.challenge, origin);
    const sig = cryptoSign('sha256', Buffer.concat([ad, sha256(cd)]), this.privateKey);
    if (tamper) sig[sig.length - 1] ^= 1;
    const handle = userHandle ?? this.userHandle;
    return { id: b64u(this.credentialId), rawId: b64u(this.credentialId), type: 'public-key',
      response: { clientDataJSON: b64u(cd), authenticatorData: b64u(ad), signature: b64u(sig),
        ...(handle ? { userHandle: b64u(handle) } : {}) },
      clientExtensionResults: {} };
  }
}

// ---- the ceremonies through the API ----

async function registerOptions(s, browser, query = '') {
  const r = await call(s, `${API}/generate-register-options${query}`, { browser });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function authOptions(s, browser, query = '') {
  const r = await call(s, `${API}/generate-authenticate-options${query}`, { browser });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

const verifyRegistration = (s, browser, response, extra = {}) =>
  call(s, `${API}/verify-registration`, { json: { response, ...extra }, browser });
const verifyAuthentication = (s, browser, response, extra = {}) =>
  call(s, `${API}/verify-authentication`, { json: { response, ...extra }, browser });

let emails = 0;
const newEmail = (tag = 'pk') => `${tag}${++emails}-${process.pid}@example.com`;

// A passkey-only account: a browser signed in with it, its authenticator and email.
async function passkeySignUp(s = S, { uv = true } = {}) {
  const browser = new Browser();
  const auth = new SoftAuthenticator({ uv });
  const email = newEmail();
  const options = await registerOptions(s, browser, `?email=${encodeURIComponent(email)}&name=Pat`);
  const r = await verifyRegistration(s, browser, auth.create(options, { origin: originOf(s) }));
  assert.equal(r.status, 201, r.text);
  return { browser, auth, email, user: r.json.user };
}

async function passwordSignUp(s = S) {
  const browser = new Browser();
  const email = newEmail('pw');
  const r = await call(s, '/api/auth/sign-up/email', { json: { email, password: 'correct horse battery' }, browser });
  assert.equal(r.status, 201, r.text);
  return { browser, email, user: r.json.user };
}

// Adds a soft passkey to the signed-in browser's account.
async function addPasskey(s, browser, name) {
  const auth = new SoftAuthenticator();
  const options = await registerOptions(s, browser);
  const r = await verifyRegistration(s, browser, auth.create(options, { origin: originOf(s) }), name ? { name } : {});
  assert.equal(r.status, 200, r.text);
  return { auth, passkey: r.json.passkey };
}

const forwardAuth = (s, browser) => call(s, '/api/verify', { browser });

function decodeJwt(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

// Everything a refused attempt must leave as it was.
const stored = () => psql(dbUrl, "select (select count(*) from users) || ':' || (select count(*) from passkeys)"
  + " || ':' || (select count(*) from sessions) || ':' || coalesce((select md5(string_agg(p::text, ',' order by p.id))"
  + ' from passkeys p), \'\')');

async function refused(promise, status, error, descriptionPattern) {
  const before = stored();
  const r = await promise();
  assert.equal(r.status, status, `${error}: ${r.text}`);
  assert.equal(r.json?.error, error, r.text);
  assert.ok(r.json.error_description, r.text);
  if (descriptionPattern) assert.match(r.json.error_description, descriptionPattern);
  assert.equal(r.setCookies.filter((c) => c.startsWith(COOKIE + '=')).length, 0, 'a session cookie was set');
  assert.equal(stored(), before, `${error}: something was stored`);
  return r;
}

// ---- options ----

test('options: PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON, a browser-bound cookie, refusals', async () => {
  const b = new Browser();
  let r = await call(S, `${API}/generate-register-options`, { browser: b });
  assert.equal(r.status, 401, r.text);
  assert.match(r.json.error_description, /give an email to sign up/);
  r = await call(S, `${API}/generate-register-options?email=not-an-email`, { browser: b });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'invalid_email');

  r = await call(S, `${API}/generate-register-options?email=${newEmail()}&name=Ann%20Lee`, { browser: b });
  assert.equal(r.status, 200, r.text);
  const o = r.json;
  assert.equal(Buffer.from(o.challenge, 'base64url').length, 32);
  assert.deepEqual(o.rp, { name: 'localhost', id: 'localhost' });
  assert.equal(Buffer.from(o.user.id, 'base64url').length, 16);
  assert.equal(o.user.displayName, 'Ann Lee');
  assert.deepEqual(o.pubKeyCredParams.map((p) => p.alg), [-8, -7, -257]);
  assert.deepEqual(o.authenticatorSelection, { residentKey: 'required', requireResidentKey: true,
    userVerification: 'preferred' });
  assert.equal(o.attestation, 'none');
  assert.equal(o.timeout, 300000);
  assert.deepEqual(o.excludeCredentials, []);
  const cookie = r.setCookies.find((c) => c.startsWith('dreamauth_webauthn='));
  assert.match(cookie, /; Path=\/api\/auth\/passkey\/; HttpOnly; SameSite=Strict$/);
  assert.equal(psql(dbUrl, `select count(*) from passkey_challenges where challenge_hash = `
    + `sha256(decode('${Buffer.from(o.challenge, 'base64url').toString('hex')}', 'hex'))`), '1');

  // the cookie is kept: ceremonies in other tabs go on
  r = await call(S, `${API}/generate-authenticate-options`, { browser: b });
  assert.equal(r.status, 200);
  assert.equal(r.setCookies.filter((c) => c.startsWith('dreamauth_webauthn=')).length, 0);
  assert.deepEqual(Object.keys(r.json).sort(), ['allowCredentials', 'challenge', 'rpId', 'timeout', 'userVerification']);
  assert.deepEqual(r.json.allowCredentials, []);
  assert.equal(r.json.rpId, 'localhost');
  assert.equal(r.json.userVerification, 'preferred');
  // POST with a JSON body works too
  r = await call(S, `${API}/generate-authenticate-options`, { json: { email: 'nobody@example.com' }, browser: b });
  assert.equal(r.status, 200, r.text);

  // no HEAD (a probe must not store a challenge), no cross-site starts
  assert.equal((await call(S, `${API}/generate-authenticate-options`, { method: 'HEAD' })).status, 405);
  r = await call(S, `${API}/generate-authenticate-options`, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(r.status, 403);
  r = await call(S, `${API}/generate-authenticate-options`, { json: {}, headers: { origin: 'https://evil.example' } });
  assert.equal(r.status, 403);
  r = await call(S, `${API}/generate-authenticate-options`, { body: 'email=x', headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 415);
  r = await call(S, `${API}/generate-authenticate-options?secondFactor=1`);
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'second_factor_expired');
  assert.equal((await call(S, `${API}/nope`)).status, 404);
  assert.equal((await call(S, `${API}/verify-authentication`)).status, 405);
});

// ---- sign-up, sign-in, and forward-auth with the software authenticator ----

test('sign up with a passkey alone, sign in username-less and by email, forward-auth; amr hwk,user,mfa', async () => {
  const { browser, auth, email, user } = await passkeySignUp();
  assert.equal(psql(dbUrl, `select (password_hash is null) || ' ' || name from users where id = '${user.id}'`), 'true Pat');
  assert.equal(psql(dbUrl, `select amr from sessions where user_id = '${user.id}'`), 'hwk,user,mfa');
  assert.equal(psql(dbUrl, `select attestation_fmt || ' ' || attestation_type || ' ' || transports || ' ' || alg`
    + ` || ' ' || user_verified from passkeys where user_id = '${user.id}'`), 'none none internal,hybrid -7 true');
  let fa = await forwardAuth(S, browser);
  assert.equal(fa.status, 200);
  assert.equal(fa.headers.get('x-auth-email'), email);

  // username-less sign-in in a fresh browser
  const b2 = new Browser();
  let options = await authOptions(S, b2);
  let r = await verifyAuthentication(S, b2, auth.get(options, { origin: originOf(S) }), { callbackURL: '/somewhere' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.user.email, email);
  assert.equal(r.json.session.amr, 'hwk,user,mfa');
  assert.equal(r.json.redirect, '/somewhere');
  assert.ok(b2.session);
  fa = await forwardAuth(S, b2);
  assert.equal(fa.status, 200);

  // with an email: allowCredentials names the account's passkey
  const b3 = new Browser();
  options = await authOptions(S, b3, `?email=${encodeURIComponent(email.toUpperCase())}`);
  assert.deepEqual(options.allowCredentials, [{ id: b64u(auth.credentialId), type: 'public-key',
    transports: ['internal', 'hybrid'] }]);
  r = await verifyAuthentication(S, b3, auth.get(options, { origin: originOf(S) }));
  assert.equal(r.status, 200, r.text);
  assert.equal(psql(dbUrl, `select sign_count || ' ' || (last_used_at is not null) from passkeys`
    + ` where user_id = '${user.id}'`), `${auth.count} true`);

  // without user verification: amr hwk only
  const nouv = await passkeySignUp(S, { uv: false });
  assert.equal(psql(dbUrl, `select amr from sessions where user_id = '${nouv.user.id}'`), 'hwk');

  // sign-up for a taken address: 409 at the options
  r = await call(S, `${API}/generate-register-options?email=${encodeURIComponent(email)}`, { browser: new Browser() });
  assert.equal(r.status, 409);
  assert.equal(r.json.error, 'user_exists');
});

test('challenges are shared by instances and single use; a challenge is bound to its browser', async () => {
  const { auth } = await passkeySignUp();
  const b = new Browser();
  const options = await authOptions(S, b);
  const response = auth.get(options, { origin: originOf(S) });
  // issued by S, used at S2 (same database, same AUTH_URL)
  let r = await verifyAuthentication(S2, b, response);
  assert.equal(r.status, 200, r.text);
  // replayed, at either instance
  await refused(() => verifyAuthentication(S, b, response), 400, 'challenge_not_found', /already used/);
  await refused(() => verifyAuthentication(S2, b, auth.get(options, { origin: originOf(S) })), 400,
    'challenge_not_found');

  // foreign: issued to browser a, presented by browser b (its own cookie) — refused, and a can still use it
  const a = new Browser();
  const other = new Browser();
  await authOptions(S, other);	// other has a ceremony cookie of its own
  const mine = await authOptions(S, a);
  await refused(() => verifyAuthentication(S, other, auth.get(mine, { origin: originOf(S) })), 400,
    'challenge_not_found', /another browser/);
  await refused(() => verifyAuthentication(S, new Browser(), auth.get(mine, { origin: originOf(S) })), 400,
    'challenge_not_found', /no passkey ceremony was started in this browser/);
  r = await verifyAuthentication(S, a, auth.get(mine, { origin: originOf(S) }));
  assert.equal(r.status, 200, r.text);

  // a challenge this server never issued
  await refused(() => verifyAuthentication(S, a, auth.get({ challenge: b64u(randomBytes(32)) },
    { origin: originOf(S) })), 400, 'challenge_not_found');
  // a registration challenge is not a sign-in's
  const reg = await registerOptions(S, a, `?email=${newEmail()}`);
  await refused(() => verifyAuthentication(S, a, auth.get(reg, { origin: originOf(S) })), 400, 'challenge_mismatch');
  // expired
  const late = await authOptions(S, a);
  psql(dbUrl, "update passkey_challenges set expires_at = now() - interval '1 s'");
  await refused(() => verifyAuthentication(S, a, auth.get(late, { origin: originOf(S) })), 400, 'challenge_expired');
});

test('hostile requests: 4xx with a clear error, nothing stored, the server stays up', async () => {
  const { auth, user } = await passkeySignUp();
  const b = new Browser();
  const good = (options) => auth.get(options, { origin: originOf(S) });

  // malformed JSON, not an object, wrong content type
  await refused(() => call(S, `${API}/verify-authentication`, { json: '{"response": ', browser: b }), 400,
    'invalid_request');
  await refused(() => call(S, `${API}/verify-authentication`, { json: '[1]', browser: b }), 400, 'invalid_request');
  await refused(() => call(S, `${API}/verify-authentication`, { body: '{}', headers: { 'content-type': 'text/plain' },
    browser: b }), 415, 'unsupported_media_type');
  await refused(() => call(S, `${API}/verify-authentication`, { json: {}, browser: b,
    headers: { origin: 'https://evil.example' } }), 403, 'invalid_origin');
  await refused(() => verifyAuthentication(S, b, 'not an object'), 400, 'malformed_credential');
  let options = await authOptions(S, b);
  let response = good(options);
  await refused(() => verifyAuthentication(S, b, { ...response, type: 'password' }), 400, 'malformed_credential',
    /public-key/);
  await refused(() => verifyAuthentication(S, b, { ...response, rawId: b64u(randomBytes(32)) }), 400,
    'malformed_credential', /id and rawId/);
  // malformed base64url
  await refused(() => verifyAuthentication(S, b, { ...response, response: { ...response.response,
    clientDataJSON: 'not*base64!' } }), 400, 'malformed_credential', /base64url/);
  await refused(() => verifyAuthentication(S, b, { ...response, response: { ...response.response,
    signature: 123 } }), 400, 'malformed_credential');
  // clientDataJSON that is not JSON
  await refused(() => verifyAuthentication(S, b, { ...response, response: { ...response.response,
    clientDataJSON: b64u('{"type":') } }), 400, 'malformed_credential', /clientDataJSON/);
  // malformed authenticator data (the challenge is taken: a new one each time from here)
  await refused(() => verifyAuthentication(S, b, { ...response, response: { ...response.response,
    authenticatorData: b64u(Buffer.alloc(10)) } }), 400, 'malformed_credential', /authenticator data/);

  // wrong origin, forged in clientDataJSON and signed
  options = await authOptions(S, b);
  await refused(() => verifyAuthentication(S, b, auth.get(options, { origin: 'https://evil.example' })), 401,
    'verification_failed', /origin not allowed: https:\/\/evil.example/);
  // wrong RP ID
  options = await authOptions(S, b);
  await refused(() => verifyAuthentication(S, b, auth.get(options, { origin: originOf(S), rpId: 'evil.example' })),
    401, 'verification_failed', /rpIdHash/);
  // webauthn.create where webauthn.get is due
  options = await authOptions(S, b);
  await refused(() => verifyAuthentication(S, b, auth.get(options, { origin: originOf(S), type: 'webauthn.create' })),
    401, 'verification_failed', /type/);
  // tampered signature
  options = await authOptions(S, b);
  await refused(() => verifyAuthentication(S, b, auth.get(options, { origin: originOf(S), tamper: true })), 401,
    'verification_failed', /bad signature/);
  // user not present
  options = await authOptions(S, b);
  await refused(() => verifyAuthentication(S, b, auth.get(options, { origin: originOf(S), flags: 0x04 })), 401,
    'verification_failed', /user presence/);
  // a user handle naming someone else
  options = await authOptions(S, b);
  await refused(() => verifyAuthentication(S, b, auth.get(options, { origin: originOf(S),
    userHandle: randomBytes(16) })), 401, 'verification_failed', /user handle/);
  // an unknown credential
  options = await authOptions(S, b);
  await refused(() => verifyAuthentication(S, b, new SoftAuthenticator().get(options, { origin: originOf(S) })), 401,
    'unknown_credential');

  // registration: malformed CBOR, a forged origin, a replay, a registered credential again
  const rb = new Browser();
  let reg = await registerOptions(S, rb, `?email=${newEmail()}`);
  const fresh = new SoftAuthenticator();
  await refused(() => verifyRegistration(S, rb, fresh.create(reg, { origin: originOf(S),
    attestationObject: Buffer.from([0xa3, 0x63, 0x66, 0x6d]) })), 400, 'malformed_credential', /attestation object/);
  await refused(() => verifyRegistration(S, rb, fresh.create(reg, { origin: originOf(S) })), 400,
    'challenge_not_found');	// discarded by the refusal before
  reg = await registerOptions(S, rb, `?email=${newEmail()}`);
  await refused(() => verifyRegistration(S, rb, fresh.create(reg, { origin: 'https://evil.example' })), 400,
    'verification_failed', /origin not allowed/);
  reg = await registerOptions(S, rb, `?email=${newEmail()}`);
  await refused(() => verifyRegistration(S, rb, fresh.create(reg, { origin: originOf(S), type: 'webauthn.get' })), 400,
    'verification_failed', /type/);
  reg = await registerOptions(S, rb, `?email=${newEmail()}`);
  await refused(() => verifyRegistration(S, rb, auth.create(reg, { origin: originOf(S) })), 409, 'credential_exists');
  reg = await registerOptions(S, rb, `?email=${newEmail()}`);
  const ok = fresh.create(reg, { origin: originOf(S) });
  assert.equal((await verifyRegistration(S, rb, ok)).status, 201);
  await refused(() => verifyRegistration(S, new Browser(), ok), 400, 'challenge_not_found');
  await refused(() => verifyRegistration(S, rb, ok), 400, 'challenge_not_found');
  // a sign-in challenge is not a registration's
  const signInOptions = await authOptions(S, rb);
  await refused(() => verifyRegistration(S, rb, new SoftAuthenticator().create({ ...signInOptions,
    user: { id: b64u(randomBytes(16)) } }, { origin: originOf(S) })), 400, 'challenge_mismatch');

  // a counter that goes back: signed in, flagged and logged; the highest value is kept
  options = await authOptions(S, b);
  let r = await verifyAuthentication(S, b, auth.get(options, { origin: originOf(S), count: 7 }));
  assert.equal(r.status, 200, r.text);
  options = await authOptions(S, b);
  r = await verifyAuthentication(S, b, auth.get(options, { origin: originOf(S), count: 3 }));
  assert.equal(r.status, 200, r.text);
  assert.equal(psql(dbUrl, `select sign_count || ' ' || counter_regressions || ' ' || (counter_regressed_at is not null)`
    + ` from passkeys where user_id = '${user.id}'`), '7 1 true');
  assert.match(S.logs(), /passkey .* signature counter 3 after 7 \(a cloned authenticator\?\)/);

  // still up
  assert.equal((await call(S, '/api/health')).status, 200);
  assert.equal((await call(S2, '/api/health')).status, 200);
});

test('user verification required: an assertion or registration without UV is refused', async () => {
  const U = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', PASSKEY_USER_VERIFICATION: 'required' });
  const b = new Browser();
  const options = await registerOptions(U, b, `?email=${newEmail()}`);
  assert.equal(options.authenticatorSelection.userVerification, 'required');
  const noUv = new SoftAuthenticator({ uv: false });
  await refused(() => verifyRegistration(U, b, noUv.create(options, { origin: originOf(U) })), 400,
    'verification_failed', /user verification required/);
  const { auth } = await passkeySignUp(U);
  auth.uv = false;
  const o = await authOptions(U, b);
  await refused(() => verifyAuthentication(U, b, auth.get(o, { origin: originOf(U) })), 401, 'verification_failed',
    /user verification required/);
});

test('options are counted per IP: sign-ins give their count back, sign-ups and abandoned ceremonies do not', async () => {
  const L = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', LOGIN_IP_MAX_ATTEMPTS: '3' });
  const { auth } = await passkeySignUp(L);	// 1
  for (let i = 0; i < 4; i++) {
    const b = new Browser();
    const options = await authOptions(L, b);
    assert.equal((await verifyAuthentication(L, b, auth.get(options, { origin: originOf(L) }))).status, 200);
  }
  await passkeySignUp(L);	// 2
  await authOptions(L, new Browser());	// 3: abandoned
  const r = await call(L, `${API}/generate-authenticate-options`);
  assert.equal(r.status, 429, r.text);
  assert.equal(r.json.error, 'too_many_requests');
  assert.ok(Number(r.headers.get('retry-after')) > 0);
});

// ---- the account page's API ----

test('list, rename, delete (never the last way in without confirm), BetterAuth shapes', async () => {
  const { browser, auth, user } = await passkeySignUp();
  let r = await call(S, `${API}/list-user-passkeys`, { browser });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.length, 1);
  const p = r.json[0];
  assert.equal(p.userId, user.id);
  assert.equal(p.credentialID, b64u(auth.credentialId));
  assert.equal(Buffer.from(p.publicKey, 'base64').toString('hex'), auth.cose.toString('hex'));
  assert.equal(p.counter, 0);
  assert.equal(p.deviceType, 'singleDevice');
  assert.equal(p.backedUp, false);
  assert.equal(p.transports, 'internal,hybrid');
  assert.equal(p.aaguid, '00000000-0000-0000-0000-000000000000');
  assert.match(p.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
  assert.equal(p.lastUsedAt, null);
  assert.deepEqual(p.attestation, { fmt: 'none', type: 'none' });

  r = await call(S, `${API}/update-passkey`, { json: { id: p.id, name: 'Laptop' }, browser });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.passkey.name, 'Laptop');
  r = await call(S, `${API}/update-passkey`, { json: { id: p.id, name: '<script>' }, browser });
  assert.equal(r.status, 400);
  r = await call(S, `${API}/update-passkey`, { json: { id: p.id, name: 'x'.repeat(81) }, browser });
  assert.equal(r.status, 400);
  r = await call(S, `${API}/update-passkey`, { json: { id: 'nope', name: 'x' }, browser });
  assert.equal(r.status, 404);

  // someone else's passkey: 404 for rename and delete
  const other = await passwordSignUp();
  r = await call(S, `${API}/update-passkey`, { json: { id: p.id, name: 'Mine' }, browser: other.browser });
  assert.equal(r.status, 404);
  r = await call(S, `${API}/delete-passkey`, { json: { id: p.id, confirm: true }, browser: other.browser });
  assert.equal(r.status, 404);
  // signed out: 401
  assert.equal((await call(S, `${API}/list-user-passkeys`)).status, 401);
  assert.equal((await call(S, `${API}/delete-passkey`, { json: { id: p.id } })).status, 401);

  // the account's only way in
  r = await call(S, `${API}/delete-passkey`, { json: { id: p.id }, browser });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.json.error, 'last_sign_in_method');
  assert.match(r.json.error_description, /only way to sign in.*"confirm": true/);
  r = await call(S, `${API}/delete-passkey`, { json: { id: p.id, confirm: 'yes' }, browser });
  assert.equal(r.status, 400);
  // with a second passkey, either may go
  const second = await addPasskey(S, browser, 'Phone');
  assert.equal(second.passkey.name, 'Phone');
  r = await call(S, `${API}/list-user-passkeys`, { browser });
  assert.deepEqual(r.json.map((x) => x.name), ['Laptop', 'Phone']);
  r = await call(S, `${API}/delete-passkey`, { json: { id: second.passkey.id }, browser });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: true, secondFactorDisabled: false });
  r = await call(S, `${API}/delete-passkey`, { json: { id: p.id, confirm: true }, browser });
  assert.equal(r.status, 200, r.text);
  assert.equal(psql(dbUrl, `select count(*) from passkeys where user_id = '${user.id}'`), '0');

  // a password account deletes its passkeys freely
  const { passkey } = await addPasskey(S, other.browser);
  r = await call(S, `${API}/delete-passkey`, { json: { id: passkey.id }, browser: other.browser });
  assert.equal(r.status, 200, r.text);

  // adding needs a session from the last day
  const stale = await passwordSignUp();
  psql(dbUrl, `update sessions set auth_time = now() - interval '2 days' where user_id = '${stale.user.id}'`);
  const restarted = await startServer({ DATABASE_URL: dbUrl, AUTH_URL: originOf(S) });	// no cached copy
  r = await call(restarted, `${API}/generate-register-options`, { browser: stale.browser });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error, 'session_not_fresh');
});

// ---- the passkey as a second factor ----

test('second factor: after the password, the passkey; amr pwd,hwk,user,mfa; only the account\'s own passkey', async () => {
  const acct = await passwordSignUp();
  let r = await call(S, `${API}/second-factor`, { browser: acct.browser });
  assert.deepEqual(r.json, { enabled: false, hasPassword: true, passkeys: 0 });
  r = await call(S, `${API}/second-factor`, { json: { enabled: true }, browser: acct.browser });
  assert.equal(r.status, 409);
  assert.equal(r.json.error, 'no_passkey');
  const { auth } = await addPasskey(S, acct.browser);
  r = await call(S, `${API}/second-factor`, { json: { enabled: true }, browser: acct.browser });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { enabled: true });
  r = await call(S, `${API}/second-factor`, { json: { enabled: 'yes' }, browser: acct.browser });
  assert.equal(r.status, 400);

  // the password alone: no session, a pending cookie, the way on
  const b = new Browser();
  r = await call(S, '/api/auth/sign-in/email', { json: { email: acct.email, password: 'correct horse battery',
    callbackURL: '/after' }, browser: b });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { twoFactorRedirect: true, twoFactorMethods: ['passkey'],
    redirect: '/login/passkey?rd=%2Fafter' });
  assert.equal(b.session, undefined);
  assert.ok(b.cookies.get('dreamauth_2fa'));
  assert.match(r.setCookies.find((c) => c.startsWith('dreamauth_2fa=')), /Path=\/; Max-Age=300; HttpOnly; SameSite=Lax/);

  // another account's passkey will not do
  const stranger = await passkeySignUp();
  let options = await authOptions(S, b, '?secondFactor=1');
  assert.deepEqual(options.allowCredentials.map((c) => c.id), [b64u(auth.credentialId)]);
  await refused(() => verifyAuthentication(S, b, stranger.auth.get(options, { origin: originOf(S) })), 401,
    'wrong_passkey');
  options = await authOptions(S, b, '?secondFactor=1');
  r = await verifyAuthentication(S, b, auth.get(options, { origin: originOf(S) }), { callbackURL: '/after' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.session.amr, 'pwd,hwk,user,mfa');
  assert.equal(r.json.redirect, '/after');
  assert.ok(b.session);
  assert.equal(b.cookies.get('dreamauth_2fa'), undefined);
  assert.equal((await forwardAuth(S, b)).status, 200);
  // the pending sign-in is spent
  r = await call(S, `${API}/generate-authenticate-options?secondFactor=1`, { browser: b });
  assert.equal(r.status, 401);

  // the form: a 303 to the second-factor page, which shows its button
  const page = new Browser();
  const login = await call(S, '/login?rd=%2Faccount', { browser: page });
  const csrf = login.text.match(/name="csrf" value="([^"]+)"/)[1];
  r = await call(S, '/login', { body: new URLSearchParams({ csrf, rd: '/account', email: acct.email,
    password: 'correct horse battery' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' },
    browser: page });
  assert.equal(r.status, 303, r.text);
  assert.equal(r.headers.get('location'), '/login/passkey?rd=%2Faccount');
  assert.equal(page.session, undefined);
  r = await call(S, '/login/passkey?rd=%2Faccount', { browser: page });
  assert.equal(r.status, 200);
  assert.match(r.text, /id="passkey-second-factor-go"/);
  assert.match(r.text, /<input type="hidden" id="passkey-rd" value="\/account">/);

  // a wrong password is still just wrong
  r = await call(S, '/api/auth/sign-in/email', { json: { email: acct.email, password: 'wrong password!!' } });
  assert.equal(r.status, 401);

  // turned off: the password alone signs in again
  r = await call(S, `${API}/second-factor`, { json: { enabled: false }, browser: acct.browser });
  assert.deepEqual(r.json, { enabled: false });
  r = await call(S, '/api/auth/sign-in/email', { json: { email: acct.email, password: 'correct horse battery' } });
  assert.equal(r.status, 200);
  assert.ok(r.json.session);
});

// ---- OIDC ----

async function codeFlow(s, browser) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: CLIENT.redirectURLs[0],
    scope: 'openid email', state: 's', nonce: 'n', code_challenge: challenge, code_challenge_method: 'S256' });
  const a = await call(s, '/oauth2/authorize?' + q, { browser });
  assert.equal(a.status, 302, a.text);
  return exchange(s, new URL(a.headers.get('location')).searchParams.get('code'), verifier);
}

async function exchange(s, code, verifier) {
  assert.ok(code);
  const t = await call(s, '/oauth2/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`app:${CLIENT.clientSecret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectURLs[0],
      code_verifier: verifier }).toString() });
  assert.equal(t.status, 200, t.text);
  return decodeJwt(t.json.id_token);
}

test('ID tokens of a passkey session: amr and auth_time from the session', async () => {
  const { browser, user } = await passkeySignUp();
  const id = await codeFlow(S, browser);
  assert.deepEqual(id.amr, ['hwk', 'user', 'mfa']);
  assert.equal(String(id.auth_time), psql(dbUrl, `select floor(extract(epoch from auth_time))::bigint from sessions`
    + ` where user_id = '${user.id}'`));
});

// ---- ENABLE_PASSKEYS=false ----

test('ENABLE_PASSKEYS=false: every passkey path is 404, no button, no autofill hint', async () => {
  let page = await call(S, '/login');
  assert.match(page.text, /id="passkey-sign-in"[^>]*>Sign in with a passkey</);
  assert.match(page.text, /autocomplete="username webauthn"/);
  assert.match(page.text, /<script src="\/static\/passkey.js" defer><\/script>/);
  assert.match((await call(S, '/signup')).text, /id="passkey-sign-up"/);
  const js = await call(S, '/static/passkey.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);

  const off = await startServer({ DATABASE_URL: dbUrl, ENABLE_PASSKEYS: 'false', ENABLE_REGISTRATION: 'true' });
  const acct = await passwordSignUp(off);
  for (const [path, opts] of [[`${API}/generate-register-options`, {}], [`${API}/generate-authenticate-options`, {}],
    [`${API}/generate-authenticate-options`, { json: {} }], [`${API}/verify-registration`, { json: {} }],
    [`${API}/verify-authentication`, { json: {} }], [`${API}/list-user-passkeys`, {}],
    [`${API}/update-passkey`, { json: {} }], [`${API}/delete-passkey`, { json: {} }], [`${API}/second-factor`, {}],
    [`${API}/verify-authentication`, { method: 'PUT' }], ['/static/passkey.js', {}], ['/login/passkey', {}]]) {
    const r = await call(off, path, { ...opts, browser: acct.browser });
    assert.equal(r.status, 404, `${path}: ${r.status}`);
  }
  for (const path of ['/login', '/signup', '/account']) {
    page = await call(off, path, { browser: path === '/account' ? acct.browser : undefined });
    assert.equal(page.status, 200, path);
    assert.doesNotMatch(page.text, /passkey|webauthn/i, path);
  }
});

// ---- real Chromium with the DevTools virtual authenticator ----

// A page with its own virtual authenticator; errors collected.
async function pageWithAuthenticator(browser, options) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('response', (r) => {
    if (r.url().startsWith(CLIENT.redirectURLs[0])) return;
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') errors.push(`${r.status()} ${r.url()}`);
  });
  // Autofill (conditional mediation) answers at once when the virtual
  // authenticator holds a discoverable credential: a test that wants the
  // button or the password form sets localStorage.noAutofill first.
  await page.addInitScript(() => {
    try {
      if (window.localStorage.getItem('noAutofill')) {
        PublicKeyCredential.isConditionalMediationAvailable = async () => false;
      }
    } catch { /* a page without storage (an error page) */ }
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    automaticPresenceSimulation: true, isUserVerified: true, ...options } });
  return { context, page, cdp, authenticatorId, errors };
}

const shot = async (page, s, name) => {
  const path = join(s.dir, name);
  await page.screenshot({ path, fullPage: true });
  assert.ok(statSync(path).size > 1000);
  return path;
};

test('Chromium, ctap2 internal authenticator (resident keys, UV): sign up, sign out, sign in username-less, '
  + 'forward-auth, an ID token whose amr says so; autofill on /login', async (t) => {
  const chromium = await launchChromium(t);
  if (!chromium) return;
  try {
    const { context, page, cdp, authenticatorId, errors } = await pageWithAuthenticator(chromium, {
      protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true });
    const email = newEmail('chromium');
    await page.goto(`${originOf(S)}/signup`);
    await page.fill('input[name="name"]', 'Chris');
    await page.fill('input[name="email"]', email);
    const shots = [await shot(page, S, 'passkey-signup.png')];
    await Promise.all([page.waitForURL(`${originOf(S)}/account`),
      page.getByRole('button', { name: 'Create account with a passkey' }).click()]);
    await page.locator('#passkey-list li strong').first().waitFor();
    shots.push(await shot(page, S, 'passkey-account.png'));
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true);
    const userId = psql(dbUrl, `select id from users where email = '${email}'`);
    assert.equal(psql(dbUrl, `select (password_hash is null) from users where id = '${userId}'`), 't');
    assert.equal(Buffer.from(credentials[0].userHandle, 'base64').toString('hex'), userId.replace(/-/g, ''));

    // sign out, then in without a name (the button; autofill comes last)
    await page.evaluate(() => localStorage.setItem('noAutofill', '1'));
    await Promise.all([page.waitForURL(/\/login$/), page.getByRole('button', { name: 'Sign out' }).click()]);
    shots.push(await shot(page, S, 'passkey-login.png'));
    await Promise.all([page.waitForURL(`${originOf(S)}/account`),
      page.getByRole('button', { name: 'Sign in with a passkey' }).click()]);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === COOKIE);
    assert.ok(session, 'no session cookie in the browser');
    const b = new Browser();
    b.cookies.set(COOKIE, session.value);
    const fa = await forwardAuth(S, b);
    assert.equal(fa.status, 200);
    assert.equal(fa.headers.get('x-auth-email'), email);

    // the code flow in the browser: the redirect to the client carries the code
    const verifier = randomBytes(32).toString('base64url');
    const q = new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: CLIENT.redirectURLs[0],
      scope: 'openid email', state: 's', nonce: 'n', code_challenge_method: 'S256',
      code_challenge: createHash('sha256').update(verifier).digest('base64url') });
    // nothing listens at the client's address: the redirect to it is what
    // counts (in a tab of its own, which ends on an error page)
    const tab = await context.newPage();
    const redirected = tab.waitForRequest((r) => r.url().startsWith(CLIENT.redirectURLs[0]));
    await tab.goto(`${originOf(S)}/oauth2/authorize?${q}`).catch(() => {});
    const code = new URL((await redirected).url()).searchParams.get('code');
    await tab.close();
    const id = await exchange(S, code, verifier);
    assert.deepEqual(id.amr, ['hwk', 'user', 'mfa']);
    assert.equal(id.email, email);

    // autofill: the email field offers the passkey (conditional mediation);
    // the virtual authenticator picks it as a person would, and the sign-in
    // completes without a click
    await page.goto(`${originOf(S)}/account`);
    await page.evaluate(() => localStorage.removeItem('noAutofill'));
    const before = Number(psql(dbUrl, `select count(*) from sessions where user_id = '${userId}'`));
    await Promise.all([page.waitForURL(/\/login$/), page.getByRole('button', { name: 'Sign out' }).click()]);
    await page.waitForURL(`${originOf(S)}/account`, { timeout: 15000 });
    assert.equal(Number(psql(dbUrl, `select count(*) from sessions where user_id = '${userId}'`)), before + 1);
    assert.match(psql(dbUrl, `select amr from sessions where user_id = '${userId}' order by created_at desc limit 1`),
      /^hwk,user,mfa$/);
    assert.deepEqual(errors, []);
    t.diagnostic(`screenshots: ${shots.join(', ')}`);
  } finally {
    await chromium.close();
  }
});

async function signInWithPassword(page, s, email) {
  await page.goto(`${originOf(s)}/login`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', 'correct horse battery');
  await Promise.all([page.waitForURL(`${originOf(s)}/account`), page.getByRole('button', { name: 'Sign in', exact: true })
    .click()]);
}

test('Chromium, attestation "direct": a u2f authenticator (fido-u2f) and a ctap2 one (packed), added from the '
  + 'account page; sign in by email with the u2f one', async (t) => {
  const D = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', PASSKEY_ATTESTATION: 'direct' });
  const chromium = await launchChromium(t);
  if (!chromium) return;
  try {
    for (const [options, fmt, name] of [
      [{ protocol: 'u2f', transport: 'usb', hasResidentKey: false, hasUserVerification: false,
        isUserVerified: false }, 'fido-u2f', 'Security key'],
      [{ protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true }, 'packed', 'Key 2']]) {
      const acct = await passwordSignUp(D);
      const { page, errors } = await pageWithAuthenticator(chromium, options);
      await signInWithPassword(page, D, acct.email);
      await page.fill('#passkey-new-name', name);
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.locator('#passkey-list li strong', { hasText: name }).waitFor();
      const shotPath = await shot(page, D, `passkey-account-${fmt}.png`);
      assert.equal(psql(dbUrl, `select attestation_fmt || ' ' || (attestation_type in ('basic', 'untrusted', 'self'))`
        + ` from passkeys where user_id = '${acct.user.id}'`), `${fmt} true`);
      if (fmt === 'fido-u2f') {
        // sign out, then in with the key by typing the email (allowCredentials)
        await Promise.all([page.waitForURL(/\/login$/), page.getByRole('button', { name: 'Sign out' }).click()]);
        await page.fill('input[name="email"]', acct.email);
        await Promise.all([page.waitForURL(`${originOf(D)}/account`),
          page.getByRole('button', { name: 'Sign in with a passkey' }).click()]);
        assert.equal(psql(dbUrl, `select amr from sessions where user_id = '${acct.user.id}'`
          + ` order by created_at desc limit 1`), 'hwk');
      }
      assert.deepEqual(errors, []);
      t.diagnostic(`screenshot: ${shotPath}`);
      await page.context().close();
    }
  } finally {
    await chromium.close();
  }
});

test('Chromium: the second factor page, rename and delete from the account page', async (t) => {
  const chromium = await launchChromium(t);
  if (!chromium) return;
  try {
    const acct = await passwordSignUp(S);
    const { page, errors } = await pageWithAuthenticator(chromium, { protocol: 'ctap2', ctap2Version: 'ctap2_1',
      transport: 'internal', hasResidentKey: true, hasUserVerification: true });
    await signInWithPassword(page, S, acct.email);
    await page.evaluate(() => localStorage.setItem('noAutofill', '1'));
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('#passkey-list li strong', { hasText: 'Unnamed passkey' }).waitFor();
    // rename
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('New name').fill('My laptop');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#passkey-list li strong', { hasText: 'My laptop' }).waitFor();
    // the second factor, on
    await page.locator('#passkey-second-factor').check();
    await page.locator('#passkey-status', { hasText: 'asked for after your password' }).waitFor();
    await Promise.all([page.waitForURL(/\/login$/), page.getByRole('button', { name: 'Sign out' }).click()]);
    await page.fill('input[name="email"]', acct.email);
    await page.fill('input[name="password"]', 'correct horse battery');
    await Promise.all([page.waitForURL(/\/login\/passkey\?rd=/), page.getByRole('button', { name: 'Sign in', exact: true })
      .click()]);
    const shotPath = await shot(page, S, 'passkey-second-factor.png');
    await Promise.all([page.waitForURL(`${originOf(S)}/account`),
      page.getByRole('button', { name: 'Use my passkey' }).click()]);
    assert.equal(psql(dbUrl, `select amr from sessions where user_id = '${acct.user.id}'`
      + ` order by created_at desc limit 1`), 'pwd,hwk,user,mfa');
    // delete: the account has a password, so no warning; the second factor goes with the last passkey
    await page.locator('#passkey-list li strong', { hasText: 'My laptop' }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.locator('#passkey-list li', { hasText: 'No passkey yet.' }).waitFor();
    assert.equal(psql(dbUrl, `select count(*) from passkey_second_factor where user_id = '${acct.user.id}'`), '0');
    assert.deepEqual(errors, []);
    t.diagnostic(`screenshot: ${shotPath}`);
  } finally {
    await chromium.close();
  }
});
