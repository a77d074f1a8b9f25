// The browser SDK (web/dreamauth.js, served by workers/sdk.c) in headless
// Chromium: the ES module and the classic-script build carry the same API;
// a first-party page on another origin listed in CORS_ORIGINS signs up,
// reads its session, signs out and in with a password, registers and uses a
// passkey (DevTools virtual authenticator) and signs in with an Ethereum
// wallet (an EIP-1193 provider over ethers in the page), all through
// credentialed CORS; a single-page app runs code + PKCE, userinfo, refresh
// and sign-out through createOAuthClient.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server, freshDatabase, freePort, TEST_SECRET, ROOT } from './harness.mjs';
import { startSite, html, launchChromium, watch } from './spa_site.mjs';

const PASSWORD = 'correct horse battery';
let S, site, SPA, AUTH;

before(async () => {
  const spaPort = await freePort();
  SPA = `http://localhost:${spaPort}`;
  const clients = [{ clientId: 'sdk-spa', type: 'user-agent-based', name: 'SDK SPA', redirectURLs: [`${SPA}/callback.html`],
    postLogoutRedirectURLs: [`${SPA}/bye.html`], skipConsent: true }];
  S = new Server({ DATABASE_URL: freshDatabase('sdk'), AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true',
    ENABLE_OIDC_PROVIDER: 'true', ENABLE_REGISTRATION: 'true', OIDC_CLIENTS: JSON.stringify(clients),
    CORS_ORIGINS: SPA, PASSKEY_ORIGINS: SPA });
  await S.start();
  AUTH = `http://localhost:${S.port}`;
  const oauth = `<script type="module">
    import { createOAuthClient } from '${AUTH}/sdk/dreamauth.js';
    window.oauth = createOAuthClient({ issuer: '${AUTH}', clientId: 'sdk-spa', redirectUri: '${SPA}/callback.html',
      postLogoutRedirectUri: '${SPA}/bye.html', scope: 'openid profile email offline_access' });
    window.ready = true;
  </script>`;
  site = await startSite(spaPort, {
    '/index.html': html(`<title>first party</title><script src="${AUTH}/sdk/dreamauth.iife.js"></script>`),
    '/ethers.js': { type: 'text/javascript', body: readFileSync(join(ROOT, 'tests', 'node_modules', 'ethers', 'dist', 'ethers.umd.min.js')) },
    '/spa.html': html(`<title>spa</title>${oauth}`),
    '/callback.html': html(`<title></title>${oauth.replace('window.ready = true;', `
      try { window.result = await oauth.handleCallback(); document.title = 'done'; }
      catch (e) { window.error = e.code + ': ' + e.message; document.title = 'error'; }`)}`),
    '/bye.html': html('<title>bye</title>'),
  });
});
after(async () => {
  await site?.close();
  await S?.stop();
});

test('/sdk/dreamauth.js and /sdk/dreamauth.iife.js: JavaScript, cached with an ETag, open to every origin', async () => {
  for (const path of ['/sdk/dreamauth.js', '/sdk/dreamauth.iife.js']) {
    const r = await fetch(S.url + path, { headers: { origin: 'https://anyone.example' } });
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=3600');
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const body = await r.text();
    assert.ok(body.includes('createOAuthClient'));
    const again = await fetch(S.url + path, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    assert.equal((await fetch(S.url + path, { headers: { 'if-none-match': '"other"' } })).status, 200);
    assert.equal((await fetch(S.url + path, { method: 'POST' })).status, 405);
  }
  const esm = await (await fetch(S.url + '/sdk/dreamauth.js')).text();
  const iife = await (await fetch(S.url + '/sdk/dreamauth.iife.js')).text();
  assert.match(esm, /\nexport default DreamAuth;\n$/);
  assert.doesNotMatch(iife, /\bexport\b/, 'a classic script cannot hold export');
  assert.match(iife, /globalThis\.DreamAuth = DreamAuth;/);
});

test('Chromium: the module and the classic script export the same API', async (t) => {
  const chromium = await launchChromium(t);
  if (!chromium) return;
  try {
    const page = await (await chromium.newContext()).newPage();
    await page.goto(`${SPA}/`);
    const apis = await page.evaluate(async (auth) => {
      const mod = await import(auth + '/sdk/dreamauth.js');
      const shape = (o) => Object.keys(o).sort();
      const a = window.DreamAuth, b = mod.default;
      const client = (d) => { const c = d.createAuthClient({ baseURL: auth }); return { top: shape(c), signIn: shape(c.signIn),
        passkey: shape(c.passkey), siwe: shape(c.siwe) }; };
      const oauth = (d) => shape(d.createOAuthClient({ issuer: auth, clientId: 'x', redirectUri: auth + '/cb' }));
      return { iife: [shape(a), client(a), oauth(a)], esm: [shape(b), client(b), oauth(b)],
        named: shape(mod).filter((k) => k !== 'default'), same: mod.createAuthClient === b.createAuthClient };
    }, AUTH);
    assert.deepEqual(apis.iife, apis.esm);
    assert.deepEqual(apis.named, apis.esm[0]);
    assert.deepEqual(apis.esm[0], ['createAuthClient', 'createOAuthClient', 'version']);
    assert.ok(apis.same);
  } finally {
    await chromium.close();
  }
});

test('Chromium, first-party page on another origin (CORS_ORIGINS): sign up, session, sign out, sign in, '
  + 'passkey register and sign-in, SIWE sign-in', async (t) => {
  const chromium = await launchChromium(t);
  if (!chromium) return;
  try {
    const context = await chromium.newContext();
    const page = await context.newPage();
    const log = watch(page);
    await page.goto(`${SPA}/`);
    const flow = await page.evaluate(async (auth) => {
      const c = DreamAuth.createAuthClient({ baseURL: auth });
      const out = {};
      out.before = await c.getSession();
      out.signUp = await c.signUp.email({ email: 'sdk@example.com', password: 'correct horse battery', name: 'Sdk' });
      out.session = await c.getSession();
      out.signOut = await c.signOut();
      out.after = await c.getSession();
      out.wrong = await c.signIn.email({ email: 'sdk@example.com', password: 'not the password' });
      out.signIn = await c.signIn.email({ email: 'sdk@example.com', password: 'correct horse battery' });
      out.again = await c.getSession();
      return out;
    }, AUTH);
    assert.deepEqual(flow.before, { data: null, error: null }, 'signed out: null, no error');
    assert.equal(flow.signUp.error, null, JSON.stringify(flow.signUp));
    assert.equal(flow.session.data.user.email, 'sdk@example.com');
    assert.equal(flow.signOut.error, null);
    assert.deepEqual(flow.after, { data: null, error: null });
    assert.equal(flow.wrong.data, null);
    assert.equal(flow.wrong.error.status, 401, JSON.stringify(flow.wrong));
    assert.equal(flow.signIn.error, null);
    assert.equal(flow.again.data.user.email, 'sdk@example.com');

    // Passkeys through the SDK, with a virtual authenticator.
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', ctap2Version: 'ctap2_1',
      transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
      automaticPresenceSimulation: true } });
    const pk = await page.evaluate(async (auth) => {
      const c = DreamAuth.createAuthClient({ baseURL: auth });
      const out = { register: await c.passkey.register({ name: 'sdk key' }) };
      out.list = await c.passkey.list();
      await c.signOut();
      out.signedOut = await c.getSession();
      out.signIn = await c.passkey.signIn();
      out.session = await c.getSession();
      return out;
    }, AUTH);
    assert.equal(pk.register.error, null, JSON.stringify(pk.register) + log.join('\n'));
    assert.equal(pk.signedOut.data, null);
    assert.equal(pk.signIn.error, null, JSON.stringify(pk.signIn));
    assert.equal(pk.session.data.user.email, 'sdk@example.com');
    assert.match(pk.session.data.session.amr, /webauthn|hwk|swk|passkey/);

    // SIWE through the SDK with an EIP-1193 provider (ethers in the page).
    await page.addScriptTag({ url: `${SPA}/ethers.js` });
    const siwe = await page.evaluate(async (auth) => {
      const wallet = ethers.Wallet.createRandom();
      const provider = { async request({ method, params }) {
        if (method === 'eth_requestAccounts') return [wallet.address];
        if (method === 'eth_chainId') return '0x1';
        if (method === 'personal_sign') return wallet.signMessage(ethers.getBytes(params[0]));
        throw new Error('unsupported ' + method);
      } };
      const c = DreamAuth.createAuthClient({ baseURL: auth });
      await c.signOut();
      const r = await c.siwe.signIn({ provider });
      const s = await c.getSession();
      const none = await c.siwe.signIn({ provider: null });
      return { error: r.error, amr: s.data && s.data.session.amr, address: wallet.address, none: none.error.code };
    }, AUTH);
    assert.equal(siwe.error, null, JSON.stringify(siwe));
    assert.match(siwe.amr, /siwe|eth|wallet/i, JSON.stringify(siwe));
    assert.equal(siwe.none, 'no_wallet');
  } finally {
    await chromium.close();
  }
});

test('Chromium, single-page app through createOAuthClient: code + PKCE, userinfo, refresh, sign-out; '
  + 'a forged callback is refused', async (t) => {
  const chromium = await launchChromium(t);
  if (!chromium) return;
  try {
    const r = await fetch(S.url + '/api/auth/sign-up/email', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'sdk-spa@example.com', password: PASSWORD, name: 'Spa Sdk' }) });
    assert.equal(r.status, 201);
    const page = await (await chromium.newContext()).newPage();
    const log = watch(page);
    // A callback nobody started: refused, no token request made.
    await page.goto(`${SPA}/callback.html?code=stolen&state=guess`);
    await page.waitForFunction(() => document.title !== '');
    assert.match(await page.evaluate(() => window.error), /^invalid_state/);

    await page.goto(`${SPA}/spa.html`);
    await page.waitForFunction(() => window.ready);
    await Promise.all([page.waitForURL(new RegExp(`^${AUTH}/login`)), page.evaluate(() => { oauth.signInRedirect(); })]);
    await page.fill('input[name="email"]', 'sdk-spa@example.com');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(new RegExp(`^${SPA}/callback\\.html`)), page.click('button[type="submit"]')]);
    await page.waitForFunction(() => document.title !== '', null, { timeout: 15000 });
    assert.equal(await page.evaluate(() => window.error), undefined, log.join('\n'));
    const got = await page.evaluate(async () => {
      const first = window.result;
      const info = await oauth.userinfo();
      const renewed = await oauth.refresh();
      const info2 = await oauth.userinfo();
      return { email: first.claims.email, refresh: !!first.refreshToken, info: info.email, info2: info2.email,
        rotated: renewed.refreshToken !== first.refreshToken, newAccess: renewed.accessToken !== first.accessToken,
        claimsKept: renewed.claims.sub === first.claims.sub, stored: !!oauth.getTokens() };
    });
    assert.deepEqual(got, { email: 'sdk-spa@example.com', refresh: true, info: 'sdk-spa@example.com',
      info2: 'sdk-spa@example.com', rotated: true, newAccess: true, claimsKept: true, stored: true });
    const refreshToken = await page.evaluate(() => oauth.getTokens().refreshToken);
    await Promise.all([page.waitForURL(`${SPA}/bye.html`), page.evaluate(() => { oauth.signOutRedirect(); })]);
    // The refresh token was revoked on the way out.
    const reuse = await fetch(S.url + '/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'sdk-spa' }) });
    assert.equal(reuse.status, 400);
    assert.equal((await reuse.json()).error, 'invalid_grant');
    assert.deepEqual(log.filter((l) => /pageerror|CORS/i.test(l)), []);
  } finally {
    await chromium.close();
  }
});
