// dreamauth browser SDK: no dependencies, no build step. Served twice from
// this one source (workers/sdk.c): /sdk/dreamauth.js as an ES module
// (`import { createAuthClient, createOAuthClient } from ...`) and
// /sdk/dreamauth.iife.js as a classic script defining window.DreamAuth.
//
// First-party pages (AUTH_URL's origin, or one listed in CORS_ORIGINS; the
// session cookie is the credential):
//   const auth = createAuthClient({ baseURL: 'https://auth.example.com' });
//   await auth.signIn.email({ email, password })   -> { data, error }
//   await auth.signUp.email({ email, password, name })
//   await auth.getSession()                         -> { data: { user, session } | null, error }
//   await auth.signOut()
//   await auth.passkey.signIn({ email? }) / auth.passkey.register({ name? })
//   await auth.siwe.signIn({ provider: window.ethereum })
// Every call resolves to { data, error } (BetterAuth's client shape); error
// is { status, code, message } or null.
//
// Single-page apps on their own origin, with a public client (authorization
// code + PKCE S256, tokens in sessionStorage by default):
//   const oauth = createOAuthClient({ issuer, clientId, redirectUri,
//     postLogoutRedirectUri, scope: 'openid profile email offline_access' });
//   await oauth.signInRedirect();              // leaves the page
//   await oauth.handleCallback();              // on redirectUri: code -> tokens
//   await oauth.userinfo(); await oauth.refresh(); await oauth.signOutRedirect();
// These reject with an Error (its .code is the OAuth error) on failure.
const DreamAuth = (() => {
  'use strict';

  const trimSlash = (url) => String(url || '').replace(/\/+$/, '');

  function b64url(bytes) {
    let s = '';
    for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function fromB64url(text) {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes.buffer;
  }

  const randomToken = (n = 32) => b64url(crypto.getRandomValues(new Uint8Array(n)));

  async function readJSON(r) {
    const text = await r.text();
    if (!text) return null;
    try { return JSON.parse(text); } catch { return null; }
  }

  // ---- first-party: the account API with the session cookie ----

  function createAuthClient({ baseURL = '', fetch: fetchImpl } = {}) {
    const base = trimSlash(baseURL);
    const doFetch = fetchImpl || ((...a) => fetch(...a));

    async function call(path, body, method) {
      let r;
      try {
        r = await doFetch(base + path, {
          method: method || (body === undefined ? 'GET' : 'POST'),
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: 'include',
        });
      } catch (e) {
        return { data: null, error: { status: 0, code: 'network_error', message: String(e && e.message || e) } };
      }
      const data = await readJSON(r);
      if (r.ok) return { data, error: null };
      return { data: null, error: { status: r.status, code: (data && data.error) || 'http_' + r.status,
        message: (data && (data.error_description || data.error)) || `the server answered ${r.status}` } };
    }

    async function getSession() {
      const res = await call('/api/auth/get-session');
      // Signed out is not an error: BetterAuth's client answers null.
      if (res.error && res.error.status === 401) return { data: null, error: null };
      return res;
    }

    // WebAuthn's JSON forms (the server speaks them, as @simplewebauthn does).
    const descriptors = (list) => (list || []).map((d) => ({ ...d, id: fromB64url(d.id) }));
    function creationOptions(json) {
      if (globalThis.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
        return PublicKeyCredential.parseCreationOptionsFromJSON(json);
      }
      return { ...json, challenge: fromB64url(json.challenge), user: { ...json.user, id: fromB64url(json.user.id) },
        excludeCredentials: descriptors(json.excludeCredentials) };
    }
    function requestOptions(json) {
      if (globalThis.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
        return PublicKeyCredential.parseRequestOptionsFromJSON(json);
      }
      return { ...json, challenge: fromB64url(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
    }
    function credentialJSON(cred) {
      if (typeof cred.toJSON === 'function') return cred.toJSON();
      const r = cred.response;
      const response = { clientDataJSON: b64url(r.clientDataJSON) };
      if (r.attestationObject) {
        response.attestationObject = b64url(r.attestationObject);
        response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
      } else {
        response.authenticatorData = b64url(r.authenticatorData);
        response.signature = b64url(r.signature);
        if (r.userHandle) response.userHandle = b64url(r.userHandle);
      }
      return { id: cred.id, rawId: b64url(cred.rawId), type: cred.type, response,
        clientExtensionResults: cred.getClientExtensionResults() };
    }
    const ceremonyError = (e) => ({ data: null, error: { status: 0, code: (e && e.name) || 'error',
      message: String((e && e.message) || e) } });

    const passkey = {
      // Username-less when no email; mediation: 'conditional' for autofill.
      async signIn({ email, mediation, signal, callbackURL } = {}) {
        const q = email ? '?' + new URLSearchParams({ email }) : '';
        const options = await call('/api/auth/passkey/generate-authenticate-options' + q);
        if (options.error) return options;
        let cred;
        try {
          cred = await navigator.credentials.get({ publicKey: requestOptions(options.data), mediation, signal });
        } catch (e) { return ceremonyError(e); }
        return call('/api/auth/passkey/verify-authentication', { response: credentialJSON(cred), callbackURL });
      },
      // Adds a passkey to the signed-in account (or creates an account
      // with email/name when registration is open and no one is signed in).
      async register({ name, email, userName } = {}) {
        const params = {};
        if (email) params.email = email;
        if (userName) params.name = userName;
        const q = Object.keys(params).length ? '?' + new URLSearchParams(params) : '';
        const options = await call('/api/auth/passkey/generate-register-options' + q);
        if (options.error) return options;
        let cred;
        try {
          cred = await navigator.credentials.create({ publicKey: creationOptions(options.data) });
        } catch (e) { return ceremonyError(e); }
        const body = { response: credentialJSON(cred) };
        if (name) body.name = name;
        return call('/api/auth/passkey/verify-registration', body);
      },
      list: () => call('/api/auth/passkey/list-user-passkeys'),
    };

    // Sign-In With Ethereum (EIP-4361) with an EIP-1193 provider. The
    // message names the identity provider's origin (the server accepts no
    // other), whichever page calls.
    const siwe = {
      async signIn({ provider = globalThis.ethereum, statement, callbackURL } = {}) {
        if (!provider || typeof provider.request !== 'function') {
          return { data: null, error: { status: 0, code: 'no_wallet', message: 'no EIP-1193 provider' } };
        }
        const site = new URL(base || location.origin);
        let accounts, chainId = 1;
        try {
          accounts = await provider.request({ method: 'eth_requestAccounts' });
          chainId = parseInt(await provider.request({ method: 'eth_chainId' }), 16) || 1;
        } catch (e) {
          if (!accounts) return ceremonyError(e);
        }
        if (!accounts || !accounts.length) return { data: null, error: { status: 0, code: 'no_account', message: 'the wallet shared no account' } };
        const nonce = await call('/api/auth/siwe/nonce', { walletAddress: accounts[0], chainId });
        if (nonce.error) return nonce;
        const { walletAddress } = nonce.data;
        const message = `${site.host} wants you to sign in with your Ethereum account:\n${walletAddress}\n\n`
          + `${statement || `Sign in to ${site.host} with your Ethereum account.`}\n\n`
          + `URI: ${site.origin}\nVersion: 1\nChain ID: ${chainId}\nNonce: ${nonce.data.nonce}\n`
          + `Issued At: ${new Date().toISOString()}`;
        const hex = '0x' + Array.from(new TextEncoder().encode(message), (b) => b.toString(16).padStart(2, '0')).join('');
        let signature;
        try {
          signature = await provider.request({ method: 'personal_sign', params: [hex, accounts[0]] });
        } catch (e) { return ceremonyError(e); }
        return call('/api/auth/siwe/verify', { message, signature, walletAddress, chainId, callbackURL });
      },
    };

    return {
      baseURL: base,
      getSession,
      signIn: { email: ({ email, password, callbackURL }) => call('/api/auth/sign-in/email', { email, password, callbackURL }) },
      signUp: { email: ({ email, password, name }) => call('/api/auth/sign-up/email', { email, password, name }) },
      signOut: () => call('/api/auth/sign-out', undefined, 'POST'),
      passkey,
      siwe,
    };
  }

  // ---- single-page apps: OAuth 2.0 code + PKCE against a public client ----

  function createOAuthClient({ issuer, clientId, redirectUri, postLogoutRedirectUri, scope = 'openid profile email',
    storage = globalThis.sessionStorage, fetch: fetchImpl } = {}) {
    if (!issuer || !clientId || !redirectUri) throw new Error('issuer, clientId and redirectUri are required');
    const iss = trimSlash(issuer);
    const doFetch = fetchImpl || ((...a) => fetch(...a));
    const key = (k) => `dreamauth:${clientId}:${k}`;
    let metadata = null;

    function fail(code, message) {
      const e = new Error(message || code);
      e.code = code;
      return e;
    }

    async function discover() {
      if (metadata) return metadata;
      const r = await doFetch(iss + '/.well-known/openid-configuration');
      const m = await readJSON(r);
      // The document must be the issuer's own (OpenID Discovery 4.3).
      if (!r.ok || !m || m.issuer !== iss) throw fail('invalid_issuer', 'discovery failed or names another issuer');
      metadata = m;
      return m;
    }

    const getTokens = () => {
      const t = storage.getItem(key('tokens'));
      return t ? JSON.parse(t) : null;
    };
    const setTokens = (t) => (t ? storage.setItem(key('tokens'), JSON.stringify(t)) : storage.removeItem(key('tokens')));

    // The ID token's claims. Its signature is not checked here: it came
    // straight from the token endpoint over TLS (OpenID Connect Core
    // 3.1.3.7 allows that); iss, aud, exp and the nonce are.
    function idClaims(idToken, nonce) {
      const parts = String(idToken || '').split('.');
      if (parts.length !== 3) throw fail('invalid_id_token', 'malformed ID token');
      const claims = JSON.parse(new TextDecoder().decode(fromB64url(parts[1])));
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (claims.iss !== iss || !aud.includes(clientId) || !(claims.exp * 1000 > Date.now())
        || (nonce !== undefined && claims.nonce !== nonce)) {
        throw fail('invalid_id_token', 'the ID token is not for this client, expired, or replayed');
      }
      return claims;
    }

    async function tokenRequest(fields) {
      const m = await discover();
      const r = await doFetch(m.token_endpoint, { method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: clientId, ...fields }) });
      const body = await readJSON(r);
      if (!r.ok || !body || !body.access_token) {
        throw fail((body && body.error) || 'token_error', (body && body.error_description) || `token endpoint: ${r.status}`);
      }
      return body;
    }

    function keep(body, nonce, previous) {
      const t = { accessToken: body.access_token, tokenType: body.token_type, scope: body.scope,
        expiresAt: Date.now() + (body.expires_in || 0) * 1000,
        refreshToken: body.refresh_token || (previous && previous.refreshToken) || null,
        idToken: body.id_token || (previous && previous.idToken) || null };
      t.claims = body.id_token ? idClaims(body.id_token, nonce) : (previous && previous.claims) || null;
      setTokens(t);
      return t;
    }

    return {
      discover,
      getTokens,
      async signInRedirect({ extraParams = {} } = {}) {
        const m = await discover();
        const verifier = randomToken(32), state = randomToken(16), nonce = randomToken(16);
        const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
        storage.setItem(key('pending'), JSON.stringify({ verifier, state, nonce }));
        const url = new URL(m.authorization_endpoint);
        url.search = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri,
          scope, state, nonce, code_challenge: challenge, code_challenge_method: 'S256', ...extraParams });
        location.assign(url.href);
      },
      // On redirectUri: checks state (one use), redeems the code.
      async handleCallback(url = location.href) {
        const q = new URL(url).searchParams;
        const pending = JSON.parse(storage.getItem(key('pending')) || 'null');
        storage.removeItem(key('pending'));
        if (q.get('error')) throw fail(q.get('error'), q.get('error_description') || q.get('error'));
        if (!pending || !q.get('state') || q.get('state') !== pending.state) {
          throw fail('invalid_state', 'this callback does not answer a sign-in started here');
        }
        const m = await discover();
        // RFC 9207: the answer names its issuer; a mix-up is refused.
        if (m.authorization_response_iss_parameter_supported && q.get('iss') !== iss) {
          throw fail('invalid_issuer', 'the callback names another issuer');
        }
        const body = await tokenRequest({ grant_type: 'authorization_code', code: q.get('code') || '',
          redirect_uri: redirectUri, code_verifier: pending.verifier });
        return keep(body, pending.nonce, null);
      },
      async refresh() {
        const t = getTokens();
        if (!t || !t.refreshToken) throw fail('login_required', 'no refresh token (ask for offline_access)');
        return keep(await tokenRequest({ grant_type: 'refresh_token', refresh_token: t.refreshToken }), undefined, t);
      },
      async userinfo() {
        const t = getTokens();
        if (!t) throw fail('login_required', 'not signed in');
        const m = await discover();
        const r = await doFetch(m.userinfo_endpoint, { headers: { authorization: `Bearer ${t.accessToken}` } });
        const body = await readJSON(r);
        if (!r.ok) throw fail((body && body.error) || 'userinfo_error', (body && body.error_description) || `userinfo: ${r.status}`);
        return body;
      },
      // Revokes the refresh token (its family), forgets the tokens, and
      // ends the session at the identity provider (RP-initiated logout).
      async signOutRedirect() {
        const m = await discover();
        const t = getTokens();
        if (t && t.refreshToken && m.revocation_endpoint) {
          await doFetch(m.revocation_endpoint, { method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ client_id: clientId, token: t.refreshToken, token_type_hint: 'refresh_token' }) })
            .catch(() => {});
        }
        setTokens(null);
        const url = new URL(m.end_session_endpoint);
        const params = { client_id: clientId };
        if (t && t.idToken) params.id_token_hint = t.idToken;
        if (postLogoutRedirectUri) params.post_logout_redirect_uri = postLogoutRedirectUri;
        url.search = new URLSearchParams(params);
        location.assign(url.href);
      },
    };
  }

  return { createAuthClient, createOAuthClient, version: '1' };
})();
