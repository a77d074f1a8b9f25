// The store actor (issue 8): workers never touch the database. Faults are
// injected into a private PostgreSQL cluster this file starts (SIGSTOP,
// stop/start), so the shared test cluster is never frozen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, chmodSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { Server, sleep, TEST_SECRET, BIN, freePort } from './harness.mjs';

const PGBIN = execFileSync('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'], { encoding: 'utf8' }).trim();
const servers = [];
let pg;	// { dir, port, url(db) }

function asPostgres(args) {
  return execFileSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8' });
}
function pgStart() {
  asPostgres([`${PGBIN}/pg_ctl`, '-D', `${pg.dir}/db`, '-l', `${pg.dir}/pg.log`, '-o',
    `-k ${pg.dir} -p ${pg.port} -c listen_addresses=127.0.0.1 -c fsync=off`, '-w', 'start']);
}
function pgStop() {
  asPostgres([`${PGBIN}/pg_ctl`, '-D', `${pg.dir}/db`, '-m', 'fast', '-w', 'stop']);
}
// The postmaster and every backend of the private cluster.
function pgPids() {
  const master = Number(readFileSync(`${pg.dir}/db/postmaster.pid`, 'utf8').split('\n')[0]);
  const kids = spawnSync('pgrep', ['-P', String(master)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  return [master, ...kids];
}
function pgSignal(sig) {
  for (const pid of pgPids()) { try { process.kill(pid, sig); } catch { /* gone */ } }
}
let dbCount = 0;
function psql(url, sql) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { encoding: 'utf8' }).trim();
}
function freshDb() {
  const name = `st_${dbCount++}`;
  psql(`postgres://postgres@127.0.0.1:${pg.port}/postgres`, `CREATE DATABASE ${name}`);
  return `postgres://postgres@127.0.0.1:${pg.port}/${name}`;
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dreamauth-storepg-'));
  chmodSync(dir, 0o755);
  execFileSync('chown', ['postgres', dir]);
  pg = { dir, port: await freePort() };
  asPostgres([`${PGBIN}/initdb`, '-D', `${dir}/db`, '-A', 'trust', '-U', 'postgres']);
  pgStart();
});
after(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  try { pgSignal('SIGCONT'); } catch { /* not running */ }
  try { asPostgres([`${PGBIN}/pg_ctl`, '-D', `${pg.dir}/db`, '-m', 'immediate', 'stop']); } catch { /* stopped */ }
  rmSync(pg.dir, { recursive: true, force: true });
});

async function startServer(env = {}) {
  const s = new Server({ DATABASE_URL: freshDb(), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', WORKERS: '2',
    ENABLE_REGISTRATION: 'true', ENABLE_OIDC_PROVIDER: 'true',
    OIDC_CLIENTS: JSON.stringify([{ clientId: 'svc', clientSecret: 'svc-secret-123', name: 'Service',
      redirectURLs: ['http://localhost/cb'], grantTypes: ['client_credentials'] }]), ...env });
  servers.push(s);
  await s.start();
  return s;
}

function post(s, path, body, cookie) {
  const headers = { 'content-type': 'application/json', origin: `http://localhost:${s.port}` };
  if (cookie) headers.cookie = cookie;
  return fetch(s.url + path, { method: 'POST', headers, body: JSON.stringify(body) });
}
async function signUp(s, email) {
  const r = await post(s, '/api/auth/sign-up/email', { email, password: 'correct horse battery staple', name: 'S' });
  assert.equal(r.status, 201, await r.clone().text());
}
async function signIn(s, email) {
  const r = await post(s, '/api/auth/sign-in/email', { email, password: 'correct horse battery staple' });
  assert.equal(r.status, 200, await r.clone().text());
  return r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}
// One /api/verify on a fresh connection (so both workers get some), with its time.
function verifyOnce(port, cookie, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (status) => { clearTimeout(timer); sock.destroy(); resolve({ status, ms: Date.now() - t0 }); };
    const timer = setTimeout(() => done(0), timeoutMs);
    sock.on('data', (d) => { buf += d; const m = buf.match(/^HTTP\/1\.1 (\d{3})/); if (m) done(Number(m[1])); });
    sock.on('error', () => done(0));
    sock.on('connect', () => sock.write(`GET /api/verify HTTP/1.1\r\nHost: localhost\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`));
  });
}
async function msUntil(pred, limitMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    if (await pred()) return Date.now() - t0;
    await sleep(25);
  }
  return -1;
}
const roles = (s) => Object.fromEntries(s.children().map((c) => [c.title.replace('dreamauth: ', ''), c.pid]));
function uidOf(pid) {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)[1]);
}
// Sockets of a process connected to the database port or its unix socket dir.
function dbConnections(pid) {
  const out = spawnSync('ss', ['-Htanp', `dport = :${pg.port}`], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.includes(`pid=${pid},`)).length;
}

test('process table: a store process; workers have no database connection, another uid, and a filter without socket/connect', async () => {
  const s = await startServer();
  const r = roles(s);
  assert.deepEqual(Object.keys(r).sort(), ['kdf', 'signer', 'store', 'worker 1', 'worker 2']);
  await signUp(s, 'tree@example.com');
  await signIn(s, 'tree@example.com');
  assert.ok(dbConnections(r.store) >= 2, 'the store holds the pool and the listener');
  for (const w of ['worker 1', 'worker 2']) {
    assert.equal(dbConnections(r[w]), 0, `${w} has a database connection`);
    assert.notEqual(uidOf(r[w]), uidOf(r.store), `${w} runs as the store's uid`);
    assert.notEqual(uidOf(r[w]), 0);
    assert.match(readFileSync(`/proc/${r[w]}/status`, 'utf8'), /^Seccomp:\s+2$/m);
  }
  assert.equal(uidOf(r.signer), uidOf(r.store), 'signer and store share the service uid');
  assert.notEqual(uidOf(r.store), 0);
  assert.match(readFileSync(`/proc/${r.store}/status`, 'utf8'), /^Seccomp:\s+2$/m);
  await s.stop();
});

test('PostgreSQL frozen (SIGSTOP): cached sessions keep passing on every worker; sign-ins and tokens get 503 by the deadline; SIGCONT: all works, nothing lost or duplicated', async () => {
  const s = await startServer({ DB_STATEMENT_TIMEOUT_MS: '1500' });
  await signUp(s, 'frozen@example.com');
  const cookie = await signIn(s, 'frozen@example.com');
  for (let i = 0; i < 8; i++) assert.equal((await verifyOnce(s.port, cookie)).status, 200);
  const users = psql(s.env.DATABASE_URL, 'select count(*) from users');
  const sessions = psql(s.env.DATABASE_URL, 'select count(*) from sessions');

  pgSignal('SIGSTOP');
  try {
    // A sign-in and a token request in flight while frozen.
    const t0 = Date.now();
    const signin = post(s, '/api/auth/sign-in/email', { email: 'frozen@example.com', password: 'correct horse battery staple' });
    const token = fetch(s.url + '/oauth2/token', { method: 'POST', headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from('svc:svc-secret-123').toString('base64') }, body: 'grant_type=client_credentials' });
    // Forward-auth of cached sessions: every worker, no added latency.
    const times = [];
    for (let i = 0; i < 30; i++) {
      const v = await verifyOnce(s.port, cookie);
      assert.equal(v.status, 200, 'a cached session needed the database');
      times.push(v.ms);
    }
    times.sort((a, b) => a - b);
    assert.ok(times[times.length - 1] < 500, `verify took up to ${times[times.length - 1]} ms while the database was frozen`);
    const [si, tk] = await Promise.all([signin, token]);
    const waited = Date.now() - t0;
    assert.equal(si.status, 503, await si.clone().text());
    assert.equal(si.headers.get('retry-after'), '1');
    assert.equal(tk.status, 503, await tk.clone().text());
    assert.ok(waited < 4000, `the 503s took ${waited} ms (deadline 1.5 s)`);
    // The workers are still responsive.
    assert.equal((await fetch(s.url + '/api/health/live')).status, 200);
  } finally {
    pgSignal('SIGCONT');
  }
  // After SIGCONT, without a restart.
  assert.ok(await msUntil(async () => (await post(s, '/api/auth/sign-in/email',
    { email: 'frozen@example.com', password: 'correct horse battery staple' })).status === 200, 10000) >= 0, s.logs());
  await signUp(s, 'after-thaw@example.com');
  assert.equal(psql(s.env.DATABASE_URL, 'select count(*) from users'), String(Number(users) + 1), 'exactly one more user');
  assert.equal(psql(s.env.DATABASE_URL, "select count(*) from users where email = 'frozen@example.com'"), '1');
  assert.ok(Number(psql(s.env.DATABASE_URL, 'select count(*) from sessions')) >= Number(sessions) + 1);
  assert.equal((await verifyOnce(s.port, cookie)).status, 200, 'the old session survived');
  assert.match(s.logs(), /store/);
  assert.doesNotMatch(s.logs(), /(store|worker \d+) died/);
  await s.stop();
});

test('the store queue is bounded: with the database frozen, a flood is answered 503 at once, not queued without end', async () => {
  const s = await startServer({ DB_STATEMENT_TIMEOUT_MS: '3000', DB_POOL_SIZE: '1', DB_QUEUE_SIZE: '2' });
  await signUp(s, 'flood@example.com');
  pgSignal('SIGSTOP');
  try {
    const t0 = Date.now();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      post(s, '/api/auth/sign-up/email', { email: `flood${i}@example.com`, password: 'correct horse battery staple', name: 'F' })
        .then((r) => ({ status: r.status, ms: Date.now() - t0 }))));
    const quick = answers.filter((a) => a.status === 503 && a.ms < 1500);
    assert.ok(quick.length >= 6, `503 at once for ${quick.length} of 12: ${JSON.stringify(answers)}`);
    assert.ok(answers.every((a) => a.status === 503), JSON.stringify(answers));
  } finally {
    pgSignal('SIGCONT');
  }
  await s.waitHealthy(10000);
  await s.stop();
});

test('store killed with -9 under load: restarted, in-flight requests answered (none hangs), revocations reach every worker after', async () => {
  const s = await startServer();
  await signUp(s, 'kill@example.com');
  const a = await signIn(s, 'kill@example.com');
  const b = await signIn(s, 'kill@example.com');
  const old = roles(s).store;
  const load = Promise.all(Array.from({ length: 40 }, () =>
    post(s, '/api/auth/sign-in/email', { email: 'kill@example.com', password: 'correct horse battery staple' })
      .then((r) => r.status)));
  await sleep(30);
  process.kill(old, 'SIGKILL');
  const statuses = await load;
  assert.ok(statuses.every((x) => x === 200 || x === 503 || x === 429), JSON.stringify(statuses));
  let fresh;
  assert.ok(await msUntil(() => (fresh = roles(s).store) && fresh !== old, 5000) >= 0, 'store restarted');
  await s.waitHealthy(10000);
  // Sign out b: its revocation reaches both workers (the store drops the cache entry).
  assert.equal((await post(s, '/api/auth/sign-out', {}, b)).status, 200);
  for (let i = 0; i < 10; i++) {
    assert.equal((await verifyOnce(s.port, b)).status, 401);
    assert.equal((await verifyOnce(s.port, a)).status, 200);
  }
  await s.stop();
});

test('forward-auth through a database restart: cached sessions keep passing; a revocation another instance made while this one could not hear is applied when its listener catches up', async () => {
  const db = freshDb();
  const A = await startServer({ DATABASE_URL: db });
  const B = await startServer({ DATABASE_URL: db });
  await signUp(A, 'restart@example.com');
  const keep = await signIn(A, 'restart@example.com');
  const doomed = await signIn(A, 'restart@example.com');
  for (let i = 0; i < 6; i++) {
    assert.equal((await verifyOnce(B.port, keep)).status, 200);
    assert.equal((await verifyOnce(B.port, doomed)).status, 200);
  }
  // B's listener loses its connection and cannot get one back for now; A
  // revokes meanwhile: the NOTIFY reaches nobody on B.
  const name = new URL(db).pathname.slice(1);
  const admin = `postgres://postgres@127.0.0.1:${pg.port}/postgres`;
  const bStore = roles(B).store;
  psql(admin, `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  try {
    psql(admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND application_name = 'dreamauth revocation listener' AND pid IN (SELECT pid FROM pg_stat_activity)`);
    assert.ok(await msUntil(() => /revocation listener lost its connection/.test(B.logs()), 5000) >= 0, B.logs());
    // A's listener was cut too; A's pool still works (open connections).
    assert.equal((await post(A, '/api/auth/sign-out', {}, doomed)).status, 200);
    // B trusts its cache meanwhile (REVOCATION_LISTENER_GRACE, 60 s): forward-auth stays up.
    for (let i = 0; i < 6; i++) assert.equal((await verifyOnce(B.port, keep)).status, 200);
  } finally {
    psql(admin, `ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
  }
  assert.ok(await msUntil(() => /revocation listener reconnected/.test(B.logs()), 10000) >= 0, B.logs());
  assert.ok(await msUntil(async () => (await verifyOnce(B.port, doomed)).status === 401, 3000) >= 0,
    'the revocation made while B could not hear was caught up');
  assert.match(B.logs(), /caught up: \d+ revocations/);
  assert.equal(roles(B).store, bStore, 'no restart needed');

  // Now the whole database restarts (5 s down) under forward-auth load on B.
  pgStop();
  const t0 = Date.now();
  const seen = {};
  try {
    while (Date.now() - t0 < 5000) {
      const v = await verifyOnce(B.port, keep, 2000);
      seen[v.status] = (seen[v.status] || 0) + 1;
      await sleep(20);
    }
  } finally {
    pgStart();
  }
  assert.deepEqual(Object.keys(seen), ['200'], `forward-auth answers during the outage: ${JSON.stringify(seen)}`);
  assert.ok(await msUntil(async () => (await post(B, '/api/auth/sign-in/email',
    { email: 'restart@example.com', password: 'correct horse battery staple' })).status === 200, 15000) >= 0, B.logs());
  assert.equal((await verifyOnce(B.port, doomed)).status, 401);
  // The outage was logged as a state change, not once per request.
  const lines = B.logs().split('\n').filter((l) => /database (unreachable|connection lost)/.test(l));
  assert.ok(lines.length <= 8, `${lines.length} outage lines`);
  await A.stop();
  await B.stop();
});

test('unknown session cookies are remembered for a few seconds: a repeated made-up cookie is refused without the database; a real session is not refused', async () => {
  const s = await startServer({ DB_STATEMENT_TIMEOUT_MS: '1000' });
  await signUp(s, 'negative@example.com');
  const bogus = 'dreamauth_session=' + 'A'.repeat(43);
  assert.equal((await verifyOnce(s.port, bogus)).status, 401, 'looked up once');
  pgSignal('SIGSTOP');
  try {
    // The database cannot answer now: only the negative cache can.
    for (let i = 0; i < 20; i++) {
      const v = await verifyOnce(s.port, bogus);
      assert.equal(v.status, 401, 'a repeated unknown cookie needed the database');
      assert.ok(v.ms < 500, `answered after ${v.ms} ms`);
    }
    // A cookie never seen does need it (the test can fail).
    assert.equal((await verifyOnce(s.port, 'dreamauth_session=' + 'B'.repeat(43))).status, 503);
  } finally {
    pgSignal('SIGCONT');
  }
  // A session signed in now is known at once, on every worker.
  const cookie = await signIn(s, 'negative@example.com');
  for (let i = 0; i < 10; i++) assert.equal((await verifyOnce(s.port, cookie)).status, 200);
  await s.stop();
});

test('REVOCATION_LISTENER_GRACE=0 keeps forward-auth fail-closed while the listener is down', async () => {
  const s = await startServer({ REVOCATION_LISTENER_GRACE: '0', DB_STATEMENT_TIMEOUT_MS: '1000' });
  await signUp(s, 'closed@example.com');
  const cookie = await signIn(s, 'closed@example.com');
  assert.equal((await verifyOnce(s.port, cookie)).status, 200);
  pgStop();
  try {
    assert.ok(await msUntil(() => /revocation listener lost its connection/.test(s.logs()), 5000) >= 0, s.logs());
    const v = await verifyOnce(s.port, cookie);
    assert.equal(v.status, 503, 'a cached session passed without a listener');
  } finally {
    pgStart();
  }
  assert.ok(await msUntil(async () => (await verifyOnce(s.port, cookie)).status === 200, 15000) >= 0);
  await s.stop();
});

test('CLI `client add|list|remove` on a running embedded cluster uses the running database (no second PostgreSQL)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dreamauth-emb-'));
  chmodSync(dataDir, 0o755);
  const s = new Server({ DATA_DIR: dataDir, DATABASE_URL: undefined, AUTH_SECRET: undefined, ENABLE_OIDC_PROVIDER: 'true' });
  servers.push(s);
  try {
    await s.start();
    const env = { PATH: process.env.PATH, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    const postmasters = () => spawnSync('pgrep', ['-f', `${dataDir}/pg`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
    const before = postmasters();
    const add = spawnSync(BIN, ['client', 'add', 'cli-app', '--redirect-uri', 'https://app.example.com/cb'], { env, encoding: 'utf8', timeout: 60000 });
    assert.equal(add.status, 0, add.stderr);
    const list = spawnSync(BIN, ['client', 'list'], { env, encoding: 'utf8', timeout: 60000 });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /cli-app/);
    const rm = spawnSync(BIN, ['client', 'remove', 'cli-app'], { env, encoding: 'utf8', timeout: 60000 });
    assert.equal(rm.status, 0, rm.stderr);
    assert.equal(postmasters(), before, 'no second PostgreSQL was started');
    assert.doesNotMatch(add.stderr + list.stderr + rm.stderr, /starting embedded|initdb/i);
    await s.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
