// Hostile clients (issue 9): each test drives one attack found by a hostile
// test of 8312f66 and checks that it no longer works. Runs on the gcc and on
// the ASan/UBSan binary (tests/run_all.sh): a sanitizer report in the server
// log fails the test that stops the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, freshDatabase, rawRequest, statusOf, sleep, psql, TEST_SECRET } from './harness.mjs';

const CLIENTS = [
  { clientId: 'app', clientSecret: 'app-secret-123', name: 'App', redirectURLs: ['http://localhost:9999/cb'],
    grantTypes: ['authorization_code', 'client_credentials'] },
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
