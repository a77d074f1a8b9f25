// Runtime foundation: process tree, health, JWKS, supervision (kill -9),
// graceful drain, concurrent start-up on one empty database, configuration
// errors, the embedded PostgreSQL default.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, chmodSync, statSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, freshDatabase, psql, sleep, TEST_SECRET, BIN, freePort } from './harness.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

async function startServer(env = {}) {
  const s = new Server({ DATABASE_URL: freshDatabase('rt'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', ...env });
  servers.push(s);
  await s.start();
  return s;
}

async function jwks(s) {
  const r = await fetch(s.url + '/jwks');
  assert.equal(r.status, 200);
  return r.json();
}

test('process tree: master, N workers, store, signer, kdf with role titles', async () => {
  const s = await startServer({ WORKERS: '3' });
  const titles = s.children().map((c) => c.title).sort();
  assert.deepEqual(titles, ['dreamauth: kdf', 'dreamauth: signer', 'dreamauth: store', 'dreamauth: worker 1',
    'dreamauth: worker 2', 'dreamauth: worker 3']);
  const master = execFileSync('ps', ['-o', 'args=', '-p', String(s.proc.pid)], { encoding: 'utf8' }).trim();
  assert.equal(master, 'dreamauth: master');
  const h = await (await fetch(s.url + '/api/health')).json();
  assert.deepEqual({ status: h.status, db: h.db, signer: h.signer, workers: h.workers },
    { status: 'ok', db: 'up', signer: 'up', workers: 3 });
  await s.stop();
});

test('jwks and discovery: three algorithms, issuer matches AUTH_URL', async () => {
  const s = await startServer();
  const set = await jwks(s);
  assert.deepEqual(set.keys.map((k) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256']);
  for (const k of set.keys) {
    assert.equal(k.use, 'sig');
    assert.ok(k.kid && k.kid.length === 43, 'kid is an RFC 7638 thumbprint');
    assert.equal(k.d, undefined, 'no private part');
    assert.equal(k.p, undefined);
  }
  const d = await (await fetch(s.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.issuer, `http://localhost:${s.port}`);
  assert.equal(d.jwks_uri, `http://localhost:${s.port}/jwks`);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  await s.stop();
});

// One request on a fresh connection; answers which process served it (the
// owner of the server end, from ss, asked while the connection is open).
function askWorker(port, path = '/api/health', timeoutMs = 1500) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const finish = (r) => { clearTimeout(timer); sock.destroy(); resolve(r); };
    const timer = setTimeout(() => finish({ status: 0 }), timeoutMs);
    sock.on('error', () => finish({ status: 0 }));
    sock.on('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const len = text.match(/\r\ncontent-length: *(\d+)/i);
      if (end < 0 || !len || buf.length < end + 4 + Number(len[1])) return;
      const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} and dport = :${sock.localPort} )`], { encoding: 'utf8' });
      const owner = out.match(/pid=(\d+)/);
      let body;
      try { body = JSON.parse(text.slice(end + 4)); } catch { body = undefined; }
      finish({ status: Number(text.slice(9, 12)), body, pid: owner ? Number(owner[1]) : undefined });
    });
  });
}

const workerPids = (s) => s.children().filter((c) => c.title.startsWith('dreamauth: worker')).map((c) => c.pid).sort();

// Fresh connections until every worker process has answered 200 with
// health counting every configured worker ready; false at the deadline.
async function everyWorkerServes(s, deadline) {
  const want = workerPids(s);
  const served = new Set();
  while (Date.now() < deadline) {
    const r = await askWorker(s.port, '/api/health', Math.max(50, deadline - Date.now()));
    if (r.status === 200 && r.body.workers === r.body.workers_configured && r.pid) served.add(r.pid);
    if (want.every((p) => served.has(p))) return true;
  }
  return false;
}

test('kill -9 of a worker and of the signer: restarted, healthy within 2 s, keys unchanged', async () => {
  const s = await startServer();
  const before = await jwks(s);
  const stored = psql(s.env.DATABASE_URL, 'select string_agg(kid || encode(sealed_private, \'hex\'), \',\' order by kid) from signing_keys');

  for (const title of ['dreamauth: worker 1', 'dreamauth: signer', 'dreamauth: kdf']) {
    const pid = s.childPid(title);
    assert.ok(pid, `${title} running`);
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    let newPid;
    while (Date.now() - t0 < 2000) {
      newPid = s.childPid(title);
      if (newPid && newPid !== pid) break;
      await sleep(20);
    }
    assert.ok(newPid && newPid !== pid, `${title} restarted`);
    // Within 2 s: health counts both workers ready, and both worker
    // processes (the new one included) answer on fresh connections.
    assert.ok(await everyWorkerServes(s, t0 + 2000), `${title}: every worker serving within 2 s`);
    assert.equal(workerPids(s).length, 2);
    if (title === 'dreamauth: worker 1') assert.ok(workerPids(s).includes(newPid), 'the new worker is one of them');
  }
  assert.match(s.logs(), /worker 1 died from signal 9/);
  assert.match(s.logs(), /signer died from signal 9/);
  assert.match(s.logs(), /kdf died from signal 9/);
  const afterSet = await jwks(s);
  assert.deepEqual(afterSet, before, 'same public keys after the signer restart');
  const storedAfter = psql(s.env.DATABASE_URL, 'select string_agg(kid || encode(sealed_private, \'hex\'), \',\' order by kid) from signing_keys');
  assert.equal(storedAfter, stored, 'stored keys unchanged');
  await s.stop();
});

test('signer stopped (SIGSTOP): health 503 with signer down within 3 s; SIGCONT: 200 again', async () => {
  const s = await startServer();
  const signer = s.childPid('dreamauth: signer');
  const t0 = Date.now();
  process.kill(signer, 'SIGSTOP');
  let down;
  try {
    // The worker pings the signer over its link with a 1 s timeout: a
    // process that is alive but not answering is down.
    while (Date.now() - t0 < 3000) {
      const r = await askWorker(s.port, '/api/health', 2500);
      if (r.status === 503) { down = r; break; }
    }
  } finally {
    process.kill(signer, 'SIGCONT');
  }
  assert.ok(down, 'health went 503 while the signer was stopped');
  assert.ok(Date.now() - t0 < 3000, `503 after ${Date.now() - t0} ms`);
  assert.deepEqual({ status: down.body.status, signer: down.body.signer, db: down.body.db },
    { status: 'unavailable', signer: 'down', db: 'up' });
  await s.waitHealthy(3000);
  assert.ok(await everyWorkerServes(s, Date.now() + 3000), 'every worker sees the signer again');
  assert.equal(s.childPid('dreamauth: signer'), signer, 'the same signer: stopped is not dead');
  assert.match(s.logs(), /signer did not answer request \d+ in time/);
  await s.stop();
});

// inject_frame.py: one malformed frame on a live socketpair, as its owner would send it.
const INJECT = join(dirname(fileURLToPath(import.meta.url)), 'inject_frame.py');
const injectFrame = (ownerPid, peerPid) => execFileSync('python3', [INJECT, String(ownerPid), String(peerPid)]);

async function untilLog(s, re, ms = 2000) {
  const t0 = Date.now();
  while (!re.test(s.logs()) && Date.now() - t0 < ms) await sleep(20);
  assert.match(s.logs(), re);
}

async function within(ms, what, probe) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await probe()) return;
    await sleep(50);
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

test('malformed IPC frames: a worker asks for a fresh signer/kdf link; the master kills a child that garbles its control channel', async () => {
  const s = await startServer({ WORKERS: '1' });
  const worker = s.childPid('dreamauth: worker 1');
  const signIn = async () => (await fetch(s.url + '/api/auth/sign-in/email', {
    method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ email: 'nobody@example.com', password: 'correct horse battery' }),
  })).status;
  assert.equal(await signIn(), 401, 'the kdf answers (an unknown account costs a hash too)');

  // The signer's and the kdf's end of worker 1's links send garbage: the
  // worker drops the link and gets a new one, without a restart.
  injectFrame(s.childPid('dreamauth: signer'), worker);
  await untilLog(s, /worker 1: warn: malformed frame from signer: dropping the connection/);
  await within(2000, 'signer link back', async () => (await askWorker(s.port)).status === 200);
  injectFrame(s.childPid('dreamauth: kdf'), worker);
  await untilLog(s, /worker 1: warn: malformed frame from kdf: dropping the connection/);
  await within(2000, 'kdf link back', async () => await signIn() === 401);
  assert.equal(s.childPid('dreamauth: worker 1'), worker, 'no restart was needed');

  // Garbage to the master from a worker, then from the signer: logged with
  // the role, killed, restarted by supervision, healthy again.
  for (const [title, role] of [['dreamauth: worker 1', 'worker 1'], ['dreamauth: signer', 'signer']]) {
    const pid = s.childPid(title);
    injectFrame(pid, s.proc.pid);
    await untilLog(s, new RegExp(`master: warn: malformed frame on the control channel of ${role} \\(pid ${pid}\\); killing it`));
    await untilLog(s, new RegExp(`${role} died from signal 9`));
    await within(2000, `${role} restarted`, async () => { const p = s.childPid(title); return p && p !== pid; });
    assert.ok(await everyWorkerServes(s, Date.now() + 2000), `healthy again after ${role} restarted`);
  }
  assert.equal(await signIn(), 401);
  await s.stop();
});

test('SIGTERM drains and exits 0; health reports 503 when the database is gone', async () => {
  const s = await startServer();
  const db = new URL(s.env.DATABASE_URL).pathname.slice(1);
  // Take the database away: no new connections, existing ones killed.
  psql(s.env.DATABASE_URL.replace(`/${db}`, '/postgres'),
    `ALTER DATABASE ${db} ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`);
  let down;
  for (let i = 0; i < 4; i++) {	// each worker notices on its own next query
    const r = await fetch(s.url + '/api/health');
    down = { status: r.status, body: await r.json() };
    if (down.status === 503) break;
  }
  assert.equal(down.status, 503);
  assert.equal(down.body.db, 'down');
  assert.equal(down.body.status, 'unavailable');
  psql(s.env.DATABASE_URL.replace(`/${db}`, '/postgres'), `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
  // Back: workers reconnect (or are restarted by the master) and health recovers.
  await s.waitHealthy(15000);
  const r = await s.stop('SIGTERM');
  assert.equal(r.code, 0);
  assert.match(s.logs(), /stopped/);
  assert.throws(() => execFileSync('ps', ['--ppid', String(s.proc.pid), '-o', 'pid=']), 'no children left');
});

test('two instances started at once on one empty database: one schema, one key set', async () => {
  const url = freshDatabase('race');
  const a = new Server({ DATABASE_URL: url, AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true' });
  const b = new Server({ DATABASE_URL: url, AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true' });
  servers.push(a, b);
  await Promise.all([a.start(), b.start()]);
  const versions = psql(url, 'select count(*), count(distinct version) from schema_migrations');
  const [n, distinct] = versions.split('|').map(Number);
  assert.equal(n, distinct);
  assert.equal(n, readdirSync(new URL('../../migrations', import.meta.url)).filter((f) => f.endsWith('.sql')).length);
  assert.equal(psql(url, "select count(*) from signing_keys where state = 'current'"), '3');
  assert.deepEqual(await jwks(a), await jwks(b));
  await Promise.all([a.stop(), b.stop()]);
});

test('configuration errors: one line naming the variable, no secret echoed', async () => {
  const cases = [
    [{ DATABASE_URL: 'postgres://x@127.0.0.1:1/x', AUTH_SECRET: 'short-secret-value' }, /AUTH_SECRET/, 'short-secret-value'],
    [{ DATABASE_URL: 'postgres://x@127.0.0.1:1/x' }, /AUTH_SECRET: required/, null],
    [{ DATABASE_URL: 'postgres://x@127.0.0.1:1/x', AUTH_SECRET: TEST_SECRET, WORKERS: 'lots' }, /WORKERS/, TEST_SECRET],
    [{ DATABASE_URL: 'mysql://x', AUTH_SECRET: TEST_SECRET }, /DATABASE_URL/, TEST_SECRET],
    [{ DATABASE_URL: 'postgres://x@127.0.0.1:1/x', AUTH_SECRET: TEST_SECRET, ENABLE_REGISTRATION: 'maybe' }, /ENABLE_REGISTRATION/, TEST_SECRET],
    [{ DATABASE_URL: 'postgres://x@127.0.0.1:1/x', AUTH_SECRET: TEST_SECRET, AUTH_URL: 'ftp://x' }, /AUTH_URL/, TEST_SECRET],
  ];
  for (const [env, pattern, secret] of cases) {
    const r = spawnSync(BIN, ['serve'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 1, JSON.stringify(env));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
    if (secret) assert.ok(!r.stderr.includes(secret), 'secret not echoed');
  }
});

test('migrate command: applies once, then reports up to date; serve without AUTO_MIGRATE refuses a stale schema', async () => {
  const url = freshDatabase('mig');
  const env = { PATH: process.env.PATH, DATABASE_URL: url, AUTH_SECRET: TEST_SECRET };
  const stale = spawnSync(BIN, ['serve'], { env: { ...env, LISTEN: `127.0.0.1:${await freePort()}` }, encoding: 'utf8', timeout: 20000 });
  assert.equal(stale.status, 1);
  assert.match(stale.stderr, /dreamauth migrate/);
  const first = spawnSync(BIN, ['migrate'], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /applying migration 001_init/);
  const second = spawnSync(BIN, ['migrate'], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(second.status, 0);
  assert.match(second.stderr, /0 migration\(s\) applied/);
});

test('embedded default: no DATABASE_URL runs a private PostgreSQL under DATA_DIR', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dreamauth-embedded-'));
  chmodSync(dataDir, 0o755);
  const s = new Server({ DATA_DIR: dataDir });
  servers.push(s);
  await s.start();
  const titles = s.children().map((c) => c.title);
  assert.ok(titles.some((t) => t.includes('postgres')), `postgres child in ${titles}`);
  assert.equal(statSync(join(dataDir, 'auth_secret')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dataDir, 'pg.password')).mode & 0o777, 0o600);
  const first = await jwks(s);
  assert.equal((await s.stop()).code, 0);
  // Second start: same cluster, same secret, same keys.
  const s2 = new Server({ DATA_DIR: dataDir, PORT_OVERRIDE: s.port });
  servers.push(s2);
  await s2.start();
  assert.deepEqual(await jwks(s2), first);
  assert.equal((await s2.stop()).code, 0);
});

test('LISTEN on a port another process holds: refuses to start, the first keeps serving', async () => {
  const a = await startServer();
  // One shared socket per LISTEN address, without SO_REUSEPORT: no second instance can join the port.
  const b = new Server({ DATABASE_URL: a.env.DATABASE_URL, AUTH_SECRET: TEST_SECRET, PORT_OVERRIDE: a.port });
  servers.push(b);
  await b.start({ waitHealthy: false });
  const r = await b.exited;
  assert.notEqual(r.code, 0);
  assert.match(b.logs(), /LISTEN: cannot listen on 127\.0\.0\.1:\d+: Address already in use/);
  for (let i = 0; i < 20; i++) assert.equal((await fetch(a.url + '/api/health')).status, 200);
  await a.stop();
});

test('new connections spread over every worker', async () => {
  const s = await startServer({ WORKERS: '2' });
  const pids = new Set(s.children().filter((c) => c.title.startsWith('dreamauth: worker')).map((c) => c.pid));
  assert.equal(pids.size, 2);
  // Hold 32 connections open at once and ask which process owns each socket.
  const net = await import('node:net');
  const socks = await Promise.all(Array.from({ length: 32 }, () => new Promise((res, rej) => {
    const c = net.connect(s.port, '127.0.0.1', () => res(c));
    c.on('error', rej);
  })));
  await sleep(200);
  const owners = new Map();
  for (const c of socks) {
    const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${s.port} and dport = :${c.localPort} )`], { encoding: 'utf8' });
    const m = out.match(/pid=(\d+)/);
    assert.ok(m, `owner of connection from port ${c.localPort}: ${out}`);
    owners.set(Number(m[1]), (owners.get(Number(m[1])) || 0) + 1);
  }
  for (const c of socks) c.destroy();
  assert.deepEqual([...owners.keys()].sort(), [...pids].sort(), 'both workers accepted connections');
  for (const n of owners.values()) assert.ok(n >= 8, `each worker has a fair share: ${[...owners.values()]}`);
  await s.stop();
});

// /proc/<pid>/task/<tid>/stat: field 19 is nice, field 41 the scheduling policy (5 = SCHED_IDLE).
function kdfThreadsSched(s) {
  const pid = s.childPid('dreamauth: kdf');
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');	// f[0] is field 3
    return { nice: Number(f[16]), policy: Number(f[38]) };
  });
}

test('kdf runs under SCHED_IDLE by default, nice 10 with KDF_PRIORITY=low; workers stay normal', async () => {
  const a = await startServer({ KDF_THREADS: '2' });
  const threads = kdfThreadsSched(a);
  assert.ok(threads.length >= 3, 'main thread + 2 hashing threads');
  for (const t of threads) assert.equal(t.policy, 5, 'SCHED_IDLE');
  const w = readFileSync(`/proc/${a.childPid('dreamauth: worker 1')}/stat`, 'utf8');
  assert.equal(Number(w.slice(w.lastIndexOf(')') + 2).split(' ')[38]), 0, 'worker: SCHED_OTHER');
  await a.stop();
  const b = await startServer({ KDF_THREADS: '2', KDF_PRIORITY: 'low' });
  for (const t of kdfThreadsSched(b)) assert.deepEqual(t, { nice: 10, policy: 0 });
  await b.stop();
});

test('a statement stuck behind a lock is cancelled after DB_STATEMENT_TIMEOUT_MS: 503, then service resumes', async () => {
  const s = await startServer({ DB_STATEMENT_TIMEOUT_MS: '500', WORKERS: '1' });
  const signIn = () => fetch(s.url + '/api/auth/sign-in/email', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'nobody@example.com', password: 'correct horse battery' }),
  });
  assert.equal((await signIn()).status, 401);
  // Another session holds the users table for 4 s (a long migration, a stuck admin query).
  const holder = spawn('psql', [s.env.DATABASE_URL, '-v', 'ON_ERROR_STOP=1', '-c',
    'BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;'], { stdio: 'ignore' });
  const held = new Promise((resolve) => holder.on('exit', resolve));
  await sleep(300);
  const t0 = Date.now();
  const r = await signIn();
  const ms = Date.now() - t0;
  assert.equal(r.status, 503);
  assert.equal((await r.json()).error, 'temporarily_unavailable');
  assert.ok(ms < 2500, `answered after ${ms} ms, not when the lock was released`);
  // The worker gave up at its deadline; the store's statement is cancelled by the server at the same limit.
  for (const t1 = Date.now(); !/canceling statement due to statement timeout/.test(s.logs()) && Date.now() - t1 < 3000;) await sleep(50);
  assert.match(s.logs(), /canceling statement due to statement timeout/);
  // The same (only) worker serves health meanwhile and sign-ins once the lock is gone.
  assert.equal((await fetch(s.url + '/api/health/live')).status, 200);
  assert.equal(await held, 0);
  assert.equal((await signIn()).status, 401);
  await s.stop();
});
