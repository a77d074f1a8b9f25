// Second factors against the real binary and PostgreSQL: TOTP (RFC 6238)
// enrolled through BetterAuth's two-factor API, with codes made by an
// independent implementation (oathtool); single use within a time step;
// wrong codes exhausting the pending sign-in and the user; recovery codes
// (single use, regenerated); disable with the password; the sign-in answering
// {"twoFactorRedirect": true} with no session until the code; the pending
// cookie replayed, expired, missing or forged; hostile codes; the form flow
// without JavaScript; amr and acr in ID tokens through the OIDC code flow,
// acr_values step-up, prompt=login and max_age with a second factor;
// X-Auth-AMR and FORWARD_AUTH_REQUIRE_MFA at /api/verify. Then headless
// Chromium: enroll from the account page (the secret read from the page),
// sign out, sign in with password + code, then with a recovery code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import { Server, freshDatabase, psql, TEST_SECRET, sleep, BIN, launchChromium } from './harness.mjs';

const PASSWORD = 'correct horse battery';
const COOKIE = 'dreamauth_session';
const PENDING = 'dreamauth_2fa';
const REDIRECT = 'http://127.0.0.1:8/cb';
const CLIENT = { clientId: 'app', clientSecret: 'app-secret-0123456789', name: 'App', redirectURLs: [REDIRECT],
  skipConsent: true };
const ACR_MFA = 'urn:dreamauth:acr:mfa', ACR_SFA = 'urn:dreamauth:acr:sfa';

const servers = [];
let S, dbUrl;

async function startServer(env) {
  const s = new Server({ AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', LOGIN_IP_MAX_ATTEMPTS: '100000', ...env });
  servers.push(s);
  await s.start();
  return s;
}

before(async () => {
  dbUrl = freshDatabase('twofactor');
  S = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', ENABLE_OIDC_PROVIDER: 'true',
    OIDC_CLIENTS: JSON.stringify([CLIENT]) });
});
after(async () => { for (const s of servers) await s.stop(); });	// SIGTERM: sanitizer reports at exit count too

// ---- a cookie jar per "browser" ----

class Browser {
  constructor() { this.cookies = new Map(); this.setCookies = []; }
  get header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  take(res) {
    for (const c of res.headers.getSetCookie()) {
      this.setCookies.push(c);
      const [pair, ...attrs] = c.split(';').map((x) => x.trim());
      const eq = pair.indexOf('=');
      if (attrs.some((a) => /^max-age=0$/i.test(a))) this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  get session() { return this.cookies.get(COOKIE); }
  get pending() { return this.cookies.get(PENDING); }
}

async function call(s, path, { method, json, form, headers = {}, browser } = {}) {
  const h = { ...headers };
  let body;
  if (browser && browser.cookies.size) h.cookie = browser.header;
  if (json !== undefined) {
    h['content-type'] ??= 'application/json';
    body = typeof json === 'string' ? json : JSON.stringify(json);
  } else if (form !== undefined) {
    h['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const r = await fetch(new URL(path, s.url), { method: method ?? (body === undefined ? 'GET' : 'POST'), headers: h, body,
    redirect: 'manual' });
  if (browser) browser.take(r);
  const text = await r.text();
  let data = null;
  try { data = JSON.parse(text); } catch { /* a page */ }
  return { status: r.status, headers: r.headers, text, data };
}

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
  .replace(/&amp;/g, '&');
function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  assert.ok(m, `hidden field ${name} in page`);
  return unescape(m[1]);
}

let counter = 0;
const newEmail = (tag) => `${tag}-${Date.now()}-${counter++}@example.com`;

async function signUp(s = S) {
  const browser = new Browser(), email = newEmail('tf');
  const r = await call(s, '/api/auth/sign-up/email', { json: { email, password: PASSWORD, name: 'Ada' }, browser });
  assert.equal(r.status, 201, r.text);
  return { browser, email };
}

async function signIn(email, s = S) {
  const browser = new Browser();
  const r = await call(s, '/api/auth/sign-in/email', { json: { email, password: PASSWORD }, browser });
  return { browser, r };
}

// ---- TOTP codes from oathtool (an implementation independent of liboath's use here) ----

// The code for the time step `steps` away from now.
function totp(secret, steps = 0) {
  const t = Math.floor(Date.now() / 1000) + 30 * steps;
  return execFileSync('oathtool', ['--totp', '-b', secret, '-N', `@${t}`], { encoding: 'utf8' }).trim();
}

// Codes for a user used several times: each a later step than the last one
// accepted, and within the server's window (±1 step), waiting when needed.
const stepNow = () => Math.floor(Date.now() / 30000);
const codeAtStep = (secret, step) => execFileSync('oathtool', ['--totp', '-b', secret, '-N', `@${step * 30 + 1}`],
  { encoding: 'utf8' }).trim();
async function nextCode(u) {
  const target = Math.max(u.lastStep + 1, stepNow());
  while (stepNow() < target - 1) await sleep(250);
  u.lastStep = target;
  return codeAtStep(u.secret, target);
}

function secretOf(uri) {
  const m = uri.match(/[?&]secret=([A-Z2-7]+)(&|$)/);
  assert.ok(m, uri);
  return m[1];
}

// Signed up, TOTP enabled and confirmed with the current step's code: the
// next code to use is totp(secret, 1), or nextCode(u).
async function enrolledUser(s = S) {
  const u = await signUp(s);
  const r = await call(s, '/api/auth/two-factor/enable', { json: { password: PASSWORD }, browser: u.browser });
  assert.equal(r.status, 200, r.text);
  u.secret = secretOf(r.data.totpURI);
  u.backupCodes = r.data.backupCodes;
  u.lastStep = stepNow();
  const c = await call(s, '/api/auth/two-factor/verify-totp', { json: { code: codeAtStep(u.secret, u.lastStep) },
    browser: u.browser });
  assert.equal(c.status, 200, c.text);
  return u;
}

async function me(browser, s = S) {
  return call(s, '/api/auth/get-session', { browser });
}

// ---- enrollment, sign-in, single use ----

test('enroll via the JSON API: totpURI and 10 recovery codes once; active only after a first code; the secret is '
  + 'sealed at rest', async () => {
  const u = await signUp();
  // Password re-checked: wrong, missing.
  let r = await call(S, '/api/auth/two-factor/enable', { json: { password: 'wrong password!' }, browser: u.browser });
  assert.equal(r.status, 401);
  assert.equal(r.data.error, 'invalid_password');
  r = await call(S, '/api/auth/two-factor/enable', { json: {}, browser: u.browser });
  assert.equal(r.status, 400);
  // Without a session.
  r = await call(S, '/api/auth/two-factor/enable', { json: { password: PASSWORD } });
  assert.equal(r.status, 401);

  r = await call(S, '/api/auth/two-factor/enable', { json: { password: PASSWORD }, browser: u.browser });
  assert.equal(r.status, 200, r.text);
  const uri = r.data.totpURI;
  assert.match(uri, new RegExp(`^otpauth://totp/localhost:${encodeURIComponent(u.email).replace(/\./g, '\\.')}`
    + '\\?secret=[A-Z2-7]{32}&issuer=localhost&algorithm=SHA1&digits=6&period=30$'));
  assert.equal(r.data.backupCodes.length, 10);
  assert.equal(new Set(r.data.backupCodes).size, 10);
  for (const c of r.data.backupCodes) assert.match(c, /^[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}$/);
  const secret = secretOf(uri);

  // Not active yet: sign-in goes straight through.
  let { r: si } = await signIn(u.email);
  assert.equal(si.status, 200);
  assert.ok(si.data.user && !si.data.twoFactorRedirect);

  // At rest: only the sealed blob, never the secret; recovery codes only as hashes.
  const raw = Buffer.from(base32Decode(secret)).toString('hex');
  const row = psql(dbUrl, `SELECT encode(secret_sealed, 'hex') || ' ' || (verified_at IS NULL)::text FROM totp_credentials`
    + ` t JOIN users u ON u.id = t.user_id WHERE u.email = '${u.email}'`).trim();
  assert.ok(!row.includes(raw), 'the secret is not stored in the clear');
  assert.match(row, / true$/, 'unconfirmed');
  const hashes = psql(dbUrl, `SELECT string_agg(encode(code_hash, 'hex'), ',') FROM recovery_codes c JOIN users u`
    + ` ON u.id = c.user_id WHERE u.email = '${u.email}'`).trim().split(',');
  assert.equal(hashes.length, 10);
  const canonical = r.data.backupCodes[0].replace('-', '');
  assert.ok(hashes.includes(createHash('sha256').update(canonical).digest('hex')));
  assert.ok(!psql(dbUrl, `SELECT string_agg(encode(code_hash, 'escape'), ',') FROM recovery_codes`).includes(canonical));

  // A wrong code does not confirm; a code of another secret neither.
  r = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: '000000' }, browser: u.browser });
  assert.equal(r.status, 401);
  assert.equal(r.data.error, 'invalid_code');
  // oathtool's code confirms.
  r = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(secret) }, browser: u.browser });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.data.twoFactorEnabled, true);
  assert.match(psql(dbUrl, `SELECT (verified_at IS NULL)::text FROM totp_credentials t JOIN users u ON u.id = t.user_id`
    + ` WHERE u.email = '${u.email}'`), /false/);
  // Enabling again is refused while on.
  r = await call(S, '/api/auth/two-factor/enable', { json: { password: PASSWORD }, browser: u.browser });
  assert.equal(r.status, 409);
});

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const out = [];
  for (const ch of s) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
  }
  return out;
}

test('sign-in with TOTP on: {"twoFactorRedirect": true}, no session until the code; the code opens a session with '
  + 'amr pwd,otp,mfa; the same code (same step) is refused; the pending cookie works once', async () => {
  const u = await enrolledUser();
  const { browser, r } = await signIn(u.email);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.data.twoFactorRedirect, true);
  assert.deepEqual(r.data.twoFactorMethods, ['totp']);
  assert.match(r.data.redirect, /^\/login\/two-factor\?rd=/);
  assert.equal(browser.session, undefined, 'no session cookie');
  assert.ok(browser.pending, 'a pending cookie');
  const set = browser.setCookies.find((c) => c.startsWith(PENDING + '='));
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Lax/);
  assert.match(set, /Max-Age=300/);
  assert.equal((await me(browser)).status, 401, 'the pending cookie is no session');

  const code = totp(u.secret, 1);
  let v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code }, browser });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.data.user.email, u.email);
  assert.equal(v.data.session.amr, 'pwd,otp,mfa');
  assert.ok(browser.session, 'session cookie set');
  assert.equal(browser.pending, undefined, 'pending cookie cleared');
  const m = await me(browser);
  assert.equal(m.status, 200);
  assert.equal(m.data.session.amr, 'pwd,otp,mfa');

  // The pending state is spent: replaying its cookie finds nothing.
  const replay = new Browser();
  replay.cookies.set(PENDING, r.headers.getSetCookie().find((c) => c.startsWith(PENDING)).split(';')[0].split('=')[1]);
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(u.secret, 1) }, browser: replay });
  assert.equal(v.status, 401);
  assert.equal(v.data.error, 'second_factor_expired');

  // The same code in a new sign-in: single use within its step.
  const again = await signIn(u.email);
  assert.equal(again.r.data.twoFactorRedirect, true);
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code }, browser: again.browser });
  assert.equal(v.status, 401, v.text);
  assert.equal(v.data.error, 'invalid_code');
  assert.equal(again.browser.session, undefined);
  // An earlier step's code (within the window, but before the last accepted) too.
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(u.secret, 0) }, browser: again.browser });
  assert.equal(v.status, 401);
});

test('two requests with one code at once: exactly one session', async () => {
  const u = await enrolledUser();
  const a = await signIn(u.email), b = await signIn(u.email);
  const code = totp(u.secret, 1);
  const results = await Promise.all([a, b].map((x) => call(S, '/api/auth/two-factor/verify-totp',
    { json: { code }, browser: x.browser })));
  assert.deepEqual(results.map((x) => x.status).sort(), [200, 401]);
});

test('wrong codes: five per pending sign-in, then it is gone; the user\'s failures across sign-ins stop even the '
  + 'right code', async () => {
  const u = await enrolledUser();
  const { browser } = await signIn(u.email);
  for (let i = 0; i < 5; i++) {
    const v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: String(100000 + i) }, browser });
    assert.equal(v.status, 401, v.text);
    assert.equal(v.data.error, 'invalid_code');
  }
  let v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(u.secret, 1) }, browser });
  assert.equal(v.status, 429, v.text);
  assert.equal(v.data.error, 'too_many_attempts');
  assert.equal(browser.pending, undefined, 'cookie cleared');
  assert.equal(browser.session, undefined);
  assert.equal(psql(dbUrl, `SELECT count(*) FROM passkey_pending_sign_ins p JOIN users u ON u.id = p.user_id`
    + ` WHERE u.email = '${u.email}'`).trim(), '0', 'the pending sign-in is deleted');

  // Five more wrong codes in a second sign-in: the user has 10 failures (LOGIN_MAX_ATTEMPTS).
  const second = await signIn(u.email);
  for (let i = 0; i < 5; i++)
    assert.equal((await call(S, '/api/auth/two-factor/verify-totp', { json: { code: '123456' },
      browser: second.browser })).status, 401);
  const third = await signIn(u.email);
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(u.secret, 1) }, browser: third.browser });
  assert.equal(v.status, 429, v.text);
  assert.equal(v.data.error, 'too_many_attempts');
  // Recovery codes are held back too.
  v = await call(S, '/api/auth/two-factor/verify-backup-code', { json: { code: u.backupCodes[0] }, browser: third.browser });
  assert.equal(v.status, 429);
  assert.equal(third.browser.session, undefined);
  // The window passes (moved back in the database): the right code works again.
  psql(dbUrl, `UPDATE totp_credentials SET failures_since = now() - interval '1 hour' WHERE user_id =`
    + ` (SELECT id FROM users WHERE email = '${u.email}')`);
  const fourth = await signIn(u.email);
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(u.secret, 1) }, browser: fourth.browser });
  assert.equal(v.status, 200, v.text);
});

test('recovery codes: each works once, in place of a code; case, spaces and hyphens do not matter; regenerating '
  + 'needs the password and retires the old ones', async () => {
  const u = await enrolledUser();
  let s = await signIn(u.email);
  let v = await call(S, '/api/auth/two-factor/verify-backup-code', { json: { code: u.backupCodes[0] }, browser: s.browser });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.data.session.amr, 'pwd,otp,mfa');
  assert.ok(s.browser.session);
  s = await signIn(u.email);
  v = await call(S, '/api/auth/two-factor/verify-backup-code', { json: { code: u.backupCodes[0] }, browser: s.browser });
  assert.equal(v.status, 401, 'spent');
  assert.equal(v.data.error, 'invalid_code');
  v = await call(S, '/api/auth/two-factor/verify-backup-code',
    { json: { code: ' ' + u.backupCodes[1].replace('-', ' ').toLowerCase() }, browser: s.browser });
  assert.equal(v.status, 200, v.text);
  assert.ok(s.browser.session);

  // New codes: the password is checked; the old unused ones stop working.
  let r = await call(S, '/api/auth/two-factor/generate-backup-codes', { json: { password: 'not the password' },
    browser: s.browser });
  assert.equal(r.status, 401);
  r = await call(S, '/api/auth/two-factor/generate-backup-codes', { json: { password: PASSWORD }, browser: s.browser });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.data.backupCodes.length, 10);
  const fresh = r.data.backupCodes;
  s = await signIn(u.email);
  v = await call(S, '/api/auth/two-factor/verify-backup-code', { json: { code: u.backupCodes[2] }, browser: s.browser });
  assert.equal(v.status, 401, 'retired');
  v = await call(S, '/api/auth/two-factor/verify-backup-code', { json: { code: fresh[9] }, browser: s.browser });
  assert.equal(v.status, 200, v.text);
});

test('disable requires the password; then sign-in needs none; generate-backup-codes without TOTP is refused',
  async () => {
  const u = await enrolledUser();
  let r = await call(S, '/api/auth/two-factor/disable', { json: { password: 'wrong password!' }, browser: u.browser });
  assert.equal(r.status, 401);
  r = await call(S, '/api/auth/two-factor/disable', { json: {}, browser: u.browser });
  assert.equal(r.status, 400);
  r = await call(S, '/api/auth/two-factor/disable', { json: { password: PASSWORD } });
  assert.equal(r.status, 401, 'no session');
  let s = await signIn(u.email);
  assert.equal(s.r.data.twoFactorRedirect, true, 'still on');
  r = await call(S, '/api/auth/two-factor/disable', { json: { password: PASSWORD }, browser: u.browser });
  assert.equal(r.status, 200, r.text);
  s = await signIn(u.email);
  assert.equal(s.r.status, 200);
  assert.ok(s.browser.session);
  assert.ok(!s.r.data.twoFactorRedirect);
  r = await call(S, '/api/auth/two-factor/generate-backup-codes', { json: { password: PASSWORD }, browser: u.browser });
  assert.equal(r.status, 400);
  assert.equal(r.data.error, 'totp_not_enabled');
  assert.equal(psql(dbUrl, `SELECT count(*) FROM recovery_codes c JOIN users u ON u.id = c.user_id`
    + ` WHERE u.email = '${u.email}'`).trim(), '0');
});

test('`dreamauth user two-factor-off <email>`: a user who lost the app and the codes signs in with the password again',
  async () => {
  const u = await enrolledUser();
  assert.equal((await signIn(u.email)).r.data.twoFactorRedirect, true);
  const env = { PATH: process.env.PATH, DATABASE_URL: dbUrl, AUTH_SECRET: TEST_SECRET, LOG_LEVEL: 'error' };
  const out = execFileSync(BIN, ['user', 'two-factor-off', u.email.toUpperCase()], { env, encoding: 'utf8' });
  assert.match(out, /TOTP and recovery codes removed/);
  const s = await signIn(u.email);
  assert.equal(s.r.status, 200);
  assert.ok(s.browser.session);
  assert.match(execFileSync(BIN, ['user', 'two-factor-off', u.email], { env, encoding: 'utf8' }), /had no TOTP/);
  assert.throws(() => execFileSync(BIN, ['user', 'two-factor-off', 'nobody@example.com'], { env, stdio: 'pipe' }));
  assert.throws(() => execFileSync(BIN, ['user', 'two-factor-off', 'not an address'], { env, stdio: 'pipe' }));
});

test('the pending sign-in expires; a forged, missing or foreign pending cookie finishes nothing', async () => {
  const u = await enrolledUser();
  const { browser } = await signIn(u.email);
  psql(dbUrl, `UPDATE passkey_pending_sign_ins SET expires_at = now() - interval '1 second' WHERE user_id =`
    + ` (SELECT id FROM users WHERE email = '${u.email}')`);
  let v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(u.secret, 1) }, browser });
  assert.equal(v.status, 401);
  assert.equal(v.data.error, 'second_factor_expired');
  assert.equal(browser.session, undefined);
  // Forged (well-formed but unknown), malformed, none.
  const forged = new Browser();
  forged.cookies.set(PENDING, randomBytes(32).toString('base64url'));
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(u.secret, 1) }, browser: forged });
  assert.equal(v.status, 401);
  assert.equal(v.data.error, 'second_factor_expired');
  const malformed = new Browser();
  malformed.cookies.set(PENDING, 'x'.repeat(5000));
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: '123456' }, browser: malformed });
  assert.equal(v.status, 401);
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: '123456' } });
  assert.equal(v.status, 401);
  assert.equal(v.data.error, 'second_factor_expired');
  // Another user's pending cookie with this user's code: the code is checked against the pending user's secret.
  const other = await enrolledUser();
  const theirs = await signIn(other.email);
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(u.secret, 1) }, browser: theirs.browser });
  assert.equal(v.status, 401);
  assert.equal(theirs.browser.session, undefined);
});

test('hostile codes: oversized, non-digits, wrong types, malformed JSON, forms and other origins; the server stays up',
  async () => {
  const u = await enrolledUser();
  const { browser } = await signIn(u.email);
  const cases = [
    [{ code: '1'.repeat(100) }, 400], [{ code: '12a456' }, 400], [{ code: '12345' }, 400], [{ code: '1234567' }, 400],
    [{ code: 123456 }, 400], [{ code: null }, 400], [{}, 400], [{ code: '１２３４５６' }, 400], [{ code: '123\u0000456' }, 400],
    [{ code: ['123456'] }, 400],
  ];
  for (const [json, status] of cases) {
    const v = await call(S, '/api/auth/two-factor/verify-totp', { json, browser });
    assert.equal(v.status, status, JSON.stringify(json) + ' ' + v.text);
    assert.ok(v.data && v.data.error, v.text);
  }
  for (const code of ['', 'ABCDE-FGHJI', 'A'.repeat(40), 'ABCDE-FGHJK-L']) {
    const v = await call(S, '/api/auth/two-factor/verify-backup-code', { json: { code }, browser });
    assert.equal(v.status, 400, code);
  }
  let v = await call(S, '/api/auth/two-factor/verify-totp', { json: '{"code": "1234', browser });
  assert.equal(v.status, 400);
  v = await call(S, '/api/auth/two-factor/verify-totp', { form: { code: '123456' }, browser });
  assert.equal(v.status, 415, 'a cross-site form cannot post here');
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: '123456' }, browser,
    headers: { origin: 'https://evil.example' } });
  assert.equal(v.status, 403);
  v = await call(S, '/api/auth/two-factor/verify-totp', { method: 'GET', browser });
  assert.equal(v.status, 405);
  v = await call(S, '/api/auth/two-factor/nope', { json: {}, browser });
  assert.equal(v.status, 404);
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: 'x'.repeat(70000) }, browser });
  assert.ok(v.status === 400 || v.status === 413, String(v.status));
  // None of the malformed ones counted as a guess: the pending sign-in still takes the right code.
  v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(u.secret, 1) }, browser });
  assert.equal(v.status, 200, v.text);
  assert.equal((await fetch(S.url + '/api/health')).status, 200);
});

test('an account with TOTP and a passkey second factor: both methods offered, the code page links the passkey page',
  async () => {
  const u = await enrolledUser();
  // A passkey and the passkey second factor, straight in the tables (the ceremony is passkeys.test.mjs's).
  psql(dbUrl, `INSERT INTO passkeys (user_id, credential_id, public_key, alg, aaguid, attestation_fmt, attestation_type,`
    + ` backup_eligible, backup_state, user_verified) SELECT id, '\\x${randomBytes(16).toString('hex')}', '\\x01', -7,`
    + ` gen_random_uuid(), 'none', 'none', false, false, true FROM users WHERE email = '${u.email}';`
    + ` INSERT INTO passkey_second_factor (user_id) SELECT id FROM users WHERE email = '${u.email}'`);
  const { browser, r } = await signIn(u.email);
  assert.deepEqual(r.data.twoFactorMethods, ['totp', 'passkey']);
  const page = await call(S, r.data.redirect, { browser });
  assert.equal(page.status, 200);
  assert.match(page.text, /<a href="\/login\/passkey\?rd=%2Faccount" id="use-passkey">/);
  // The TOTP still finishes it.
  const v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: await nextCode(u) }, browser });
  assert.equal(v.status, 200, v.text);
});

// ---- the form flow, without JavaScript ----

async function formSignIn(s, email, rd = '') {
  const browser = new Browser();
  const page = await call(s, '/login' + (rd ? `?rd=${encodeURIComponent(rd)}` : ''), { browser });
  return { browser, r: await call(s, '/login', { browser, form: { csrf: hidden(page.text, 'csrf'),
    rd: hidden(page.text, 'rd'), email, password: PASSWORD } }) };
}

test('forms: the password form goes to the code page; a wrong code shows the page again; the right one signs in '
  + 'and goes on; a recovery code too', async () => {
  const u = await enrolledUser();
  let { browser, r } = await formSignIn(S, u.email, '/account');
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), '/login/two-factor?rd=%2Faccount');
  assert.equal(browser.session, undefined);
  let page = await call(S, r.headers.get('location'), { browser });
  assert.equal(page.status, 200);
  assert.match(page.text, /name="code"/);
  assert.match(page.text, /Use a recovery code/);
  assert.ok(!page.text.includes('use-passkey'), 'no passkey second factor on this account');
  // No CSRF token: refused, the page again.
  let post = await call(S, '/login/two-factor', { browser, form: { rd: '/account', method: 'totp', code: '123456' } });
  assert.equal(post.status, 403);
  assert.match(post.text, /expired/);
  page = await call(S, '/login/two-factor?rd=%2Faccount', { browser });
  post = await call(S, '/login/two-factor', { browser, form: { csrf: hidden(page.text, 'csrf'), rd: '/account',
    method: 'totp', code: '000000' } });
  assert.equal(post.status, 401);
  assert.match(post.text, /wrong or was already used/);
  post = await call(S, '/login/two-factor', { browser, form: { csrf: hidden(post.text, 'csrf'), rd: '/account',
    method: 'totp', code: totp(u.secret, 1).replace(/^(...)/, '$1 ') } });
  assert.equal(post.status, 303, post.text);
  assert.equal(post.headers.get('location'), '/account');
  assert.equal((await me(browser)).data.session.amr, 'pwd,otp,mfa');
  // An open redirect is not one: rd elsewhere lands on /account.
  ({ browser, r } = await formSignIn(S, u.email));
  page = await call(S, '/login/two-factor?rd=https%3A%2F%2Fevil.example%2F', { browser });
  post = await call(S, '/login/two-factor', { browser, form: { csrf: hidden(page.text, 'csrf'),
    rd: 'https://evil.example/', method: 'recovery', code: u.backupCodes[3] } });
  assert.equal(post.status, 303, post.text);
  assert.equal(post.headers.get('location'), '/account');
  // The code page without a pending sign-in: back to the sign-in.
  const nobody = await call(S, '/login/two-factor', {});
  assert.equal(nobody.status, 401);
  assert.match(nobody.text, /sign in/i);
});

test('account page forms: enroll (QR code as SVG, the key, 10 codes), confirm, new codes, disable', async () => {
  const u = await signUp();
  let page = await call(S, '/account', { browser: u.browser });
  assert.match(page.text, /Two-factor authentication/);
  assert.match(page.text, /action="\/account\/two-factor\/enable"/);
  let r = await call(S, '/account/two-factor/enable', { browser: u.browser, form: { csrf: hidden(page.text, 'csrf'),
    password: 'wrong password!' } });
  assert.equal(r.status, 401);
  page = await call(S, '/account', { browser: u.browser });
  r = await call(S, '/account/two-factor/enable', { browser: u.browser, form: { csrf: hidden(page.text, 'csrf'),
    password: PASSWORD } });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
  assert.ok((r.text.match(/h1v1h-1z/g) || []).length > 200, 'QR modules');
  const secret = r.text.match(/id="totp-secret">([A-Z2-7]{32})</)[1];
  const codes = [...r.text.matchAll(/<li><code>([2-9A-Z]{5}-[2-9A-Z]{5})<\/code><\/li>/g)].map((m) => m[1]);
  assert.equal(codes.length, 10);
  assert.ok(r.headers.get('content-security-policy'));
  // A wrong code: the confirm form again, without the secret.
  r = await call(S, '/account/two-factor/confirm', { browser: u.browser, form: { csrf: hidden(r.text, 'csrf'),
    code: '000000' } });
  assert.equal(r.status, 401);
  assert.ok(!r.text.includes(secret));
  r = await call(S, '/account/two-factor/confirm', { browser: u.browser, form: { csrf: hidden(r.text, 'csrf'),
    code: totp(secret) } });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /is on/);
  page = await call(S, '/account', { browser: u.browser });
  assert.match(page.text, /On: sign-in asks/);
  assert.match(page.text, /10 recovery codes left/);
  r = await call(S, '/account/two-factor/recovery-codes', { browser: u.browser, form: { csrf: hidden(page.text, 'csrf'),
    password: PASSWORD } });
  assert.equal(r.status, 200);
  assert.equal([...r.text.matchAll(/<li><code>/g)].length, 10);
  page = await call(S, '/account', { browser: u.browser });
  r = await call(S, '/account/two-factor/disable', { browser: u.browser, form: { csrf: hidden(page.text, 'csrf'),
    password: PASSWORD } });
  assert.equal(r.status, 303);
  page = await call(S, '/account', { browser: u.browser });
  assert.match(page.text, /Off\. Add an authenticator app/);
  // Without a session, or a token: nothing happens.
  r = await call(S, '/account/two-factor/enable', { form: { csrf: 'x', password: PASSWORD } });
  assert.equal(r.status, 403);
  r = await call(S, '/account/two-factor/enable', { method: 'GET' });
  assert.equal(r.status, 405);
});

// ---- OIDC: amr and acr in ID tokens, acr_values, prompt=login, max_age ----

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

// Follows the browser through /oauth2/authorize, signing in (password, then
// the second factor with next()) whenever asked, until the client's redirect.
async function authorize(browser, email, params, { secondFactor, seen = [], tokenParams = {} } = {}) {
  const p = pkce();
  const q = new URLSearchParams({ client_id: CLIENT.clientId, redirect_uri: REDIRECT, response_type: 'code',
    scope: 'openid email', state: 'st', nonce: 'n0', code_challenge: p.challenge, code_challenge_method: 'S256', ...params });
  let r = await call(S, '/oauth2/authorize?' + q, { browser });
  for (let hops = 0; hops < 12; hops++) {
    const loc = r.headers.get('location');
    if ((r.status === 302 || r.status === 303) && loc.startsWith(REDIRECT)) {
      const code = new URL(loc).searchParams.get('code');
      assert.ok(code, loc);
      const t = await call(S, '/oauth2/token', { form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT,
        code_verifier: p.verifier, client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, ...tokenParams } });
      assert.equal(t.status, 200, t.text);
      return t.data;
    }
    if (r.status === 302 || r.status === 303) {
      const u = new URL(loc, S.url);
      if (u.pathname.startsWith('/login')) seen.push(u.pathname);
      if (u.pathname === '/login') {
        const page = await call(S, u.pathname + u.search, { browser });
        r = await call(S, '/login', { browser, form: { csrf: hidden(page.text, 'csrf'), rd: hidden(page.text, 'rd'), email,
          password: PASSWORD } });
        continue;
      }
      if (u.pathname === '/login/two-factor') {
        const page = await call(S, u.pathname + u.search, { browser });
        r = await call(S, '/login/two-factor', { browser, form: { csrf: hidden(page.text, 'csrf'),
          rd: hidden(page.text, 'rd'), method: 'totp', code: await secondFactor() } });
        continue;
      }
      r = await call(S, u.pathname + u.search, { browser });
      continue;
    }
    if (r.status === 200 && r.text.includes('action="/login"')) {
      seen.push('reauth');
      r = await call(S, '/login', { browser, form: { csrf: hidden(r.text, 'csrf'), rd: hidden(r.text, 'rd'), email,
        password: PASSWORD } });
      continue;
    }
    throw new Error(`unexpected ${r.status}: ${r.text.slice(0, 300)}`);
  }
  throw new Error('too many hops');
}

async function idClaims(tokens) {
  const jwks = jose.createRemoteJWKSet(new URL(S.url + '/jwks'));
  const { payload } = await jose.jwtVerify(tokens.id_token, jwks, { audience: CLIENT.clientId });
  return payload;
}

test('discovery publishes acr_values_supported and the acr claim', async () => {
  const d = (await call(S, '/.well-known/openid-configuration')).data;
  assert.deepEqual(d.acr_values_supported, [ACR_SFA, ACR_MFA]);
  assert.ok(d.claims_supported.includes('acr'));
  assert.ok(d.claims_supported.includes('amr'));
});

test('OIDC: a password + TOTP sign-in gives ID and access tokens with amr [pwd, otp, mfa] and acr mfa; '
  + 'a password-only one amr [pwd], acr sfa', async () => {
  const u = await enrolledUser();
  let step = 1;
  const tokens = await authorize(new Browser(), u.email, {}, { secondFactor: () => totp(u.secret, step++) });
  const id = await idClaims(tokens);
  assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(id.acr, ACR_MFA);
  assert.ok(Math.abs(id.auth_time - Date.now() / 1000) < 30);
  const at = jose.decodeJwt(tokens.access_token);
  assert.deepEqual(at.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(at.acr, ACR_MFA);

  const plain = await signUp();
  const t2 = await authorize(new Browser(), plain.email, {});
  const id2 = await idClaims(t2);
  assert.deepEqual(id2.amr, ['pwd']);
  assert.equal(id2.acr, ACR_SFA);
});

test('acr_values asking for mfa steps a one-factor session up (password + code again); a user with no second '
  + 'factor is asked once, then goes on with acr sfa; prompt=login and max_age ask for both factors again',
async () => {
  const u = await signUp();
  // A one-factor session: signed in before TOTP was on.
  const r = await call(S, '/api/auth/two-factor/enable', { json: { password: PASSWORD }, browser: u.browser });
  u.secret = secretOf(r.data.totpURI);
  u.lastStep = stepNow();
  assert.equal((await call(S, '/api/auth/two-factor/verify-totp', { json: { code: codeAtStep(u.secret, u.lastStep) },
    browser: u.browser })).status, 200);
  assert.equal((await me(u.browser)).data.session.amr, 'pwd');

  // Without acr_values, the one-factor session goes straight on.
  let seen = [];
  let t = await authorize(u.browser, u.email, {}, { seen });
  assert.deepEqual(seen, []);
  assert.equal((await idClaims(t)).acr, ACR_SFA);

  seen = [];
  t = await authorize(u.browser, u.email, { acr_values: ACR_MFA }, { seen, secondFactor: () => nextCode(u) });
  assert.deepEqual(seen, ['reauth', '/login/two-factor'], 'signed in again, with the code');
  let id = await idClaims(t);
  assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(id.acr, ACR_MFA);
  // Now the session has mfa: acr_values=mfa goes straight on.
  seen = [];
  t = await authorize(u.browser, u.email, { acr_values: 'mfa' }, { seen });
  assert.deepEqual(seen, []);
  // sfa accepted as well: no step-up needed even for a one-factor session.
  const plain = await signUp();
  seen = [];
  t = await authorize(plain.browser, plain.email, { acr_values: `${ACR_MFA} ${ACR_SFA}` }, { seen });
  assert.deepEqual(seen, []);
  // A user without a second factor asked for mfa: one re-authentication, then acr says sfa.
  seen = [];
  t = await authorize(plain.browser, plain.email, { acr_values: ACR_MFA }, { seen });
  assert.deepEqual(seen, ['reauth']);
  assert.equal((await idClaims(t)).acr, ACR_SFA);

  // prompt=login and max_age=0 with TOTP on: the password and the code again, a fresh auth_time.
  for (const params of [{ prompt: 'login' }, { max_age: '0' }]) {
    await sleep(1100);	// auth_time is whole seconds: the session is surely older than max_age=0
    seen = [];
    const before = Math.floor(Date.now() / 1000);
    t = await authorize(u.browser, u.email, params, { seen, secondFactor: () => nextCode(u) });
    assert.deepEqual(seen, ['reauth', '/login/two-factor'], JSON.stringify(params));
    id = await idClaims(t);
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
    assert.ok(id.auth_time >= before - 1, `${id.auth_time} >= ${before}`);
  }
  // prompt=none with acr_values=mfa and a one-factor session: login_required, back to the client.
  const p = new URLSearchParams({ client_id: CLIENT.clientId, redirect_uri: REDIRECT, response_type: 'code',
    scope: 'openid', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256', prompt: 'none',
    acr_values: ACR_MFA });
  const none = await call(S, '/oauth2/authorize?' + p, { browser: plain.browser });
  assert.equal(none.status, 302);
  assert.match(none.headers.get('location'), /error=login_required/);
});

// ---- /api/verify ----

test('/api/verify: X-Auth-AMR from the session and from Bearer tokens; FORWARD_AUTH_REQUIRE_MFA refuses one factor; '
  + 'FORWARD_AUTH_AMR_HEADER=false drops the header', async () => {
  const u = await enrolledUser();
  const s = await signIn(u.email);
  await call(S, '/api/auth/two-factor/verify-totp', { json: { code: await nextCode(u) }, browser: s.browser });
  let v = await call(S, '/api/verify', { browser: s.browser });
  assert.equal(v.status, 200);
  assert.equal(v.headers.get('x-auth-amr'), 'pwd,otp,mfa');
  const plain = await signUp();
  v = await call(S, '/api/verify', { browser: plain.browser });
  assert.equal(v.status, 200);
  assert.equal(v.headers.get('x-auth-amr'), 'pwd');

  const strict = await startServer({ DATABASE_URL: dbUrl, AUTH_URL: `http://localhost:${S.port}`,
    FORWARD_AUTH_REQUIRE_MFA: 'true', FORWARD_AUTH_AMR_HEADER: 'false' });
  v = await call(strict, '/api/verify', { browser: plain.browser });
  assert.equal(v.status, 403);
  assert.equal(v.data.error, 'mfa_required');
  v = await call(strict, '/api/verify', { browser: s.browser });
  assert.equal(v.status, 200);
  assert.equal(v.headers.get('x-auth-amr'), null);
  v = await call(strict, '/api/verify', {});
  assert.equal(v.status, 401, 'no session is still 401');

  // Bearer access tokens meant for forward-auth carry amr: the header and the rule read it.
  const resource = `http://localhost:${S.port}/api/verify`;
  const mfaToken = (await authorize(new Browser(), u.email, {}, { secondFactor: () => nextCode(u),
    tokenParams: { resource } })).access_token;
  const pwdToken = (await authorize(new Browser(), plain.email, {}, { tokenParams: { resource } })).access_token;
  v = await call(S, '/api/verify', { headers: { authorization: `Bearer ${mfaToken}` } });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.headers.get('x-auth-amr'), 'pwd,otp,mfa');
  v = await call(S, '/api/verify', { headers: { authorization: `Bearer ${pwdToken}` } });
  assert.equal(v.headers.get('x-auth-amr'), 'pwd');
  v = await call(strict, '/api/verify', { headers: { authorization: `Bearer ${pwdToken}` } });
  assert.equal(v.status, 403);
  v = await call(strict, '/api/verify', { headers: { authorization: `Bearer ${mfaToken}` } });
  assert.equal(v.status, 200);
  await strict.stop();
});

// ---- headless Chromium ----

test('Chromium: enroll TOTP from the account page, sign out, sign in with password + code, then with a recovery code',
  async (t) => {
  const chromium = await launchChromium(t);
  if (!chromium) return;
  const origin = `http://localhost:${S.port}`;
  try {
    const context = await chromium.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const u = await signUp();
    const signInForm = async () => {
      await page.goto(`${origin}/login`);
      await page.fill('input[name="email"]', u.email);
      await page.fill('input[name="password"]', PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    };
    await signInForm();
    await page.waitForURL(`${origin}/account`);
    // Enroll: the password, then the page with the QR code, the key and the codes.
    await page.fill('#two-factor-password', PASSWORD);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.waitForSelector('.qr svg');
    const box = await page.locator('.qr svg').boundingBox();
    assert.ok(box.width >= 200 && box.height >= 200, 'the QR code is drawn');
    const secret = (await page.locator('#totp-secret').textContent()).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const codes = (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
    assert.equal(codes.length, 10);
    const shotPath = join(S.dir, 'two-factor-enroll.png');
    await page.screenshot({ path: shotPath, fullPage: true });
    assert.ok(statSync(shotPath).size > 1000);
    await page.fill('input[name="code"]', totp(secret));
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await page.waitForSelector('text=Two-factor authentication is on');
    await page.goto(`${origin}/account`);
    assert.match(await page.locator('#two-factor-state').textContent(), /^On/);
    // Sign out, sign in: the code page, then the account.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${origin}/login`);
    await signInForm();
    await page.waitForURL(/\/login\/two-factor/);
    await page.fill('input[name="code"][autocomplete="one-time-code"]', totp(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${origin}/account`);
    const amr = await page.evaluate(async () => (await (await fetch('/api/auth/get-session')).json()).session.amr);
    assert.equal(amr, 'pwd,otp,mfa');
    // Again, with a recovery code.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${origin}/login`);
    await signInForm();
    await page.waitForURL(/\/login\/two-factor/);
    await page.getByText('Use a recovery code').click();
    await page.fill('input[name="code"][placeholder="XXXXX-XXXXX"]', codes[4]);
    await page.getByRole('button', { name: 'Use recovery code' }).click();
    await page.waitForURL(`${origin}/account`);
    assert.match(await page.locator('#two-factor-state').textContent(), /9 recovery codes left/);
    assert.deepEqual(errors, []);
    t.diagnostic(`screenshot: ${shotPath}`);
  } finally {
    await chromium.close();
  }
});
