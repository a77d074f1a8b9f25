// Lifecycle: the embedded cluster's unprivileged owner role (fresh and
// upgraded data dirs), SIGTERM drain of a request in flight, migrations
// applied once by racing instances, start-up checks of RUN_USER and PG_BIN.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, chmodSync, statSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, freshDatabase, psql, sleep, TEST_SECRET, ROOT, BIN } from './harness.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

// The superuser's URL, built from the cluster's own password file.
function superuserUrl(dataDir) {
  const pw = readFileSync(join(dataDir, 'pg.password'), 'utf8').trim();
  return `postgresql://postgres:${encodeURIComponent(pw)}@/postgres?host=${encodeURIComponent(join(dataDir, 'run'))}`;
}

const NOT_OWNED = `select (select count(*) from pg_class where relnamespace = 'public'::regnamespace
    and relowner <> 'dreamauth'::regrole)
  + (select count(*) from pg_proc where pronamespace = 'public'::regnamespace and proowner <> 'dreamauth'::regrole)`;

test('embedded cluster: every server connection is the unprivileged owner role, also after an upgrade', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dreamauth-role-'));
  chmodSync(dataDir, 0o755);
  const s = new Server({ DATA_DIR: dataDir, ENABLE_REGISTRATION: 'true' });
  servers.push(s);
  await s.start();
  assert.equal(statSync(join(dataDir, 'pg.app_password')).mode & 0o777, 0o600);
  const su = superuserUrl(dataDir);
  // Every backend the server opened (workers, signer, listeners) is dreamauth's, none a superuser's.
  const backends = () => psql(su, `select string_agg(distinct usename || ':' || r.rolsuper, ',')
    from pg_stat_activity a join pg_roles r on r.oid = a.usesysid
    where a.application_name = 'dreamauth' and a.pid <> pg_backend_pid()`);
  assert.equal(backends(), 'dreamauth:false');
  assert.equal(psql(su, NOT_OWNED), '0');
  assert.equal(psql(su, "select pg_get_userbyid(datdba) from pg_database where datname = 'postgres'"), 'dreamauth');

  // Turn the data dir into one made by an older version: everything owned by
  // postgres, no role, no role password file.
  psql(su, `ALTER DATABASE postgres OWNER TO postgres; ALTER SCHEMA public OWNER TO pg_database_owner;
    REASSIGN OWNED BY dreamauth TO postgres; DROP OWNED BY dreamauth;
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'dreamauth'`);
  assert.equal((await s.stop()).code, 0);
  unlinkSync(join(dataDir, 'pg.app_password'));
  const s2 = new Server({ DATA_DIR: dataDir, ENABLE_REGISTRATION: 'true', PORT_OVERRIDE: s.port });
  servers.push(s2);
  await s2.start();
  const su2 = superuserUrl(dataDir);
  psql(su2, 'DROP ROLE IF EXISTS nobody_at_all');	// the superuser still works
  assert.equal(psql(su2, NOT_OWNED), '0');
  assert.equal(backends(), 'dreamauth:false');
  // And the server writes through the role: a sign-up works.
  const r = await fetch(s2.url + '/api/auth/sign-up/email', {
    method: 'POST', headers: { 'content-type': 'application/json', origin: `http://localhost:${s2.port}` },
    body: JSON.stringify({ email: 'upgrade@example.com', password: 'correct horse battery', name: 'U' }),
  });
  assert.equal(r.status, 201, await r.text());
  assert.equal((await s2.stop()).code, 0);
  assert.doesNotMatch(s2.logs(), /ERROR|must be owner|permission denied/);
});

test('SIGTERM while a slow sign-in is in flight: the answer completes, then the master exits 0', async () => {
  // A deliberately slow hash (64 MiB, 8 passes) keeps the request in the kdf for a while.
  const s = new Server({ DATABASE_URL: freshDatabase('drain'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_REGISTRATION: 'true', ARGON2_MEMORY_KIB: '65536', ARGON2_ITERATIONS: '8', WORKERS: '1', KDF_THREADS: '1' });
  servers.push(s);
  await s.start();
  const body = JSON.stringify({ email: 'drain@example.com', password: 'correct horse battery', name: 'D' });
  const post = (path) => fetch(s.url + path, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: `http://localhost:${s.port}` }, body,
  });
  let t0 = Date.now();
  assert.equal((await post('/api/auth/sign-up/email')).status, 201);
  const hashMs = Date.now() - t0;
  assert.ok(hashMs >= 100, `a hash takes ${hashMs} ms: too fast to catch in flight`);

  t0 = Date.now();
  const inFlight = post('/api/auth/sign-in/email');
  await sleep(Math.min(50, hashMs / 4));
  process.kill(s.proc.pid, 'SIGTERM');
  const killedAt = Date.now() - t0;
  const r = await inFlight;
  const text = await r.text();
  const answeredAt = Date.now() - t0;
  assert.equal(r.status, 200, text);
  assert.ok(answeredAt > killedAt, `answered at ${answeredAt} ms, after SIGTERM at ${killedAt} ms`);
  const json = JSON.parse(text);	// complete body
  assert.equal(json.user.email, 'drain@example.com');
  assert.equal(r.headers.get('connection'), 'close', 'a draining worker closes the connection after the answer');
  const exit = await s.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.match(s.logs(), /received SIGTERM: draining/);
  assert.match(s.logs(), /stopped/);
});

test('two instances started at once on one empty database: every migration applied exactly once, no errors', async () => {
  const url = freshDatabase('race2');
  const files = readdirSync(join(ROOT, 'migrations')).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4)).sort();
  assert.ok(files.length >= 5);
  const a = new Server({ DATABASE_URL: url, AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true' });
  const b = new Server({ DATABASE_URL: url, AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true' });
  servers.push(a, b);
  await Promise.all([a.start(), b.start()]);
  assert.deepEqual(psql(url, 'select string_agg(version, \',\' order by version) from schema_migrations').split(','), files);
  // Each file applied by exactly one of the two; the other found it done under the lock.
  const logs = a.logs() + b.logs();
  for (const v of files) assert.equal(logs.split(`applied migration ${v}\n`).length - 1, 1, `${v} applied once`);
  for (const l of [a.logs(), b.logs()]) {
    assert.doesNotMatch(l, /: error: |migration .* failed|refusing|could not take migration lock/);
  }
  assert.equal(psql(url, "select count(*) from signing_keys where state = 'current'"), '3');
  await Promise.all([a.stop(), b.stop()]);
});

test('a bad RUN_USER (as root) or PG_BIN (embedded) stops start-up with one line, before any child starts', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dreamauth-badcfg-'));
  const cases = [
    [{ DATABASE_URL: 'postgres://x@127.0.0.1:1/x', AUTH_SECRET: TEST_SECRET, RUN_USER: 'no-such-user-x' }, /RUN_USER: no such user "no-such-user-x"/],
    [{ DATA_DIR: dataDir, PG_BIN: '/nonexistent/pg/bin' }, /PG_BIN: \/nonexistent\/pg\/bin\/postgres is not executable/],
  ];
  if (process.getuid() !== 0) cases.shift();	// RUN_USER only matters when started as root
  for (const [env, pattern] of cases) {
    const r = spawnSync(BIN, ['serve'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
  }
  assert.deepEqual(readdirSync(dataDir), [], 'nothing created in DATA_DIR');
});
