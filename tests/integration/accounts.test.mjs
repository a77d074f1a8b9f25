// Accounts, password sign-in, sessions and forward-auth against the real
// binary: JSON and no-JavaScript form flows, CSRF, brute-force limits,
// hostile input (nothing stored changes, the server stays healthy),
// /api/verify for nginx and Traefik, cross-instance revocation over
// LISTEN/NOTIFY, the `dreamauth user` CLI (add, list, disable, enable, passwd,
// set) while the server runs, expiry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, freshDatabase, psql, sleep, TEST_SECRET, BIN, rawRequest, statusOf, call, cookieFrom } from './harness.mjs';

const COOKIE = 'dreamauth_session';
const servers = [];
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

async function startServer(env = {}) {
  const s = new Server({ AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', ...env });
  servers.push(s);
  await s.start();
  return s;
}

const signUp = (s, email, password = 'correct horse battery', extra = {}) =>
  call(s, '/api/auth/sign-up/email', { json: { email, password, ...extra } });
const signIn = (s, email, password = 'correct horse battery', headers = {}) =>
  call(s, '/api/auth/sign-in/email', { json: { email, password }, headers });
const verify = (s, cookie, headers = {}) => call(s, '/api/verify', { cookie, headers });

function cli(env, args, input) {
  return spawnSync(BIN, ['user', ...args], {
    env: { PATH: process.env.PATH, ARGON2_MEMORY_KIB: '8192', ARGON2_ITERATIONS: '1', ...env },
    input: input ?? '', encoding: 'utf8', timeout: 60000,
  });
}

// Polls until /api/verify with cookie answers 401 on s; returns the ms it took.
async function msUntilRevoked(s, cookie, limitMs = 3000) {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    if ((await verify(s, cookie)).status === 401) return Date.now() - t0;
    await sleep(50);
  }
  return Infinity;
}

let S;		// registration open, admin email configured
let B;		// a second instance on the same database, registration closed
let dbUrl;
const usersChecksum = () => psql(dbUrl,
  "select count(*) || ':' || coalesce(md5(string_agg(id || email || email_normalized || name || coalesce(password_hash, '') || is_admin || disabled || array_to_string(groups, ','), '|' order by id)), '') from users");

before(async () => {
  dbUrl = freshDatabase('acct');
  S = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true', ADMIN_EMAILS: 'Boss@Example.com',
    LOGIN_IP_MAX_ATTEMPTS: '100000', WORKERS: '2' });
  B = await startServer({ DATABASE_URL: dbUrl, WORKERS: '2', LOGIN_IP_MAX_ATTEMPTS: '100000' });
});

test('sign-up (JSON): 201, session cookie HttpOnly, SameSite=Lax, Path=/, no Secure on http://localhost', async () => {
  const r = await signUp(S, 'alice@example.com', 'correct horse battery', { name: 'Alice' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.user.email, 'alice@example.com');
  assert.equal(r.json.user.name, 'Alice');
  assert.match(r.json.user.id, /^[0-9a-f-]{36}$/);
  const line = r.setCookies.find((c) => c.startsWith(COOKIE + '='));
  assert.ok(line, 'session cookie set');
  const attrs = line.split(';').map((x) => x.trim().toLowerCase());
  assert.ok(attrs.includes('httponly'));
  assert.ok(attrs.includes('samesite=lax'));
  assert.ok(attrs.includes('path=/'));
  assert.ok(!attrs.includes('secure'), 'no Secure on an http://localhost issuer');
  assert.match(line, new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43};`));
  assert.equal((await verify(S, cookieFrom(r))).status, 200);
  const stored = psql(dbUrl, "select password_hash from users where email_normalized = 'alice@example.com'");
  assert.match(stored, /^\$argon2id\$/);
  assert.ok(!stored.includes('correct horse'));
});

test('registration disabled: 403 for JSON and the form, nothing stored', async () => {
  const before = usersChecksum();
  const r = await signUp(B, 'nobody@example.com');
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'registration_disabled');
  const page = await call(B, '/signup');
  assert.equal(page.status, 403);
  const form = await call(B, '/signup', { form: { email: 'nobody@example.com', password: 'correct horse battery' } });
  assert.equal(form.status, 403);
  assert.equal(usersChecksum(), before);
});

// An address nobody verified is not an admin's (issue 11): ADMIN_EMAILS is
// granted when the address is verified, which needs SMTP (mail.test.mjs).
test('ADMIN_EMAILS does not make an unverified sign-up admin; others are not either', async () => {
  const boss = await signUp(S, 'boss@example.com');
  assert.equal(boss.status, 201);
  const me = await call(S, '/api/auth/me', { cookie: cookieFrom(boss) });
  assert.equal(me.status, 200);
  assert.equal(me.json.user.isAdmin, false);
  const alice = await signIn(S, 'alice@example.com');
  const me2 = await call(S, '/api/auth/me', { cookie: cookieFrom(alice) });
  assert.equal(me2.json.user.isAdmin, false);
  assert.equal(me2.json.user.email, 'alice@example.com');
  assert.equal(me2.json.session.amr, 'pwd');
});

test('duplicate sign-up: 409, also with different case and surrounding spaces', async () => {
  const before = usersChecksum();
  for (const email of ['alice@example.com', 'ALICE@Example.COM', '  alice@example.com ']) {
    const r = await signUp(S, email, 'another password 1');
    assert.equal(r.status, 409, email);
    assert.equal(r.json.error, 'user_exists');
    assert.equal(cookieFrom(r), undefined, 'no session for a refused sign-up');
  }
  assert.equal(usersChecksum(), before);
  // The original password still works: the duplicate did not overwrite it.
  assert.equal((await signIn(S, 'alice@example.com')).status, 200);
});

test('sign-in: right password 200, wrong 401, unknown email the same 401 body; weak sign-up password 400', async () => {
  const ok = await signIn(S, 'Alice@Example.com');
  assert.equal(ok.status, 200);
  assert.ok(cookieFrom(ok));
  const wrong = await signIn(S, 'alice@example.com', 'not the password');
  const unknown = await signIn(S, 'ghost@example.com', 'not the password');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.equal(wrong.text, unknown.text, 'no account enumeration through the body');
  assert.equal(cookieFrom(wrong), undefined);
  const weak = await signUp(S, 'weak@example.com', 'short');
  assert.equal(weak.status, 400);
  assert.equal(weak.json.error, 'weak_password');
});

test('/api/auth/me: 200 with a session, 401 without', async () => {
  const r = await signIn(S, 'alice@example.com');
  const me = await call(S, '/api/auth/me', { cookie: cookieFrom(r) });
  assert.equal(me.status, 200);
  assert.equal(me.json.user.id, r.json.user.id);
  assert.equal(me.json.session.id, r.json.session.id);
  assert.equal((await call(S, '/api/auth/me')).status, 401);
  assert.equal((await call(S, '/api/auth/me', { cookie: `${COOKIE}=${'A'.repeat(43)}` })).status, 401);
});

test('sessions: list marks the current one; revoking another kills it at once; foreign ids are 404', async () => {
  await signUp(S, 'sessions@example.com');
  const a = cookieFrom(await signIn(S, 'sessions@example.com'));
  const bRes = await signIn(S, 'sessions@example.com');
  const b = cookieFrom(bRes);
  assert.equal((await verify(S, b)).status, 200);
  const list = await call(S, '/api/auth/sessions', { cookie: a });
  assert.equal(list.status, 200);
  assert.ok(list.json.sessions.length >= 3);
  assert.equal(list.json.sessions.filter((x) => x.current).length, 1);
  assert.ok(list.json.sessions.some((x) => x.id === bRes.json.session.id && !x.current));
  const rv = await call(S, '/api/auth/sessions/revoke', { json: { id: bRes.json.session.id }, cookie: a });
  assert.equal(rv.status, 200);
  for (let i = 0; i < 10; i++) assert.equal((await verify(S, b)).status, 401, 'revoked session dead on every worker');
  assert.equal((await verify(S, a)).status, 200);
  const again = await call(S, '/api/auth/sessions/revoke', { json: { id: bRes.json.session.id }, cookie: a });
  assert.equal(again.status, 404);
  // Someone else's session id: not found, and that session lives on.
  const other = await signIn(S, 'alice@example.com');
  const foreign = await call(S, '/api/auth/sessions/revoke', { json: { id: other.json.session.id }, cookie: a });
  assert.equal(foreign.status, 404);
  assert.equal((await verify(S, cookieFrom(other))).status, 200);
  const garbage = await call(S, '/api/auth/sessions/revoke', { json: { id: "x' or 1=1 --" }, cookie: a });
  assert.equal(garbage.status, 404);
  assert.equal((await call(S, '/api/auth/sessions/revoke', { json: {}, cookie: a })).status, 400);
});

test('change password: wrong current 403; right 200, others revoked at once, current kept, old fails, new works', async () => {
  await signUp(S, 'changer@example.com', 'old password 123');
  const cur = cookieFrom(await signIn(S, 'changer@example.com', 'old password 123'));
  const other = cookieFrom(await signIn(S, 'changer@example.com', 'old password 123'));
  assert.equal((await verify(S, other)).status, 200);
  const bad = await call(S, '/api/auth/change-password', { cookie: cur,
    json: { currentPassword: 'wrong password', newPassword: 'new password 456' } });
  assert.equal(bad.status, 403);
  assert.equal((await verify(S, other)).status, 200, 'a failed change revokes nothing');
  const weak = await call(S, '/api/auth/change-password', { cookie: cur,
    json: { currentPassword: 'old password 123', newPassword: 'short' } });
  assert.equal(weak.status, 400);
  const noSession = await call(S, '/api/auth/change-password', {
    json: { currentPassword: 'old password 123', newPassword: 'new password 456' } });
  assert.equal(noSession.status, 401);
  const ok = await call(S, '/api/auth/change-password', { cookie: cur,
    json: { currentPassword: 'old password 123', newPassword: 'new password 456' } });
  assert.equal(ok.status, 200, ok.text);
  for (let i = 0; i < 10; i++) assert.equal((await verify(S, other)).status, 401, 'other session revoked');
  assert.equal((await verify(S, cur)).status, 200, 'current session stays');
  assert.equal((await signIn(S, 'changer@example.com', 'old password 123')).status, 401);
  assert.equal((await signIn(S, 'changer@example.com', 'new password 456')).status, 200);
});

test('failed revocations are errors: sign-out and change-password answer 503, keep the cookie, change nothing', async () => {
  const url = freshDatabase('rvk');
  const s = await startServer({ DATABASE_URL: url, ENABLE_REGISTRATION: 'true' });
  const c1 = cookieFrom(await signUp(s, 'rv@example.com', 'old password 1'));
  const c2 = cookieFrom(await signIn(s, 'rv@example.com', 'old password 1'));
  // This test's own database refuses to revoke a session while refuse_revoke has a row.
  psql(url, `create table refuse_revoke (x int);
    create function refuse_revoke() returns trigger language plpgsql as $$
      begin if exists (select 1 from refuse_revoke) then raise exception 'revocation refused by the test'; end if;
      return new; end $$;
    create trigger refuse_revoke before update on sessions for each row
      when (old.revoked_at is null and new.revoked_at is not null) execute function refuse_revoke();
    insert into refuse_revoke values (1)`);
  const hash0 = psql(url, 'select password_hash from users');
  const change = { currentPassword: 'old password 1', newPassword: 'new password 2' };
  const cp = await call(s, '/api/auth/change-password', { json: change, cookie: c1 });
  assert.equal(cp.status, 503, cp.text);
  assert.equal(cp.json.error, 'temporarily_unavailable');
  assert.equal(psql(url, 'select password_hash from users'), hash0, 'the password did not change without the revocation');
  assert.equal((await signIn(s, 'rv@example.com', 'old password 1')).status, 200);
  const out = await call(s, '/api/auth/sign-out', { method: 'POST', cookie: c1 });
  assert.equal(out.status, 503, out.text);
  assert.equal(out.json.error, 'temporarily_unavailable');
  assert.deepEqual(out.setCookies, [], 'the cookie is not cleared: the session was not ended');
  const acct = await call(s, '/account', { cookie: c1 });
  const csrfCookie = cookieFrom(acct, 'dreamauth_csrf');
  const token = acct.text.match(/name="csrf" value="([^"]+)"/)[1];
  const formOut = await call(s, '/logout', { cookie: `${c1}; ${csrfCookie}`, form: { csrf: token } });
  assert.equal(formOut.status, 503);
  assert.equal(cookieFrom(formOut), undefined);
  for (const c of [c1, c2]) assert.equal((await verify(s, c)).status, 200, 'sessions still valid, as reported');
  assert.equal(psql(url, 'select count(*) from sessions where revoked_at is not null'), '0');

  // Once the database accepts revocations again, both work.
  psql(url, 'delete from refuse_revoke');
  assert.equal((await call(s, '/api/auth/change-password', { json: change, cookie: c1 })).status, 200);
  assert.equal((await verify(s, c2)).status, 401, 'the other session ended with the change');
  assert.equal((await signIn(s, 'rv@example.com', 'new password 2')).status, 200);
  const out2 = await call(s, '/api/auth/sign-out', { method: 'POST', cookie: c1 });
  assert.equal(out2.status, 200);
  assert.match(out2.setCookies.find((c) => c.startsWith(COOKIE + '=')), /Max-Age=0/);
  assert.equal((await verify(s, c1)).status, 401);
  await s.stop();
});

test('sign-out: cookie cleared, session dead on every worker (20 verifies)', async () => {
  const c = cookieFrom(await signIn(S, 'alice@example.com'));
  for (let i = 0; i < 4; i++) assert.equal((await verify(S, c)).status, 200);
  const out = await call(S, '/api/auth/sign-out', { method: 'POST', cookie: c });
  assert.equal(out.status, 200);
  const cleared = out.setCookies.find((x) => x.startsWith(COOKIE + '='));
  assert.ok(cleared, 'Set-Cookie clears the session cookie');
  assert.match(cleared, /^dreamauth_session=;/);
  assert.match(cleared, /Max-Age=0/);
  for (let i = 0; i < 20; i++) assert.equal((await verify(S, c)).status, 401);
  assert.equal((await call(S, '/api/auth/me', { cookie: c })).status, 401);
});

// --- forms, no JavaScript ---------------------------------------------------

async function loginPage(s, { cookie, query = '' } = {}) {
  const r = await call(s, '/login' + query, { cookie });
  assert.equal(r.status, 200);
  const csrfCookie = cookieFrom(r, 'dreamauth_csrf') || cookie;
  const m = r.text.match(/name="csrf" value="([^"]+)"/);
  assert.ok(m, 'hidden csrf field');
  const rd = r.text.match(/name="rd" value="([^"]*)"/);
  return { csrfCookie, token: m[1], rd: rd ? rd[1] : undefined, page: r };
}

test('form sign-in without JavaScript: csrf cookie + hidden field, 303 to rd or /account, replay refused', async () => {
  const { csrfCookie, token, page } = await loginPage(S);
  assert.ok(csrfCookie && csrfCookie.startsWith('dreamauth_csrf='), 'csrf cookie set');
  const line = page.setCookies.find((c) => c.startsWith('dreamauth_csrf='));
  assert.match(line, /HttpOnly/);
  assert.match(line, /SameSite=Lax/);
  assert.match(page.headers.get('content-type'), /text\/html/);

  const r = await call(S, '/login', { cookie: csrfCookie,
    form: { csrf: token, email: 'alice@example.com', password: 'correct horse battery', rd: '/app/page?x=1' } });
  assert.equal(r.status, 303, r.text);
  assert.equal(r.headers.get('location'), '/app/page?x=1');
  const session = cookieFrom(r);
  assert.ok(session);
  assert.equal((await verify(S, session)).status, 200);

  // The same token again: refused with a page (and a fresh form), no session.
  const replay = await call(S, '/login', { cookie: csrfCookie,
    form: { csrf: token, email: 'alice@example.com', password: 'correct horse battery' } });
  assert.equal(replay.status, 403);
  assert.match(replay.headers.get('content-type'), /text\/html/);
  assert.equal(cookieFrom(replay), undefined);

  // Without rd: the account page, which renders for the session.
  const p2 = await loginPage(S, { cookie: csrfCookie });
  const r2 = await call(S, '/login', { cookie: p2.csrfCookie,
    form: { csrf: p2.token, email: 'alice@example.com', password: 'correct horse battery' } });
  assert.equal(r2.status, 303);
  assert.equal(r2.headers.get('location'), '/account');
  const account = await call(S, '/account', { cookie: cookieFrom(r2) });
  assert.equal(account.status, 200);
  assert.match(account.text, /alice@example\.com/);

  // Wrong password on the form: the form again with an error, 401, no session.
  const p3 = await loginPage(S, { cookie: csrfCookie });
  const r3 = await call(S, '/login', { cookie: p3.csrfCookie,
    form: { csrf: p3.token, email: 'alice@example.com', password: 'wrong password!' } });
  assert.equal(r3.status, 401);
  assert.match(r3.text, /role="alert"/);
  assert.equal(cookieFrom(r3), undefined);
});

test('form CSRF: missing csrf cookie, a foreign cookie, a forged token → 403, no session', async () => {
  const mine = await loginPage(S);
  const theirs = await loginPage(S);
  assert.notEqual(mine.csrfCookie, theirs.csrfCookie);
  const creds = { email: 'alice@example.com', password: 'correct horse battery' };
  const noCookie = await call(S, '/login', { form: { csrf: mine.token, ...creds } });
  assert.equal(noCookie.status, 403);
  const foreign = await call(S, '/login', { cookie: theirs.csrfCookie, form: { csrf: mine.token, ...creds } });
  assert.equal(foreign.status, 403);
  const noToken = await call(S, '/login', { cookie: mine.csrfCookie, form: creds });
  assert.equal(noToken.status, 403);
  const forged = await call(S, '/login', { cookie: mine.csrfCookie, form: { csrf: 'A'.repeat(54), ...creds } });
  assert.equal(forged.status, 403);
  const crossOrigin = await call(S, '/login', { cookie: mine.csrfCookie, headers: { origin: 'https://evil.example' },
    form: { csrf: mine.token, ...creds } });
  assert.equal(crossOrigin.status, 403);
  for (const r of [noCookie, foreign, noToken, forged, crossOrigin]) assert.equal(cookieFrom(r), undefined);
  // The untouched token of the other browser still works with its own cookie.
  const ok = await call(S, '/login', { cookie: theirs.csrfCookie, form: { csrf: theirs.token, ...creds } });
  assert.equal(ok.status, 303);
});

test('cross-site forms on the JSON API: 415 JSON, no cookie, nothing stored or revoked; foreign Origin on JSON 403', async () => {
  // What a hostile page can post without CORS: a form (urlencoded or text/plain).
  assert.equal((await signUp(S, 'csrf-attacker@example.com', 'attacker password 1')).status, 201);
  const victimLogin = await signUp(S, 'csrf-victim@example.com', 'victim password 1');
  assert.equal(victimLogin.status, 201);
  const victim = cookieFrom(victimLogin);
  const sessionId = victimLogin.json.session.id;
  const sessions0 = psql(dbUrl, 'select count(*) || \':\' || count(revoked_at) from sessions');
  const users0 = usersChecksum();
  const attacker = { email: 'csrf-attacker@example.com', password: 'attacker password 1' };
  const posts = [
    ['/api/auth/sign-in/email', attacker],
    ['/api/auth/sign-up/email', { email: 'csrf-new@example.com', password: 'attacker password 2', name: 'X' }],
    ['/api/auth/sign-out', {}],
    ['/api/auth/sign-out', { a: 'b' }],
    ['/api/auth/change-password', { currentPassword: 'victim password 1', newPassword: 'attacker password 3' }],
    ['/api/auth/sessions/revoke', { id: sessionId }],
  ];
  for (const [path, fields] of posts) {
    for (const origin of [{ origin: 'https://evil.example' }, { origin: 'null' }, {}]) {
      for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
        const r = await call(S, path, { form: fields, cookie: victim, headers: { ...origin, 'content-type': type } });
        const what = `${path} ${type} ${JSON.stringify(origin)}`;
        assert.equal(r.status, 415, `${what}: ${r.text}`);
        assert.equal(r.json?.error, 'unsupported_media_type', what);
        assert.deepEqual(r.setCookies, [], `${what}: no Set-Cookie`);
      }
    }
  }
  // JSON from a foreign origin is refused too (a cross-site fetch without CORS).
  for (const [path, fields] of posts.slice(0, 3)) {
    const r = await call(S, path, { json: fields, cookie: victim, headers: { origin: 'https://evil.example' } });
    assert.equal(r.status, 403, `${path}: ${r.text}`);
    assert.deepEqual(r.setCookies, [], path);
  }
  assert.equal(usersChecksum(), users0, 'no account created, no password changed');
  assert.equal(psql(dbUrl, 'select count(*) || \':\' || count(revoked_at) from sessions'), sessions0,
    'no session created or revoked');
  assert.equal((await verify(S, victim)).status, 200, 'the victim is still signed in as themselves');
  // Same origin JSON works; a bodyless sign-out without a type too.
  const own = await signIn(S, 'csrf-attacker@example.com', 'attacker password 1', { origin: `http://localhost:${S.port}` });
  assert.equal(own.status, 200, own.text);
  const out = await call(S, '/api/auth/sign-out', { method: 'POST', cookie: cookieFrom(own),
    headers: { origin: `http://localhost:${S.port}` } });
  assert.equal(out.status, 200, out.text);
  assert.equal((await verify(S, cookieFrom(own))).status, 401);
});

test('rd: a foreign site is never a redirect target; relative and same-host targets are', async () => {
  const evil = await loginPage(S, { query: '?rd=' + encodeURIComponent('https://evil.example/steal') });
  assert.equal(evil.rd, '', 'foreign rd dropped from the form');
  const creds = { email: 'alice@example.com', password: 'correct horse battery' };
  for (const rd of ['https://evil.example', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)',
    `http://localhost:${S.port}@evil.example/`, 'https://evil.example%2f@localhost/']) {
    const p = await loginPage(S);
    const r = await call(S, '/login', { cookie: p.csrfCookie, form: { csrf: p.token, rd, ...creds } });
    assert.equal(r.status, 303, rd);
    assert.equal(r.headers.get('location'), '/account', `rd=${rd} refused`);
  }
  const same = `http://localhost:${S.port}/somewhere`;
  const p = await loginPage(S);
  const r = await call(S, '/login', { cookie: p.csrfCookie, form: { csrf: p.token, rd: same, ...creds } });
  assert.equal(r.headers.get('location'), same);
  // Already signed in: GET /login goes straight on, never to a foreign site.
  const session = cookieFrom(r);
  const again = await call(S, '/login?rd=' + encodeURIComponent('https://evil.example/'), { cookie: session });
  assert.equal(again.status, 303);
  assert.equal(again.headers.get('location'), '/account');
  const rel = await call(S, '/login?rd=' + encodeURIComponent('/next'), { cookie: session });
  assert.equal(rel.headers.get('location'), '/next');
});

test('form sign-up and form sign-out (with CSRF)', async () => {
  const page = await call(S, '/signup');
  assert.equal(page.status, 200);
  const csrfCookie = cookieFrom(page, 'dreamauth_csrf');
  const token = page.text.match(/name="csrf" value="([^"]+)"/)[1];
  const r = await call(S, '/signup', { cookie: csrfCookie,
    form: { csrf: token, email: 'formuser@example.com', password: 'form password 1', name: 'Form User' } });
  assert.equal(r.status, 303, r.text);
  const session = cookieFrom(r);
  assert.equal((await verify(S, session)).status, 200);
  const acct = await call(S, '/account', { cookie: `${session}; ${csrfCookie}` });
  const t2 = acct.text.match(/name="csrf" value="([^"]+)"/)[1];
  const noCsrf = await call(S, '/logout', { cookie: `${session}; ${csrfCookie}`, form: {} });
  assert.equal(noCsrf.status, 403);
  assert.equal((await verify(S, session)).status, 200, 'a refused sign-out leaves the session');
  const out = await call(S, '/logout', { cookie: `${session}; ${csrfCookie}`, form: { csrf: t2 } });
  assert.equal(out.status, 303);
  assert.equal(out.headers.get('location'), '/login');
  assert.equal((await verify(S, session)).status, 401);
});

// --- brute force ------------------------------------------------------------

test('brute force: 4th attempt on an account is 429 with Retry-After even with the right password; per-IP limit', async () => {
  const url = freshDatabase('bf');
  const s = await startServer({ DATABASE_URL: url, ENABLE_REGISTRATION: 'true', LOGIN_MAX_ATTEMPTS: '3',
    LOGIN_IP_MAX_ATTEMPTS: '8', LOGIN_WINDOW: '600' });
  assert.equal((await signUp(s, 'victim@example.com')).status, 201);	// counts 1 against the IP
  for (let i = 0; i < 3; i++) assert.equal((await signIn(s, 'victim@example.com', 'guess ' + i + ' xxxx')).status, 401);
  const blocked = await signIn(s, 'victim@example.com');
  assert.equal(blocked.status, 429);
  const retry = Number(blocked.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 600, `Retry-After ${retry}`);
  assert.equal(cookieFrom(blocked), undefined, 'no session while throttled');
  // Another account from the same IP is still allowed until the IP budget (8) is spent: 1 + 3 used.
  for (let i = 0; i < 4; i++) assert.equal((await signIn(s, `other${i}@example.com`, 'guess xxxxxxx')).status, 401);
  const ipBlocked = await signIn(s, 'fresh@example.com', 'guess xxxxxxx');
  assert.equal(ipBlocked.status, 429);
  assert.ok(Number(ipBlocked.headers.get('retry-after')) > 0);
  // The form flow is throttled too (a page, still 429).
  const p = await loginPage(s);
  const f = await call(s, '/login', { cookie: p.csrfCookie,
    form: { csrf: p.token, email: 'victim@example.com', password: 'correct horse battery' } });
  assert.equal(f.status, 429);
  assert.equal(cookieFrom(f), undefined);
  await s.stop();
});

test('brute force, concurrent: 40 parallel wrong passwords with LOGIN_MAX_ATTEMPTS=5 → at most 5 are 401, the rest 429; only failures count', async () => {
  const url = freshDatabase('bfc');
  const s = await startServer({ DATABASE_URL: url, ENABLE_REGISTRATION: 'true', LOGIN_MAX_ATTEMPTS: '5',
    LOGIN_IP_MAX_ATTEMPTS: '60', LOGIN_WINDOW: '600' });
  assert.equal((await signUp(s, 'target@example.com')).status, 201);	// IP: 1
  assert.equal((await signUp(s, 'owner@example.com')).status, 201);	// IP: 2
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => signIn(s, 'target@example.com', `guess ${i} xxxxxx`)));
  const statuses = answers.map((r) => r.status);
  const wrong = statuses.filter((x) => x === 401).length, throttled = statuses.filter((x) => x === 429).length;
  assert.equal(wrong + throttled, 40, `only 401 and 429: ${statuses.join(',')}`);
  assert.ok(wrong >= 1 && wrong <= 5, `${wrong} guesses were checked (limit 5): ${statuses.join(',')}`);
  assert.equal((await signIn(s, 'target@example.com')).status, 429, 'the account stays locked, right password included');
  // A success takes back its own count, so it never spends the IP's budget: 70 sign-ins > 60.
  for (let i = 0; i < 70; i++) assert.equal((await signIn(s, 'owner@example.com')).status, 200, `success ${i}`);
  // The IP budget left is exactly 60 - 2 sign-ups - the failed guesses (throttled ones took nothing).
  for (let i = 0; i < 60 - 2 - wrong; i++)
    assert.equal((await signIn(s, `nobody${i}@example.com`, 'guess xxxxxxx')).status, 401, `failure ${i}`);
  assert.equal((await signIn(s, 'nobody-else@example.com', 'guess xxxxxxx')).status, 429, 'IP budget spent');
  await s.stop();
});

// --- hostile input ------------------------------------------------------------

test('unicode email: accepted and normalized (NFC, ASCII lower-cased, other case kept); composed and decomposed are one account', async () => {
  const r = await signUp(S, '  ü@EXämple.com ', 'unicode password');
  assert.equal(r.status, 201, r.text);
  assert.equal(psql(dbUrl, "select email from users where email_normalized = 'ü@exämple.com'"), 'ü@EXämple.com',
    'display email kept as typed, minus surrounding spaces');
  assert.equal((await signIn(S, 'ü@exämple.com', 'unicode password')).status, 200);
  assert.equal((await signIn(S, 'ü@EXÄMPLE.com', 'unicode password')).status, 401, 'non-ASCII case is not folded');
  // "josé" precomposed (U+00E9) and decomposed (e + U+0301): one address.
  const composed = 'jos\u00e9@example.com', decomposed = 'jose\u0301@example.com';
  assert.notEqual(composed, decomposed);
  assert.equal((await signUp(S, decomposed, 'unicode password')).status, 201);
  const dup = await signUp(S, composed, 'another password');
  assert.equal(dup.status, 409, dup.text);
  assert.equal((await signIn(S, composed, 'unicode password')).status, 200);
  assert.equal(psql(dbUrl, `select count(*) from users where email_normalized = '${composed}'`), '1', 'stored in NFC');
  const bad = await signUp(S, 'W\u030a@example.com', 'unicode password');
  assert.equal(bad.status, 400, 'an address whose normalized form is not NFC is refused');
  assert.equal(bad.json.error, 'invalid_email');
});

test('hostile input: clear 4xx, never 5xx; server healthy and users table unchanged afterwards', async () => {
  const before = usersChecksum();
  const port = S.port;
  const J = { 'content-type': 'application/json' };
  const cases = [
    ['malformed JSON', await call(S, '/api/auth/sign-in/email', { method: 'POST', headers: J, body: '{"email":' }), 400],
    ['JSON array', await call(S, '/api/auth/sign-up/email', { method: 'POST', headers: J, body: '[1,2]' }), 400],
    ['duplicate keys', await call(S, '/api/auth/sign-up/email', { method: 'POST', headers: J,
      body: '{"email":"dup@example.com","email":"x@example.com","password":"correct horse battery"}' }), 400],
    ['empty body', await call(S, '/api/auth/sign-in/email', { method: 'POST', headers: J, body: '' }), 400],
    ['text/plain', await call(S, '/api/auth/sign-in/email', { method: 'POST', headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ email: 'alice@example.com', password: 'correct horse battery' }) }), 415],
    ['no content type', await call(S, '/api/auth/sign-up/email', { method: 'POST', body: 'x' }), 415],
    ['email with CRLF', await signUp(S, 'evil\r\nX-Injected: 1@example.com'), 400],
    ['email with LF in domain', await signIn(S, 'alice@exam\nple.com'), 400],
    ['email 300 chars', await signUp(S, 'a'.repeat(288) + '@example.com'), 400],
    ['local part 65 chars', await signUp(S, 'a'.repeat(65) + '@example.com'), 400],
    ['email no @', await signUp(S, 'not-an-email'), 400],
    ['email two @', await signUp(S, 'a@b@example.com'), 400],
    ['email with quotes', await signUp(S, '"a"@example.com'), 400],
    ['email not a string', await call(S, '/api/auth/sign-up/email', { json: { email: 42, password: 'correct horse battery' } }), 400],
    ['password 2000 bytes', await signUp(S, 'long@example.com', 'p'.repeat(2000)), 400],
    ['password 2000 bytes sign-in', await signIn(S, 'alice@example.com', 'p'.repeat(2000)), 400],
    ['password missing', await call(S, '/api/auth/sign-in/email', { json: { email: 'alice@example.com' } }), 400],
    ['password with NUL escape', await call(S, '/api/auth/sign-up/email', { method: 'POST', headers: J,
      body: '{"email":"nul@example.com","password":"abcdefgh\\u0000ijk"}' }), 400],
    ['name with markup', await signUp(S, 'markup@example.com', 'correct horse battery', { name: '<script>x</script>' }), 400],
    ['name too long', await signUp(S, 'longname@example.com', 'correct horse battery', { name: 'n'.repeat(200) }), 400],
    ['deep JSON', await call(S, '/api/auth/sign-in/email', { method: 'POST', headers: J, body: '{"a":'.repeat(50) + '1' + '}'.repeat(50) }), 400],
    ['form overlong UTF-8', await call(S, '/login', { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=%C0%AF%40example.com&password=xxxxxxxxx' }), 400],
    ['form bad escape', await call(S, '/signup', { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=%zz&password=xxxxxxxxx' }), 400],
    ['cross-origin JSON', await call(S, '/api/auth/sign-up/email', { headers: { origin: 'https://evil.example' },
      json: { email: 'xorigin@example.com', password: 'correct horse battery' } }), 403],
    ['wrong method', await call(S, '/api/auth/sign-in/email'), 405],
  ];
  // Overlong UTF-8 inside a JSON string: raw bytes, not valid UTF-8.
  const overlong = Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xc0, 0xaf]),
    Buffer.from('@example.com","password":"correct horse battery"}')]);
  cases.push(['JSON overlong UTF-8', await call(S, '/api/auth/sign-up/email', { method: 'POST', headers: J, body: overlong }), 400]);
  for (const [what, r, want] of cases) assert.equal(r.status, want, `${what}: ${r.status} ${r.text.slice(0, 200)}`);

  // Oversized body: refused from the head, before reading it.
  const big = await rawRequest(port, 'POST /api/auth/sign-up/email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    'Content-Length: 1000000\r\n\r\n{"email":');
  assert.equal(statusOf(big), 413);
  const body70k = JSON.stringify({ email: 'big@example.com', password: 'correct horse battery', pad: 'x'.repeat(70000) });
  const big2 = await rawRequest(port, 'POST /api/auth/sign-up/email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${body70k.length}\r\n\r\n${body70k}`);
  assert.equal(statusOf(big2), 413, '70 KB JSON body');
  const chunked = await rawRequest(port, 'POST /api/auth/sign-up/email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Transfer-Encoding: chunked\r\n\r\n${body70k.length.toString(16)}\r\n${body70k}\r\n0\r\n\r\n`);
  assert.equal(statusOf(chunked), 413, '70 KB chunked JSON body');

  // Cookie garbage: 401 (or a 400 from the parser for control bytes), never 5xx.
  const cookies = [
    `${COOKIE}=`, `${COOKIE}`, `;;;;=;=;${COOKIE}==;`, `${COOKIE}="${'A'.repeat(43)}"`, `${COOKIE}=${'A'.repeat(42)}!`,
    `${COOKIE}=${'x'.repeat(10240)}`, `a=b; ${COOKIE}=${'\u00ff'.repeat(43)}`, `${COOKIE}=%00%00%00`,
    'x'.repeat(10000), `${COOKIE}=${'A'.repeat(43)}; ${COOKIE}=${'B'.repeat(43)}`,
  ];
  for (const c of cookies) {
    for (const path of ['/api/verify', '/api/auth/me', '/api/auth/sessions']) {
      const raw = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: ${c}\r\n\r\n`);
      assert.equal(statusOf(raw), 401, `${path} with cookie ${c.slice(0, 40)}: ${raw.slice(0, 80)}`);
    }
  }
  const ctl = await rawRequest(port, `GET /api/verify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: ${COOKIE}=\x01\x02\x7f\r\n\r\n`);
  assert.ok([400, 401].includes(statusOf(ctl)), ctl.slice(0, 80));
  const account = await call(S, '/account', { cookie: `${COOKIE}=${'x'.repeat(10240)}` });
  assert.equal(account.status, 302, 'the account page sends a stranger to /login');

  // Afterwards: healthy, every worker answering, and nothing stored changed.
  for (let i = 0; i < 6; i++) assert.equal((await call(S, '/api/health')).status, 200);
  assert.equal(usersChecksum(), before, 'users table unchanged by hostile requests');
  assert.doesNotMatch(S.logs(), /correct horse battery|died from signal/);
});

// --- forward-auth -------------------------------------------------------------

test('forward-auth: 200 + identity headers with a session, 401 without, 302 for Traefik on an allowed host only', async () => {
  const add = cli({ DATABASE_URL: dbUrl, AUTH_SECRET: TEST_SECRET },
    ['add', 'grouped@example.com', '--name', 'Grouped', '--groups', 'admins,ops'], 'group password 1\n');
  assert.equal(add.status, 0, add.stderr);
  const r = await signIn(S, 'grouped@example.com', 'group password 1');
  assert.equal(r.status, 200);
  const c = cookieFrom(r);
  for (const s of [S, B]) {
    const v = await verify(s, c);
    assert.equal(v.status, 200);
    assert.equal(v.headers.get('x-auth-user'), 'grouped@example.com');
    assert.equal(v.headers.get('x-auth-id'), r.json.user.id);
    assert.equal(v.headers.get('x-auth-email'), 'grouped@example.com');
    assert.equal(v.headers.get('x-auth-name'), 'Grouped');
    assert.equal(v.headers.get('x-auth-groups'), 'admins,ops');
    assert.equal(v.headers.get('cache-control'), 'no-store');
  }
  const me = await call(S, '/api/auth/me', { cookie: c });
  assert.deepEqual(me.json.user.groups, ['admins', 'ops']);
  // HEAD and other methods (nginx may forward the original one).
  assert.equal((await call(S, '/api/verify', { method: 'HEAD', cookie: c })).status, 200);
  assert.equal((await call(S, '/api/verify', { method: 'POST', cookie: c })).status, 200);

  const none = await verify(S, undefined);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('x-auth-user'), null);

  const host = `localhost:${S.port}`;
  const traefik = await verify(S, undefined, { 'x-forwarded-proto': 'http', 'x-forwarded-host': host,
    'x-forwarded-uri': '/app/x?y=1&z=%20' });
  assert.equal(traefik.status, 302);
  const original = `http://${host}/app/x?y=1&z=%20`;
  assert.equal(traefik.headers.get('location'), `http://${host}/login?rd=${encodeURIComponent(original)}`);
  const loc = new URL(traefik.headers.get('location'));
  assert.equal(loc.searchParams.get('rd'), original);
  for (const evilHost of ['evil.example', `evil.example:${S.port}`, `${host}@evil.example`, 'localhost.evil.example']) {
    const e = await verify(S, undefined, { 'x-forwarded-proto': 'http', 'x-forwarded-host': evilHost, 'x-forwarded-uri': '/' });
    assert.equal(e.status, 401, evilHost);
    assert.equal(e.headers.get('location'), null);
  }
  // nginx's auth_request (it sends X-Original-URI) only understands 2xx/401/403:
  // even with forwarded headers present it must get a 401, never a 302.
  const nginx = await verify(S, undefined, { 'x-forwarded-proto': 'http', 'x-forwarded-host': host,
    'x-forwarded-uri': '/app/', 'x-original-uri': '/app/' });
  assert.equal(nginx.status, 401);
  const evilProto = await verify(S, undefined, { 'x-forwarded-proto': 'javascript', 'x-forwarded-host': host, 'x-forwarded-uri': '/' });
  assert.equal(evilProto.status, 401);
  // With a valid session the Traefik headers change nothing.
  const ok = await verify(S, c, { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.example', 'x-forwarded-uri': '/' });
  assert.equal(ok.status, 200);
});

test('forward-auth: long emails pass whole; groups that do not fit are dropped whole, never cut', async () => {
  const email = 'l'.repeat(64) + '@' + 'd'.repeat(60) + '.' + 'e'.repeat(60) + '.example.com';
  assert.ok(email.length > 190 && email.length <= 254);
  const r = await signUp(S, email);
  assert.equal(r.status, 201, r.text);
  const v = await verify(B, cookieFrom(r));
  assert.equal(v.status, 200);
  assert.equal(v.headers.get('x-auth-email'), email);
  assert.equal(v.headers.get('x-auth-user'), email);

  // 150 bytes of short groups, then one that would straddle the cache's limit.
  const filler = Array.from({ length: 30 }, (_, i) => `g${String(i).padStart(3, '0')}`);	// 30 * 5 - 1 = 149 bytes
  const groups = [...filler, 'admins-readonly'];
  psql(dbUrl, `update users set groups = '{${groups.join(',')}}' where email_normalized = 'alice@example.com'`);
  const c = cookieFrom(await signIn(S, 'alice@example.com'));
  const g = (await verify(S, c)).headers.get('x-auth-groups').split(',');
  assert.deepEqual(g, filler, 'the straddling group is left out, not cut to a prefix');
  psql(dbUrl, "update users set groups = '{}' where email_normalized = 'alice@example.com'");
});

test('forward-auth with Bearer: garbage, tampered and alg=none tokens are 401 invalid_token', async () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const keys = (await (await fetch(S.url + '/jwks')).json()).keys;
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: `http://localhost:${S.port}`, sub: 'someone', aud: 'x', iat: now, exp: now + 600, jti: 'j1', email: 'root@example.com' };
  const tokens = ['garbage', 'a.b.c', '....', 'x'.repeat(5000)];
  for (const k of keys) {
    tokens.push(`${b64({ alg: k.alg, kid: k.kid, typ: 'at+jwt' })}.${b64(claims)}.${Buffer.alloc(k.alg === 'RS256' ? 256 : 64, 7).toString('base64url')}`);
  }
  tokens.push(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`);
  tokens.push(`${b64({ alg: 'HS256', kid: keys[0].kid, typ: 'at+jwt' })}.${b64(claims)}.${Buffer.alloc(32, 1).toString('base64url')}`);
  for (const t of tokens) {
    const r = await verify(S, undefined, { authorization: `Bearer ${t}` });
    assert.equal(r.status, 401, t.slice(0, 60));
    assert.match(r.headers.get('www-authenticate') || '', /invalid_token/);
    assert.equal(r.headers.get('x-auth-user'), null);
  }
  // A session cookie does not rescue a bad bearer token.
  const c = cookieFrom(await signIn(S, 'alice@example.com'));
  assert.equal((await verify(S, c, { authorization: 'Bearer garbage' })).status, 401);
});

// --- across instances -----------------------------------------------------------

test('cross-instance revocation: sign-out on A kills the session cached on B within 1 s', async () => {
  const c = cookieFrom(await signIn(S, 'alice@example.com'));
  for (let i = 0; i < 6; i++) assert.equal((await verify(B, c)).status, 200, 'B serves it (and caches it)');
  const out = await call(S, '/api/auth/sign-out', { method: 'POST', cookie: c });
  assert.equal(out.status, 200);
  const ms = await msUntilRevoked(B, c);
  assert.ok(ms < 1000, `B saw the revocation after ${ms} ms`);
  for (let i = 0; i < 10; i++) assert.equal((await verify(B, c)).status, 401);

  // Revoking one session by id and changing the password travel too.
  const x = await signIn(S, 'alice@example.com');
  const y = cookieFrom(await signIn(S, 'alice@example.com'));
  for (let i = 0; i < 4; i++) assert.equal((await verify(B, cookieFrom(x))).status, 200);
  assert.equal((await call(S, '/api/auth/sessions/revoke', { cookie: y, json: { id: x.json.session.id } })).status, 200);
  assert.ok(await msUntilRevoked(B, cookieFrom(x)) < 1000);
});

test('listener connection lost: the store stays up, reconnects, and revocations from A reach B again', async () => {
  const c = cookieFrom(await signIn(S, 'alice@example.com'));
  for (let i = 0; i < 6; i++) assert.equal((await verify(B, c)).status, 200, 'B serves it (and caches it)');
  const store = B.childPid('dreamauth: store');
  const logBefore = B.logs().length;
  // Cut every LISTEN connection (A's and B's): a database restart or failover looks like this.
  const cut = psql(dbUrl, "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'dreamauth revocation listener'");
  assert.ok(Number(cut) >= 2, `terminated ${cut} listener connections`);
  const t0 = Date.now();
  while (!/revocation listener reconnected/.test(B.logs().slice(logBefore)) && Date.now() - t0 < 5000) await sleep(50);
  assert.match(B.logs().slice(logBefore), /revocation listener lost its connection; reconnecting/);
  assert.match(B.logs().slice(logBefore), /revocation listener reconnected/);
  assert.equal(B.childPid('dreamauth: store'), store, 'the store was not restarted');
  for (let i = 0; i < 4; i++) assert.equal((await verify(B, c)).status, 200, 'still signed in after the reconnect');
  assert.equal((await call(S, '/api/auth/sign-out', { method: 'POST', cookie: c })).status, 200);
  const ms = await msUntilRevoked(B, c);
  assert.ok(ms < 1000, `B saw the revocation after ${ms} ms`);
});

test('CLI: user add/list/disable/enable while the server runs; disable kills sessions on every instance within 1 s', async () => {
  const env = { DATABASE_URL: dbUrl, AUTH_SECRET: TEST_SECRET };
  const short = cli(env, ['add', 'cli@example.com'], 'short\n');
  assert.equal(short.status, 1);
  assert.match(short.stderr, /password/);
  const badEmail = cli(env, ['add', 'not an email'], 'long enough password\n');
  assert.equal(badEmail.status, 1);
  const badGroups = cli(env, ['add', 'cli@example.com', '--groups', 'a,,b'], 'long enough password\n');
  assert.equal(badGroups.status, 1);
  assert.equal(cli(env, ['frobnicate']).status, 2);
  const add = cli(env, ['add', 'CLI@example.com', '--admin', '--name', 'Cli User'], 'cli password 1\n');
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stdout.trim(), /^[0-9a-f-]{36}$/);
  assert.match(psql(dbUrl, "select password_hash from users where email_normalized = 'cli@example.com'"), /^\$argon2id\$v=19\$m=8192,t=1,p=1\$/);
  const dup = cli(env, ['add', 'cli@example.com'], 'cli password 2\n');
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /already exists/);

  const list = cli(env, ['list']);
  assert.equal(list.status, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ID\s+EMAIL\s+NAME\s+ADMIN\s+DISABLED\s+GROUPS\s+CREATED$/);
  const row = lines.find((l) => l.includes('CLI@example.com'));
  assert.ok(row, list.stdout);
  assert.match(row, /Cli User\s+yes\s+no\s+/);
  // Aligned: every column starts where its title does (code points, not bytes).
  const starts = [...lines[0].matchAll(/\S+/g)].map((m) => m.index);
  assert.equal(starts.length, 7);
  for (const l of lines.slice(1)) {
    const chars = [...l];
    for (const col of [1, 3, 4, 6]) {
      assert.notEqual(chars[starts[col]], ' ', `column ${col} starts at ${starts[col]} in ${l}`);
      assert.equal(chars[starts[col] - 1], ' ', `column ${col} separated in ${l}`);
    }
  }
  const grouped = lines.find((l) => l.includes('grouped@example.com'));
  assert.match(grouped, /admins,ops/);

  const login = await signIn(S, 'cli@example.com', 'cli password 1');
  assert.equal(login.status, 200);
  const c = cookieFrom(login);
  assert.equal((await call(S, '/api/auth/me', { cookie: c })).json.user.isAdmin, true);
  for (let i = 0; i < 4; i++) {
    assert.equal((await verify(S, c)).status, 200);
    assert.equal((await verify(B, c)).status, 200);
  }
  const dis = cli(env, ['disable', 'cli@example.com']);
  assert.equal(dis.status, 0, dis.stderr);
  const t0 = Date.now();
  const [msS, msB] = [await msUntilRevoked(S, c), await msUntilRevoked(B, c)];
  assert.ok(Date.now() - t0 < 1000, `sessions dead after ${msS} ms (A) / ${msB} ms (B)`);
  assert.equal((await signIn(S, 'cli@example.com', 'cli password 1')).status, 401, 'a disabled user cannot sign in');
  assert.match(cli(env, ['list']).stdout.split('\n').find((l) => l.includes('CLI@example.com')), /\syes\s+yes\s/);
  for (const verb of ['disable', 'enable']) {
    const ghost = cli(env, [verb, 'ghost@example.com']);
    assert.equal(ghost.status, 1, verb);
    assert.match(ghost.stderr, /no user with email ghost@example\.com/, verb);
    assert.equal(ghost.stdout, '', verb);
  }
  assert.equal(cli(env, ['enable', 'cli@example.com']).status, 0);
  assert.equal((await signIn(S, 'cli@example.com', 'cli password 1')).status, 200);
  assert.equal((await verify(S, c)).status, 401, 'enabling does not revive revoked sessions');
});

// Polls fn (async, returns a truthy value when done) for up to limitMs; the ms it took, or Infinity.
async function msUntil(fn, limitMs = 3000) {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    if (await fn()) return Date.now() - t0;
    await sleep(25);
  }
  return Infinity;
}

// An access and a refresh token for cookie's user from a public client (code + PKCE, as in oidc.test.mjs).
async function oauthTokens(s, cookie, redirect) {
  const base = `http://localhost:${s.port}`;
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({ response_type: 'code', client_id: 'spa', redirect_uri: redirect,
    scope: 'openid email offline_access', state: 'st-1', code_challenge_method: 'S256',
    code_challenge: createHash('sha256').update(verifier).digest('base64url') });
  const a = await fetch(`${base}/oauth2/authorize?${q}`, { headers: { cookie }, redirect: 'manual' });
  const loc = a.headers.get('location') || '';
  assert.ok(a.status === 302 && loc.startsWith(redirect), `authorize: ${a.status} ${loc} ${await a.text()}`);
  const code = new URL(loc).searchParams.get('code');
  const t = await fetch(`${base}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    // resource: the default FORWARD_AUTH_AUDIENCE, so the access token passes /api/verify (RFC 8707).
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect, client_id: 'spa',
      code_verifier: verifier, resource: `${base}/api/verify` }) });
  const tokens = await t.json();
  assert.equal(t.status, 200, JSON.stringify(tokens));
  assert.ok(tokens.access_token && tokens.refresh_token, JSON.stringify(tokens));
  return tokens;
}

test('CLI: user disable also ends the user\'s OAuth tokens: Bearer on /api/verify 401, refresh refused; others keep theirs', async () => {
  const redirect = 'http://localhost:9999/cb';
  const url = freshDatabase('dis');
  const s = await startServer({ DATABASE_URL: url, ENABLE_REGISTRATION: 'true', ENABLE_OIDC_PROVIDER: 'true',
    OIDC_CLIENTS: JSON.stringify([{ clientId: 'spa', public: true, name: 'SPA', redirectURLs: [redirect], skipConsent: true }]) });
  const env = { DATABASE_URL: url, AUTH_SECRET: TEST_SECRET };
  const mine = await oauthTokens(s, cookieFrom(await signUp(s, 'tok@example.com')), redirect);
  const theirs = await oauthTokens(s, cookieFrom(await signUp(s, 'other-tok@example.com')), redirect);
  const bearer = (t) => verify(s, undefined, { authorization: `Bearer ${t.access_token}` });
  const refresh = (t) => fetch(`${s.url}/oauth2/token`, { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: 'spa' }) });
  for (let i = 0; i < 4; i++) for (const t of [mine, theirs]) assert.equal((await bearer(t)).status, 200);

  const dis = cli(env, ['disable', 'tok@example.com']);
  assert.equal(dis.status, 0, dis.stderr);
  assert.equal(dis.stdout, 'tok@example.com disabled; revoked 1 session(s), 1 refresh token(s), 1 access token(s)\n');
  const ms = await msUntil(async () => (await bearer(mine)).status === 401);
  assert.ok(ms < 1000, `the access token refused after ${ms} ms`);
  for (let i = 0; i < 4; i++) assert.equal((await bearer(mine)).status, 401, 'on every worker');
  const r = await refresh(mine), body = await r.text();
  assert.equal(r.status, 400, body);
  assert.equal(JSON.parse(body).error, 'invalid_grant');
  for (let i = 0; i < 4; i++) assert.equal((await bearer(theirs)).status, 200, 'another user keeps their token');
  assert.equal((await refresh(theirs)).status, 200, 'and their refresh token');
  // A failed disable (unknown user) revokes nothing; enabling revives nothing.
  assert.equal(cli(env, ['disable', 'ghost@example.com']).status, 1);
  assert.equal(cli(env, ['enable', 'tok@example.com']).stdout, 'tok@example.com enabled\n');
  assert.equal((await bearer(mine)).status, 401);
  await s.stop();
});


const userId = (email) => psql(dbUrl, `select id from users where email_normalized = '${email}'`);
// A fingerprint of everything `user passwd` may touch for a user's sessions and tokens.
const tokensChecksum = () => psql(dbUrl,
  "select md5(coalesce((select string_agg(id || coalesce(revoked_at::text, '-'), '|' order by id) from sessions), '') ||" +
  " coalesce((select string_agg(encode(token_hash, 'hex') || coalesce(revoked_at::text, '-'), '|' order by token_hash) from oauth_refresh_tokens), '') ||" +
  " coalesce((select string_agg(jti || coalesce(revoked_at::text, '-'), '|' order by jti) from oauth_access_tokens), ''))");

test('CLI: user passwd — hostile input changes nothing; a reset revokes sessions on both instances within 1 s and the OAuth tokens', async () => {
  const env = { DATABASE_URL: dbUrl, AUTH_SECRET: TEST_SECRET };
  assert.equal(cli(env, ['add', 'pw@example.com', '--name', 'Pw'], 'old password 1\n').status, 0);
  const id = userId('pw@example.com'), other = userId('grouped@example.com');
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.match(other, /^[0-9a-f-]{36}$/);
  // OAuth rows as the token endpoint writes them (the full flow is in oidc.test.mjs):
  // for the user a live and a spent refresh token, a live and a long-expired
  // access token; for another user a live refresh and access token.
  psql(dbUrl, `insert into oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at, used_at) values
    (decode(repeat('a1', 32), 'hex'), gen_random_uuid(), 'app', '${id}', 'openid offline_access', now() + interval '1 day', null),
    (decode(repeat('a2', 32), 'hex'), gen_random_uuid(), 'app', '${id}', 'openid offline_access', now() + interval '1 day', now()),
    (decode(repeat('b1', 32), 'hex'), gen_random_uuid(), 'app', '${other}', 'openid offline_access', now() + interval '1 day', null)`);
  psql(dbUrl, `insert into oauth_access_tokens (jti, client_id, user_id, scope, expires_at) values
    ('pw-live-jti', 'app', '${id}', 'openid', now() + interval '5 minutes'),
    ('pw-old-jti', 'app', '${id}', 'openid', now() - interval '1 hour'),
    ('other-live-jti', 'app', '${other}', 'openid', now() + interval '5 minutes')`);
  const onS = cookieFrom(await signIn(S, 'pw@example.com', 'old password 1'));
  const onB = cookieFrom(await signIn(B, 'pw@example.com', 'old password 1'));
  const otherLogin = cookieFrom(await signIn(S, 'grouped@example.com', 'group password 1'));
  for (const srv of [S, B]) for (const c of [onS, onB, otherLogin]) assert.equal((await verify(srv, c)).status, 200);

  const users0 = usersChecksum(), tokens0 = tokensChecksum();
  const hostile = [
    [['passwd', 'pw@example.com'], 'short\n', 1, /password/],
    [['passwd', 'pw@example.com'], '', 1, /password/],
    [['passwd', 'pw@example.com'], 'x'.repeat(1025) + '\n', 1, /password/],
    [['passwd', 'ghost@example.com'], 'new password 2\n', 1, /no user with email ghost@example\.com/],
    [['passwd', 'not an email'], 'new password 2\n', 1, /not a valid email/],
    [['passwd'], 'new password 2\n', 2, /usage/],
    [['passwd', 'pw@example.com', 'extra'], 'new password 2\n', 2, /usage/],
    [['passwd', '--help'], 'new password 2\n', 2, /usage/],
  ];
  for (const [args, input, status, err] of hostile) {
    const r = cli(env, args, input);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, err, args.join(' '));
    assert.equal(r.stdout, '');
  }
  assert.equal(usersChecksum(), users0, 'refused commands changed no user');
  assert.equal(tokensChecksum(), tokens0, 'refused commands revoked nothing');
  for (const srv of [S, B]) assert.equal((await verify(srv, onS)).status, 200);

  const hashBefore = psql(dbUrl, `select password_hash from users where id = '${id}'`);
  const r = cli(env, ['passwd', 'PW@example.com'], 'new password 2\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'pw@example.com: password changed; revoked 2 session(s), 1 refresh token(s), 1 access token(s)\n');
  assert.ok(!r.stdout.includes('new password') && !r.stderr.includes('new password'));
  const t0 = Date.now();
  const ms = [await msUntilRevoked(S, onS), await msUntilRevoked(B, onS), await msUntilRevoked(S, onB), await msUntilRevoked(B, onB)];
  assert.ok(Date.now() - t0 < 1000, `sessions dead after ${ms.join('/')} ms`);
  const hash = psql(dbUrl, `select password_hash from users where id = '${id}'`);
  assert.notEqual(hash, hashBefore);
  assert.match(hash, /^\$argon2id\$v=19\$m=8192,t=1,p=1\$/, 'the configured ARGON2_* parameters');
  assert.equal((await signIn(S, 'pw@example.com', 'old password 1')).status, 401, 'old password refused');
  const fresh = await signIn(B, 'pw@example.com', 'new password 2');
  assert.equal(fresh.status, 200, 'new password accepted');
  assert.equal((await verify(S, cookieFrom(fresh))).status, 200);

  assert.equal(psql(dbUrl, `select count(*) from sessions where user_id = '${id}' and revoked_at is null`), '1', 'only the new session');
  const state = (sql) => psql(dbUrl, sql);
  assert.equal(state(`select revoked_at is not null from oauth_refresh_tokens where token_hash = decode(repeat('a1', 32), 'hex')`), 't');
  assert.equal(state(`select revoked_at is null from oauth_refresh_tokens where token_hash = decode(repeat('a2', 32), 'hex')`), 't', 'a spent token is left as it is');
  assert.equal(state(`select revoked_at is null from oauth_refresh_tokens where token_hash = decode(repeat('b1', 32), 'hex')`), 't', 'another user\'s token untouched');
  assert.equal(state(`select revoked_at is not null from oauth_access_tokens where jti = 'pw-live-jti'`), 't');
  assert.equal(state(`select revoked_at is null from oauth_access_tokens where jti = 'pw-old-jti'`), 't');
  assert.equal(state(`select revoked_at is null from oauth_access_tokens where jti = 'other-live-jti'`), 't');
  for (const srv of [S, B]) assert.equal((await verify(srv, otherLogin)).status, 200, 'another user keeps their session');

  // A disabled user's password can be reset; the account stays disabled.
  assert.equal(cli(env, ['disable', 'pw@example.com']).status, 0);
  const dis = cli(env, ['passwd', 'pw@example.com'], 'third password 3\n');
  assert.equal(dis.status, 0, dis.stderr);
  assert.match(dis.stdout, /revoked 0 session\(s\), 0 refresh token\(s\), 0 access token\(s\) \(the account stays disabled\)/);
  assert.equal((await signIn(S, 'pw@example.com', 'third password 3')).status, 401);
  assert.equal(cli(env, ['enable', 'pw@example.com']).status, 0);
  assert.equal((await signIn(S, 'pw@example.com', 'third password 3')).status, 200);
});

test('CLI: user set — groups, name and admin reach cached sessions on both instances within 1 s, no new sign-in; hostile input changes nothing', async () => {
  const env = { DATABASE_URL: dbUrl, AUTH_SECRET: TEST_SECRET };
  assert.equal(cli(env, ['add', 'set@example.com', '--name', 'Set User', '--groups', 'a,b'], 'set password 1\n').status, 0);
  const c = cookieFrom(await signIn(S, 'set@example.com', 'set password 1'));
  const headers = async (srv) => {
    const v = await verify(srv, c);
    assert.equal(v.status, 200, 'the session stays valid');
    return { groups: v.headers.get('x-auth-groups'), name: v.headers.get('x-auth-name') };
  };
  const me = async (srv) => {
    const m = await call(srv, '/api/auth/me', { cookie: c });
    assert.equal(m.status, 200);
    return m.json.user;
  };
  // Both instances have the session cached now.
  for (const srv of [S, B]) {
    assert.deepEqual(await headers(srv), { groups: 'a,b', name: 'Set User' });
    assert.equal((await me(srv)).isAdmin, false);
  }

  const users0 = usersChecksum();
  const hostile = [
    [['set', 'set@example.com'], 2, /usage/],
    [['set'], 2, /usage/],
    [['set', '--admin'], 2, /usage/],
    [['set', 'set@example.com', '--admin', '--no-admin'], 2, /usage/],
    [['set', 'set@example.com', '--groups', 'x', '--no-groups'], 2, /usage/],
    [['set', 'set@example.com', '--groups'], 2, /usage/],
    [['set', 'set@example.com', '--name'], 2, /usage/],
    [['set', 'set@example.com', '--frobnicate'], 2, /usage/],
    [['set', 'set@example.com', 'other@example.com', '--admin'], 2, /usage/],
    [['set', 'set@example.com', '--groups', ''], 1, /--no-groups/],
    [['set', 'set@example.com', '--groups', 'a,,b'], 1, /--groups/],
    [['set', 'set@example.com', '--groups', 'ops,'], 1, /--groups/],
    [['set', 'set@example.com', '--groups', 'a b'], 1, /--groups/],
    [['set', 'set@example.com', '--groups', 'a;b'], 1, /--groups/],
    [['set', 'set@example.com', '--groups', 'ops\r\nX-Auth-Admin: 1'], 1, /--groups/],
    [['set', 'set@example.com', '--groups', 'g'.repeat(151)], 1, /--groups/],
    [['set', 'set@example.com', '--name', 'a\nb'], 1, /--name/],
    [['set', 'set@example.com', '--name', '<b>x</b>'], 1, /--name/],
    [['set', 'set@example.com', '--name', 'n'.repeat(81)], 1, /--name/],
    [['set', 'ghost@example.com', '--admin'], 1, /no user with email ghost@example\.com/],
    [['set', 'not an email', '--admin'], 1, /not a valid email/],
  ];
  for (const [args, status, err] of hostile) {
    const r = cli(env, args);
    assert.equal(r.status, status, `${JSON.stringify(args)}: ${r.stderr}`);
    assert.match(r.stderr, err, JSON.stringify(args));
    assert.equal(r.stdout, '');
  }
  assert.equal(usersChecksum(), users0, 'refused commands changed no user');
  for (const srv of [S, B]) assert.deepEqual(await headers(srv), { groups: 'a,b', name: 'Set User' });

  const sessions0 = psql(dbUrl, "select string_agg(id || coalesce(revoked_at::text, '-'), '|' order by id) from sessions");
  let r = cli(env, ['set', 'set@example.com', '--groups', 'ops,dev']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'set@example.com updated: admin no, name "Set User", groups "ops,dev"; cached sessions refreshed\n');
  let t0 = Date.now();
  for (const srv of [S, B]) {
    const ms = await msUntil(async () => (await headers(srv)).groups === 'ops,dev', 1000);
    assert.ok(ms < 1000, `new groups on ${srv === S ? 'S' : 'B'} after ${ms} ms`);
  }
  assert.ok(Date.now() - t0 < 1000);
  assert.deepEqual((await me(B)).groups, ['ops', 'dev']);
  assert.equal(psql(dbUrl, "select array_to_string(groups, ',') from users where email_normalized = 'set@example.com'"), 'ops,dev');

  r = cli(env, ['set', 'SET@example.com', '--admin', '--name', 'Renamed Ü']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /admin yes, name "Renamed Ü", groups "ops,dev"/);
  t0 = Date.now();
  for (const srv of [S, B]) {
    assert.ok(await msUntil(async () => (await me(srv)).isAdmin === true, 1000) < 1000, 'admin on both instances');
    assert.equal((await me(srv)).name, 'Renamed Ü');
  }
  assert.ok(Date.now() - t0 < 1000);

  r = cli(env, ['set', 'set@example.com', '--no-admin', '--no-groups']);
  assert.equal(r.status, 0, r.stderr);
  for (const srv of [S, B]) {
    assert.ok(await msUntil(async () => (await me(srv)).isAdmin === false, 1000) < 1000, 'admin revoked on both instances');
    assert.deepEqual((await me(srv)).groups, []);
    assert.equal((await headers(srv)).groups, '');
  }
  // Sessions stayed valid: none was revoked, none created.
  assert.equal(psql(dbUrl, "select string_agg(id || coalesce(revoked_at::text, '-'), '|' order by id) from sessions"), sessions0);
  assert.match(cli(env, ['list']).stdout.split('\n').find((l) => l.includes('set@example.com')), /Renamed Ü\s+no\s+no\s+\d{4}-/);
});

test('CLI against a running embedded server: connects to its cluster, no second postgres', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dreamauth-emb-'));
  chmodSync(dataDir, 0o755);
  const s = new Server({ DATA_DIR: dataDir });
  servers.push(s);
  await s.start();
  const env = { DATA_DIR: dataDir };
  const add = cli(env, ['add', 'emb@example.com', '--groups', 'x'], 'embedded pass 1\n');
  assert.equal(add.status, 0, add.stderr);
  const r = await signIn(s, 'emb@example.com', 'embedded pass 1');
  assert.equal(r.status, 200);
  const c = cookieFrom(r);
  assert.equal((await verify(s, c)).status, 200);
  const list = cli(env, ['list']);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /emb@example\.com/);
  assert.equal(cli(env, ['disable', 'emb@example.com']).status, 0);
  assert.ok(await msUntilRevoked(s, c) < 1000);
  await s.waitHealthy(2000);
  assert.equal((await s.stop()).code, 0);
  // And with the server stopped the CLI brings the cluster up itself, then stops it.
  const offline = cli(env, ['list']);
  assert.equal(offline.status, 0, offline.stderr);
  assert.match(offline.stdout, /emb@example\.com\s.*\syes\s/);
});

// --- expiry -------------------------------------------------------------------

test('expiry: absolute TTL ends a session in use; idle TTL ends an unused one and slides with use', async () => {
  const url = freshDatabase('exp');
  const abs = await startServer({ DATABASE_URL: url, ENABLE_REGISTRATION: 'true', SESSION_ABSOLUTE_TTL: '3' });
  const c = cookieFrom(await signUp(abs, 'exp@example.com'));
  const t0 = Date.now();
  assert.equal((await verify(abs, c)).status, 200);
  while (Date.now() - t0 < 4200) { await verify(abs, c); await sleep(300); }
  assert.equal((await verify(abs, c)).status, 401, 'absolute expiry despite use');
  assert.equal((await call(abs, '/api/auth/me', { cookie: c })).status, 401);
  await abs.stop();

  const idle = await startServer({ DATABASE_URL: url, SESSION_IDLE_TTL: '2' });
  const used = cookieFrom(await signIn(idle, 'exp@example.com'));
  const unused = cookieFrom(await signIn(idle, 'exp@example.com'));
  const t1 = Date.now();
  while (Date.now() - t1 < 3500) {
    assert.equal((await verify(idle, used)).status, 200, 'used within the idle TTL: alive');
    await sleep(400);
  }
  assert.equal((await verify(idle, unused)).status, 401, 'idle for 3.5 s with a 2 s TTL: expired');
  assert.equal((await verify(idle, used)).status, 200);
  await idle.stop();
});

test('shutdown: both instances drain and exit 0; no sanitizer report in any server log', async () => {
  for (const s of [S, B]) assert.equal((await s.stop('SIGTERM')).code, 0);
  for (const s of servers) {
    const log = s.logs();
    assert.doesNotMatch(log, /AddressSanitizer|LeakSanitizer|runtime error:/, s.logPath);
    assert.doesNotMatch(log, /died from signal|correct horse battery/, s.logPath);
  }
});
