// Sign-In With Ethereum (EIP-4361) for the sign-in and account pages, with
// the browser's wallet (EIP-1193 window.ethereum): eth_requestAccounts, then
// a nonce from the server, then personal_sign over the message, then
// /api/auth/siwe/verify (workers/auth_siwe.c). Signs in (or up) on /login;
// links a wallet on /account, where it also lists and unlinks them.
// Vanilla, no build step; served only when ENABLE_SIWE is on.
(function () {
  'use strict';

  const status = document.getElementById('siwe-status');
  const signInButton = document.getElementById('siwe-sign-in');
  const linkButton = document.getElementById('siwe-link');
  const list = document.getElementById('siwe-wallets');

  function say(text, isError = true) {
    if (!status) return;
    status.textContent = text;
    status.className = isError ? 'error' : 'notice';
    status.hidden = !text;
  }

  async function call(path, body) {
    const r = await fetch(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error_description || data.error || `the server answered ${r.status}`);
    return data;
  }

  // personal_sign takes the message as hex-encoded UTF-8.
  function hexUtf8(text) {
    return '0x' + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // The EIP-4361 message, for this page's own origin (the server accepts
  // no other).
  function siweMessage({ address, chainId, nonce, statement }) {
    return `${location.host} wants you to sign in with your Ethereum account:\n${address}\n\n${statement}\n\n` +
      `URI: ${location.origin}\nVersion: 1\nChain ID: ${chainId}\nNonce: ${nonce}\n` +
      `Issued At: ${new Date().toISOString()}`;
  }

  function walletError(e) {
    if (e && e.code === 4001) return 'You declined the request in your wallet.';
    return (e && e.message) || String(e);
  }

  // The whole ceremony; resolves with verify's answer.
  async function signWithWallet(statement, callbackURL) {
    const eth = window.ethereum;
    if (!eth || typeof eth.request !== 'function') {
      throw new Error('No Ethereum wallet found in this browser.');
    }
    const accounts = await eth.request({ method: 'eth_requestAccounts' });
    if (!accounts || !accounts.length) throw new Error('The wallet shared no account.');
    let chainId = 1;
    try {
      chainId = parseInt(await eth.request({ method: 'eth_chainId' }), 16) || 1;
    } catch (e) { /* a wallet without eth_chainId: mainnet */ }
    // Bound to this wallet and chain; the answer spells the address with its
    // EIP-55 checksum, which the message must carry.
    const { nonce, walletAddress } = await call('/api/auth/siwe/nonce', { walletAddress: accounts[0], chainId });
    const message = siweMessage({ address: walletAddress, chainId, nonce, statement });
    const signature = await eth.request({ method: 'personal_sign', params: [hexUtf8(message), accounts[0]] });
    return call('/api/auth/siwe/verify', { message, signature, walletAddress, chainId, callbackURL });
  }

  function busy(button, on) {
    button.disabled = on;
    button.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  if (signInButton) {
    signInButton.hidden = false;
    signInButton.addEventListener('click', async () => {
      const rd = document.querySelector('input[name="rd"]');
      busy(signInButton, true);
      say('');
      try {
        const result = await signWithWallet(`Sign in to ${location.host} with your Ethereum account.`, rd ? rd.value : '');
        location.assign(result.redirect || '/account');
      } catch (e) {
        say(walletError(e));
        busy(signInButton, false);
      }
    });
  }

  async function showWallets() {
    if (!list) return;
    const { wallets } = await call('/api/auth/siwe/wallets');
    list.replaceChildren(...wallets.map((w) => {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = w.address;
      const unlink = document.createElement('button');
      unlink.type = 'button';
      unlink.className = 'inline';
      unlink.textContent = 'Unlink';
      unlink.addEventListener('click', async () => {
        busy(unlink, true);
        try {
          await call('/api/auth/siwe/unlink', { walletAddress: w.address });
          say('');
          await showWallets();
        } catch (e) {
          say(walletError(e));
          busy(unlink, false);
        }
      });
      li.append(code, ` (chain ${w.chainId}) `, unlink);
      return li;
    }));
    if (!wallets.length) {
      const li = document.createElement('li');
      li.textContent = 'No wallet linked.';
      list.append(li);
    }
  }

  if (linkButton) {
    linkButton.hidden = false;
    linkButton.addEventListener('click', async () => {
      busy(linkButton, true);
      say('');
      try {
        await signWithWallet(`Link this Ethereum account to your account on ${location.host}.`, '');
        await showWallets();
        say('Wallet linked.', false);
      } catch (e) {
        say(walletError(e));
      }
      busy(linkButton, false);
    });
  }
  if (list) showWallets().catch((e) => say(walletError(e)));
})();
