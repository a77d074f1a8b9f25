// The audit log (migrations/014, store/audit.c): every event recorded
// exactly once with its method, actor, client IP and user agent; failures
// too; never a secret (in the rows or in the AUDIT_LOG=stdout lines); the
// lines parse as JSON; GET /api/admin/audit (admins only, paginated,
// filtered); `dreamauth audit`; the table refuses UPDATE, DELETE and
// TRUNCATE; the retention sweep removes old rows and only those.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { SiweMessage } from 'siwe';
import { Wallet } from 'ethers';
import { Server, freshDatabase, psql, sleep, TEST_SECRET, BIN, rawRequest } from './harness.mjs';

const ADMIN = 'admin@example.com';
const USER = 'user@example.com';
const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'staple battery horse correct';
const WRONG = 'wrong-password-guess-42';
const UA = 'audit-test/1.0';

let db, server;
const secrets = new Set([PASSWORD, NEW_PASSWORD, WRONG]);

function env(extra = {}) {
  return { DATABASE_URL: db, AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', WORKERS: '2', ENABLE_REGISTRATION: 'true',
    ADMIN_EMAILS: ADMIN, AUDIT_LOG: 'stdout', LOGIN_IP_MAX_ATTEMPTS: '100000', ...extra };
}

function cli(args, input) {
  const r = spawnSync(BIN, args, { input, encoding: 'utf8', env: { PATH: process.env.PATH, ...env() } });
  assert.equal(r.status, 0, `dreamauth ${args.join(' ')}: ${r.stderr}`);
  return r;
}

async function post(path, json, cookie) {
  const headers = { 'content-type': 'application/json', 'user-agent': UA };
  if (cookie) headers.cookie = cookie;
  return fetch(server.url + path, { method: 'POST', headers, body: JSON.stringify(json), redirect: 'manual' });
}

function cookieOf(r) {
  const line = r.headers.getSetCookie().find((c) => c.startsWith('dreamauth_session='));
  const cookie = line.split(';')[0];
  secrets.add(cookie.split('=')[1]);
  return cookie;
}

// "event/result" -> count, from the database
function counts() {
  const out = psql(db, "select event || '/' || result || '=' || count(*) from audit_log group by event, result order by 1");
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => l.split('=')).map(([k, v]) => [k, Number(v)]));
}

// Waits until the counts equal want (a worker's failure record is fire-and-forget).
async function expectCounts(want, what) {
  let got;
  for (let i = 0; i < 100; i++) {
    got = counts();
    if (Object.keys(want).every((k) => got[k] === want[k])) break;
    await sleep(30);
  }
  for (const [k, v] of Object.entries(want)) assert.equal(got[k] ?? 0, v, `${what}: ${k} in ${JSON.stringify(got)}`);
}

function rows(where) {
  const out = psql(db, `select coalesce(json_agg(a order by id), '[]') from (select * from audit_log where ${where}) a`);
  return JSON.parse(out);
}

let adminCookie, userCookie, tally = {};
const bump = (k, n = 1) => { tally[k] = (tally[k] ?? 0) + n; return tally; };

before(async () => {
  db = freshDatabase('audit');
  server = new Server(env());
  await server.start();
});
after(async () => { await server.stop(); });

test('sign-up, sign-in, failures, password change and sign-out are recorded once each', async () => {
  let r = await post('/api/auth/sign-up/email', { email: ADMIN, password: PASSWORD, name: 'Admin' });
  assert.equal(r.status, 201);
  adminCookie = cookieOf(r);
  bump('sign_up/success'); bump('sign_in/success');	// a sign-up opens a session
  await expectCounts(tally, 'after sign-up');
  const [up] = rows("event = 'sign_up'");
  assert.equal(up.method, 'password');
  assert.equal(up.client_ip, '127.0.0.1');
  assert.equal(up.user_agent, UA);
  assert.equal(up.detail.email, ADMIN);
  // ADMIN_EMAILS makes an admin only once the address is verified (by mail:
  // this server has no SMTP_HOST), never at sign-up: the operator does it.
  cli(['user', 'set', ADMIN, '--admin']); bump('user_update/success');
  await expectCounts(tally, 'after the operator made the admin');

  r = await post('/api/auth/sign-up/email', { email: USER, password: PASSWORD, name: 'User' });
  assert.equal(r.status, 201);
  bump('sign_up/success'); bump('sign_in/success');

  // a wrong password: the worker records it (the kdf decided), with what was typed
  r = await post('/api/auth/sign-in/email', { email: 'User@Example.com', password: WRONG });
  assert.equal(r.status, 401);
  bump('sign_in/failure');
  // an unknown account
  r = await post('/api/auth/sign-in/email', { email: 'nobody@example.com', password: WRONG });
  assert.equal(r.status, 401);
  bump('sign_in/failure');
  await expectCounts(tally, 'after two failed sign-ins');
  const failures = rows("event = 'sign_in' and result = 'failure'");
  assert.deepEqual(failures.map((f) => [f.method, f.detail.reason, f.detail.name]),
    [['password', 'wrong_password', 'User@Example.com'], ['password', 'unknown_account', 'nobody@example.com']]);
  assert.ok(failures[0].actor_user_id, 'a known account is the actor of its failed sign-in');
  assert.equal(failures[1].actor_user_id, null);

  r = await post('/api/auth/sign-in/email', { email: USER, password: PASSWORD });
  assert.equal(r.status, 200);
  userCookie = cookieOf(r);
  bump('sign_in/success');
  const [signIn] = rows("event = 'sign_in' and result = 'success' order by id desc limit 1").slice(-1);
  assert.equal(signIn.method, 'password');
  assert.equal(signIn.target_type, 'session');

  // password change: wrong current password (failure), then right
  r = await post('/api/auth/change-password', { currentPassword: WRONG, newPassword: NEW_PASSWORD }, userCookie);
  assert.equal(r.status, 403);
  bump('password_change/failure');
  r = await post('/api/auth/change-password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, userCookie);
  assert.equal(r.status, 200);
  bump('password_change/success');
  await expectCounts(tally, 'after password changes');

  // sign-out ends one session: one session_revoke, scope "this"
  r = await post('/api/auth/sign-out', {}, userCookie);
  assert.equal(r.status, 200);
  bump('session_revoke/success');
  // signing out again revokes nothing: nothing recorded
  r = await post('/api/auth/sign-out', {}, userCookie);
  assert.equal(r.status, 200);
  await expectCounts(tally, 'after sign-outs');
  const [revoked] = rows("event = 'session_revoke'");
  assert.equal(revoked.detail.scope, 'this');
  assert.equal(revoked.detail.count, 1);
});

// (The HTTP parser already refuses control bytes in a header; what it lets
// through beyond printable ASCII is obs-text: bytes 0x80-0xff, e.g. UTF-8.)
test('a user agent beyond printable ASCII is stored escaped, and cut at 256 bytes', async () => {
  const body = JSON.stringify({ email: USER, password: WRONG });
  const raw = await rawRequest(server.port, Buffer.concat([Buffer.from(`POST /api/auth/sign-in/email HTTP/1.1\r\n` +
    `Host: 127.0.0.1\r\nUser-Agent: evil`), Buffer.from([0xe2, 0x80, 0xae, 0x9b]), Buffer.from(` ${'x'.repeat(400)}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)]));
  assert.match(raw, /^HTTP\/1\.1 401/);
  bump('sign_in/failure');
  await expectCounts(tally, 'after the hostile user agent');
  const [last] = rows("event = 'sign_in' and result = 'failure' order by id desc limit 1").slice(-1);
  assert.ok(last.user_agent.startsWith('evil\\xe2\\x80\\xae\\x9b xxx'), last.user_agent);
  assert.ok(Buffer.byteLength(last.user_agent) <= 256);
  assert.doesNotMatch(last.user_agent, /[\x00-\x1f\x7f]/);
});

async function siwe(wallet, signer = wallet, cookie) {
  const nonce = (await (await fetch(server.url + '/api/auth/siwe/nonce')).json()).nonce;
  const message = new SiweMessage({ domain: `localhost:${server.port}`, address: wallet.address, statement: 'Audit.',
    uri: `http://localhost:${server.port}`, version: '1', chainId: 1, nonce, issuedAt: new Date().toISOString() })
    .prepareMessage();
  return post('/api/auth/siwe/verify', { message, signature: await signer.signMessage(message) }, cookie);
}

test('Sign-In With Ethereum: sign-up, sign-in, a bad signature, link and unlink', async () => {
  const wallet = Wallet.createRandom(), other = Wallet.createRandom();
  let r = await siwe(wallet);
  assert.equal(r.status, 201, await r.clone().text());
  bump('sign_up/success'); bump('sign_in/success');
  r = await siwe(wallet);
  assert.equal(r.status, 200);
  bump('sign_in/success');
  r = await siwe(wallet, other);	// signed by another key
  assert.equal(r.status, 401);
  bump('sign_in/failure');
  await expectCounts(tally, 'after SIWE');
  const [up] = rows("event = 'sign_up' and method = 'siwe'");
  assert.equal(up.detail.address, wallet.address.toLowerCase());
  assert.equal(rows("event = 'sign_in' and method = 'siwe' and result = 'success'").length, 2);
  const [bad] = rows("event = 'sign_in' and method = 'siwe' and result = 'failure'");
  assert.equal(bad.detail.name, wallet.address);
  // a wallet linked to the admin's account, then unlinked
  const third = Wallet.createRandom();
  r = await siwe(third, third, adminCookie);
  assert.equal(r.status, 200, await r.clone().text());
  bump('wallet_link/success');
  r = await post('/api/auth/siwe/unlink', { walletAddress: third.address }, adminCookie);
  assert.equal(r.status, 200, await r.clone().text());
  bump('wallet_unlink/success');
  await expectCounts(tally, 'after link and unlink');
  const [unlink] = rows("event = 'wallet_unlink'");
  assert.equal(unlink.target_id, third.address.toLowerCase());
  assert.equal(unlink.actor_user_id, psql(db, `select id from users where email = '${ADMIN}'`));
});

// TOTP codes from oathtool (independent of the server's liboath)
const codeAtStep = (secret, step) => execFileSync('oathtool', ['--totp', '-b', secret, '-N', `@${step * 30 + 1}`],
  { encoding: 'utf8' }).trim();
const cookiesOf = (r) => r.headers.getSetCookie().map((c) => c.split(';')[0]).filter((c) => !/=$/.test(c)).join('; ');

test('two-factor: enabling, new recovery codes, a refused code at sign-in, disabling', async () => {
  let r = await post('/api/auth/sign-up/email', { email: 'tf@example.com', password: PASSWORD, name: 'TF' });
  assert.equal(r.status, 201);
  const cookie = cookieOf(r);
  bump('sign_up/success'); bump('sign_in/success');
  r = await post('/api/auth/two-factor/enable', { password: PASSWORD }, cookie);
  assert.equal(r.status, 200, await r.clone().text());
  const data = await r.json();
  const secret = data.totpURI.match(/[?&]secret=([A-Z2-7]+)/)[1];
  secrets.add(secret);
  for (const c of data.backupCodes) secrets.add(c);
  const step = Math.floor(Date.now() / 30000);
  r = await post('/api/auth/two-factor/verify-totp', { code: codeAtStep(secret, step) }, cookie);
  assert.equal(r.status, 200, await r.clone().text());
  bump('second_factor_change/success');
  r = await post('/api/auth/two-factor/generate-backup-codes', { password: PASSWORD }, cookie);
  assert.equal(r.status, 200, await r.clone().text());
  for (const c of (await r.json()).backupCodes) secrets.add(c);
  bump('recovery_codes_replace/success');
  // a sign-in waits for its code; a wrong one is refused and recorded
  r = await post('/api/auth/sign-in/email', { email: 'tf@example.com', password: PASSWORD });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).twoFactorRedirect, true);
  const pending = cookiesOf(r);
  r = await post('/api/auth/two-factor/verify-totp', { code: codeAtStep(secret, step + 1000) }, pending);
  assert.equal(r.status, 401, await r.clone().text());
  bump('second_factor/failure');
  r = await post('/api/auth/two-factor/disable', { password: PASSWORD }, cookie);
  assert.equal(r.status, 200, await r.clone().text());
  bump('second_factor_change/success');
  // on again, and off by the operator
  r = await post('/api/auth/two-factor/enable', { password: PASSWORD }, cookie);
  assert.equal(r.status, 200, await r.clone().text());
  const again = await r.json();
  const secret2 = again.totpURI.match(/[?&]secret=([A-Z2-7]+)/)[1];
  secrets.add(secret2);
  for (const c of again.backupCodes) secrets.add(c);
  r = await post('/api/auth/two-factor/verify-totp', { code: codeAtStep(secret2, Math.floor(Date.now() / 30000)) }, cookie);
  assert.equal(r.status, 200, await r.clone().text());
  bump('second_factor_change/success');
  cli(['user', 'two-factor-off', 'tf@example.com']);
  bump('second_factor_change/success');
  await expectCounts(tally, 'after two-factor');
  const user = psql(db, "select id from users where email = 'tf@example.com'");
  const changes = rows("event = 'second_factor_change'");
  assert.deepEqual(changes.map((c) => [c.method, c.detail.enabled, c.actor_user_id, c.target_id]), [
    ['totp', true, user, user], ['totp', false, user, user], ['totp', true, user, user], ['cli', false, null, user]]);
  assert.equal(changes[1].user_agent, UA);
  const [refused] = rows("event = 'second_factor'");
  assert.deepEqual([refused.result, refused.method, refused.detail.reason, refused.actor_user_id],
    ['failure', 'totp', 'invalid_code', user]);
});

test('CLI administration is recorded with method cli', async () => {
  cli(['user', 'add', 'cli@example.com', '--name', 'Cli'], `${PASSWORD}\n`); bump('user_add/success');
  cli(['user', 'set', 'cli@example.com', '--admin']); bump('user_update/success');
  cli(['user', 'disable', 'cli@example.com']); bump('user_disable/success');
  cli(['user', 'enable', 'cli@example.com']); bump('user_enable/success');
  cli(['user', 'passwd', 'cli@example.com'], `${NEW_PASSWORD}\n`); bump('password_reset/success');
  const added = cli(['client', 'add', 'audit-app', '--redirect-uri', 'https://app.example/cb']);
  const secret = added.stdout.match(/client_secret: (\S+)/);
  assert.ok(secret, added.stdout);
  secrets.add(secret[1]);
  bump('client_add/success');
  cli(['client', 'remove', 'audit-app']); bump('client_remove/success');
  cli(['keys', 'rotate', '--alg', 'ES256']); bump('key_rotate/success');
  // a command that changes nothing records nothing
  spawnSync(BIN, ['client', 'remove', 'no-such-client'], { env: { PATH: process.env.PATH, ...env() } });
  await expectCounts(tally, 'after the CLI');
  for (const row of rows("method = 'cli'")) {
    assert.equal(row.client_ip, null);
    assert.equal(row.actor_user_id, null);
  }
  const [disable] = rows("event = 'user_disable'");
  assert.equal(typeof disable.detail.sessions, 'number');
  const [client] = rows("event = 'client_add'");
  assert.equal(client.target_id, 'audit-app');
  assert.equal(client.detail.secret, undefined);
});

test('no secret anywhere: audit rows, stdout lines, the admin API', async () => {
  assert.ok(secrets.size >= 6, 'passwords, session cookies and a client secret to look for');
  const all = psql(db, "select string_agg(a::text, E'\\n') from audit_log a");
  const api = await (await fetch(server.url + '/api/admin/audit?limit=100', { headers: { cookie: adminCookie } })).text();
  const lines = server.logs();
  for (const s of secrets) {
    assert.ok(!all.includes(s), `a secret in audit_log: ${s}`);
    assert.ok(!api.includes(s), `a secret in /api/admin/audit: ${s}`);
    assert.ok(!lines.includes(s), `a secret in the server's output: ${s}`);
  }
});

test('AUDIT_LOG=stdout: one JSON line per committed server event', async () => {
  // the server's own events (the CLI's went to its stderr)
  const ids = psql(db, "select string_agg(id::text, ',' order by id) from audit_log where method <> 'cli'").split(',').map(Number);
  let parsed;
  for (let i = 0; i < 50; i++) {
    parsed = server.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    if (parsed.length >= ids.length) break;
    await sleep(50);
  }
  assert.deepEqual(parsed.map((p) => p.id).sort((a, b) => a - b), ids);
  for (const p of parsed) {
    assert.match(p.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(typeof p.event, 'string');
    assert.equal(typeof p.detail, 'object');
  }
  for (const l of server.logs().split('\n').filter((x) => x.startsWith('{'))) assert.doesNotMatch(l, /[^\x20-\x7e]/, 'ASCII only');
});

test('GET /api/admin/audit: admins only, newest first, pages, filters', async () => {
  const get = (q, cookie) => fetch(server.url + '/api/admin/audit' + q, { headers: cookie ? { cookie } : {} });
  assert.equal((await get('')).status, 401);
  let r = await post('/api/auth/sign-in/email', { email: USER, password: NEW_PASSWORD });
  const plain = cookieOf(r);
  bump('sign_in/success');
  assert.equal((await get('', plain)).status, 403);
  for (const bad of ['?limit=0', '?limit=101', '?since=yesterday', '?event=DROP%20TABLE', '?cursor=-1', `?actor=${'a'.repeat(300)}`])
    assert.equal((await get(bad, adminCookie)).status, 400, bad);

  const total = Number(psql(db, 'select count(*) from audit_log'));
  const seen = [];
  let cursor = '';
  for (let page = 0; page < 100; page++) {
    r = await get(`?limit=3${cursor ? '&cursor=' + cursor : ''}`, adminCookie);
    assert.equal(r.status, 200);
    const body = await r.json();
    seen.push(...body.entries.map((e) => e.id));
    if (!body.next_cursor) break;
    cursor = body.next_cursor;
  }
  assert.equal(seen.length, total);
  assert.deepEqual(seen, [...seen].sort((a, b) => b - a), 'newest first, no repeats');
  assert.equal(new Set(seen).size, total);

  const failures = await (await get('?event=sign_in&limit=100', adminCookie)).json();
  assert.ok(failures.entries.length > 0 && failures.entries.every((e) => e.event === 'sign_in'));
  const adminId = psql(db, `select id from users where email = '${ADMIN}'`);
  const mine = await (await get(`?actor=${adminId}`, adminCookie)).json();
  assert.ok(mine.entries.length >= 2 && mine.entries.every((e) => e.actor_user_id === adminId));
  const future = await (await get(`?since=${Math.floor(Date.now() / 1000) + 3600}`, adminCookie)).json();
  assert.equal(future.entries.length, 0);

  // the CLI prints the same entries
  const out = cli(['audit', '--event', 'sign_in', '--limit', '100']).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(out.map((e) => e.id), failures.entries.map((e) => e.id));
});

test('admin API actions are recorded with the admin as actor, method admin, IP and user agent', async () => {
  const user = psql(db, `select id from users where email = '${USER}'`);
  const adminId = psql(db, `select id from users where email = '${ADMIN}'`);
  const r = await fetch(server.url + `/api/admin/users/${user}`, { method: 'PATCH', body: JSON.stringify({ name: 'Renamed' }),
    headers: { cookie: adminCookie, 'content-type': 'application/json', 'user-agent': UA } });
  assert.equal(r.status, 200, await r.clone().text());
  bump('admin.user.update/success');
  // a refused admin call changes nothing and records nothing
  const plainCookie = (await post('/api/auth/sign-in/email', { email: USER, password: NEW_PASSWORD })).headers.getSetCookie()[0].split(';')[0];
  secrets.add(plainCookie.split('=')[1]);
  bump('sign_in/success');
  const refused = await fetch(server.url + `/api/admin/users/${adminId}`, { method: 'PATCH', body: JSON.stringify({ name: 'x' }),
    headers: { cookie: plainCookie, 'content-type': 'application/json' } });
  assert.equal(refused.status, 403);
  await expectCounts(tally, 'after admin actions');
  const [row] = rows("event = 'admin.user.update'");
  assert.deepEqual([row.method, row.actor_user_id, row.target_type, row.target_id, row.client_ip, row.user_agent],
    ['admin', adminId, 'user', user, '127.0.0.1', UA]);
});

test('the table is append-only: UPDATE, DELETE and TRUNCATE are refused', () => {
  for (const sql of ["update audit_log set event = 'x'", 'delete from audit_log', 'truncate audit_log',
    // the sweep's setting does not open recent rows
    "begin; set local dreamauth.audit_sweep = 'on'; delete from audit_log; commit"])
    assert.throws(() => psql(db, sql), /append-only/, sql);
});

test('retention: the sweep deletes rows older than AUDIT_RETENTION_DAYS, and only those', async () => {
  psql(db, "insert into audit_log (event, at) select 'ancient', now() - interval '40 days' from generate_series(1, 2500)");
  psql(db, "insert into audit_log (event, at) select 'recent', now() - interval '20 days' from generate_series(1, 3)");
  const before = Number(psql(db, "select count(*) from audit_log where event not in ('ancient', 'recent')"));
  await server.stop();
  server = new Server(env({ AUDIT_RETENTION_DAYS: '30' }));
  await server.start();
  let left;
  for (let i = 0; i < 100; i++) {
    left = Number(psql(db, "select count(*) from audit_log where event = 'ancient'"));
    if (left === 0) break;
    await sleep(100);
  }
  assert.equal(left, 0, 'rows older than 30 days are gone (in batches of 1000)');
  assert.equal(Number(psql(db, "select count(*) from audit_log where event = 'recent'")), 3);
  assert.equal(Number(psql(db, "select count(*) from audit_log where event not in ('ancient', 'recent')")), before);
  assert.match(server.logs(), /audit: deleted 2500 entries older than 30 days/);
});
