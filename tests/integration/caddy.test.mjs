// A real Caddy (Debian's package) running deploy/caddy/Caddyfile as shipped,
// its placeholders pointed at this test's ports: forward_auth, the
// Traefik-style contract (dreamauth answers 302 to its login page itself).
// Two hosts, as in production: auth.example.test serves dreamauth,
// app.example.test an app behind forward_auth, COOKIE_DOMAIN=example.test.
// Walks anonymous → 302 to login → form sign-in → app sees the identity →
// forged X-Auth-* never reach the app → sign out → 302 again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { Server, freshDatabase, freePort, sleep, TEST_SECRET, ROOT } from './harness.mjs';
import { proxiedRequest, hiddenField, stopProxy } from './browser.mjs';

const CADDY = process.env.CADDY_BIN || 'caddy';
const EMAIL = 'grace@example.com';
const PASSWORD = 'correct horse battery';

let dreamauth, app, caddy, dir, port, authHost, appHost;
let caddyLog = '';
const appSeen = [];

function canConnect(p) {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// One browser request to Caddy for `host` (TLS from Caddy's local CA).
const request = (host, method, path, opts) => proxiedRequest({ port, host, tls: true }, method, path, opts);

before(async () => {
  app = http.createServer((req, res) => {
    const seen = { url: req.url, host: req.headers.host };
    for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-auth-')) seen[k] = v;
    appSeen.push(seen);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(seen));
  });
  await new Promise((r) => app.listen(0, '127.0.0.1', r));

  dir = mkdtempSync(join(tmpdir(), 'dreamauth-caddy-'));
  port = await freePort();
  authHost = `auth.example.test:${port}`;
  appHost = `app.example.test:${port}`;
  dreamauth = new Server({
    DATABASE_URL: freshDatabase('caddy'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_REGISTRATION: 'true', AUTH_URL: `https://${authHost}`, COOKIE_DOMAIN: 'example.test',
  });
  await dreamauth.start();

  // The shipped file, untouched, after a global block for the test only: no
  // admin endpoint, certificates from Caddy's local CA (no ACME, nothing
  // added to the system trust store), no :80 listener for redirects.
  const shipped = readFileSync(join(ROOT, 'deploy', 'caddy', 'Caddyfile'), 'utf8');
  const httpPort = await freePort();
  writeFileSync(join(dir, 'Caddyfile'),
    `{\n\tadmin off\n\tlocal_certs\n\tskip_install_trust\n\thttp_port ${httpPort}\n\tauto_https disable_redirects\n}\n${shipped}`);
  caddy = spawn(CADDY, ['run', '--adapter', 'caddyfile', '--config', join(dir, 'Caddyfile')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir,
      DREAMAUTH_SITE: `https://${authHost}`, APP_SITE: `https://${appHost}`,
      DREAMAUTH_UPSTREAM: `127.0.0.1:${dreamauth.port}`, APP_UPSTREAM: `127.0.0.1:${app.address().port}`,
    },
  });
  caddy.stdout.on('data', (d) => { caddyLog += d; });
  caddy.stderr.on('data', (d) => { caddyLog += d; });
  const deadline = Date.now() + 15000;
  while (!(await canConnect(port))) {
    if (caddy.exitCode !== null || Date.now() > deadline) throw new Error(`caddy did not start on ${port}:\n${caddyLog}`);
    await sleep(50);
  }
  // Listening is not serving: the local CA issues the sites' certificates
  // in the background. Wait until both hosts complete a TLS handshake.
  for (const host of [authHost, appHost]) {
    for (;;) {
      try { await request(host, 'GET', '/api/health/live'); break; } catch (e) {
        if (Date.now() > deadline) throw new Error(`caddy serves no TLS for ${host}: ${e.message}\n${caddyLog}`);
        await sleep(100);
      }
    }
  }
});

after(async () => {
  await stopProxy(caddy, 'SIGTERM');
  if (dreamauth) await dreamauth.stop();
  if (app) await new Promise((r) => app.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('browser flow through Caddy forward_auth across two hosts: 302 to login, identity headers, logout', async () => {
  const created = await request(authHost, 'POST', '/api/auth/sign-up/email', {
    json: { email: EMAIL, password: PASSWORD, name: 'Grace' },
  });
  assert.equal(created.status, 201, created.body);
  const userId = JSON.parse(created.body).user.id;

  const jar = new Map();
  const hits = appSeen.length;

  // Anonymous: dreamauth's own 302, relayed by Caddy, with the original URL.
  const anon = await request(appHost, 'GET', '/page?x=1', { jar });
  assert.equal(anon.status, 302, anon.body);
  const rd = `https://${appHost}/page?x=1`;
  const loc = new URL(anon.headers.location);
  assert.equal(`${loc.protocol}//${loc.host}${loc.pathname}`, `https://${authHost}/login`);
  assert.equal(loc.searchParams.get('rd'), rd);
  assert.equal(appSeen.length, hits, 'an anonymous request reached the app');

  // A forged X-Forwarded-Host from the client cannot aim rd elsewhere: Caddy
  // sets its own, and dreamauth refuses hosts outside COOKIE_DOMAIN anyway.
  const forgedHost = await request(appHost, 'GET', '/page', { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } });
  assert.equal(forgedHost.status, 302);
  assert.equal(new URL(forgedHost.headers.location).searchParams.get('rd'), `https://${appHost}/page`);

  // The login page on the auth host, then the form sign-in.
  const page = await request(authHost, 'GET', loc.pathname + loc.search, { jar });
  assert.equal(page.status, 200, page.body);
  assert.equal(hiddenField(page.body, 'rd'), rd);
  const login = await request(authHost, 'POST', '/login', {
    jar, headers: { origin: `https://${authHost}` },
    form: { csrf: hiddenField(page.body, 'csrf'), email: EMAIL, password: PASSWORD, rd },
  });
  assert.equal(login.status, 303, login.body);
  assert.equal(login.headers.location, rd);
  const session = jar.get('dreamauth_session');
  assert.ok(session, 'no session cookie after sign-in');
  assert.ok(session.attrs.some((a) => /^domain=\.?example\.test$/i.test(a)), `cookie not for the whole domain: ${session.attrs}`);
  assert.ok(session.attrs.some((a) => /^httponly$/i.test(a)));
  assert.ok(session.attrs.some((a) => /^secure$/i.test(a)), 'an https issuer must set Secure');

  // The app host, with the cookie: the app sees who the user is; forged
  // identity headers (X-Auth-Groups included, which this user has none of)
  // never reach it.
  const forged = { 'x-auth-user': 'admin@evil.example', 'x-auth-id': '0', 'x-auth-email': 'admin@evil.example',
    'x-auth-groups': 'admin', 'x-auth-name': 'Mallory' };
  const ok = await request(appHost, 'GET', '/page?x=1', { jar, headers: forged });
  assert.equal(ok.status, 200, ok.body);
  const seen = JSON.parse(ok.body);
  assert.equal(seen.url, '/page?x=1');
  assert.equal(seen['x-auth-user'], EMAIL);
  assert.equal(seen['x-auth-id'], userId);
  assert.equal(seen['x-auth-email'], EMAIL);
  assert.equal(seen['x-auth-name'], 'Grace');
  assert.ok(!seen['x-auth-groups'], `a forged group list reached the app: ${seen['x-auth-groups']}`);

  // Anonymous with forged identity headers: still the login redirect.
  const before = appSeen.length;
  const anonForged = await request(appHost, 'GET', '/page', { headers: forged });
  assert.equal(anonForged.status, 302);
  assert.equal(appSeen.length, before);

  // Sign out on the auth host; the app host sends the visitor to login again,
  // and a kept copy of the old cookie is dead server-side too.
  const account = await request(authHost, 'GET', '/account', { jar });
  assert.equal(account.status, 200, account.body);
  const logout = await request(authHost, 'POST', '/logout', {
    jar, headers: { origin: `https://${authHost}` }, form: { csrf: hiddenField(account.body, 'csrf') },
  });
  assert.equal(logout.status, 303, logout.body);
  assert.ok(!jar.has('dreamauth_session'), 'the session cookie was not cleared');
  const again = await request(appHost, 'GET', '/page', { headers: { cookie: `dreamauth_session=${session.value}` } });
  assert.equal(again.status, 302, 'a signed-out session still opens the app');
  assert.equal(appSeen.length, before, 'a signed-out request reached the app');
});
