// The admin console (/admin) in real headless Chromium with JavaScript off:
// sign in through /login?rd=/admin, users list and search, a profile change,
// a destructive action through its confirmation page, an application with a
// secret shown once and a role, signing keys; the same pages at phone width.
// Screenshots are kept in tests/artifacts/ (gitignored). Also: a non-admin
// gets the 403 page, a form without its CSRF token is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Server, freshDatabase, psql, TEST_SECRET, BIN, ROOT, launchChromium } from './harness.mjs';

const PASSWORD = 'correct horse battery';
const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
let S, url, browser;

function cli(args, input) {
  return spawnSync(BIN, args, { env: { PATH: process.env.PATH, DATABASE_URL: url, AUTH_SECRET: TEST_SECRET,
    LOG_LEVEL: 'warn' }, input, encoding: 'utf8', timeout: 60000 });
}

before(async () => {
  url = freshDatabase('console');
  S = new Server({ DATABASE_URL: url, AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', ENABLE_OIDC_PROVIDER: 'true' });
  await S.start();
  for (const [email, admin, name] of [['root@example.com', true, 'Root'], ['joe@example.com', false, 'Joe'],
    ['mallory@example.com', false, 'Mal "&lt;b&gt;" O\'Ry']]) {
    const r = cli(['user', 'add', email, ...(admin ? ['--admin'] : []), '--name', name], PASSWORD + '\n');
    assert.equal(r.status, 0, r.stderr);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  await S.stop();
});

async function launch(t) {
  browser = browser || await launchChromium(t);
  return browser;
}

const base = () => `http://localhost:${S.port}`;

async function shot(page, name) {
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  assert.ok(statSync(path).size > 1000, path);
}

// A page without JavaScript, signed in as email through /login?rd=.
async function signedIn(b, email, viewport) {
  const context = await b.newContext({ javaScriptEnabled: false, viewport: viewport || { width: 1200, height: 900 } });
  const page = await context.newPage();
  await page.goto(base() + '/admin');
  assert.match(page.url(), /\/login\?rd=%2Fadmin$/);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  return { context, page };
}

test('console: users, a profile change, a deletion with confirmation, applications and roles, keys (no JavaScript)', async (t) => {
  const b = await launch(t);
  if (!b) return;
  const { context, page } = await signedIn(b, 'root@example.com');
  assert.equal(new URL(page.url()).pathname, '/admin/users');
  assert.match(await page.textContent('table'), /joe@example\.com/);
  // A name that looks like markup shows as the text it is.
  assert.match(await page.textContent('table'), /Mal "&lt;b&gt;" O'Ry/);
  assert.equal(await page.locator('table b').count(), 0);
  await shot(page, 'admin-users.png');
  // Search.
  await page.fill('input[name=q]', 'JOE');
  await page.click('form[action="/admin/users"] button');
  assert.equal(await page.locator('tbody tr').count(), 1);

  // Detail and a profile change.
  await page.click('a:text("joe@example.com")');
  assert.match(page.url(), /\/admin\/users\/[0-9a-f-]{36}$/);
  await page.fill('input[name=name]', 'Joe Admin-Edited');
  await page.fill('input[name=groups]', 'dev, ops');
  await page.click('form[action$="/update"] button');
  assert.match(await page.textContent('.notice'), /Saved/);
  assert.equal(psql(url, "SELECT name || '|' || array_to_string(groups, ',') FROM users WHERE email = 'joe@example.com'"),
    'Joe Admin-Edited|dev,ops');
  await shot(page, 'admin-user.png');

  // Destructive: delete asks first; the confirmation page deletes.
  await page.click('form[action$="/delete"] button');
  assert.match(await page.textContent('main'), /Delete this account for good\?/);
  assert.equal(psql(url, "SELECT count(*) FROM users WHERE email = 'joe@example.com'"), '1', 'not before confirming');
  await shot(page, 'admin-confirm-delete.png');
  await page.click('form.confirm button.danger');
  assert.equal(new URL(page.url()).pathname, '/admin/users');
  assert.match(await page.textContent('.notice'), /Deleted/);
  assert.equal(psql(url, "SELECT count(*) FROM users WHERE email = 'joe@example.com'"), '0');

  // An application: its secret once, then a role.
  await page.goto(base() + '/admin/clients');
  await page.fill('input[name=client_id]', 'wiki');
  await page.fill('input[name=name]', 'Wiki');
  await page.fill('textarea[name=redirect_uris]', 'https://wiki.example.com/cb\nhttp://localhost:4000/cb');
  await page.check('input[name=client_credentials]');
  await page.click('form[action="/admin/clients/create"] button');
  const secret = (await page.textContent('#client-secret')).trim();
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  await shot(page, 'admin-client-secret.png');
  await page.click('a:text("Back to the application")');
  assert.doesNotMatch(await page.content(), new RegExp(secret), 'shown once');
  const roleForm = 'form[action$="/roles/put"]';
  await page.fill(`${roleForm} input[name=name]`, 'editor');
  await page.fill(`${roleForm} input[name=description]`, 'Edits pages');
  await page.fill(`${roleForm} textarea[name=permissions]`, 'pages:read pages:write');
  await page.click('form[action$="/roles/put"] button');
  assert.match(await page.textContent('table'), /pages:read,pages:write/);
  await shot(page, 'admin-client.png');
  // The secret works with the token endpoint.
  const tok = await fetch(base() + '/oauth2/token', { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }),
    headers: { authorization: 'Basic ' + Buffer.from(`wiki:${secret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(tok.status, 200);

  // Keys: rotate through the confirmation page.
  await page.goto(base() + '/admin/keys');
  const before = await page.locator('tbody tr').count();
  await page.selectOption('select[name=alg]', 'ES256');
  await page.click('form[action="/admin/keys/rotate"] button');
  await page.click('form.confirm button.danger');
  assert.match(await page.textContent('.notice'), /Rotated/);
  assert.equal(await page.locator('tbody tr').count(), before + 1);
  await shot(page, 'admin-keys.png');
  await context.close();
});

test('console at phone width: no horizontal scrolling, rows stacked', async (t) => {
  const b = await launch(t);
  if (!b) return;
  const { context, page } = await signedIn(b, 'root@example.com', { width: 390, height: 844 });
  for (const [path, name] of [['/admin/users', 'admin-users-phone.png'], ['/admin/clients', 'admin-clients-phone.png'],
    ['/admin/keys', 'admin-keys-phone.png']]) {
    await page.goto(base() + path);
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')
      .catch(() => null);	// JavaScript is off for the page; evaluate still runs in the isolated world
    if (overflow !== null) assert.ok(overflow <= 1, `${path} scrolls sideways by ${overflow}px`);
    assert.equal(await page.locator('thead').first().isVisible(), false, 'table heads hidden on a phone');
    await shot(page, name);
  }
  const id = psql(url, "SELECT id FROM users WHERE email = 'mallory@example.com'");
  await page.goto(`${base()}/admin/users/${id}`);
  await shot(page, 'admin-user-phone.png');
  await context.close();
});

test('console: a non-admin gets 403, a form without its CSRF token is refused', async (t) => {
  const b = await launch(t);
  if (!b) return;
  const context = await b.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(base() + '/login');
  await page.fill('input[name=email]', 'mallory@example.com');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  const r = await page.goto(base() + '/admin/users');
  assert.equal(r.status(), 403);
  assert.match(await page.textContent('main'), /administrators/);
  await context.close();
  // The admin's own cookie, a forged form: no token, or a token replayed.
  const signIn = await fetch(base() + '/api/auth/sign-in/email', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'root@example.com', password: PASSWORD }) });
  const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const id = psql(url, "SELECT id FROM users WHERE email = 'mallory@example.com'");
  const forged = await fetch(`${base()}/admin/users/${id}/delete`, { method: 'POST', redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: 'confirm=yes' });
  assert.equal(forged.status, 403);
  // Without a CSRF cookie yet, the page sets one and comes back.
  const first = await fetch(`${base()}/admin/users/${id}`, { headers: { cookie }, redirect: 'manual' });
  assert.equal(first.status, 302);
  const csrfCookie = first.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  assert.match(csrfCookie, /^dreamauth_csrf=/);
  const page2 = await fetch(`${base()}/admin/users/${id}`, { headers: { cookie: `${cookie}; ${csrfCookie}` } });
  assert.equal(page2.status, 200);
  const html = await page2.text();
  const token = html.match(/action="\/admin\/users\/[^"]+\/delete"><input type="hidden" name="csrf" value="([^"]+)"/)[1];
  const cookies = `${cookie}; ${csrfCookie}`;
  const evil = await fetch(`${base()}/admin/users/${id}/delete`, { method: 'POST', redirect: 'manual',
    headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
    body: `csrf=${encodeURIComponent(token)}&confirm=yes` });
  assert.equal(evil.status, 403, 'cross-origin');
  const ok = await fetch(`${base()}/admin/users/${id}/delete`, { method: 'POST', redirect: 'manual',
    headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(token)}&confirm=yes` });
  assert.equal(ok.status, 302);
  const replay = await fetch(`${base()}/admin/users/${id}/delete`, { method: 'POST', redirect: 'manual',
    headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(token)}&confirm=yes` });
  assert.equal(replay.status, 403, 'a CSRF token is single use');
  assert.equal(psql(url, "SELECT count(*) FROM users WHERE email = 'mallory@example.com'"), '0');
});
