// Session cache vs revocations that never reach an instance as a notice:
// two instances on one database; worker 1 of B (its revocation listener)
// killed while A revokes, and a revocation written behind every instance's
// back (no NOTIFY). Neither may leave a revoked session cached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { Server, freshDatabase, psql, sleep, TEST_SECRET, ADMIN_URL } from './harness.mjs';

const COOKIE = 'dreamauth_session';
const PASSWORD = 'correct horse battery';
const servers = [];
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

async function startServer(env) {
  const s = new Server({ AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', WORKERS: '2', LOGIN_IP_MAX_ATTEMPTS: '100000', ...env });
  servers.push(s);
  await s.start();
  return s;
}

async function post(s, path, json, cookie) {
  const headers = { 'content-type': 'application/json' };
  if (cookie) headers.cookie = cookie;
  return fetch(s.url + path, { method: 'POST', headers, body: JSON.stringify(json), redirect: 'manual' });
}

async function signIn(s, email) {
  const r = await post(s, '/api/auth/sign-in/email', { email, password: PASSWORD });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const line = r.headers.getSetCookie().find((c) => c.startsWith(COOKIE + '='));
  return { cookie: line.split(';')[0], session: JSON.parse(text).session };
}

// A fresh connection per request (no keep-alive), so both workers answer.
async function verify(s, cookie) {
  const r = await fetch(s.url + '/api/verify', { headers: { cookie, connection: 'close' }, redirect: 'manual' });
  await r.arrayBuffer();
  return r.status;
}

// One /api/verify on a fresh connection with a deadline: 0 when nobody
// answered (the connection waits for a worker that is not accepting yet).
function verifyRaw(port, cookie, timeoutMs = 400) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const finish = (st) => { clearTimeout(timer); sock.destroy(); resolve(st); };
    const timer = setTimeout(() => finish(0), timeoutMs);
    sock.on('error', () => finish(0));
    sock.on('connect', () => sock.write(`GET /api/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`));
    sock.on('data', (d) => { buf += d.toString('latin1'); if (/^HTTP\/1\.1 \d{3}/.test(buf)) finish(Number(buf.slice(9, 12))); });
  });
}

// Cluster-wide view, so it works while the test database refuses connections.
const listenerBackends = (name) => psql(ADMIN_URL,
  `select coalesce(string_agg(pid::text, ',' order by pid), '') from pg_stat_activity
   where datname = '${name}' and application_name = 'dreamauth revocation listener'`)
  .split(',').filter(Boolean).map(Number);
const allowConnections = (name, on) => psql(ADMIN_URL, `ALTER DATABASE ${name} ALLOW_CONNECTIONS ${on}`);

async function untilLog(s, re, ms = 3000) {
  const t0 = Date.now();
  while (!re.test(s.logs()) && Date.now() - t0 < ms) await sleep(20);
  assert.match(s.logs(), re);
}

let A, B, dbUrl;
before(async () => {
  dbUrl = freshDatabase('sess');
  A = await startServer({ DATABASE_URL: dbUrl, ENABLE_REGISTRATION: 'true' });
  B = await startServer({ DATABASE_URL: dbUrl });
  const r = await post(A, '/api/auth/sign-up/email', { email: 'carol@example.com', password: PASSWORD });
  assert.equal(r.status, 201, await r.text());
});

test('the store of B killed (its listener), A revokes meanwhile: once B\'s new store has caught up, B refuses the cached session', async () => {
  const name = new URL(dbUrl).pathname.slice(1);
  const { cookie, session } = await signIn(A, 'carol@example.com');
  for (let i = 0; i < 6; i++) assert.equal(await verify(B, cookie), 200, 'B serves it (and caches it)');
  const listenersBefore = listenerBackends(name);
  assert.equal(listenersBefore.length, 2, 'one listener per instance');
  const store = B.childPid('dreamauth: store');
  assert.ok(store);

  // New connections to the database are refused for a while, so B's next
  // store cannot LISTEN yet: the restart is sure to outlast the revocation
  // below (the connections already open keep working).
  allowConnections(name, false);
  try {
    process.kill(store, 'SIGKILL');
    await untilLog(B, /store died from signal 9/);
    // Sign out on A while B has no listener: the NOTIFY reaches nobody on B.
    const out = await post(A, '/api/auth/sign-out', {}, cookie);
    assert.equal(out.status, 200);
    // Meanwhile B trusts its cache (REVOCATION_LISTENER_GRACE): forward-auth stays up.
    assert.equal(await verify(B, cookie), 200, 'B kept serving from its cache while its listener was down');
  } finally {
    allowConnections(name, true);
  }

  // The new store's listener started after the revocation and caught up from the log.
  const t0 = Date.now();
  let fresh = [];
  while (Date.now() - t0 < 8000) {
    fresh = listenerBackends(name).filter((p) => !listenersBefore.includes(p));
    if (fresh.length === 1) break;
    await sleep(20);
  }
  assert.equal(fresh.length, 1, 'B has a new listener');
  const order = psql(ADMIN_URL, `select (select backend_start from pg_stat_activity where pid = ${fresh[0]})
    > '${psql(dbUrl, `select revoked_at from sessions where id = '${session.id}'`)}'::timestamptz`);
  assert.equal(order, 't', 'the revocation happened while B had no listener');
  assert.notEqual(B.childPid('dreamauth: store'), store);
  await B.waitHealthy(5000);
  const t1 = Date.now();
  while (await verify(B, cookie) !== 401 && Date.now() - t1 < 3000) await sleep(20);
  for (let i = 0; i < 10; i++) assert.equal(await verify(B, cookie), 401, 'refused once the listener caught up');

  // Live sessions keep working on B, and notices reach B again.
  const other = await signIn(A, 'carol@example.com');
  for (let i = 0; i < 6; i++) assert.equal(await verify(B, other.cookie), 200);
  assert.equal((await post(A, '/api/auth/sign-out', {}, other.cookie)).status, 200);
  const t2 = Date.now();
  while (await verify(B, other.cookie) !== 401 && Date.now() - t2 < 1000) await sleep(20);
  assert.ok(Date.now() - t2 < 1000, 'a revocation on A reaches the restarted listener of B');
});

test('a revocation written without a notice ends the cached session at its next database touch', async () => {
  // SESSION_IDLE_TTL=4: last_seen_at is written (and the session re-checked) once a second.
  const C = await startServer({ DATABASE_URL: dbUrl, SESSION_IDLE_TTL: '4' });
  const { cookie, session } = await signIn(A, 'carol@example.com');
  for (let i = 0; i < 4; i++) assert.equal(await verify(C, cookie), 200, 'C serves it (and caches it)');
  // Behind every instance's back: no NOTIFY, so the cached copy is not dropped.
  psql(dbUrl, `update sessions set revoked_at = now() where id = '${session.id}'`);
  const t0 = Date.now();
  let status;
  while (Date.now() - t0 < 3000) {
    status = await verify(C, cookie);
    if (status === 401) break;
    await sleep(100);
  }
  assert.equal(status, 401, 'the touch found the session revoked');
  assert.ok(Date.now() - t0 < 2500, `refused after ${Date.now() - t0} ms`);
  for (let i = 0; i < 6; i++) assert.equal(await verify(C, cookie), 401, 'and dropped it from the cache');
  await C.stop();
});

test('a cached session is answered from shared memory: /api/verify passes while the database blocks every session read', async () => {
  // DB_STATEMENT_TIMEOUT_MS=1500: a query that waits on the lock ends as a
  // 503 well inside the test, so a database round-trip cannot hide.
  const D = await startServer({ DATABASE_URL: dbUrl, DB_STATEMENT_TIMEOUT_MS: '1500' });
  const { cookie } = await signIn(D, 'carol@example.com');
  for (let i = 0; i < 4; i++) assert.equal(await verify(D, cookie), 200, 'both workers serve it (and cache it)');
  // Another session of the user that D has never seen: not in its cache.
  const other = await signIn(A, 'carol@example.com');

  // Hold an exclusive lock on sessions and users: any read of either waits.
  const locker = spawn('psql', [dbUrl, '-v', 'ON_ERROR_STOP=1', '-qAt'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  locker.stdout.on('data', (d) => { out += d; });
  locker.stdin.write('BEGIN; LOCK TABLE sessions, users IN ACCESS EXCLUSIVE MODE; SELECT \'locked\';\n');
  const t0 = Date.now();
  while (!out.includes('locked') && Date.now() - t0 < 5000) await sleep(20);
  assert.ok(out.includes('locked'), 'psql did not take the lock');
  try {
    for (let i = 0; i < 20; i++) {
      const t = Date.now();
      assert.equal(await verify(D, cookie), 200, 'a cached session needed the database');
      assert.ok(Date.now() - t < 1000, `verify waited ${Date.now() - t} ms: it queried the locked table`);
    }
    // The lock does bite: a session D has not cached waits for it and fails.
    assert.equal(await verify(D, other.cookie), 503, 'an uncached session was answered without the database');
  } finally {
    locker.stdin.end('ROLLBACK;\n');
    await new Promise((r) => locker.on('exit', r));
  }
  assert.equal(await verify(D, other.cookie), 200, 'after the lock the uncached session loads');
  await D.stop();
});

test('shutdown: both instances drain and exit 0', async () => {
  assert.equal((await A.stop()).code, 0);
  assert.equal((await B.stop()).code, 0);
});
