// The HTTP/1.1 layer from outside: keep-alive, pipelining, and hostile
// input (smuggling attempts, oversized heads and bodies, garbage). Each gets
// a clear 4xx, and the server stays up and healthy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Server, freshDatabase, rawRequest, statusOf, TEST_SECRET } from './harness.mjs';
import { appendFileSync } from 'node:fs';

let s;
before(async () => {
  s = new Server({ DATABASE_URL: freshDatabase('http'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true' });
  await s.start();
});
after(async () => { await s.stop(); });

async function assertHealthy() {
  const r = await fetch(s.url + '/api/health');
  assert.equal(r.status, 200);
}

test('keep-alive and pipelining: three requests in one write, three answers in order', async () => {
  const req = (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const raw = await rawRequest(s.port, req('/api/health/live') + req('/nope') + req('/api/health/live'), { timeoutMs: 1000 });
  const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 404, 200]);
});

test('every 401 on a keep-alive connection carries WWW-Authenticate, not just the first', async () => {
  const req = 'GET /api/auth/me HTTP/1.1\r\nHost: x\r\n\r\n';
  const raw = await rawRequest(s.port, req + req + req, { timeoutMs: 1000 });
  assert.equal([...raw.matchAll(/HTTP\/1\.1 401 /g)].length, 3);
  assert.equal([...raw.matchAll(/WWW-Authenticate: Bearer\r\n/g)].length, 3);
});

test('HTTP/1.0 closes after one response; Connection: close is honoured', async () => {
  const raw = await rawRequest(s.port, 'GET /api/health/live HTTP/1.0\r\n\r\n');
  assert.equal(statusOf(raw), 200);
  assert.match(raw, /Connection: close/i);
});

const hostile = [
  ['Content-Length with Transfer-Encoding', 'POST /api/health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['duplicate Content-Length', 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab', 400],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', 400],
  ['bare CR', 'GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n', 400],
  ['bare LF line ending', 'GET / HTTP/1.1\nHost: x\n\n', 400],
  ['space before colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
  ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  ['negative Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
  ['Transfer-Encoding gzip', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 501],
  ['HTTP/2.0 version', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
  ['body too large', 'POST /api/health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n', 413],
  ['target too long', `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
  ['header section too large', `GET / HTTP/1.1\r\nHost: x\r\n${'X-Pad: ' + 'b'.repeat(8000) + '\r\n'}${'X-Pad2: ' + 'b'.repeat(9000)}\r\n\r\n`, 431],
  ['too many headers', `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 100 }, (_, i) => `X-${i}: v`).join('\r\n')}\r\n\r\n`, 431],
  ['NUL in header value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n', 400],
  ['TLS client hello', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400],
  ['absolute-form to another host', 'GET http://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n', 400],
];

for (const [name, data, expected] of hostile) {
  test(`hostile request: ${name} → ${expected}`, async () => {
    const raw = await rawRequest(s.port, data);
    assert.equal(statusOf(raw), expected, raw.slice(0, 200));
    assert.match(raw, /Connection: close/i);
    assert.match(raw, /"error"/);
    await assertHealthy();
  });
}

test('smuggling: a second request hidden in a refused body is never served', async () => {
  const smuggled = 'POST /api/health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/health HTTP/1.1\r\nHost: x\r\n\r\n';
  const raw = await rawRequest(s.port, smuggled);
  assert.equal([...raw.matchAll(/HTTP\/1\.1 \d{3} /g)].length, 1, 'exactly one response, then close');
});

test('chunked request bodies are decoded', async () => {
  const raw = await rawRequest(s.port, 'POST /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  assert.equal(statusOf(raw), 404);
});

test('wrong method → 405 with Allow', async () => {
  const r = await fetch(s.url + '/api/health', { method: 'DELETE' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET, HEAD');
});

test('slow and abandoned clients do not block others', async () => {
  const socks = [];
  for (let i = 0; i < 50; i++) {
    const sock = net.connect(s.port, '127.0.0.1');
    sock.on('error', () => {});
    sock.write('GET /api/health HTTP/1.1\r\nHost: x\r\n');	// never finished
    socks.push(sock);
  }
  await assertHealthy();
  for (const sock of socks) sock.destroy();
  await assertHealthy();
});

test('random garbage on many connections leaves the server up', async () => {
  for (let i = 0; i < 100; i++) {
    const bytes = Buffer.alloc(64 + (i * 37) % 900);
    for (let j = 0; j < bytes.length; j++) bytes[j] = (i * 131 + j * 17) & 0xff;
    await rawRequest(s.port, bytes.toString('latin1'), { timeoutMs: 500 });
  }
  await assertHealthy();
  assert.doesNotMatch(s.logs(), /AddressSanitizer|runtime error|died from signal/);
});

test('harness: a sanitizer report in a server log fails the test that stops it', async () => {
  const s = new Server({ DATABASE_URL: freshDatabase('san'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true' });
  await s.start();
  appendFileSync(s.logPath, 'x.c:1:2: runtime error: signed integer overflow\n');
  await assert.rejects(s.stop(), /sanitizer report/);
});
