// GET /metrics (workers/metrics_endpoint.c, shm/metrics.h), read by a real
// Prometheus text-format parser (Python's prometheus_client.parser, Debian
// python3-prometheus-client): counters summed across two workers grow by
// exactly the requests made, histogram buckets are cumulative with +Inf =
// _count, sign-ins and the session cache are counted, a killed worker shows
// as a restart; access: the allowed networks, else the bearer token, else
// 401/403.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Server, freshDatabase, sleep, TEST_SECRET } from './harness.mjs';

const TOKEN = 'metrics-token-0123456789abcdef';
const PASSWORD = 'correct horse battery';
const servers = [];
let db, server;

const PARSE = `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append({"family": fam.name, "type": fam.type, "name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
`;

// The parser refuses what is not the text format: an exception fails the test.
function parse(text) {
  const r = spawnSync('/usr/bin/python3', ['-c', PARSE], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `prometheus_client refused the exposition:\n${r.stderr}\n${text.slice(0, 2000)}`);
  return JSON.parse(r.stdout);
}

async function start(env) {
  const s = new Server({ DATABASE_URL: db, AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', WORKERS: '2',
    ENABLE_REGISTRATION: 'true', LOGIN_IP_MAX_ATTEMPTS: '100000', ...env });
  servers.push(s);
  await s.start();
  return s;
}

async function scrape(s = server, headers = {}) {
  const r = await fetch(s.url + '/metrics', { headers: { connection: 'close', ...headers } });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return parse(text);
}

const value = (samples, name, labels = {}) => samples
  .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  .reduce((a, s) => a + s.value, 0);

// A fresh connection per request, so the two workers share them.
async function hit(path, n, init = {}) {
  for (let i = 0; i < n; i++) {
    const r = await fetch(server.url + path, { ...init, headers: { connection: 'close', ...(init.headers || {}) }, redirect: 'manual' });
    await r.arrayBuffer();
  }
}

before(async () => {
  db = freshDatabase('metrics');
  server = await start({ METRICS_TOKEN: TOKEN });
});
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

test('counters grow by exactly the requests made, across both workers', async () => {
  const a = await scrape();
  await hit('/api/verify', 37);			// no cookie: 401
  await hit('/api/health', 11);			// 200
  await hit('/no/such/path', 5);		// 404, route "other"
  await hit('/api/auth/sign-in/email', 3);	// GET: 405 on a known route
  await hit('/api/admin/users', 2);		// a prefix route: 401 without credentials
  const b = await scrape();
  const d = (labels) => value(b, 'dreamauth_http_requests_total', labels) - value(a, 'dreamauth_http_requests_total', labels);
  assert.equal(d({ route: '/api/verify', status: '401' }), 37);
  assert.equal(d({ route: '/api/health', status: '200' }), 11);
  assert.equal(d({ route: 'other', status: '404' }), 5);
  assert.equal(d({ route: '/api/auth/sign-in/email', status: '405' }), 3);
  assert.equal(d({ route: '/api/admin/*', status: '401' }), 2);
  assert.equal(d({ route: '/metrics', status: '200' }), 1, 'the first scrape, counted once it was answered');
  // route labels are the table's patterns, never raw paths
  for (const s of b.filter((x) => x.name === 'dreamauth_http_requests_total'))
    assert.ok(!s.labels.route.includes('no/such'), s.labels.route);
  // durations: one observation per response
  const count = (x, route) => value(x, 'dreamauth_http_request_duration_seconds_count', { route });
  assert.equal(count(b, '/api/verify') - count(a, '/api/verify'), 37);
  assert.equal(value(b, 'dreamauth_workers_ready'), 2);
});

test('histograms: buckets cumulative, +Inf equal to _count, sums plausible', async () => {
  await hit('/api/verify', 5);
  const s = await scrape();
  const histos = s.filter((x) => x.name.endsWith('_bucket'));
  assert.ok(histos.length > 0);
  const series = new Map();
  for (const x of histos) {
    const { le, ...rest } = x.labels;
    const key = x.name + JSON.stringify(rest);
    if (!series.has(key)) series.set(key, { base: x.name.slice(0, -7), labels: rest, buckets: [] });
    series.get(key).buckets.push([le === '+Inf' ? Infinity : Number(le), x.value]);
  }
  for (const { base, labels, buckets } of series.values()) {
    buckets.sort((p, q) => p[0] - q[0]);
    for (let i = 1; i < buckets.length; i++)
      assert.ok(buckets[i][1] >= buckets[i - 1][1], `${base} ${JSON.stringify(labels)} not cumulative`);
    assert.equal(buckets.at(-1)[0], Infinity);
    assert.equal(buckets.at(-1)[1], value(s, base + '_count', labels), `${base} +Inf = _count`);
    assert.ok(value(s, base + '_sum', labels) >= 0);
  }
  const verifySum = value(s, 'dreamauth_http_request_duration_seconds_sum', { route: '/api/verify' });
  const verifyCount = value(s, 'dreamauth_http_request_duration_seconds_count', { route: '/api/verify' });
  assert.ok(verifySum / verifyCount < 0.5, 'a verify takes well under half a second');
});

test('sign-ins by method and result, the session cache, store and kdf latency', async () => {
  const a = await scrape();
  const post = (path, json, cookie) => fetch(server.url + path, { method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/json', connection: 'close', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(json) });
  let r = await post('/api/auth/sign-up/email', { email: 'm@example.com', password: PASSWORD, name: 'M' });
  assert.equal(r.status, 201);
  const cookie = r.headers.getSetCookie()[0].split(';')[0];
  for (let i = 0; i < 2; i++) assert.equal((await post('/api/auth/sign-in/email', { email: 'm@example.com', password: 'nope-nope-nope' })).status, 401);
  assert.equal((await post('/api/auth/sign-in/email', { email: 'm@example.com', password: PASSWORD })).status, 200);
  await hit('/api/verify', 6, { headers: { cookie } });
  const b = await scrape();
  const d = (name, labels) => value(b, name, labels) - value(a, name, labels);
  assert.equal(d('dreamauth_sign_ins_total', { method: 'password', result: 'failure' }), 2);
  assert.equal(d('dreamauth_sign_ins_total', { method: 'password', result: 'success' }), 2, 'the sign-up\'s session and the sign-in');
  assert.equal(d('dreamauth_sign_ins_total', { method: 'passkey' }), 0);
  assert.ok(d('dreamauth_session_cache_hits_total') >= 6, 'verifies answered from shared memory');
  assert.ok(d('dreamauth_actor_request_duration_seconds_count', { actor: 'kdf' }) >= 4, 'hash + 3 verifies');
  assert.ok(d('dreamauth_actor_request_duration_seconds_count', { actor: 'store' }) >= 4);
  // a gauge: once the last answers are in (a session touch may still be on
  // its way), nothing is awaited from any actor
  let idle = b;
  for (let i = 0; i < 50 && ['signer', 'kdf', 'store'].some((actor) => value(idle, 'dreamauth_queue_depth', { actor })); i++) {
    await sleep(50);
    idle = await scrape();
  }
  for (const actor of ['signer', 'kdf', 'store'])
    assert.equal(value(idle, 'dreamauth_queue_depth', { actor }), 0, `nothing awaited from the ${actor} now`);
  assert.equal(value(b, 'dreamauth_store_errors_total'), 0);
  assert.equal(value(b, 'dreamauth_build_info'), 1);
  const started = value(b, 'dreamauth_process_start_time_seconds');
  assert.ok(Math.abs(started - Date.now() / 1000) < 600, `start time ${started}`);
});

test('a killed worker is restarted and counted', async () => {
  const a = await scrape();
  const pid = server.childPid('dreamauth: worker 1') ?? server.children().find((c) => /worker 1$/.test(c.title))?.pid;
  assert.ok(pid, JSON.stringify(server.children()));
  process.kill(pid, 'SIGKILL');
  let b;
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    b = await scrape();
    if (value(b, 'dreamauth_process_restarts_total', { role: 'worker' }) > value(a, 'dreamauth_process_restarts_total', { role: 'worker' })
      && value(b, 'dreamauth_workers_ready') === 2) break;
  }
  assert.equal(value(b, 'dreamauth_process_restarts_total', { role: 'worker' }) - value(a, 'dreamauth_process_restarts_total', { role: 'worker' }), 1);
  // the dead worker's counts stay in the sum: counters never go down
  assert.ok(value(b, 'dreamauth_http_requests_total', { route: '/api/verify' }) >= value(a, 'dreamauth_http_requests_total', { route: '/api/verify' }));
});

test('access: allowed networks without a token, else the bearer token, else 401 or 403', async () => {
  // the default METRICS_ALLOW is loopback: the scrapes above had no token
  const s = await start({ METRICS_ALLOW: '10.0.0.0/8', METRICS_TOKEN: TOKEN, TRUST_PROXY: 'true' });
  const get = (headers = {}) => fetch(s.url + '/metrics', { headers });
  let r = await get();
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /^Bearer/);
  assert.equal((await get({ authorization: `Bearer ${TOKEN}x` })).status, 401);
  assert.equal((await get({ authorization: `Bearer ${TOKEN.slice(0, -1)}` })).status, 401);
  assert.equal((await get({ authorization: 'Bearer ' })).status, 401);
  assert.equal((await get({ authorization: `Basic ${TOKEN}` })).status, 401);
  r = await get({ authorization: `Bearer ${TOKEN}` });
  assert.equal(r.status, 200);
  parse(await r.text());
  // behind a trusted proxy the client's address decides
  assert.equal((await get({ 'x-forwarded-for': '10.1.2.3' })).status, 200);
  assert.equal((await get({ 'x-forwarded-for': '192.0.2.7' })).status, 401);
  // no token configured, not an allowed network: 403
  const closed = await start({ METRICS_ALLOW: '' });
  r = await fetch(closed.url + '/metrics');
  assert.equal(r.status, 403);
  assert.doesNotMatch(closed.logs() + s.logs(), new RegExp(TOKEN), 'the token is never logged');
});
