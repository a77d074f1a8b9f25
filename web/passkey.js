// Passkeys (WebAuthn) for the sign-in, sign-up, second-factor and account
// pages, on the server's BetterAuth-style API (workers/auth_passkey.c):
// options from /api/auth/passkey/generate-*-options, the browser's
// navigator.credentials.create / .get, then /api/auth/passkey/verify-*.
//   /login          "Sign in with a passkey" (username-less, or for the typed
//                   email), and passkey autofill in the email field
//                   (conditional mediation) where the browser offers it
//   /signup         "Create account with a passkey" (no password at all)
//   /login/passkey  the passkey after a password (second factor)
//   /account        list, add, rename, delete; the second-factor setting
// Vanilla, no build step; served only when ENABLE_PASSKEYS is on.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const status = $('passkey-status');

  function say(text, isError = true) {
    if (!status) return;
    status.textContent = text;
    status.className = isError ? 'error' : 'notice';
    status.hidden = !text;
  }

  function busy(button, on) {
    button.disabled = on;
    button.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  // ---- base64url and the JSON forms of WebAuthn's options and results ----

  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function fromB64url(text) {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes.buffer;
  }

  const descriptors = (list) => (list || []).map((d) => ({ ...d, id: fromB64url(d.id) }));

  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return { ...json, challenge: fromB64url(json.challenge), user: { ...json.user, id: fromB64url(json.user.id) },
      excludeCredentials: descriptors(json.excludeCredentials) };
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return { ...json, challenge: fromB64url(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === 'function') return cred.toJSON();
    const r = cred.response;
    const response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) response.userHandle = toB64url(r.userHandle);
    }
    return { id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, response,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults() };
  }

  // ---- the server ----

  async function call(path, body) {
    const r = await fetch(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const e = new Error(data.error_description || data.error || `the server answered ${r.status}`);
      e.code = data.error;
      throw e;
    }
    return data;
  }

  function errorText(e) {
    if (e && e.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out.';
    if (e && e.name === 'InvalidStateError') return 'This authenticator already holds a passkey for this account.';
    if (e && e.name === 'SecurityError') return 'Passkeys do not work on this address (the site must be served over '
      + 'https, or from localhost).';
    return (e && e.message) || String(e);
  }

  const returnTo = () => {
    const el = document.querySelector('input[name="rd"]') || $('passkey-rd');
    return el ? el.value : '';
  };

  async function signIn({ email, secondFactor, mediation, signal }) {
    const q = new URLSearchParams();
    if (email) q.set('email', email);
    if (secondFactor) q.set('secondFactor', '1');
    const query = q.toString();
    const options = await call('/api/auth/passkey/generate-authenticate-options' + (query ? '?' + query : ''));
    const cred = await navigator.credentials.get({ publicKey: requestOptions(options), mediation, signal });
    if (!cred) throw new Error('No passkey was chosen.');
    return call('/api/auth/passkey/verify-authentication', { response: credentialJSON(cred), callbackURL: returnTo() });
  }

  async function register({ email, name, passkeyName }) {
    const q = new URLSearchParams();
    if (email) q.set('email', email);
    if (name) q.set('name', name);
    const query = q.toString();
    const options = await call('/api/auth/passkey/generate-register-options' + (query ? '?' + query : ''));
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
    const body = { response: credentialJSON(cred), callbackURL: returnTo() };
    if (passkeyName) body.name = passkeyName;
    return call('/api/auth/passkey/verify-registration', body);
  }

  const supported = !!(window.PublicKeyCredential && navigator.credentials);

  // ---- /login: the button, and autofill ----

  const signInButton = $('passkey-sign-in');
  if (signInButton && supported) {
    signInButton.hidden = false;
    let autofill = null;

    async function offerAutofill() {
      const available = PublicKeyCredential.isConditionalMediationAvailable
        && await PublicKeyCredential.isConditionalMediationAvailable().catch(() => false);
      if (!available) return;
      autofill = new AbortController();
      try {
        const result = await signIn({ mediation: 'conditional', signal: autofill.signal });
        location.assign(result.redirect || '/account');
      } catch (e) {
        if (e && e.name !== 'AbortError') say(errorText(e));
      }
    }

    signInButton.addEventListener('click', async () => {
      if (autofill) autofill.abort();
      autofill = null;
      busy(signInButton, true);
      say('');
      const emailField = document.querySelector('input[name="email"]');
      try {
        const result = await signIn({ email: emailField ? emailField.value.trim() : '' });
        location.assign(result.redirect || '/account');
      } catch (e) {
        say(errorText(e));
        busy(signInButton, false);
        offerAutofill();
      }
    });
    offerAutofill();
  }

  // ---- /signup: an account with a passkey and no password ----

  const signUpButton = $('passkey-sign-up');
  if (signUpButton && supported) {
    signUpButton.hidden = false;
    signUpButton.addEventListener('click', async () => {
      const email = (document.querySelector('input[name="email"]') || {}).value || '';
      const name = (document.querySelector('input[name="name"]') || {}).value || '';
      if (!email.trim()) {
        say('Enter your email first.');
        return;
      }
      busy(signUpButton, true);
      say('');
      try {
        const result = await register({ email: email.trim(), name: name.trim() });
        location.assign(result.redirect || '/account');
      } catch (e) {
        say(errorText(e));
        busy(signUpButton, false);
      }
    });
  }

  // ---- /login/passkey: the second factor ----

  const secondButton = $('passkey-second-factor-go');
  if (secondButton && supported) {
    secondButton.hidden = false;
    secondButton.addEventListener('click', async () => {
      busy(secondButton, true);
      say('');
      try {
        const result = await signIn({ secondFactor: true });
        location.assign(result.redirect || '/account');
      } catch (e) {
        say(errorText(e));
        busy(secondButton, false);
      }
    });
  }

  // ---- /account: the list, and the second-factor setting ----

  const list = $('passkey-list');
  const addButton = $('passkey-add');
  const secondRow = $('passkey-second-factor-row');
  const secondBox = $('passkey-second-factor');

  function inlineButton(text, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'inline';
    b.textContent = text;
    b.addEventListener('click', () => onClick(b));
    return b;
  }

  async function remove(passkey, button) {
    busy(button, true);
    try {
      try {
        await call('/api/auth/passkey/delete-passkey', { id: passkey.id });
      } catch (e) {
        if (e.code !== 'last_sign_in_method') throw e;
        if (!window.confirm(`${e.message}\n\nDelete it anyway? You will not be able to sign in to this account.`)) {
          busy(button, false);
          return;
        }
        await call('/api/auth/passkey/delete-passkey', { id: passkey.id, confirm: true });
      }
      say('Passkey deleted.', false);
      await refresh();
    } catch (e) {
      say(errorText(e));
      busy(button, false);
    }
  }

  function rename(passkey, li) {
    const input = document.createElement('input');
    input.type = 'text';
    input.maxLength = 80;
    input.value = passkey.name;
    input.setAttribute('aria-label', 'New name');
    const save = inlineButton('Save', async (b) => {
      busy(b, true);
      try {
        await call('/api/auth/passkey/update-passkey', { id: passkey.id, name: input.value.trim() });
        say('Passkey renamed.', false);
        await refresh();
      } catch (e) {
        say(errorText(e));
        busy(b, false);
      }
    });
    li.replaceChildren(input, save, inlineButton('Cancel', () => refresh()));
    input.focus();
  }

  const when = (iso) => new Date(iso).toLocaleString();

  function item(passkey) {
    const li = document.createElement('li');
    const name = document.createElement('strong');
    name.textContent = passkey.name || 'Unnamed passkey';
    const details = document.createElement('small');
    details.textContent = `added ${when(passkey.createdAt)}`
      + (passkey.lastUsedAt ? `, last used ${when(passkey.lastUsedAt)}` : ', never used')
      + (passkey.backedUp ? ', synced' : '');
    li.append(name, inlineButton('Rename', () => rename(passkey, li)),
      inlineButton('Delete', (b) => remove(passkey, b)), details);
    return li;
  }

  async function refresh() {
    const passkeys = await call('/api/auth/passkey/list-user-passkeys');
    list.replaceChildren(...passkeys.map(item));
    if (!passkeys.length) {
      const li = document.createElement('li');
      li.textContent = 'No passkey yet.';
      list.append(li);
    }
    if (secondRow) {
      const setting = await call('/api/auth/passkey/second-factor');
      secondRow.hidden = !setting.hasPassword;
      secondBox.checked = setting.enabled;
      secondBox.disabled = !setting.enabled && setting.passkeys === 0;
    }
  }

  if (list) {
    if (addButton && supported) {
      addButton.hidden = false;
      addButton.addEventListener('click', async () => {
        const nameField = $('passkey-new-name');
        busy(addButton, true);
        say('');
        try {
          await register({ passkeyName: nameField ? nameField.value.trim() : '' });
          if (nameField) nameField.value = '';
          say('Passkey added.', false);
          await refresh();
        } catch (e) {
          say(errorText(e));
        }
        busy(addButton, false);
      });
    }
    if (secondBox) {
      secondBox.addEventListener('change', async () => {
        const wanted = secondBox.checked;
        secondBox.disabled = true;
        try {
          await call('/api/auth/passkey/second-factor', { enabled: wanted });
          say(wanted ? 'Your passkey will be asked for after your password.'
            : 'Your password alone signs you in again.', false);
        } catch (e) {
          secondBox.checked = !wanted;
          say(errorText(e));
        }
        secondBox.disabled = false;
      });
    }
    refresh().catch((e) => say(errorText(e)));
  }
})();
