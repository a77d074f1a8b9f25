// Secrets in the memory of the processes that do not need them (issue 9,
// items 5 and 10): reads every child's writable memory through
// /proc/<pid>/mem (as root; /proc/<pid>/maps for the regions) and counts
// AUTH_SECRET, the password in DATABASE_URL, the environment copies of
// both, SMTP_PASS, and the password of users who signed in. Which process
// may hold what is a table by role (the process title). The gcc build only
// (tests/run_all.sh runs it there): the ASan runtime keeps its own copy of
// the environment, read from /proc/self/environ at start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Server, freshDatabase, psql, sleep } from './harness.mjs';

const SECRET = 'Secret-' + randomBytes(20).toString('hex');
const DB_PASSWORD = 'Pw-' + randomBytes(12).toString('hex');
const SMTP_PASS = 'Smtp-' + randomBytes(12).toString('hex');
const USER_PASSWORD = 'Password-' + randomBytes(12).toString('hex');

// What each process may hold once it serves. The master reads the
// configuration and restarts the others; the signer connects to PostgreSQL
// and keeps the key derived from AUTH_SECRET, not the string; the store holds
// the application's database connections; a worker and the kdf hold nothing.
// Environment copies ("NAME=value") and SMTP_PASS (read by nothing) nowhere,
// nor the password of a user once the sign-in is answered.
const MAY_HOLD = {
  master: ['AUTH_SECRET', 'DATABASE_URL password'],
  signer: ['DATABASE_URL password'],
  store: ['DATABASE_URL password'],
  worker: [],
  kdf: [],
};

let s, dbUrl;
before(async () => {
  // A role with a password of its own, owner of the server's database.
  const role = 'mem_' + randomBytes(4).toString('hex');
  const url = new URL(freshDatabase('memory'));
  const db = url.pathname.slice(1);
  psql(url.toString(), `CREATE ROLE ${role} LOGIN PASSWORD '${DB_PASSWORD}'; ALTER DATABASE ${db} OWNER TO ${role}`);
  url.username = role;
  url.password = DB_PASSWORD;
  dbUrl = url.toString();
  s = new Server({ DATABASE_URL: dbUrl, AUTH_SECRET: SECRET, SMTP_PASS, AUTO_MIGRATE: 'true', ENABLE_REGISTRATION: 'true' });
  await s.start();
});
after(async () => { await s.stop(); });

// The role of a process from its title: "dreamauth: worker 2" → worker.
function roleOf(pid) {
  const title = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
  const m = title.match(/^dreamauth: (master|signer|kdf|store|worker)\b/);
  return m ? m[1] : title;
}

const CHUNK = 16 << 20;
// AddressSanitizer's shadow memory: terabytes mapped read-write, no data of ours.
const SHADOW = 1 << 30;

// How often each needle occurs in the readable, writable memory of pid
// (heap, stacks, data; the title area and environment too), read in chunks
// that overlap by a needle's length.
function scan(pid, needles) {
  const counts = Object.fromEntries(Object.keys(needles).map((k) => [k, 0]));
  const overlap = Math.max(...Object.values(needles).map((n) => n.length)) - 1;
  const buf = Buffer.alloc(CHUNK + overlap);
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = line.match(/^([0-9a-f]+)-([0-9a-f]+) rw/);
      if (!m) continue;
      const start = parseInt(m[1], 16), end = parseInt(m[2], 16);
      if (end - start > SHADOW) continue;
      for (let at = start; at < end; at += CHUNK) {
        let got = 0;
        try { got = readSync(fd, buf, 0, Math.min(CHUNK + overlap, end - at), at); } catch { break; }	// [vvar], a guard page
        const mem = buf.subarray(0, got);
        for (const [k, needle] of Object.entries(needles))
          for (let i = mem.indexOf(needle); i >= 0 && i < CHUNK; i = mem.indexOf(needle, i + 1)) counts[k]++;
      }
    }
  } finally {
    closeSync(fd);
  }
  return counts;
}

// { pid, role, counts } for the master and each child.
function scanAll(needles) {
  const pids = [s.proc.pid, ...s.children().map((c) => c.pid)];
  return pids.map((pid) => ({ pid, role: roleOf(pid), counts: scan(pid, needles) }));
}

// Every needle found where the role table does not allow it.
function misplaced(results, allowed = MAY_HOLD) {
  const bad = [];
  for (const { pid, role, counts } of results)
    for (const [k, n] of Object.entries(counts))
      if (n > 0 && !(allowed[role] || []).includes(k)) bad.push(`${role} (pid ${pid}) holds ${k} ${n} time(s)`);
  return bad;
}

test('AUTH_SECRET, DATABASE_URL\'s password and SMTP_PASS stay out of the processes that do not need them, environment copies included', async () => {
  const results = scanAll({
    'AUTH_SECRET': Buffer.from(SECRET),
    'DATABASE_URL password': Buffer.from(DB_PASSWORD),
    'the environment string AUTH_SECRET=': Buffer.from('AUTH_SECRET=' + SECRET),
    'the environment string DATABASE_URL=': Buffer.from('DATABASE_URL=' + dbUrl),
    'SMTP_PASS': Buffer.from(SMTP_PASS),
  });
  const roles = results.map((r) => r.role).sort();
  assert.deepEqual(roles, ['kdf', 'master', 'signer', 'store', 'worker', 'worker'], 'every process scanned');
  assert.deepEqual(misplaced(results), [], JSON.stringify(results));
  // The scan itself works: the master holds the secret it needs.
  assert.ok(results.find((r) => r.role === 'master').counts['AUTH_SECRET'] > 0, 'the scanner finds what is there');
});

test('a user\'s password is wiped from the workers and the kdf once its sign-ins are answered', async () => {
  const post = (path, body) => fetch(s.url + path, { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const up = await post('/api/auth/sign-up/email', { email: 'mem@example.com', password: USER_PASSWORD, name: 'Mem' });
  assert.equal(up.status, 201, await up.text());
  for (let i = 0; i < 4; i++) {
    const r = await post('/api/auth/sign-in/email', { email: 'mem@example.com', password: USER_PASSWORD });
    assert.equal(r.status, 200, await r.text());
  }
  // A wrong one too: the failed path wipes as well.
  assert.equal((await post('/api/auth/sign-in/email', { email: 'mem@example.com', password: USER_PASSWORD + 'x' })).status, 401);
  await sleep(200);	// the kdf's threads finish their job bookkeeping
  const results = scanAll({ 'the user password': Buffer.from(USER_PASSWORD) });
  assert.deepEqual(misplaced(results), [], JSON.stringify(results));
});
