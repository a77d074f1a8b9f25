// seccomp-bpf allowlists of the actors (common/sandbox.c): the signer and the
// kdf run under a filter (/proc/<pid>/status "Seccomp: 2") and keep working
// through the paths that are rare after start-up — a database reconnect after
// which key changes are heard again, argon2id with several lanes (threads) —
// while a syscall off the list kills the process with SIGSYS and the master
// restarts it, under its filter again. SECCOMP=false installs no filter.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Server, freshDatabase, psql, sleep, TEST_SECRET, BIN } from './harness.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

const CLIENTS = [{ clientId: 'svc', clientSecret: 'svc-secret-123', name: 'Service',
  redirectURLs: ['http://localhost:9999/cb'], grantTypes: ['client_credentials'] }];

async function startServer(env = {}) {
  const s = new Server({ DATABASE_URL: freshDatabase('sb'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_REGISTRATION: 'true', ENABLE_OIDC_PROVIDER: 'true', OIDC_CLIENTS: JSON.stringify(CLIENTS), ...env });
  servers.push(s);
  await s.start();
  return s;
}

// "Seccomp:" of /proc/<pid>/status: 0 none, 2 filter.
function seccompMode(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Seccomp:\s+(\d+)$/m);
  assert.ok(m, 'kernel reports Seccomp in /proc/<pid>/status');
  return Number(m[1]);
}

const actors = (s) => ({ signer: s.childPid('dreamauth: signer'), kdf: s.childPid('dreamauth: kdf') });

// ms until pred() holds, polling every 50 ms; -1 after limitMs.
async function msUntil(pred, limitMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    if (await pred()) return Date.now() - t0;
    await sleep(50);
  }
  return -1;
}

function post(s, path, body, headers = {}) {
  return fetch(s.url + path, { method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/json', origin: `http://localhost:${s.port}`, ...headers },
    body: JSON.stringify(body) });
}

// Sign-up, sign-in right and wrong, a session check: the kdf hashes and verifies.
async function passwordRoundTrip(s, email) {
  const password = 'correct horse battery staple';
  let r = await post(s, '/api/auth/sign-up/email', { email, password, name: 'Sandboxed' });
  assert.equal(r.status, 201, await r.clone().text());
  r = await post(s, '/api/auth/sign-in/email', { email, password });
  assert.equal(r.status, 200, await r.clone().text());
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  assert.equal((await fetch(s.url + '/api/verify', { headers: { cookie } })).status, 200);
  r = await post(s, '/api/auth/sign-in/email', { email, password: 'wrong horse battery staple' });
  assert.equal(r.status, 401);
}

// A client_credentials token: the signer signs.
async function accessToken(s) {
  const r = await fetch(s.url + '/oauth2/token', { method: 'POST', headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: 'Basic ' + Buffer.from('svc:svc-secret-123').toString('base64') }, body: 'grant_type=client_credentials' });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).access_token;
}

const kids = async (s) => (await (await fetch(s.url + '/jwks')).json()).keys.map((k) => k.kid).sort();
const noActorDied = (s) => assert.doesNotMatch(s.logs(), /(signer|kdf) (died|exited)/);

test('signer and kdf run under a seccomp filter and serve sign-ins and tokens', async () => {
  const s = await startServer();
  const pids = actors(s);
  assert.equal(seccompMode(pids.signer), 2, 'signer filtered');
  assert.equal(seccompMode(pids.kdf), 2, 'kdf filtered');
  await passwordRoundTrip(s, 'filtered@example.com');
  assert.equal((await accessToken(s)).split('.').length, 3);
  assert.deepEqual(actors(s), pids, 'neither actor restarted');
  noActorDied(s);
  await s.stop();
  assert.doesNotMatch(s.logs(), /Bad system call/, 'clean shutdown under the filter');
});

test('argon2id with 4 lanes: the kdf starts threads (ending in pthread_exit) under its filter', async () => {
  const s = await startServer({ ARGON2_PARALLELISM: '4', KDF_THREADS: '1' });
  const pids = actors(s);
  assert.equal(seccompMode(pids.kdf), 2);
  await passwordRoundTrip(s, 'lanes@example.com');
  assert.match(psql(s.env.DATABASE_URL, "select password_hash from users where email = 'lanes@example.com'"),
    /^\$argon2id\$v=19\$m=\d+,t=\d+,p=4\$/);
  assert.equal(actors(s).kdf, pids.kdf, 'kdf not restarted');
  noActorDied(s);
  await s.stop();
});

test('the signer reconnects to the database under its filter and hears key changes again', async () => {
  const s = await startServer();
  const pids = actors(s);
  const before = await kids(s);
  const db = new URL(s.env.DATABASE_URL).pathname.slice(1);
  const admin = s.env.DATABASE_URL.replace(`/${db}`, '/postgres');
  // Connections cut and refused for a while: reconnects fail (the FATAL path), then succeed.
  psql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`);
  assert.ok(await msUntil(() => /lost the database connection that carries key changes/.test(s.logs()), 5000) >= 0);
  await sleep(1500);	// the first retry (after 1 s) meets a refusing database
  psql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
  assert.ok(await msUntil(() => /key database connection back/.test(s.logs()), 15000) >= 0, s.logs());
  assert.equal(actors(s).signer, pids.signer, 'the same signer reconnected');
  assert.equal(seccompMode(pids.signer), 2);

  // LISTEN is back: a rotation reaches the running signer.
  const r = spawnSync(BIN, ['keys', 'rotate'], { encoding: 'utf8', timeout: 60000,
    env: { PATH: process.env.PATH, DATABASE_URL: s.env.DATABASE_URL, AUTH_SECRET: TEST_SECRET, LOG_LEVEL: 'warn' } });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(await msUntil(async () => (await kids(s)).length === 6, 5000) >= 0, 'rotation heard after the reconnect');
  const after = await kids(s);
  for (const k of before) assert.ok(after.includes(k), 'old keys still published while they retire');
  await s.waitHealthy(15000);
  assert.equal((await accessToken(s)).split('.').length, 3);
  assert.equal(actors(s).signer, pids.signer);
  noActorDied(s);
  await s.stop();
});

// strace can make a traced process run another syscall than the one it
// asked for; the kernel checks seccomp after the tracer, so the filter sees
// getppid (listed for neither actor) where poll was. Without a filter poll
// would fail with ENOSYS instead, and the actor exit with status 1.
const haveStrace = spawnSync('strace', ['-V']).status === 0;

for (const role of ['signer', 'kdf']) {
  test(`a syscall off the list kills the ${role} with SIGSYS; the master restarts it filtered`,
    { skip: haveStrace ? false : 'strace not installed' }, async (t) => {
      const s = await startServer();
      const pid = actors(s)[role];
      const before = await kids(s);
      const tracer = spawn('strace', ['-qq', '-o', '/dev/null', '-p', String(pid), '-e', 'trace=poll,ppoll',
        '-e', 'inject=poll,ppoll:error=ENOSYS:syscall=getppid:when=1'], { stdio: 'ignore' });
      const traced = new Promise((resolve) => tracer.on('exit', (code) => resolve(code)));
      const died = new RegExp(`${role} died from signal \\d+ \\(Bad system call\\)`);
      const first = await Promise.race([traced.then((code) => ({ code })),
        msUntil(() => died.test(s.logs()), 10000).then((ms) => ({ ms }))]);
      if (first.code && !died.test(s.logs())) {	// no ptrace here (container without CAP_SYS_PTRACE, Yama)
        t.skip(`strace could not attach (exit ${first.code})`);
        await s.stop();
        return;
      }
      assert.ok(await msUntil(() => died.test(s.logs()), 10000) >= 0, s.logs());
      await traced;
      let fresh;
      assert.ok(await msUntil(() => (fresh = actors(s)[role]) && fresh !== pid, 5000) >= 0, `${role} restarted`);
      assert.equal(seccompMode(fresh), 2, 'the new process is filtered too');
      await s.waitHealthy(10000);
      if (role === 'kdf')
        await passwordRoundTrip(s, 'after-restart@example.com');
      assert.equal((await accessToken(s)).split('.').length, 3);
      assert.deepEqual(await kids(s), before, 'same keys after the restart');
      await s.stop();
    });
}

test('SECCOMP=false: no filter on either actor', async () => {
  const s = await startServer({ SECCOMP: 'false' });
  const pids = actors(s);
  assert.equal(seccompMode(pids.signer), 0);
  assert.equal(seccompMode(pids.kdf), 0);
  assert.match(s.logs(), /seccomp filter off \(SECCOMP=false\)/);
  await passwordRoundTrip(s, 'unfiltered@example.com');
  await s.stop();
});
