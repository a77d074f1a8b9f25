// Email against the real binary and a real SMTP server (aiosmtpd, started
// here with STARTTLS and AUTH required, a self-signed certificate made with
// openssl at test time): verification links, password reset, emailed
// one-time codes, REQUIRE_EMAIL_VERIFICATION, ADMIN_EMAILS on verification,
// the outbox when the SMTP server is down (queued, then delivered exactly
// once), wrong SMTP credentials (retries with backoff, no secret in the
// logs), hostile input, and `dreamauth smtp test`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, chmodSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, freshDatabase, freePort, psql, sleep, TEST_SECRET, BIN, ROOT, rawRequest, statusOf, call, cookieFrom } from './harness.mjs';

const COOKIE = 'dreamauth_session';
const SMTP_USER = 'mailer';
const SMTP_PASS = 'smtp-pass-Zq8Xw3Lk';
const servers = [];
let smtp;		// { proc, port, out }
let certDir;
let dbUrl, S, B;	// S: mail on, registration open; B: same database, no SMTP

// ---- the SMTP server ----

function makeCert() {
  certDir = mkdtempSync(join(tmpdir(), 'dreamauth-smtp-'));
  chmodSync(certDir, 0o755);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'key.pem'),
    '-out', join(certDir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  chmodSync(join(certDir, 'cert.pem'), 0o644);	// the mailer runs as SERVICE_USER
}

async function startSmtp(port) {
  const out = join(certDir, 'messages.jsonl');
  const proc = spawn('/usr/bin/python3', [join(ROOT, 'tests/integration/smtp_server.py'), '--port', String(port),
    '--cert', join(certDir, 'cert.pem'), '--key', join(certDir, 'key.pem'), '--user', SMTP_USER,
    '--password', SMTP_PASS, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => { if (String(d).includes('READY')) resolve(); });
    proc.on('close', (code) => reject(new Error(`smtp server exited ${code}: ${err}`)));
  });
  const closed = new Promise((resolve) => proc.on('close', resolve));
  return { proc, port, out, closed };
}

async function stopSmtp() {
  smtp.proc.kill('SIGTERM');
  await smtp.closed;
}

function messages() {
  if (!existsSync(smtp.out)) return [];
  return readFileSync(smtp.out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const messagesTo = (addr) => messages().filter((m) => m.rcpt_tos.map((x) => x.toLowerCase()).includes(addr.toLowerCase()));

async function waitFor(pred, ms = 10000, what = 'condition') {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const v = await pred();
    if (v) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// The newest message to addr, once it has arrived.
async function mailTo(addr, n = 1) {
  return waitFor(() => { const m = messagesTo(addr); return m.length >= n ? m[n - 1] : null; }, 10000, `mail ${n} to ${addr}`);
}

const linkIn = (m) => m.text.match(/https?:\/\/\S+/)[0];
const codeIn = (m) => m.subject.match(/^(\d{6}) /)[1];

// ---- the server ----

function smtpEnv(extra = {}) {
  return { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), SMTP_USER, SMTP_PASS, SMTP_FROM: 'Example ID <auth@example.com>',
    SMTP_CA_FILE: join(certDir, 'cert.pem'), SMTP_POLL_INTERVAL: '1', SMTP_RETRY_BASE: '1', SMTP_TIMEOUT: '5', ...extra };
}

async function startServer(env = {}) {
  const s = new Server({ AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', LOGIN_IP_MAX_ATTEMPTS: '100000',
    EMAIL_IP_MAX: '100000', APP_NAME: 'Example ID', ...env });
  servers.push(s);
  await s.start();
  return s;
}

const signUp = (s, email, password = 'correct horse battery', extra = {}) =>
  call(s, '/api/auth/sign-up/email', { json: { email, password, ...extra } });
const signIn = (s, email, password = 'correct horse battery') =>
  call(s, '/api/auth/sign-in/email', { json: { email, password } });
const me = (s, cookie) => call(s, '/api/auth/me', { cookie });
// The link's path and query on server s (links name AUTH_URL's host).
const onServer = (s, link) => { const u = new URL(link); return u.pathname + u.search; };
const outboxCount = () => Number(psql(dbUrl, 'select count(*) from outbox'));

before(async () => {
  makeCert();
  smtp = await startSmtp(await freePort());
  dbUrl = freshDatabase('mail');
  S = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', ADMIN_EMAILS: 'boss@example.com',
    EMAIL_MAX_PER_ADDRESS: '3', ...smtpEnv() });
  B = await startServer({ DATABASE_URL: dbUrl });
});

after(async () => {
  for (const s of servers) await s.stop('SIGKILL').catch(() => {});
  if (smtp && smtp.proc.exitCode === null) await stopSmtp();
});

// ---- verification ----

test('sign-up queues a verification mail: STARTTLS, AUTH, multipart text+HTML, the app name; the link works once', async () => {
  const r = await signUp(S, 'Ann@Example.com', 'correct horse battery', { name: 'Ann', callbackURL: '/account' });
  assert.equal(r.status, 201, r.text);
  const m = await mailTo('Ann@Example.com');
  assert.equal(m.tls, true);
  assert.equal(m.auth, true);
  assert.equal(m.mail_from, 'auth@example.com');
  assert.equal(m.content_type, 'multipart/alternative');
  assert.equal(m.subject, 'Verify your email address for Example ID');
  assert.match(m.message_id, /^<outbox-\d+\.\d+@example\.com>$/);
  assert.match(m.html, /<a href="http:\/\/localhost:\d+\/api\/auth\/verify-email\?token=[A-Za-z0-9_-]{43}&amp;callbackURL=%2Faccount">/);
  const link = linkIn(m);
  assert.equal(psql(dbUrl, "select email_verified from users where email_normalized = 'ann@example.com'"), 'f');
  const ok = await call(S, onServer(S, link));
  assert.equal(ok.status, 302);
  assert.equal(ok.headers.get('location'), '/account');
  assert.equal(psql(dbUrl, "select email_verified from users where email_normalized = 'ann@example.com'"), 't');
  // once
  const again = await call(S, onServer(S, link));
  assert.equal(again.status, 302);
  assert.equal(again.headers.get('location'), '/account?error=INVALID_TOKEN');
  // only the hash is stored
  const token = new URL(link).searchParams.get('token');
  assert.equal(psql(dbUrl, `select count(*) from email_tokens where token_hash::text like '%${Buffer.from(token).toString('hex')}%'`), '0');
  // a delivered message keeps no link: its content is erased
  await waitFor(() => psql(dbUrl, "select delivered_at is not null from outbox where recipient = 'Ann@Example.com'") === 't',
    5000, 'delivered_at');
  assert.equal(psql(dbUrl, `select count(*) from outbox where subject || body_text || body_html like '%${token}%'`), '0');
});

test('verification link: expired refused; a foreign callbackURL is never followed; JSON without one', async () => {
  assert.equal((await signUp(S, 'exp@example.com')).status, 201);
  const link = linkIn(await mailTo('exp@example.com'));
  psql(dbUrl, "update email_tokens set expires_at = now() - interval '1 second' where used_at is null");
  const u = new URL(link);
  u.searchParams.set('callbackURL', 'https://evil.example/steal');
  const r = await call(S, u.pathname + u.search);
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'TOKEN_EXPIRED');
  assert.equal(r.headers.get('location'), null);
  assert.equal(psql(dbUrl, "select email_verified from users where email_normalized = 'exp@example.com'"), 'f');
  // ask again: a new link, which works (JSON answer without callbackURL)
  const send = await call(S, '/api/auth/send-verification-email', { json: { email: 'exp@example.com' } });
  assert.equal(send.status, 200);
  assert.deepEqual(send.json, { status: true });
  const r2 = await call(S, onServer(S, linkIn(await mailTo('exp@example.com', 2))));
  assert.equal(r2.status, 200);
  assert.deepEqual(r2.json, { status: true });
  // an unknown address: the same answer, no mail
  const before = outboxCount();
  const unknown = await call(S, '/api/auth/send-verification-email', { json: { email: 'ghost@example.com' } });
  assert.deepEqual([unknown.status, unknown.json], [send.status, send.json]);
  await sleep(500);	// the store's work follows the answer
  assert.equal(outboxCount(), before);
  const bad = await call(S, '/api/auth/send-verification-email', { json: { email: 'exp@example.com', callbackURL: 'https://evil.example/' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, 'invalid_redirect');
});

test('ADMIN_EMAILS grants admin only once the address is verified', async () => {
  const r = await signUp(S, 'boss@example.com');
  assert.equal(r.status, 201);
  const cookie = cookieFrom(r);
  assert.equal((await me(S, cookie)).json.user.isAdmin, false, 'not admin before verification');
  await call(S, onServer(S, linkIn(await mailTo('boss@example.com'))));
  assert.equal((await me(S, cookie)).json.user.isAdmin, true, 'admin once verified');
});

test('REQUIRE_EMAIL_VERIFICATION: no session at sign-up, password sign-in refused 403 EMAIL_NOT_VERIFIED until verified', async () => {
  const R = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', REQUIRE_EMAIL_VERIFICATION: 'true', ...smtpEnv() });
  const up = await signUp(R, 'strict@example.com');
  assert.equal(up.status, 201, up.text);
  assert.equal(up.json.token, null);
  assert.equal(cookieFrom(up), undefined);
  const no = await signIn(R, 'strict@example.com');
  assert.equal(no.status, 403);
  assert.equal(no.json.error, 'EMAIL_NOT_VERIFIED');
  assert.equal(cookieFrom(no), undefined);
  // a wrong password still says only "invalid": the 403 tells nothing to a guesser
  const wrong = await signIn(R, 'strict@example.com', 'wrong password 123');
  assert.equal(wrong.status, 401);
  await call(R, onServer(R, linkIn(await mailTo('strict@example.com'))));
  const yes = await signIn(R, 'strict@example.com');
  assert.equal(yes.status, 200);
  assert.ok(cookieFrom(yes));
  // the sign-up form: a page that says to check the mail, no session
  const page = await call(R, '/signup');
  const csrf = page.text.match(/name="csrf" value="([^"]+)"/)[1];
  const form = await call(R, '/signup', { form: { csrf, email: 'strict2@example.com', password: 'correct horse battery' },
    cookie: page.setCookies.map((c) => c.split(';')[0]).join('; ') });
  assert.equal(form.status, 201, form.text);
  assert.match(form.text, /Check your email/);
  assert.equal(cookieFrom(form), undefined);
  await mailTo('strict2@example.com');
  await R.stop();
});

// ---- password reset ----

test('request-password-reset answers the same for known and unknown addresses; one mail, to the known one', async () => {
  assert.equal((await signUp(S, 'resetme@example.com')).status, 201);
  await mailTo('resetme@example.com');	// its verification mail
  const before = outboxCount();
  const known = await call(S, '/api/auth/request-password-reset', { json: { email: 'resetme@example.com' } });
  const unknown = await call(S, '/api/auth/request-password-reset', { json: { email: 'nobody-here@example.com' } });
  assert.equal(known.status, 200);
  assert.deepEqual([unknown.status, unknown.text], [known.status, known.text]);
  assert.equal(known.json.status, true);
  await waitFor(() => outboxCount() === before + 1, 5000, 'the reset mail queued');
  await sleep(300);
  assert.equal(outboxCount(), before + 1, 'one message: none for the unknown address');
  const m = await mailTo('resetme@example.com', 2);
  assert.equal(m.subject, 'Reset your password for Example ID');
  // timing, for the record: known and unknown addresses (a server without the per-address limit)
  const T = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', ...smtpEnv(), EMAIL_MAX_PER_ADDRESS: '1000' });
  assert.equal((await signUp(T, 'timing@example.com')).status, 201);
  const times = { known: [], unknown: [] };
  for (let i = 0; i < 40; i++) {
    const pair = [['known', 'timing@example.com'], ['unknown', `nobody${i}@example.com`]];
    if (i % 2) pair.reverse();	// neither always follows the other's store work
    for (const [k, email] of pair) {
      const t0 = process.hrtime.bigint();
      const r = await call(T, '/api/auth/request-password-reset', { json: { email } });
      times[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
      assert.equal(r.text, known.text);
    }
  }
  const med = (a) => a.sort((x, y) => x - y)[a.length >> 1].toFixed(2);
  console.log(`request-password-reset median: known ${med(times.known)} ms, unknown ${med(times.unknown)} ms`);
  await T.stop();
  assert.match(linkIn(m), /\/reset-password\?token=[A-Za-z0-9_-]{43}$/);
  await sleep(1500);
  assert.equal(messagesTo('nobody-here@example.com').length, 0);
});

test('reset-password: works once, old password refused, every session and refresh token revoked', async () => {
  const email = 'rotate@example.com';
  assert.equal((await signUp(S, email)).status, 201);
  const a = cookieFrom(await signIn(S, email));
  const b = cookieFrom(await signIn(S, email));
  const uid = psql(dbUrl, `select id from users where email_normalized = '${email}'`);
  psql(dbUrl, `insert into oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at)
    values (sha256('rt-${uid}'), gen_random_uuid(), 'app', '${uid}', 'openid', now() + interval '1 day')`);
  assert.equal((await call(S, '/api/auth/request-password-reset', { json: { email } })).status, 200);
  const link = linkIn(await mailTo(email, 2));
  const token = new URL(link).searchParams.get('token');
  const weak = await call(S, '/api/auth/reset-password', { json: { token, newPassword: 'short' } });
  assert.equal(weak.status, 400);
  const r = await call(S, '/api/auth/reset-password', { json: { token, newPassword: 'brand new password 9' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: true });
  assert.equal((await signIn(S, email)).status, 401, 'old password refused');
  assert.equal((await signIn(S, email, 'brand new password 9')).status, 200);
  assert.equal((await me(S, a)).status, 401, 'session a revoked');
  assert.equal((await me(S, b)).status, 401, 'session b revoked');
  assert.equal(psql(dbUrl, `select count(*) from oauth_refresh_tokens where user_id = '${uid}' and revoked_at is null`), '0');
  const again = await call(S, '/api/auth/reset-password', { json: { token, newPassword: 'another password 10' } });
  assert.equal(again.status, 400);
  assert.equal(again.json.error, 'INVALID_TOKEN');
  assert.equal((await signIn(S, email, 'brand new password 9')).status, 200, 'the reused token changed nothing');
});

test('an admin sends a user a reset link (POST /api/admin/users/<id>/password-reset), audited in its transaction', async () => {
  const add = spawnSync(BIN, ['user', 'add', 'root@example.com', '--admin'], { input: 'correct horse battery\n',
    env: { PATH: process.env.PATH, DATABASE_URL: dbUrl, AUTH_SECRET: TEST_SECRET, ARGON2_MEMORY_KIB: '8192', ARGON2_ITERATIONS: '1' },
    encoding: 'utf8' });
  assert.equal(add.status, 0, add.stderr);
  const admin = cookieFrom(await signIn(S, 'root@example.com'));
  const email = 'helpme@example.com';
  assert.equal((await signUp(S, email)).status, 201);
  await mailTo(email);	// its verification mail
  const id = psql(dbUrl, `select id from users where email_normalized = '${email}'`);
  const origin = new URL(S.url).origin.replace('127.0.0.1', 'localhost');
  const r = await call(S, `/api/admin/users/${id}/password-reset`, { method: 'POST', json: {}, cookie: admin, headers: { origin } });
  assert.equal(r.status, 200, r.text);
  const m = await mailTo(email, 2);
  assert.equal(m.subject, 'Reset your password for Example ID');
  const token = new URL(linkIn(m)).searchParams.get('token');
  assert.equal((await call(S, '/api/auth/reset-password', { json: { token, newPassword: 'chosen by the user 1' } })).status, 200);
  assert.equal((await signIn(S, email, 'chosen by the user 1')).status, 200);
  // not an admin: refused, nothing queued
  const user = cookieFrom(await signIn(S, email, 'chosen by the user 1'));
  const before = outboxCount();
  const no = await call(S, `/api/admin/users/${id}/password-reset`, { method: 'POST', json: {}, cookie: user, headers: { origin } });
  assert.equal(no.status, 403);
  const ghost = await call(S, '/api/admin/users/00000000-0000-4000-8000-000000000000/password-reset',
    { method: 'POST', json: {}, cookie: admin, headers: { origin } });
  assert.equal(ghost.status, 404);
  await sleep(300);
  assert.equal(outboxCount(), before);
});

test('reset pages: "Forgot password?" on the login page, forms with CSRF, expired link refused', async () => {
  const login = await call(S, '/login');
  assert.match(login.text, /href="\/forgot-password"/);
  const page = await call(S, '/forgot-password');
  assert.equal(page.status, 200);
  const csrf = page.text.match(/name="csrf" value="([^"]+)"/)[1];
  const cookie = page.setCookies.map((c) => c.split(';')[0]).join('; ');
  const noCsrf = await call(S, '/forgot-password', { form: { email: 'resetme@example.com' } });
  assert.equal(noCsrf.status, 403);
  const sent = await call(S, '/forgot-password', { form: { email: 'resetme@example.com', csrf }, cookie });
  assert.equal(sent.status, 200, sent.text);
  assert.match(sent.text, /Check your email/);
  const link = linkIn(await mailTo('resetme@example.com', 3));
  const form = await call(S, onServer(S, link));
  assert.equal(form.status, 200);
  assert.match(form.text, /name="token" value="[A-Za-z0-9_-]{43}"/);
  psql(dbUrl, "update email_tokens set expires_at = now() - interval '1 second' where purpose = 'reset' and used_at is null");
  const csrf2 = form.text.match(/name="csrf" value="([^"]+)"/)[1];
  const cookie2 = form.setCookies.map((c) => c.split(';')[0]).join('; ');
  const token = new URL(link).searchParams.get('token');
  const r = await call(S, '/reset-password', { form: { csrf: csrf2, token, password: 'a fine new password' }, cookie: cookie2 });
  assert.equal(r.status, 400);
  assert.equal((await signIn(S, 'resetme@example.com')).status, 200, 'password unchanged');
  // a fresh link through the forms: the new password is set
  const page2 = await call(S, '/forgot-password');
  const csrf3 = page2.text.match(/name="csrf" value="([^"]+)"/)[1];
  await call(S, '/forgot-password', { form: { email: 'resetme@example.com', csrf: csrf3 },
    cookie: page2.setCookies.map((c) => c.split(';')[0]).join('; ') });
  const form2 = await call(S, onServer(S, linkIn(await mailTo('resetme@example.com', 4))));
  const done = await call(S, '/reset-password', { form: { csrf: form2.text.match(/name="csrf" value="([^"]+)"/)[1],
    token: form2.text.match(/name="token" value="([^"]+)"/)[1], password: 'a fine new password' },
  cookie: form2.setCookies.map((c) => c.split(';')[0]).join('; ') });
  assert.equal(done.status, 200, done.text);
  assert.match(done.text, /Password changed/);
  assert.equal((await signIn(S, 'resetme@example.com')).status, 401);
  assert.equal((await signIn(S, 'resetme@example.com', 'a fine new password')).status, 200);
});

// ---- emailed codes ----

const sendOtp = (s, email, type = 'sign-in') => call(s, '/api/auth/email-otp/send-verification-otp', { json: { email, type } });
const otpSignIn = (s, email, otp) => call(s, '/api/auth/sign-in/email-otp', { json: { email, otp } });

test('email code: sign-up by code, session with amr otp, address verified; a code works once', async () => {
  const r = await sendOtp(S, 'coder@example.com');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { success: true });
  const m = await mailTo('coder@example.com');
  const code = codeIn(m);
  assert.match(m.text, new RegExp(`\\b${code}\\b`));
  assert.notEqual(psql(dbUrl, "select encode(code_hash, 'hex') from email_otps where email_normalized = 'coder@example.com'"),
    execFileSync('sh', ['-c', `printf %s ${code} | sha256sum | cut -c1-64`], { encoding: 'utf8' }).trim(), 'not a plain hash');
  const ok = await otpSignIn(S, 'coder@example.com', code);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.user.email, 'coder@example.com');
  const session = await me(S, cookieFrom(ok));
  assert.equal(session.json.session.amr, 'otp');
  assert.equal(psql(dbUrl, "select email_verified from users where email_normalized = 'coder@example.com'"), 't');
  const again = await otpSignIn(S, 'coder@example.com', code);
  assert.equal(again.status, 400);
  assert.equal(again.json.error, 'INVALID_OTP');
});

test('email code: verify-email and reset-password by code (the reset revokes every session)', async () => {
  const email = 'otpreset@example.com';
  assert.equal((await signUp(S, email)).status, 201);
  const session = cookieFrom(await signIn(S, email));
  await mailTo(email);	// the sign-up's verification link
  assert.equal((await sendOtp(S, email, 'email-verification')).status, 200);
  const v = await call(S, '/api/auth/email-otp/verify-email', { json: { email, otp: codeIn(await mailTo(email, 2)) } });
  assert.equal(v.status, 200, v.text);
  assert.equal(psql(dbUrl, `select email_verified from users where email_normalized = '${email}'`), 't');
  assert.equal((await sendOtp(S, email, 'forget-password')).status, 200);
  const code = codeIn(await mailTo(email, 3));
  // a sign-in code is not a reset code
  assert.equal((await otpSignIn(S, email, code)).status, 400);
  const weak = await call(S, '/api/auth/email-otp/reset-password', { json: { email, otp: code, password: 'short' } });
  assert.equal(weak.status, 400);
  const r = await call(S, '/api/auth/email-otp/reset-password', { json: { email, otp: code, password: 'reset by code 123' } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await me(S, session)).status, 401, 'the old session is revoked');
  assert.equal((await signIn(S, email)).status, 401);
  assert.equal((await signIn(S, email, 'reset by code 123')).status, 200);
});

test('email code on an account with TOTP: the second factor comes first (twoFactorRedirect), then amr otp,mfa', async () => {
  const email = 'totpuser@example.com';
  const up = await signUp(S, email);
  const cookie = cookieFrom(up);
  const en = await call(S, '/api/auth/two-factor/enable', { json: { password: 'correct horse battery' }, cookie });
  assert.equal(en.status, 200, en.text);
  const secret = en.json.totpURI.match(/[?&]secret=([A-Z2-7]+)/)[1];
  const step = Math.floor(Date.now() / 30000);
  const totp = (st) => execFileSync('oathtool', ['--totp', '-b', secret, '-N', `@${st * 30 + 1}`], { encoding: 'utf8' }).trim();
  assert.equal((await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(step) }, cookie })).status, 200);
  await mailTo(email);	// the sign-up's verification link
  assert.equal((await sendOtp(S, email)).status, 200);
  const r = await otpSignIn(S, email, codeIn(await mailTo(email, 2)));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.twoFactorRedirect, true);
  assert.equal(cookieFrom(r), undefined, 'no session before the second factor');
  const pending = cookieFrom(r, 'dreamauth_2fa');
  assert.ok(pending);
  const v = await call(S, '/api/auth/two-factor/verify-totp', { json: { code: totp(step + 1) }, cookie: pending });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.session.amr, 'otp,mfa');
  assert.equal((await me(S, cookieFrom(v))).json.session.amr, 'otp,mfa');
});

test('email code: wrong codes exhaust it (then even the right one fails); expired refused', async () => {
  await sendOtp(S, 'brute@example.com');
  const code = codeIn(await mailTo('brute@example.com'));
  const wrong = String((Number(code) + 1) % 1000000).padStart(6, '0');
  assert.equal((await otpSignIn(S, 'brute@example.com', wrong)).json.error, 'INVALID_OTP');
  assert.equal((await otpSignIn(S, 'brute@example.com', wrong)).json.error, 'INVALID_OTP');
  const third = await otpSignIn(S, 'brute@example.com', wrong);
  assert.equal(third.status, 403);
  assert.equal(third.json.error, 'TOO_MANY_ATTEMPTS');
  const right = await otpSignIn(S, 'brute@example.com', code);
  assert.equal(right.status, 400);
  assert.equal(cookieFrom(right), undefined);
  assert.equal(psql(dbUrl, "select count(*) from users where email_normalized = 'brute@example.com'"), '0');
  // expired
  await sendOtp(S, 'brute@example.com');
  const code2 = codeIn(await mailTo('brute@example.com', 2));
  psql(dbUrl, "update email_otps set expires_at = now() - interval '1 second' where email_normalized = 'brute@example.com' and used_at is null");
  const late = await otpSignIn(S, 'brute@example.com', code2);
  assert.equal(late.status, 400);
  assert.equal(late.json.error, 'OTP_EXPIRED');
  // malformed codes never reach the store
  for (const otp of ['12345', '1234567', 'abcdef', '12 456', 123456]) {
    const r = await otpSignIn(S, 'brute@example.com', otp);
    assert.equal(r.status, 400, String(otp));
  }
});

test('email code: limited per address (EMAIL_MAX_PER_ADDRESS) and per IP (EMAIL_IP_MAX), 429 with Retry-After', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await sendOtp(S, 'limit@example.com')).status, 200);
  const fourth = await sendOtp(S, 'limit@example.com');
  assert.equal(fourth.status, 429);
  assert.ok(Number(fourth.headers.get('retry-after')) > 0);
  await sleep(1500);
  assert.equal(messagesTo('limit@example.com').length, 3);
  const L = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', ...smtpEnv(), EMAIL_IP_MAX: '4' });
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await sendOtp(L, `ip${i}@example.com`)).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  // guesses are limited per address too (LOGIN_MAX_ATTEMPTS, default 10)
  const guesses = [];
  for (let i = 0; i < 12; i++) guesses.push((await otpSignIn(L, 'guess@example.com', String(100000 + i))).status);
  assert.equal(guesses.filter((s) => s === 429).length, 2);
  await L.stop();
});

test('email code: no enumeration; with registration closed an unknown address gets nothing, and the same answer', async () => {
  const C = await startServer({ DATABASE_URL: dbUrl, ...smtpEnv() });	// ENABLE_REGISTRATION off
  const known = await sendOtp(C, 'coder@example.com');
  const unknown = await sendOtp(C, 'stranger@example.com');
  assert.deepEqual([unknown.status, unknown.text], [known.status, known.text]);
  await mailTo('coder@example.com', 2);
  await sleep(1000);
  assert.equal(messagesTo('stranger@example.com').length, 0);
  const guess = await otpSignIn(C, 'stranger@example.com', '123456');
  assert.equal(guess.status, 400);
  assert.equal(guess.json.error, 'INVALID_OTP');
  await C.stop();
});

// ---- delivery ----

test('SMTP server down: sign-up still succeeds, the mail waits, and arrives exactly once when it is back', async () => {
  await stopSmtp();
  const r = await signUp(S, 'patient@example.com');
  assert.equal(r.status, 201, r.text);
  await waitFor(() => Number(psql(dbUrl, "select attempts from outbox where recipient = 'patient@example.com'")) >= 1,
    10000, 'a failed attempt');
  assert.equal(psql(dbUrl, "select delivered_at is null from outbox where recipient = 'patient@example.com'"), 't');
  assert.match(psql(dbUrl, "select last_error from outbox where recipient = 'patient@example.com'"), /connect/i);
  smtp = await startSmtp(smtp.port);
  await mailTo('patient@example.com');
  await sleep(4000);	// several polls and retries later: still one
  assert.equal(messagesTo('patient@example.com').length, 1);
  assert.equal(psql(dbUrl, "select delivered_at is not null from outbox where recipient = 'patient@example.com'"), 't');
});

test('a queued message wakes the mailer at once (NOTIFY), not at its next poll', async () => {
  const db3 = freshDatabase('mailwake');
  const P = await startServer({ DATABASE_URL: db3, ENABLE_REGISTRATION: 'true', ...smtpEnv({ SMTP_POLL_INTERVAL: '60' }) });
  await sleep(500);	// past the mailer's first look at the outbox
  const ms = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    assert.equal((await signUp(P, `wake${i}@example.com`)).status, 201);
    await mailTo(`wake${i}@example.com`);
    ms.push(Date.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(`sign-up to delivered mail: median ${ms[2]} ms, max ${ms[4]} ms (poll interval 60 s)`);
  assert.ok(ms[4] < 5000, `slowest ${ms[4]} ms`);
  await P.stop();
});

test('the mailer restarts after a crash and delivers what was queued meanwhile', async () => {
  const pid = S.childPid('dreamauth: mailer');
  assert.ok(pid);
  process.kill(pid, 'SIGKILL');
  assert.equal((await signUp(S, 'aftercrash@example.com')).status, 201);
  await mailTo('aftercrash@example.com');
  assert.notEqual(S.childPid('dreamauth: mailer'), pid);
  assert.match(S.logs(), /mailer died from signal 9/);
  // the store restarting: the mailer gets a new link and goes on
  const store = S.childPid('dreamauth: store');
  process.kill(store, 'SIGKILL');
  await waitFor(async () => S.childPid('dreamauth: store') && S.childPid('dreamauth: store') !== store &&
    (await call(S, '/api/health')).status === 200, 15000, 'a new store');
  assert.equal((await signUp(S, 'afterstore@example.com')).status, 201);
  await mailTo('afterstore@example.com');
});

test('wrong SMTP password: retried with backoff, never delivered, the password in no log', async () => {
  const db2 = freshDatabase('mailauth');
  const W = await startServer({ DATABASE_URL: db2, ENABLE_REGISTRATION: 'true', ...smtpEnv({ SMTP_PASS: 'wrong-Secret-4711' }) });
  const t0 = Date.now();
  assert.equal((await signUp(W, 'denied@example.com')).status, 201);
  await waitFor(() => psql(db2, 'select attempts >= 3 and locked_until is null from outbox') === 't', 20000, 'three attempts');
  // backoff: 1 s, then 2 s between the first three attempts
  assert.ok(Date.now() - t0 >= 2500, `three attempts after ${Date.now() - t0} ms`);
  const row = psql(db2, "select attempts || '|' || (failed_at is null) || '|' || (delivered_at is null) || '|' || last_error from outbox");
  const [, stillTrying, undelivered, err] = row.split('|');
  assert.equal(stillTrying, 'true');
  assert.equal(undelivered, 'true');
  assert.match(err, /535|Login denied/);
  // backoff: the gaps between attempts grow (1 s, 2 s, 4 s ...)
  const gap = Number(psql(db2, 'select extract(epoch from next_attempt_at - now()) from outbox'));
  assert.ok(gap >= 1, `next attempt in ${gap} s`);
  assert.equal(messagesTo('denied@example.com').length, 0);
  await W.stop();
  assert.ok(!W.logs().includes('wrong-Secret-4711'), 'SMTP_PASS in the log');
  assert.match(W.logs(), /delivery of outbox message \d+ failed \(attempt \d+\): Login denied/);
  assert.ok(!S.logs().includes(SMTP_PASS), 'SMTP_PASS in the log');
});

test('SMTP_PASS is in the mailer\'s memory and in no other child\'s', async () => {
  // [every copy, copies not in an environment entry]
  const scan = (pid) => execFileSync('/usr/bin/python3', [join(ROOT, 'tests/integration/scan_memory.py'), String(pid), SMTP_PASS,
    'SMTP_PASS'], { encoding: 'utf8' }).trim().split(' ').map(Number);
  // ASan/UBSan's runtime keeps a copy of the environment it started with.
  const sanitizer = readFileSync(BIN).includes('AddressSanitizer');
  const children = S.children().filter((c) => c.title.startsWith('dreamauth: '));
  const mailer = children.find((c) => c.title === 'dreamauth: mailer');
  assert.ok(mailer);
  assert.ok(scan(mailer.pid)[1] >= 1, 'the scanner finds it where it is');
  for (const c of children.filter((x) => x !== mailer)) {
    const [all, bare] = scan(c.pid);
    assert.equal(bare, 0, `${c.title} holds SMTP_PASS`);
    if (!sanitizer) assert.equal(all, 0, `${c.title} holds SMTP_PASS in an environment copy`);
  }
});

// ---- hostile input ----

test('hostile input: CR/LF in addresses and names, oversized and malformed bodies; nothing stored, server up', async () => {
  const before = outboxCount();
  const users = psql(dbUrl, 'select count(*) from users');
  for (const email of ['a@example.com\r\nBcc: victim@example.com', 'a@example.com\nRCPT TO:<x@y.z>', '<a@example.com>', 'a@@example.com']) {
    for (const [path, body] of [['/api/auth/send-verification-email', { email }], ['/api/auth/request-password-reset', { email }],
      ['/api/auth/email-otp/send-verification-otp', { email, type: 'sign-in' }], ['/api/auth/sign-in/email-otp', { email, otp: '123456' }]]) {
      const r = await call(S, path, { json: body });
      assert.equal(r.status, 400, `${path} ${JSON.stringify(email)}`);
      assert.equal(r.json.error, 'invalid_email');
    }
  }
  const name = await signUp(S, 'named@example.com', 'correct horse battery', { name: 'Eve\r\nBcc: victim@example.com' });
  assert.equal(name.status, 400);
  assert.equal((await sendOtp(S, 'x@example.com', 'change-email')).json.error, 'invalid_type');
  assert.equal((await call(S, '/api/auth/request-password-reset', { json: '{"email": ' })).status, 400);
  assert.equal((await call(S, '/api/auth/reset-password', { json: { token: 'x'.repeat(5000), newPassword: 'long enough pw' } })).status, 400);
  const body70k = JSON.stringify({ email: 'resetme@example.com', pad: 'x'.repeat(70000) });
  const huge = await rawRequest(S.port, 'POST /api/auth/request-password-reset HTTP/1.1\r\nHost: x\r\n' +
    `Content-Type: application/json\r\nContent-Length: ${body70k.length}\r\n\r\n${body70k}`);
  assert.equal(statusOf(huge), 413);
  const form = await call(S, '/api/auth/request-password-reset', { form: { email: 'resetme@example.com' } });
  assert.equal(form.status, 415, 'a cross-site form cannot ask for mail');
  assert.equal((await call(S, '/api/auth/verify-email?token=%ZZ')).status, 400);
  assert.equal(outboxCount(), before);
  assert.equal(psql(dbUrl, 'select count(*) from users'), users);
  assert.equal((await call(S, '/api/health')).status, 200);
});

test('SMTP_HOST unset: the email paths answer 501 email_disabled; /forgot-password says so', async () => {
  for (const [path, body] of [['/api/auth/send-verification-email', { email: 'a@example.com' }],
    ['/api/auth/request-password-reset', { email: 'a@example.com' }], ['/api/auth/reset-password', { token: 'x', newPassword: 'long enough pw' }],
    ['/api/auth/email-otp/send-verification-otp', { email: 'a@example.com', type: 'sign-in' }],
    ['/api/auth/sign-in/email-otp', { email: 'a@example.com', otp: '123456' }]]) {
    const r = await call(B, path, { json: body });
    assert.equal(r.status, 501, path);
    assert.equal(r.json.error, 'email_disabled');
  }
  assert.equal((await call(B, '/forgot-password')).status, 501);
  assert.doesNotMatch((await call(B, '/login')).text, /forgot-password/);
  assert.equal(B.childPid('dreamauth: mailer'), undefined, 'no mailer without SMTP_HOST');
});

// ---- the CLI ----

function smtpTest(env, address) {
  return spawnSync(BIN, ['smtp', 'test', address], {
    env: { PATH: process.env.PATH, DATABASE_URL: dbUrl, AUTH_SECRET: TEST_SECRET, APP_NAME: 'Example ID', ...env }, encoding: 'utf8', timeout: 30000,
  });
}

test('dreamauth smtp test: sends one message now; a dead port or wrong password exits 1 with the SMTP error', async () => {
  const ok = smtpTest(smtpEnv(), 'ops@example.com');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /sent a test message to ops@example.com/);
  const m = await mailTo('ops@example.com');
  assert.equal(m.subject, 'Test message from Example ID');
  const dead = smtpTest(smtpEnv({ SMTP_PORT: String(await freePort()) }), 'ops@example.com');
  assert.equal(dead.status, 1);
  assert.match(dead.stderr, /connect/i);
  const denied = smtpTest(smtpEnv({ SMTP_PASS: 'not-the-Pass-77' }), 'ops@example.com');
  assert.equal(denied.status, 1);
  assert.match(denied.stderr, /Login denied|535/);
  assert.ok(!denied.stderr.includes('not-the-Pass-77'));
  const bad = smtpTest(smtpEnv(), 'ops@example.com\r\nBcc: x@y.z');
  assert.equal(bad.status, 2);
  assert.equal(messagesTo('ops@example.com').length, 1);
});

// ---- the audit log (store/audit.h) of every email flow ----

test('audit: each email flow recorded once with client IP and user agent; no token, code or password anywhere', async () => {
  const adb = freshDatabase('mailaudit');
  const A = await startServer({ DATABASE_URL: adb, ENABLE_REGISTRATION: 'true', REQUIRE_EMAIL_VERIFICATION: 'true',
    AUDIT_LOG: 'stdout', EMAIL_MAX_PER_ADDRESS: '1000', ...smtpEnv() });
  const UA = 'mail-audit-test/1.0';
  const email = 'audited@example.com', ghost = 'ghost-audit@example.com';
  const pw = 'first Password 4711', pw2 = 'second Password 4712', pw3 = 'third Password 4713';
  const secrets = new Set([pw, pw2, pw3]);
  const ua = (path, opts = {}) => call(A, path, { ...opts, headers: { 'user-agent': UA, ...(opts.headers ?? {}) } });
  const link = async (n) => { const l = linkIn(await mailTo(email, n)); secrets.add(new URL(l).searchParams.get('token')); return l; };
  const code = async (n) => { const c = codeIn(await mailTo(email, n)); secrets.add(c); return c; };
  const cookie = (r) => { const c = cookieFrom(r); if (c) secrets.add(c.split('=')[1]); return c; };
  // "event/result/method" -> count, and the expected tally
  const counts = () => Object.fromEntries(psql(adb,
    "select event || '/' || result || '/' || method || '=' || count(*) from audit_log group by event, result, method")
    .split('\n').filter(Boolean).map((l) => l.split('=')).map(([k, v]) => [k, Number(v)]));
  const want = {};
  const expect = async (add, what) => {
    for (const [k, v] of Object.entries(add)) want[k] = (want[k] ?? 0) + v;
    let got;
    for (let i = 0; i < 100; i++) {	// the mail requests' and the workers' records follow the answer
      got = counts();
      if (JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(want).sort())) break;
      await sleep(30);
    }
    assert.deepEqual(got, want, what);
  };
  const reasons = (event, method) => psql(adb, `select string_agg(detail->>'reason', ',' order by id) from audit_log
    where event = '${event}' and method = '${method}' and result = 'failure'`);

  // sign-up (the SIGN_UP_VERIFY path: SMTP is configured), refused sign-in (not verified)
  assert.equal((await ua('/api/auth/sign-up/email', { json: { email, password: pw } })).status, 201);
  await expect({ 'sign_up/success/password': 1 }, 'sign-up');
  const link1 = await link(1);
  const refused = await ua('/api/auth/sign-in/email', { json: { email, password: pw } });
  assert.equal(refused.json.error, 'EMAIL_NOT_VERIFIED');
  await expect({ 'sign_in/failure/password': 1 }, 'sign-in before verification');
  assert.equal(reasons('sign_in', 'password'), 'email_not_verified');

  // a verification mail asked for (an unknown address: nothing), the link used, then again
  assert.equal((await ua('/api/auth/send-verification-email', { json: { email } })).status, 200);
  assert.equal((await ua('/api/auth/send-verification-email', { json: { email: ghost } })).status, 200);
  await link(2);
  await expect({ 'email_verification_request/success/email_link': 1 }, 'verification mail');
  assert.equal((await ua(onServer(A, link1))).status, 200);
  await expect({ 'email_verify/success/email_link': 1 }, 'verified by link');
  assert.equal((await ua(onServer(A, link1))).status, 400);
  await expect({ 'email_verify/failure/email_link': 1 }, 'a used link');

  // password reset: known and unknown addresses answer the same; the unknown one is a failure
  const session = cookie(await ua('/api/auth/sign-in/email', { json: { email, password: pw } }));
  await expect({ 'sign_in/success/password': 1 }, 'sign-in');
  const known = await ua('/api/auth/request-password-reset', { json: { email } });
  const unknown = await ua('/api/auth/request-password-reset', { json: { email: ghost } });
  assert.deepEqual([unknown.status, unknown.text], [known.status, known.text]);
  await expect({ 'password_reset_request/success/email_link': 1, 'password_reset_request/failure/email_link': 1 },
    'reset requests');
  assert.equal(reasons('password_reset_request', 'email_link'), 'unknown_account');
  assert.equal(psql(adb, "select detail->>'name' from audit_log where event = 'password_reset_request' and result = 'failure'"), ghost);
  const token = new URL(await link(3)).searchParams.get('token');
  assert.equal((await ua('/api/auth/reset-password', { json: { token, newPassword: pw2 } })).status, 200);
  await expect({ 'password_reset/success/email_link': 1 }, 'reset by link');
  assert.equal(psql(adb, "select detail->>'sessions' from audit_log where event = 'password_reset'"), '1');
  assert.equal((await me(A, session)).status, 401);
  assert.equal((await ua('/api/auth/reset-password', { json: { token, newPassword: pw3 } })).status, 400);
  assert.equal((await ua('/api/auth/reset-password', { json: { token: 'x'.repeat(43), newPassword: pw3 } })).status, 400);
  await expect({ 'password_reset/failure/email_link': 2 }, 'reset with a used and an unknown token');
  assert.equal(reasons('password_reset', 'email_link'), 'used,invalid');

  // sign-in by emailed code: sent, a wrong code, the right one; then exhausted, then expired
  const metric = async (result) => {
    const text = await (await fetch(A.url + '/metrics')).text();
    const m = text.match(new RegExp(`^dreamauth_sign_ins_total\\{method="email_otp",result="${result}"\\} (\\d+)$`, 'm'));
    return m ? Number(m[1]) : 0;
  };
  const otp = (c) => ua('/api/auth/sign-in/email-otp', { json: { email, otp: c } });
  const wrongOf = (c) => String((Number(c) + 1) % 1000000).padStart(6, '0');
  assert.equal((await ua('/api/auth/email-otp/send-verification-otp', { json: { email, type: 'sign-in' } })).status, 200);
  let c = await code(4);
  await expect({ 'email_otp_request/success/email_otp': 1 }, 'code sent');
  assert.equal((await otp(wrongOf(c))).status, 400);
  const signedIn = await otp(c);
  assert.equal(signedIn.status, 200, signedIn.text);
  cookie(signedIn);
  await expect({ 'sign_in/failure/email_otp': 1, 'sign_in/success/email_otp': 1 }, 'sign-in by code');
  assert.equal(psql(adb, "select detail->>'amr' from audit_log where event = 'sign_in' and method = 'email_otp' and result = 'success'"), 'otp');
  assert.equal(await metric('success'), 1);
  // A refused code's row is written after the answer (a separate store call,
  // any pool thread): wait for each before the next request, so the rows'
  // order is the requests' order.
  await ua('/api/auth/email-otp/send-verification-otp', { json: { email, type: 'sign-in' } });
  c = await code(5);
  await expect({ 'email_otp_request/success/email_otp': 1 }, 'second code sent');
  for (let i = 0; i < 3; i++) {
    await otp(wrongOf(c));
    await expect({ 'sign_in/failure/email_otp': 1 }, `wrong code ${i + 1}`);
  }
  await ua('/api/auth/email-otp/send-verification-otp', { json: { email, type: 'sign-in' } });
  c = await code(6);
  psql(adb, "update email_otps set expires_at = now() - interval '1 second' where used_at is null");
  assert.equal((await otp(c)).json.error, 'OTP_EXPIRED');
  await expect({ 'email_otp_request/success/email_otp': 1, 'sign_in/failure/email_otp': 1 }, 'refused codes');
  assert.equal(reasons('sign_in', 'email_otp'), 'invalid,invalid,invalid,too_many_attempts,expired');
  assert.equal(await metric('failure'), 5);

  // verification and reset by code
  await ua('/api/auth/email-otp/send-verification-otp', { json: { email, type: 'email-verification' } });
  assert.equal((await ua('/api/auth/email-otp/verify-email', { json: { email, otp: await code(7) } })).status, 200);
  await ua('/api/auth/email-otp/send-verification-otp', { json: { email, type: 'forget-password' } });
  c = await code(8);
  assert.equal((await ua('/api/auth/email-otp/reset-password', { json: { email, otp: wrongOf(c), password: pw3 } })).status, 400);
  assert.equal((await ua('/api/auth/email-otp/reset-password', { json: { email, otp: c, password: pw3 } })).status, 200);
  await expect({ 'email_otp_request/success/email_otp': 2, 'email_verify/success/email_otp': 1,
    'password_reset/failure/email_otp': 1, 'password_reset/success/email_otp': 1 }, 'verification and reset by code');

  // every row: this client's address and user agent, and no secret in the rows or the stdout lines
  assert.equal(psql(adb, `select count(*) from audit_log where client_ip is distinct from '127.0.0.1'
    or user_agent is distinct from '${UA}'`), '0');
  const all = psql(adb, "select string_agg(a::text, E'\\n') from audit_log a");
  const ids = psql(adb, "select string_agg(id::text, ',' order by id) from audit_log").split(',').map(Number);
  let lines;
  for (let i = 0; i < 50; i++) {
    lines = A.logs().split('\n').filter((l) => l.startsWith('{"id"'));
    if (lines.length >= ids.length) break;
    await sleep(50);
  }
  assert.deepEqual(lines.map((l) => JSON.parse(l).id).sort((a, b) => a - b), ids, 'one stdout line per row');
  assert.ok(secrets.size >= 13, `tokens, codes, passwords and cookies to look for: ${secrets.size}`);
  for (const s of secrets) {
    assert.ok(!all.includes(s), `a secret in audit_log: ${s}`);
    assert.ok(!A.logs().includes(s), `a secret in the server's output: ${s}`);
  }
});
