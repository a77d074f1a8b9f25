// What a browser does through a reverse proxy, for the nginx and Caddy tests:
// one request with a chosen Host, no redirects followed, cookies kept in a
// jar (Map name -> { value, attrs }) the way a browser keeps them for that
// site; reading hidden form fields out of a rendered page; and stopping the
// proxy process.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';

// tls: the proxy speaks TLS (certificate trust skipped: a test CA signed it).
export function proxiedRequest({ port, host, tls = false }, method, path, { jar, headers = {}, form, json } = {}) {
  let body;
  const h = { host, ...headers };
  if (jar && jar.size) h.cookie = [...jar].map(([k, v]) => `${k}=${v.value}`).join('; ');
  if (form) {
    body = new URLSearchParams(form).toString();
    h['content-type'] = 'application/x-www-form-urlencoded';
  } else if (json) {
    body = JSON.stringify(json);
    h['content-type'] = 'application/json';
  }
  if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
  const options = { host: '127.0.0.1', port, method, path, headers: h, agent: false };
  if (tls) Object.assign(options, { servername: host.split(':')[0], rejectUnauthorized: false });
  return new Promise((resolve, reject) => {
    const req = (tls ? https : http).request(options, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        for (const c of (jar && res.headers['set-cookie']) || []) {
          const [pair, ...attrs] = c.split(';').map((s) => s.trim());
          const eq = pair.indexOf('=');
          const name = pair.slice(0, eq);
          if (attrs.some((a) => /^max-age=0$/i.test(a))) jar.delete(name);
          else jar.set(name, { value: pair.slice(eq + 1), attrs });
        }
        resolve({ status: res.statusCode, headers: res.headers, body: data });
      });
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`timeout: ${method} ${host}${path}`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function hiddenField(html, name) {
  const m = html.match(new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`));
  assert.ok(m, `no hidden ${name} field in:\n${html.slice(0, 500)}`);
  return m[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

// Stops a proxy child with its graceful signal, SIGKILL if it hangs 5 s.
export async function stopProxy(proc, signal) {
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.on('exit', r));
  proc.kill(signal);
  const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}
