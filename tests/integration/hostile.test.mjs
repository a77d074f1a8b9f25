// Hostile clients (issue 9): each test drives one attack found by a hostile
// test of 8312f66 and checks that it no longer works. Runs on the gcc and on
// the ASan/UBSan binary (tests/run_all.sh): a sanitizer report in the server
// log fails the test that stops the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Server, freshDatabase, rawRequest, statusOf, sleep, psql, TEST_SECRET } from './harness.mjs';

const REDIRECT = 'http://localhost:9999/cb';
const CLIENTS = [
  { clientId: 'app', clientSecret: 'app-secret-123', name: 'App', redirectURLs: [REDIRECT],
    grantTypes: ['authorization_code', 'client_credentials'], skipConsent: true },
];
const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

// The server's log once it matches re (lines reach the file through a pipe).
async function logMatching(re, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(s.logs()) && Date.now() < deadline) await sleep(50);
  return s.logs();
}

const PASSWORD = 'correct horse battery';
const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// Signs email in; the session cookie ("name=value").
async function signIn(email, password = PASSWORD) {
  const r = await fetch(s.url + '/api/auth/sign-in/email', json({ email, password }));
  assert.equal(r.status, 200, await r.text());
  return r.headers.getSetCookie()[0].split(';')[0];
}

let s;
before(async () => {
  s = new Server({ DATABASE_URL: freshDatabase('hostile'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_OIDC_PROVIDER: 'true', ENABLE_REGISTRATION: 'true', OIDC_CLIENTS: JSON.stringify(CLIENTS) });
  await s.start();
});
after(async () => { await s.stop(); });

test('a chunked token request is decoded in place without overlapping copies (ASan: memcpy-param-overlap)', async () => {
  // curl -H 'Transfer-Encoding: chunked' -u app:SECRET -d grant_type=client_credentials:
  // one chunk far longer than its size line, so its bytes move back over it.
  const body = 'grant_type=client_credentials';
  const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const raw = await rawRequest(s.port, 'POST /oauth2/token HTTP/1.1\r\nHost: x\r\n' +
    `Authorization: ${basic('app', 'app-secret-123')}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
    `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`);
  assert.equal(statusOf(raw), 200, raw);
  assert.match(raw, /"access_token":"ey/);
  // Two chunks, the second after the first: both move.
  const two = await rawRequest(s.port, 'POST /oauth2/token HTTP/1.1\r\nHost: x\r\n' +
    `Authorization: ${basic('app', 'app-secret-123')}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
    'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
    'b\r\ngrant_type=\r\n12\r\nclient_credentials\r\n0\r\n\r\n');
  assert.equal(statusOf(two), 200, two);
});

test('escape sequences and bidi overrides from a client never reach the log raw', async () => {
  // client_id=ESC[2J (clear the screen of whoever tails the log), then U+202E.
  for (const id of ['a%1B%5B2Jb', 'c%E2%80%AEd%C2%9Be']) {
    const r = await fetch(s.url + '/oauth2/token', { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${id}&client_secret=not-the-secret` });
    assert.equal(r.status, 401);
  }
  const log = await logMatching(/client authentication failed for c[^\n]*\n/);
  assert.ok(!log.includes('\x1b'), 'an ESC byte in the log');
  assert.ok(!log.includes('\u202e') && !log.includes('\u009b'), 'a bidi override or C1 CSI in the log');
  assert.match(log, /client authentication failed for a\\x1b\[2Jb from/);
  assert.match(log, /client authentication failed for c\\xe2\\x80\\xaed\\xc2\\x9be from/);
});

test('display names with control or format characters are refused at sign-up, with a clear error', async () => {
  for (const name of ['a\u000b\u001b[31mb\u007f', 'evil\u202egpj.exe', 'c1\u009b31m', 'zero\u200bwidth']) {
    const r = await fetch(s.url + '/api/auth/sign-up/email', json({ email: 'ctl@example.com', password: PASSWORD, name }));
    const body = await r.json();
    assert.equal(r.status, 400, JSON.stringify({ name, body }));
    assert.equal(body.error, 'invalid_name');
    assert.match(body.error_description, /control characters/);
  }
  const ok = await fetch(s.url + '/api/auth/sign-up/email', json({ email: 'zoe@example.com', password: PASSWORD, name: 'Zoë 山田' }));
  assert.equal(ok.status, 201);
});

test('a stored name with control bytes (from before the check) never reaches X-Auth-Name raw', async () => {
  const r = await fetch(s.url + '/api/auth/sign-up/email', json({ email: 'legacy@example.com', password: PASSWORD, name: 'Legacy' }));
  assert.equal(r.status, 201);
  psql(s.env.DATABASE_URL, "UPDATE users SET name = E'a\\x0b\\x1b[31mb\\x7f' WHERE email = 'legacy@example.com'");
  const cookie = await signIn('legacy@example.com');
  const raw = await rawRequest(s.port, `GET /api/verify HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`);
  assert.equal(statusOf(raw), 200, raw);
  const head = raw.split('\r\n\r\n')[0];
  for (const line of head.split('\r\n'))
    assert.ok(!/[\x00-\x08\x0a-\x1f\x7f]/.test(line), `a control byte in a header: ${JSON.stringify(line)}`);
  assert.match(head, /\r\nX-Auth-Name: a\[31mb\r\n/);
  assert.match(head, /\r\nX-Auth-Email: legacy@example.com\r\n/);
});

// ---- a client that pipelines and never reads

// Connects with a 4 KiB receive buffer, then for seconds writes
// `GET /api/health/live` a thousand times per write and reads nothing.
const NEVER_READS = `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.2)
batch = b"GET /api/health/live HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" * 1000
pending, sent, end = memoryview(batch), 0, time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        n = s.send(pending)
    except socket.timeout:
        continue
    except OSError:
        break
    sent += n
    pending = pending[n:] or memoryview(batch)
print(sent, flush=True)
time.sleep(3600)
`;

const rssKiB = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)[1]);

test('a client that pipelines without reading cannot grow a worker: its RSS stays bounded, others are served meanwhile', async () => {
  // One worker, so the other client is served by the worker under attack.
  // ASAN_OPTIONS: a small quarantine, so the ASan build's RSS shows our memory, not freed chunks held back.
  const one = new Server({ DATABASE_URL: freshDatabase('pipeline'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    WORKERS: '1', SESSION_CACHE_ENTRIES: '1024', ASAN_OPTIONS: 'quarantine_size_mb=8' });
  await one.start();
  try {
    const worker = one.childPid('dreamauth: worker 1');
    assert.ok(worker, 'worker 1 found among ' + JSON.stringify(one.children()));
    const before = rssKiB(worker);
    const attacker = spawn('python3', ['-c', NEVER_READS, String(one.port), '12'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let sentBytes = '';
    attacker.stdout.on('data', (d) => { sentBytes += d; });
    let peak = before, served = 0, slowest = 0;
    const deadline = Date.now() + 12500;
    try {
      while (Date.now() < deadline) {
        const t0 = Date.now();
        const r = await fetch(one.url + '/api/health/live', { signal: AbortSignal.timeout(3000) });
        assert.equal(r.status, 200);
        await r.text();
        served++;
        slowest = Math.max(slowest, Date.now() - t0);
        peak = Math.max(peak, rssKiB(worker));
        // Stop early once it is lost: the unfixed server grows by gigabytes.
        if (peak - before > 64 * 1024) break;
        await sleep(250);
      }
    } finally {
      attacker.kill('SIGKILL');
    }
    const grew = Math.round((peak - before) / 1024);
    assert.ok(peak - before < 64 * 1024, `worker RSS grew by ${grew} MiB (from ${Math.round(before / 1024)} MiB) while the client read nothing`);
    assert.ok(served >= 20, `only ${served} requests of another client served in 12 s`);
    assert.ok(slowest < 1000, `another client waited ${slowest} ms`);
    await sleep(200);
    assert.equal((await fetch(one.url + '/api/health/live')).status, 200);
    assert.ok(one.proc.exitCode === null, 'the server is still up');
    console.log(`pipelining attacker: worker RSS ${Math.round(before / 1024)} → peak ${Math.round(peak / 1024)} MiB, ${served} other requests served (slowest ${slowest} ms), attacker wrote ${sentBytes.trim() || '?'} bytes`);
  } finally {
    await one.stop();
  }
});

// ---- Bearer tokens at forward-auth must be meant for it

const APP = { authorization: basic('app', 'app-secret-123'), 'content-type': 'application/x-www-form-urlencoded' };
const tokenFor = async (srv, fields) => {
  const r = await fetch(srv.url + '/oauth2/token', { method: 'POST', headers: APP, body: new URLSearchParams(fields).toString() });
  return { status: r.status, body: await r.json() };
};
const verifyBearer = (srv, token) => fetch(srv.url + '/api/verify', { headers: { authorization: 'Bearer ' + token } });

// A user's authorization code for app (skipConsent), with its PKCE verifier.
async function userCode(srv, email) {
  await fetch(srv.url + '/api/auth/sign-up/email', json({ email, password: PASSWORD, name: 'User' }));
  const cookie = await signIn(email);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: REDIRECT, scope: 'openid email',
    state: 'st', code_challenge: challenge, code_challenge_method: 'S256' });
  const r = await fetch(`${srv.url}/oauth2/authorize?${q}`, { headers: { cookie }, redirect: 'manual' });
  assert.equal(r.status, 302, await r.text());
  const code = new URL(r.headers.get('location')).searchParams.get('code');
  assert.ok(code, r.headers.get('location'));
  return { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
}

test('/api/verify: a relying party\'s own token and a machine token do not pass; a user token for the forward-auth resource does', async () => {
  const audience = `http://localhost:${s.port}/api/verify`;	// the default FORWARD_AUTH_AUDIENCE
  // A client_credentials token for client app: X-Auth-User: app on 8312f66.
  const machine = await tokenFor(s, { grant_type: 'client_credentials' });
  assert.equal(machine.status, 200);
  let r = await verifyBearer(s, machine.body.access_token);
  assert.equal(r.status, 401, `a machine token passed as ${r.headers.get('x-auth-user')}`);
  assert.match(r.headers.get('www-authenticate'), /invalid_token/);
  // Meant for forward-auth, but still a machine's: refused unless allowed.
  const machineFa = await tokenFor(s, { grant_type: 'client_credentials', resource: audience });
  assert.equal(machineFa.status, 200);
  assert.equal((await verifyBearer(s, machineFa.body.access_token)).status, 401);

  // A user's token that app got for itself (aud: app) opens nothing behind forward-auth…
  const own = await tokenFor(s, await userCode(s, 'rp-user@example.com'));
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.deepEqual(JSON.parse(Buffer.from(own.body.access_token.split('.')[1], 'base64url')).aud, 'app');
  assert.equal((await verifyBearer(s, own.body.access_token)).status, 401);
  // …one asked for with resource=FORWARD_AUTH_AUDIENCE (RFC 8707) does.
  const fa = await tokenFor(s, { ...(await userCode(s, 'fa-user@example.com')), resource: audience });
  assert.equal(fa.status, 200, JSON.stringify(fa.body));
  const claims = JSON.parse(Buffer.from(fa.body.access_token.split('.')[1], 'base64url'));
  assert.deepEqual(claims.aud, ['app', audience]);
  const id = JSON.parse(Buffer.from(fa.body.id_token.split('.')[1], 'base64url'));
  assert.equal(id.aud, 'app', 'the ID token stays for the client');
  r = await verifyBearer(s, fa.body.access_token);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-auth-user'), 'fa-user@example.com');

  // Another resource is not ours to issue for.
  const other = await tokenFor(s, { grant_type: 'client_credentials', resource: 'https://elsewhere.example' });
  assert.equal(other.status, 400);
  assert.equal(other.body.error, 'invalid_target');
  const bad = await tokenFor(s, { grant_type: 'client_credentials', resource: 'https://a.example/#x' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'invalid_target');
});

test('FORWARD_AUTH_AUDIENCE and FORWARD_AUTH_ALLOW_MACHINE_TOKENS=true: machine tokens for that audience pass, others still do not', async () => {
  const m = new Server({ DATABASE_URL: freshDatabase('fwdauth'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_OIDC_PROVIDER: 'true', OIDC_CLIENTS: JSON.stringify(CLIENTS),
    FORWARD_AUTH_AUDIENCE: 'https://apps.example.com', FORWARD_AUTH_ALLOW_MACHINE_TOKENS: 'true' });
  await m.start();
  try {
    const fa = await tokenFor(m, { grant_type: 'client_credentials', resource: 'https://apps.example.com' });
    assert.equal(fa.status, 200);
    const r = await verifyBearer(m, fa.body.access_token);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-auth-user'), 'app');
    const own = await tokenFor(m, { grant_type: 'client_credentials' });
    assert.equal((await verifyBearer(m, own.body.access_token)).status, 401);
    const dflt = await tokenFor(m, { grant_type: 'client_credentials', resource: `http://localhost:${m.port}/api/verify` });
    assert.equal(dflt.status, 400, 'the default audience is replaced, not added to');
  } finally {
    await m.stop();
  }
});
