// A single-page app's own web server for the browser tests: a separate
// origin on loopback (http://localhost:<its port>) serving fixed pages and
// scripts, as a static host (Netlify, nginx) would for a real SPA.
import http from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ROOT } from './harness.mjs';

// files: { '/index.html': { type, body } }; '/' serves /index.html.
export async function startSite(port, files) {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const f = files[path === '/' ? '/index.html' : path];
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-store' });
    res.end(f.body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { url: `http://localhost:${port}`, close: () => new Promise((r) => server.close(r)) };
}

export const oidcClientBundle = () => ({ type: 'text/javascript',
  body: readFileSync(join(ROOT, 'tests', 'node_modules', 'oidc-client-ts', 'dist', 'browser', 'oidc-client-ts.min.js')) });

export const html = (body) => ({ type: 'text/html; charset=utf-8', body: `<!doctype html><meta charset="utf-8">${body}` });

// Headless Chromium (Debian's), or a skip that says why; in CI a missing
// browser is a failure, not a skip.
export async function launchChromium(t) {
  if (!existsSync('/usr/bin/chromium')) {
    if (process.env.CI) assert.fail('/usr/bin/chromium is missing (scripts/install-deps.sh --test installs it)');
    t.skip('no /usr/bin/chromium');
    return null;
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--host-resolver-rules=MAP localhost 127.0.0.1'] });
}

// Console errors and failed requests of a page, for the assertion messages.
export function watch(page) {
  const log = [];
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e}`));
  page.on('requestfailed', (r) => log.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  return log;
}
