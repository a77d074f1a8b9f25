// A real nginx with auth_request in front of a protected app, configured
// with deploy/nginx/snippets/ in dreamauth.conf's single-host layout: dreamauth's
// pages and /api/auth/* and the app at /app/ share one origin, so the
// browser's cookies are same-origin. Walks what a browser does: anonymous
// → login redirect → form sign-in → app sees the identity headers → sign
// out → login redirect again; and checks that client-sent X-Auth-* headers
// never reach the app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { Server, freshDatabase, freePort, sleep, psql, TEST_SECRET, ROOT } from './harness.mjs';
import { proxiedRequest, hiddenField, stopProxy } from './browser.mjs';

const NGINX = process.env.NGINX_BIN || 'nginx';
const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery';

let dreamauth, app, nginx, dir, port, origin, dbUrl;
const appSeen = [];	// what the protected app received, one entry per request

// deploy/nginx/dreamauth.conf's single-host variant, built from the very
// snippets deploy/nginx/snippets/ ships (the /_auth subrequest and the
// protected location's directives). $http_host, not $host, in the login
// redirect: the test runs on a non-default port.
const snippets = join(ROOT, 'deploy', 'nginx', 'snippets');
function nginxConf({ dir, port, authPort, appPort, asRoot }) {
  return `${asRoot ? 'user root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  upstream dreamauth_verify { server 127.0.0.1:${authPort}; keepalive 32; }
  upstream dreamauth_ui { server 127.0.0.1:${authPort}; keepalive 8; }
  upstream protected_app { server 127.0.0.1:${appPort}; keepalive 8; }

  server {
    listen 127.0.0.1:${port};
    server_name localhost;

    include ${snippets}/dreamauth-auth-request.conf;

    location /app/ {
      include ${snippets}/dreamauth-protect.conf;
      proxy_pass http://protected_app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }

    # A path that needs a role of an application (README "Administration"),
    # as deploy/nginx/dreamauth.conf shows it.
    location = /_auth_wiki_editor {
      internal;
      proxy_pass http://dreamauth_verify/api/verify?app=wiki&role=editor;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-Proto "";
      proxy_set_header X-Forwarded-Host "";
    }
    location /wiki/ {
      auth_request /_auth_wiki_editor;
      auth_request_set $auth_roles $upstream_http_x_auth_roles;
      auth_request_set $auth_user $upstream_http_x_auth_user;
      proxy_set_header X-Auth-Roles $auth_roles;
      proxy_set_header X-Auth-User $auth_user;
      error_page 401 = @login;
      proxy_pass http://protected_app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }

    location @login {
      return 302 $scheme://$http_host/login?rd=$scheme%3A%2F%2F$http_host$request_uri;
    }

    location / {
      proxy_pass http://dreamauth_ui;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`;
}

function canConnect(p) {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

async function startNginx() {
  dir = mkdtempSync(join(tmpdir(), 'dreamauth-nginx-'));
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  port = await freePort();
  origin = `http://localhost:${port}`;
  return { dir, port };
}

// One browser request through nginx: Host is localhost:<port> (the issuer's
// host), no redirects followed, cookies from the jar.
const request = (method, path, opts) => proxiedRequest({ port, host: `localhost:${port}` }, method, path, opts);

before(async () => {
  // (a) the protected app: echoes the identity headers it received.
  app = http.createServer((req, res) => {
    const seen = { url: req.url };
    for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-auth-')) seen[k] = v;
    appSeen.push(seen);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(seen));
  });
  await new Promise((r) => app.listen(0, '127.0.0.1', r));

  // (b) dreamauth, whose issuer is the nginx origin.
  await startNginx();
  dreamauth = new Server({
    DATABASE_URL: (dbUrl = freshDatabase('nginx')), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_REGISTRATION: 'true', AUTH_URL: origin,
  });
  await dreamauth.start();

  writeFileSync(join(dir, 'nginx.conf'), nginxConf({
    dir, port, authPort: dreamauth.port, appPort: app.address().port, asRoot: process.getuid() === 0,
  }));
  execFileSync(NGINX, ['-t', '-q', '-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'pipe' });
  nginx = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  nginx.stderr.on('data', (d) => { stderr += d; });
  const deadline = Date.now() + 10000;
  while (!(await canConnect(port))) {
    if (nginx.exitCode !== null || Date.now() > deadline) {
      let log = '';
      try { log = readFileSync(join(dir, 'error.log'), 'utf8'); } catch { /* none yet */ }
      throw new Error(`nginx did not start listening on ${port}: ${stderr}\n${log}`);
    }
    await sleep(50);
  }
});

after(async () => {
  await stopProxy(nginx, 'SIGQUIT');
  if (dreamauth) await dreamauth.stop();
  if (app) await new Promise((r) => app.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('browser flow through nginx auth_request: login, identity headers, logout', async () => {
  // The account, via the JSON API (through nginx).
  const signUp = await request('POST', '/api/auth/sign-up/email', { json: { email: EMAIL, password: PASSWORD, name: 'Ada' } });
  assert.equal(signUp.status, 201, signUp.body);
  const userId = JSON.parse(signUp.body).user.id;
  assert.match(userId, /^[0-9a-f-]{36}$/);

  const jar = new Map();
  const hitsBefore = appSeen.length;

  // Anonymous: nginx turns verify's 401 into a redirect to the login page.
  const anon = await request('GET', '/app/page?x=1', { jar });
  assert.equal(anon.status, 302);
  const rd = `${origin}/app/page?x=1`;
  assert.equal(anon.headers.location, `${origin}/login?rd=http%3A%2F%2Flocalhost:${port}/app/page?x=1`);
  assert.equal(appSeen.length, hitsBefore, 'an anonymous request reached the app');

  // The login page, with the rd it was given carried in a hidden field.
  const page = await request('GET', anon.headers.location.slice(origin.length), { jar });
  assert.equal(page.status, 200, page.body);
  assert.ok(jar.has('dreamauth_csrf'), 'no CSRF cookie set');
  const csrf = hiddenField(page.body, 'csrf');
  assert.equal(hiddenField(page.body, 'rd'), rd);

  // A wrong password: the form again, no session.
  const bad = await request('POST', '/login', { jar, headers: { origin }, form: { csrf, email: EMAIL, password: 'wrong password!', rd } });
  assert.equal(bad.status, 401);
  assert.ok(!jar.has('dreamauth_session'));

  // Sign in with the fresh token from the re-rendered form: 303 back to rd.
  const csrf2 = hiddenField(bad.body, 'csrf');
  const login = await request('POST', '/login', { jar, headers: { origin }, form: { csrf: csrf2, email: EMAIL, password: PASSWORD, rd } });
  assert.equal(login.status, 303, login.body);
  assert.equal(login.headers.location, rd);
  assert.ok(jar.has('dreamauth_session'), 'no session cookie after sign-in');
  const sessionCookie = jar.get('dreamauth_session').value;

  // The app, with the cookie: 200, and it saw who the user is.
  const ok = await request('GET', '/app/page?x=1', { jar });
  assert.equal(ok.status, 200, ok.body);
  const seen = JSON.parse(ok.body);
  assert.equal(seen.url, '/app/page?x=1');
  assert.equal(seen['x-auth-user'], EMAIL);
  assert.equal(seen['x-auth-id'], userId);
  assert.equal(seen['x-auth-email'], EMAIL);
  assert.equal(seen['x-auth-name'], 'Ada');

  // Sign out with the account page's form.
  const account = await request('GET', '/account', { jar });
  assert.equal(account.status, 200, account.body);
  const logout = await request('POST', '/logout', { jar, headers: { origin }, form: { csrf: hiddenField(account.body, 'csrf') } });
  assert.equal(logout.status, 303, logout.body);
  assert.equal(logout.headers.location, '/login');
  assert.ok(!jar.has('dreamauth_session'), 'the session cookie was not cleared');

  // Back to the login page; and a copy of the old cookie is dead server-side too.
  const hits = appSeen.length;
  const after1 = await request('GET', '/app/', { jar });
  assert.equal(after1.status, 302);
  assert.match(after1.headers.location, /^http:\/\/localhost:\d+\/login\?rd=http%3A%2F%2Flocalhost:\d+\/app\/$/);
  const replay = await request('GET', '/app/', { headers: { cookie: `dreamauth_session=${sessionCookie}` } });
  assert.equal(replay.status, 302, 'a signed-out session still opens the app');
  assert.equal(appSeen.length, hits, 'a signed-out request reached the app');
});

test('client-sent X-Auth-* headers never reach the app', async () => {
  const forged = {
    'x-auth-user': 'admin@evil.example', 'x-auth-id': '00000000-0000-0000-0000-000000000000',
    'x-auth-email': 'admin@evil.example', 'x-auth-groups': 'admin',
  };
  // Anonymous with forged headers: still the login redirect; the app never sees it.
  const hits = appSeen.length;
  const anon = await request('GET', '/app/', { headers: forged });
  assert.equal(anon.status, 302);
  assert.equal(appSeen.length, hits);

  // Signed in with forged headers: the app sees the real identity only.
  const signIn = await request('POST', '/api/auth/sign-in/email', { json: { email: EMAIL, password: PASSWORD } });
  assert.equal(signIn.status, 200, signIn.body);
  const session = (signIn.headers['set-cookie'] || []).map((c) => c.split(';')[0]).find((c) => c.startsWith('dreamauth_session='));
  assert.ok(session, 'no session cookie from the JSON sign-in');
  const r = await request('GET', '/app/', { headers: { ...forged, cookie: session } });
  assert.equal(r.status, 200, r.body);
  const seen = JSON.parse(r.body);
  assert.equal(seen['x-auth-user'], EMAIL);
  assert.equal(seen['x-auth-email'], EMAIL);
  assert.notEqual(seen['x-auth-id'], forged['x-auth-id']);
  assert.equal(seen['x-auth-groups'], undefined, 'a forged group list reached the app');
});

test('client-sent X-Forwarded-Host/Proto cannot turn the 401 into a 500', async () => {
  // /api/verify answers 302 (for Traefik) when both headers are present; the
  // auth subrequest inherits client headers, so the config must clear them.
  const r = await request('GET', '/app/', { headers: { 'x-forwarded-proto': 'http', 'x-forwarded-host': `localhost:${port}` } });
  assert.equal(r.status, 302);
  assert.match(r.headers.location, /^http:\/\/localhost:\d+\/login\?rd=http%3A%2F%2Flocalhost:\d+\/app\/$/);
});

test('a path that needs an application role: 403 without it, X-Auth-Roles with it, at once both ways', async () => {
  const signIn = await request('POST', '/api/auth/sign-in/email', { json: { email: EMAIL, password: PASSWORD } });
  assert.equal(signIn.status, 200, signIn.body);
  const cookie = (signIn.headers['set-cookie'] || []).map((c) => c.split(';')[0]).find((c) => c.startsWith('dreamauth_session='));
  const hits = appSeen.length;
  assert.equal((await request('GET', '/wiki/page')).status, 302, 'anonymous: to the login page');
  assert.equal((await request('GET', '/wiki/page', { headers: { cookie } })).status, 403, 'no role');
  assert.equal(appSeen.length, hits);
  psql(dbUrl, "INSERT INTO app_roles (client_id, name, permissions) VALUES ('wiki', 'editor', '{pages:write}'),"
    + " ('wiki', 'viewer', '{}')");
  psql(dbUrl, `INSERT INTO app_user_roles (user_id, client_id, role) SELECT id, 'wiki', r FROM users,
    unnest(ARRAY['viewer', 'editor']) r WHERE email = '${EMAIL}'`);
  const ok = await request('GET', '/wiki/page', { headers: { cookie, 'x-auth-roles': 'forged' } });
  assert.equal(ok.status, 200, ok.body);
  const seen = JSON.parse(ok.body);
  assert.equal(seen['x-auth-roles'], 'editor,viewer');
  assert.equal(seen['x-auth-user'], EMAIL);
  psql(dbUrl, "DELETE FROM app_user_roles WHERE role = 'editor'");
  assert.equal((await request('GET', '/wiki/page', { headers: { cookie } })).status, 403, 'role taken away');
});

test('the auth subrequest location is internal', async () => {
  const r = await request('GET', '/_auth');
  assert.equal(r.status, 404);
});

test('the shipped deploy/nginx/dreamauth.conf passes nginx -t as it is', () => {
  // Only the paths an operator changes are rewritten: the snippets' folder,
  // the certificate paths (a throwaway self-signed pair) and the temp dirs.
  const t = mkdtempSync(join(tmpdir(), 'dreamauth-nginx-t-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', '/CN=example.com', '-days', '1', '-keyout', join(t, 'privkey.pem'), '-out', join(t, 'fullchain.pem')],
    { stdio: 'pipe' });
    const shipped = readFileSync(join(ROOT, 'deploy', 'nginx', 'dreamauth.conf'), 'utf8')
      .replaceAll('/etc/nginx/snippets', snippets).replaceAll('/etc/ssl/example.com', t);
    assert.ok(shipped.includes(`include ${snippets}/dreamauth-auth-request.conf;`));
    assert.ok(shipped.includes(`include ${snippets}/dreamauth-protect.conf;`));
    writeFileSync(join(t, 'nginx.conf'), `pid ${t}/nginx.pid;
error_log ${t}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
${shipped}
}
`);
    execFileSync(NGINX, ['-t', '-q', '-c', join(t, 'nginx.conf'), '-p', t], { stdio: 'pipe' });
    // And nginx -t is not a rubber stamp: without the upstream the snippet
    // names, the same file fails.
    const conf = readFileSync(join(t, 'nginx.conf'), 'utf8');
    assert.ok(conf.includes('upstream dreamauth_verify {'));
    writeFileSync(join(t, 'nginx.conf'), conf.replace('upstream dreamauth_verify {', 'upstream dreamauth_verify_gone {'));
    assert.throws(() => execFileSync(NGINX, ['-t', '-q', '-c', join(t, 'nginx.conf'), '-p', t], { stdio: 'pipe' }));
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
});
