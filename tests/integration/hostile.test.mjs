// Hostile clients (issue 9): each test drives one attack found by a hostile
// test of 8312f66 and checks that it no longer works. Runs on the gcc and on
// the ASan/UBSan binary (tests/run_all.sh): a sanitizer report in the server
// log fails the test that stops the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, freshDatabase, rawRequest, statusOf, TEST_SECRET } from './harness.mjs';

const CLIENTS = [
  { clientId: 'app', clientSecret: 'app-secret-123', name: 'App', redirectURLs: ['http://localhost:9999/cb'],
    grantTypes: ['authorization_code', 'client_credentials'] },
];
const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

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
