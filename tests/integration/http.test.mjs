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
  // A short request deadline (default 20 s) so the slowloris tests are quick.
  s = new Server({ DATABASE_URL: freshDatabase('http'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    HTTP_REQUEST_TIMEOUT: '3' });
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

// Requests answered later (the kdf, the signer) keep the connection read
// while in flight: a client that half-closes after its request still gets
// the whole answer, and requests pipelined behind it are answered in order.
const halfClosed = (port, data) => rawRequest(port, data, { timeoutMs: 5000, halfClose: true });

test('an answer computed later (kdf) reaches a client that half-closed; pipelined requests behind it keep their order', async () => {
  const body = JSON.stringify({ email: 'nobody@example.com', password: 'not the password' });
  const signIn = `POST /api/auth/sign-in/email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const one = await halfClosed(s.port, signIn);
  assert.equal(statusOf(one), 401, one);
  assert.match(one, /\r\n\r\n\{"error":"invalid_credentials"/);
  const live = 'GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n';
  const three = await halfClosed(s.port, signIn + live + signIn);
  const statuses = [...three.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [401, 200, 401], three);
});

test('a half-close with more answers queued than the socket holds: every answer is flushed before the close', async () => {
  // Well over what loopback TCP buffers hold (several MiB), so most of it
  // waits in the server's own output buffer when the FIN arrives.
  const n = 4000;
  const req = 'GET /login HTTP/1.1\r\nHost: x\r\n\r\n';
  const raw = await new Promise((resolve) => {
    const sock = net.connect(s.port, '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); }, 10000);
    sock.on('connect', () => {
      sock.pause();	// read nothing yet: the server's output queues up
      sock.end(req.repeat(n));
      setTimeout(() => sock.resume(), 500);
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
    sock.on('error', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
  });
  const answers = raw.split('HTTP/1.1 200 OK\r\n').length - 1;
  assert.ok(raw.length > 4000000, `only ${raw.length} bytes came back`);
  assert.equal(answers, n, `${answers} of ${n} answers before the close`);
  assert.ok(raw.trimEnd().endsWith('</html>'), 'the last answer was cut short');
});

test('the response head is exact: status line, Date, Content-Length of the body, Content-Type, Connection: close', async () => {
  const raw = await rawRequest(s.port, 'GET /api/health/live HTTP/1.0\r\n\r\n');
  const [head, body] = raw.split('\r\n\r\n');
  const lines = head.split('\r\n');
  assert.equal(lines[0], 'HTTP/1.1 200 OK');
  assert.match(lines[1], /^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  assert.equal(lines[2], `Content-Length: ${Buffer.byteLength(body)}`);
  assert.equal(lines[3], 'Content-Type: application/json');
  assert.equal(lines[4], 'Connection: close');
  assert.equal(body, '{"status":"ok"}');
  // A 404 with a longer body: the length is every digit of it.
  const nf = await rawRequest(s.port, 'GET /no/such/page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const [nfHead, nfBody] = nf.split('\r\n\r\n');
  assert.match(nfHead, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(nfHead, new RegExp(`\r\nContent-Length: ${Buffer.byteLength(nfBody)}\r\n`));
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

// Sends first, then one piece of rest every intervalMs (each byte would
// restart a plain read timeout); resolves with what came back and when the
// server closed, or after giveUpMs.
function trickle(first, rest, intervalMs, giveUpMs) {
  return new Promise((resolve) => {
    const sock = net.connect(s.port, '127.0.0.1');
    const t0 = Date.now();
    let buf = '', i = 0, timer;
    const done = (closed) => { clearInterval(timer); clearTimeout(stop); sock.destroy(); resolve({ buf, ms: Date.now() - t0, closed }); };
    const stop = setTimeout(() => done(false), giveUpMs);
    sock.on('data', (d) => { buf += d.toString('latin1'); });
    sock.on('close', () => done(true));
    sock.on('error', () => {});
    sock.on('connect', () => {
      sock.write(first);
      timer = setInterval(() => { if (!sock.destroyed) sock.write(rest[i++ % rest.length]); }, intervalMs);
    });
  });
}

test('slowloris: a head trickled byte by byte is cut off at HTTP_REQUEST_TIMEOUT from its first byte', async () => {
  const r = await trickle('GET /api/health/live HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 300, 10000);
  assert.ok(r.closed, `still open after ${r.ms} ms`);
  assert.ok(r.ms >= 2500 && r.ms < 6000, `closed after ${r.ms} ms (deadline 3 s)`);
  assert.equal(statusOf(r.buf), 408, r.buf);
  await assertHealthy();
});

test('slowloris: a trickled body is cut off at HTTP_REQUEST_TIMEOUT after its head', async () => {
  const r = await trickle('POST /api/auth/sign-in/email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    'Content-Length: 1000\r\n\r\n{', ' ', 300, 10000);
  assert.ok(r.closed, `still open after ${r.ms} ms`);
  assert.ok(r.ms >= 2500 && r.ms < 6000, `closed after ${r.ms} ms (deadline 3 s)`);
  assert.equal(statusOf(r.buf), 408, r.buf);
});

test('an idle keep-alive connection is not cut by the request deadline; a prompt request on it is served', async () => {
  const sock = net.connect(s.port, '127.0.0.1');
  await new Promise((res) => sock.on('connect', res));
  let buf = '';
  sock.on('data', (d) => { buf += d.toString('latin1'); });
  const req = 'GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n';
  sock.write(req);
  await new Promise((res) => setTimeout(res, 4500));	// idle longer than the 3 s deadline
  assert.ok(!sock.destroyed && sock.readyState === 'open', 'still open while idle');
  sock.write(req);
  await new Promise((res) => setTimeout(res, 300));
  sock.destroy();
  assert.deepEqual([...buf.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]), ['200', '200']);
});

test('empty lines before a request line are ignored (RFC 9112 2.2), up to the parser allowance', async () => {
  const req = 'GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n';
  assert.equal(statusOf(await rawRequest(s.port, '\r\n' + req, { timeoutMs: 500 })), 200);
  assert.equal(statusOf(await rawRequest(s.port, '\r\n\r\n' + req, { timeoutMs: 500 })), 200);
  assert.equal(statusOf(await rawRequest(s.port, '\r\n'.repeat(4) + req, { timeoutMs: 500 })), 200);
  assert.equal(statusOf(await rawRequest(s.port, '\r\n'.repeat(5) + req, { timeoutMs: 500 })), 400);
  // A stray CRLF after a request (a client's habit after a body) does not break the next one.
  const raw = await rawRequest(s.port, req + '\r\n' + req + '\r\n\r\n' + req, { timeoutMs: 500 });
  assert.deepEqual([...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]), ['200', '200', '200']);
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
