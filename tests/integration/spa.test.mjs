// A single-page app on its own origin, with a public client (PKCE, no
// secret), driven by oidc-client-ts in headless Chromium: discovery and
// JWKS, sign-in redirect, callback and code exchange (cross-origin POST to
// /oauth2/token), userinfo with a Bearer token (a preflighted request),
// silent renew with the refresh token, revocation, sign-out. The browser
// itself enforces CORS here: a missing or wrong header fails the test the
// way it fails a user. And a page on an origin no client registered gets
// nothing: the browser blocks it, and the server refuses it before
// touching a code or a refresh token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, freshDatabase, freePort, TEST_SECRET } from './harness.mjs';
import { startSite, oidcClientBundle, html, launchChromium, watch } from './spa_site.mjs';

const PASSWORD = 'correct horse battery';
let S, site, SPA, AUTH, spaPort;

const managerScript = () => `<script src="/oidc-client-ts.js"></script>
<script>
  window.AUTH = ${JSON.stringify(AUTH)};
  window.mgr = new oidc.UserManager({
    authority: AUTH, client_id: 'spa', redirect_uri: ${JSON.stringify(SPA + '/callback.html')},
    post_logout_redirect_uri: ${JSON.stringify(SPA + '/')}, response_type: 'code',
    scope: 'openid profile email offline_access', loadUserInfo: true, automaticSilentRenew: false,
    userStore: new oidc.WebStorageStateStore({ store: window.localStorage }),
  });
</script>`;

before(async () => {
  spaPort = await freePort();
  SPA = `http://localhost:${spaPort}`;
  const clients = [{ clientId: 'spa', public: true, name: 'SPA', redirectURLs: [`${SPA}/callback.html`],
    postLogoutRedirectURLs: [`${SPA}/`], skipConsent: true }];
  S = new Server({ DATABASE_URL: freshDatabase('spa'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_OIDC_PROVIDER: 'true', ENABLE_REGISTRATION: 'true', OIDC_CLIENTS: JSON.stringify(clients) });
  await S.start();
  AUTH = `http://localhost:${S.port}`;
  const r = await fetch(S.url + '/api/auth/sign-up/email', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'spa@example.com', password: PASSWORD, name: 'Spa User' }) });
  assert.equal(r.status, 201, await r.text());
  site = await startSite(spaPort, {
    '/oidc-client-ts.js': oidcClientBundle(),
    '/index.html': html(`<title>spa</title>${managerScript()}`),
    '/callback.html': html(`<title></title>${managerScript()}<script>
      mgr.signinRedirectCallback().then((u) => {
        window.signedIn = { sub: u.profile.sub, email: u.profile.email, name: u.profile.name,
          refresh: !!u.refresh_token, access: u.access_token, scope: u.scope };
        document.title = 'signed-in';
      }, (e) => { window.signinError = String(e); document.title = 'error'; });
    </script>`),
  });
});
after(async () => {
  await site?.close();
  await S?.stop();
});

test('oidc-client-ts in Chromium: sign-in redirect, callback, userinfo, silent renew with the refresh token, '
  + 'revocation, sign-out', async (t) => {
  const chromium = await launchChromium(t);
  if (!chromium) return;
  try {
    const page = await (await chromium.newContext()).newPage();
    const log = watch(page);
    await page.goto(`${SPA}/`);
    await Promise.all([page.waitForURL(new RegExp(`^${AUTH}/login`)), page.evaluate(() => { mgr.signinRedirect(); })]);
    await page.fill('input[name="email"]', 'spa@example.com');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(new RegExp(`^${SPA}/callback\\.html`)), page.click('button[type="submit"]')]);
    await page.waitForFunction(() => document.title !== '', null, { timeout: 15000 });
    const signinError = await page.evaluate(() => window.signinError);
    assert.equal(signinError, undefined, `callback failed: ${signinError}\n${log.join('\n')}`);
    const first = await page.evaluate(() => window.signedIn);
    assert.equal(first.email, 'spa@example.com', 'email from the ID token / userinfo');
    assert.equal(first.name, 'Spa User');
    assert.ok(first.refresh, 'a refresh token for offline_access');
    assert.match(first.scope, /offline_access/);

    // userinfo from the page: Authorization makes it a preflighted request.
    const info = await page.evaluate(async () => {
      const u = await mgr.getUser();
      const r = await fetch(AUTH + '/oauth2/userinfo', { headers: { authorization: 'Bearer ' + u.access_token } });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(info.status, 200);
    assert.equal(info.body.email, 'spa@example.com');
    assert.equal(info.body.sub, first.sub);
    // An error answer is readable too (the page learns its token is bad).
    const bad = await page.evaluate(async () => {
      const r = await fetch(AUTH + '/oauth2/userinfo', { headers: { authorization: 'Bearer nope' } });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error, 'invalid_token');

    // Silent renew: oidc-client-ts uses the refresh token grant (no iframe).
    const renewed = await page.evaluate(async () => {
      const before = await mgr.getUser();
      const after = await mgr.signinSilent();
      return { access: after.access_token !== before.access_token, refresh: after.refresh_token !== before.refresh_token,
        email: after.profile.email };
    });
    assert.deepEqual(renewed, { access: true, refresh: true, email: 'spa@example.com' }, log.join('\n'));

    // Revocation from the page (RFC 7009, public client: client_id in the body).
    const revoked = await page.evaluate(async () => {
      const u = await mgr.getUser();
      await mgr.revokeTokens(['access_token']);
      const r = await fetch(AUTH + '/oauth2/userinfo', { headers: { authorization: 'Bearer ' + u.access_token } });
      return r.status;
    });
    assert.equal(revoked, 401, 'the revoked access token no longer works');

    // Sign-out: RP-initiated logout with id_token_hint, back to the SPA.
    await Promise.all([page.waitForURL(`${SPA}/`), page.evaluate(() => { mgr.signoutRedirect(); })]);
    const cookies = await page.context().cookies(AUTH);
    const session = await fetch(S.url + '/api/auth/get-session', {
      headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') } });
    assert.equal(session.status, 401, 'the session at the identity provider is over');
    assert.deepEqual(log.filter((l) => /pageerror|CORS|blocked/i.test(l)), [], 'no CORS error on the way');
  } finally {
    await chromium.close();
  }
});

test('a page on an origin no client registered: the browser gets no Allow-Origin, the server refuses the '
  + 'token request before redeeming anything', async (t) => {
  const evil = `http://127.0.0.1:${spaPort}`;	// same server, another origin: not registered
  let r = await fetch(S.url + '/oauth2/token', { method: 'OPTIONS', headers: { origin: evil,
    'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  assert.equal(r.status, 403);
  assert.equal(r.headers.get('access-control-allow-origin'), null);
  assert.equal(r.headers.get('vary'), 'Origin');
  r = await fetch(S.url + '/oauth2/token', { method: 'POST', headers: { origin: evil,
    'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=authorization_code&code=x&client_id=spa&redirect_uri=x&code_verifier=x' });
  assert.equal(r.status, 403);
  assert.equal((await r.json()).error, 'invalid_origin');
  assert.equal(r.headers.get('access-control-allow-origin'), null);

  const chromium = await launchChromium(t);
  if (!chromium) return;
  try {
    const page = await (await chromium.newContext()).newPage();
    await page.goto(`${evil}/`);
    const outcome = await page.evaluate(async (auth) => {
      const tries = {};
      for (const [name, url, init] of [
        ['token', '/oauth2/token', { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token',
          refresh_token: 'x', client_id: 'spa' }) }],
        ['userinfo', '/oauth2/userinfo', { headers: { authorization: 'Bearer x' } }],
        ['session', '/api/auth/get-session', { credentials: 'include' }],
      ]) {
        try {
          const res = await fetch(auth + url, init);
          tries[name] = `read ${res.status}`;
        } catch (e) {
          tries[name] = 'blocked';
        }
      }
      // Public documents are open to every origin.
      tries.discovery = (await (await fetch(auth + '/.well-known/openid-configuration')).json()).issuer;
      return tries;
    }, AUTH);
    assert.deepEqual(outcome, { token: 'blocked', userinfo: 'blocked', session: 'blocked', discovery: AUTH });
  } finally {
    await chromium.close();
  }
});
