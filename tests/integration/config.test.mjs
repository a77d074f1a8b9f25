// Configuration as users already have it, and refusing what is wrong:
// Dream Auth's and circle-rd's documented settings (tests/fixtures/seeds,
// copied unchanged from their READMEs) load, with the meaningless ones
// named once; `dreamauth check-config` names every problem and starts
// nothing; unknown commands and flags print usage and exit 2 without
// starting a server; /health answers like /api/health.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server, freshDatabase, freePort, BIN, ROOT, TEST_SECRET } from './harness.mjs';

const FIX = join(ROOT, 'tests', 'fixtures', 'seeds');
export function envFile(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    env[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return env;
}
const run = (args, env = {}, input) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 15000, input,
  env: { PATH: process.env.PATH, ...env } });
const servers = [];
after(async () => { for (const s of servers) await s.stop(); });

test('check-config: a clean environment passes; each problem is named, exit 1, nothing started', () => {
  let r = run(['check-config']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /configuration OK, 0 warning\(s\)/);
  r = run(['check-config'], { DATABASE_URL: 'postgres://u@db.invalid/x', AUTH_URL: 'ftp://auth', LOG_LEVEL: 'loud',
    BETTER_AUTH_MIGRATION_LOCK_TIMEOUT_MS: '5', BETTER_AUTH_SECRET: 'short', CORS_ORIGINS: 'https://a.example/',
    OIDC_CLIENTS: '[{"clientId":"g","type":"web","redirectURLs":["https://g.example/cb"]}]',
    OIDC_CLIENTS_FILE: '/nonexistent/clients.json', ENABLE_OIDC_PROVIDER: 'true', OIDC_REQUIRE_PKCEE: 'true' });
  assert.equal(r.status, 1);
  for (const want of [/^error: LOG_LEVEL: expected debug/m, /^error: BETTER_AUTH_MIGRATION_LOCK_TIMEOUT_MS: expected an integer/m,
    /^error: BETTER_AUTH_SECRET: must be at least 32/m, /^error: AUTH_URL: must start with https:\/\//m,
    /^error: CORS_ORIGINS: item 1 "https:\/\/a.example\/" is not an origin/m,
    /^error: OIDC_CLIENTS: client "g": type web is a confidential client/m,
    /^error: OIDC_CLIENTS_FILE \/nonexistent\/clients.json: No such file/m,
    /^warning: OIDC_REQUIRE_PKCEE is not a setting \(did you mean OIDC_REQUIRE_PKCE\?\)/m]) {
    assert.match(r.stderr, want);
  }
  assert.doesNotMatch(r.stderr, /short/, 'no secret value echoed');
  assert.match(r.stderr, /^error: AUTH_SECRET: required when DATABASE_URL is set/m, 'the short secret removed, the required one is missing');
  assert.match(r.stdout, /configuration: 8 error\(s\), 1 warning\(s\)/);
  // --strict: an ignored setting is a problem too.
  r = run(['check-config', '--strict'], { ENABLE_REGISTRATIN: 'true' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /ENABLE_REGISTRATIN is not a setting \(did you mean ENABLE_REGISTRATION\?\)/);
  assert.equal(run(['check-config'], { ENABLE_REGISTRATIN: 'true' }).status, 0);
});

test('unknown commands and flags: usage on stderr, exit 2, no server', () => {
  const env = { DATABASE_URL: 'postgres://u@127.0.0.1:1/x', AUTH_SECRET: TEST_SECRET, LISTEN: '127.0.0.1:1' };
  for (const args of [['serve', '--bogus'], ['serve', 'now'], ['migrate', '--dry-run'], ['version', 'x'], ['bogus'],
    ['--bogus'], ['check-config', '--bogus'], ['user'], ['user', 'bogus'], ['user', 'add', '--bogus'],
    ['user', 'add', 'a@example.com', '--bogus'], ['user', 'add', 'a@example.com', '--name'], ['user', 'list', '--all'],
    ['user', 'disable'], ['user', 'passwd', '--bogus'], ['user', 'set', 'a@example.com', '--bogus'],
    ['client'], ['client', 'add'], ['client', 'add', 'x', '--bogus'], ['client', 'list', '--all'], ['client', 'remove'],
    ['keys'], ['keys', 'rotate', '--bogus'], ['keys', 'rotate', '--alg'], ['keys', 'list', 'x'], ['keys', 'revoke']]) {
    const r = run(args, env, '');
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.status} ${r.stderr}`);
    assert.match(r.stderr, /usage/, args.join(' '));
    assert.doesNotMatch(r.stderr, /listening on|migration\(s\) applied/i, args.join(' '));
  }
  assert.equal(run(['help']).status, 0);
  assert.equal(run(['version']).status, 0);
  // Every command the usage names is known (a new one added to main.c's
  // dispatch but not to its command list would be "unknown").
  const commands = [...new Set(run(['help']).stdout.match(/^ {2}[a-z-]+/gm).map((c) => c.trim()))];
  assert.ok(commands.length >= 8, commands.join(' '));
  for (const c of commands) {
    const r = run([c, '--bogus-flag'], env, '');
    assert.equal(r.status, 2, `${c} --bogus-flag`);
    assert.doesNotMatch(r.stderr, /unknown command/, c);
  }
});

test("Dream Auth's documented settings and OIDC_CLIENTS load unchanged (check-config, then a real server)", async () => {
  const env = envFile(readFileSync(join(FIX, 'dream-auth.env'), 'utf8'));
  const clients = readFileSync(join(FIX, 'dream-auth-oidc-clients.json'), 'utf8');
  let r = run(['check-config', '--strict'], { ...env, OIDC_CLIENTS: clients });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /OIDC_CLIENTS: 1 client\(s\)/);
  r = run(['check-config', '--strict'], { ...env, OIDC_CLIENTS_FILE: join(FIX, 'dream-auth-oidc-clients.json') });
  assert.equal(r.status, 0, r.stderr);
  // The lock timeout is read: a bad value is refused by its Dream Auth name.
  r = run(['check-config'], { ...env, BETTER_AUTH_MIGRATION_LOCK_TIMEOUT_MS: '10 minutes' });
  assert.match(r.stderr, /BETTER_AUTH_MIGRATION_LOCK_TIMEOUT_MS: expected an integer/);

  // A real server from the same settings (database and URL made local).
  const s = new Server({ ...env, OIDC_CLIENTS: clients, DATABASE_URL: freshDatabase('seeds'),
    BETTER_AUTH_URL: undefined, COOKIE_DOMAIN: undefined });
  servers.push(s);
  await s.start();
  for (const path of ['/health', '/api/health']) {
    const h = await fetch(s.url + path);
    assert.equal(h.status, 200, path);
    assert.equal((await h.json()).status, 'ok', path);
  }
  assert.equal((await fetch(s.url + '/health', { method: 'HEAD' })).status, 200);
  const a = await fetch(`${s.url}/oauth2/authorize?client_id=grafana&response_type=code&scope=openid`
    + `&redirect_uri=${encodeURIComponent('https://grafana.example.com/login/generic_oauth')}&state=s&code_challenge=`
    + 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256', { redirect: 'manual' });
  assert.equal(a.status, 302, 'the grafana client is known: off to sign in');
  assert.match(a.headers.get('location'), /\/login/);
});

test("circle-rd auth-service's documented settings: read, or named once as ignored with the reason", async () => {
  const env = envFile(readFileSync(join(FIX, 'circle-rd-auth-service.env'), 'utf8'));
  const r = run(['check-config'], env);
  assert.equal(r.status, 0, r.stderr);
  for (const name of ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB', 'POSTGRES_PORT', 'ADMIN_PASSWORD', 'APP_LOGO_URL',
    'NODE_ENV']) {
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`warning: ${name} is ignored: `));
    assert.equal(lines.length, 1, `${name} named once: ${r.stderr}`);
  }
  assert.doesNotMatch(r.stderr, /change-me-admin-password|mailer-password/, 'no secret echoed');
  for (const name of ['PORT', 'HOST', 'CORS_ORIGINS', 'ADMIN_EMAIL', 'BETTER_AUTH_SECRET', 'SMTP_HOST', 'APP_NAME']) {
    assert.doesNotMatch(r.stderr, new RegExp(`warning: ${name} `), name);
  }
  assert.equal(run(['check-config', '--strict'], env).status, 1, '--strict: ignored settings fail');

  // Served: with LISTEN unset, HOST and PORT decide where it listens; the
  // start log names the ignored settings once, and /health answers.
  const port = await freePort();
  const s = new Server({ ...env, DATABASE_URL: freshDatabase('circle'), HOST: '127.0.0.1', PORT: String(port),
    PORT_OVERRIDE: port, LISTEN: undefined, BETTER_AUTH_URL: undefined, AUTO_MIGRATE: 'true' });
  servers.push(s);
  await s.start();
  const h = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(h.status, 200);
  await s.stop();
  const log = readFileSync(s.logPath, 'utf8');
  for (const name of ['POSTGRES_PASSWORD', 'NODE_ENV', 'ADMIN_PASSWORD']) {
    assert.equal(log.split('\n').filter((l) => l.includes(`${name} is ignored`)).length, 1, `${name} once in:\n${log}`);
  }
  assert.doesNotMatch(log, /change-me-admin-password|mailer-password/);
});
