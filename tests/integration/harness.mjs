// Shared helpers for the integration tests: a fresh database per test file
// on the PostgreSQL cluster started by tests/run_all.sh, and the real
// dreamauth binary started and stopped as an operator would.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, createWriteStream, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.DREAMAUTH_BIN || join(ROOT, 'build', 'dreamauth');
export const ADMIN_URL = process.env.DREAMAUTH_TEST_DATABASE_URL;
if (!ADMIN_URL) throw new Error('DREAMAUTH_TEST_DATABASE_URL is not set (run tests/run_all.sh)');

export function psql(url, sql) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { encoding: 'utf8' }).trim();
}

let dbCounter = 0;
export function freshDatabase(prefix = 't') {
  const name = `${prefix}_${process.pid}_${Date.now() % 100000}_${dbCounter++}`;
  psql(ADMIN_URL, `CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = '/' + name;
  return u.toString();
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export class Server {
  constructor(env) {
    this.env = env;
    this.dir = mkdtempSync(join(tmpdir(), 'dreamauth-it-'));
    chmodSync(this.dir, 0o755);
    this.logPath = join(this.dir, 'server.log');
  }
  get url() { return `http://127.0.0.1:${this.port}`; }
  async start({ waitHealthy = true } = {}) {
    this.port = this.env.PORT_OVERRIDE || await freePort();
    const env = {
      PATH: process.env.PATH,
      LISTEN: `127.0.0.1:${this.port}`,
      AUTH_URL: `http://localhost:${this.port}`,
      WORKERS: '2',
      KDF_THREADS: '2',
      ARGON2_MEMORY_KIB: '8192',
      ARGON2_ITERATIONS: '1',
      LOG_LEVEL: 'info',
      ...this.env,
    };
    delete env.PORT_OVERRIDE;
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    this.log = createWriteStream(this.logPath, { flags: 'a' });
    this.proc = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.pipe(this.log, { end: false });
    this.proc.stderr.pipe(this.log, { end: false });
    // Resolved on 'close', not 'exit': 'exit' can come before the child's
    // stdout and stderr are drained, and a test that reads the log then
    // misses the last lines (a flaky "one clear error" check). Then the log
    // file is flushed, so logs() has every line.
    this.exited = new Promise((resolve) => this.proc.on('close', (code, signal) => {
      this.log.end(() => resolve({ code, signal }));
    }));
    if (waitHealthy) await this.waitHealthy(30000);
    return this;
  }
  logs() { return readFileSync(this.logPath, 'utf8'); }
  async waitHealthy(timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`server exited early:\n${this.logs()}`);
      try {
        const r = await fetch(this.url + '/api/health');
        last = r.status;
        if (r.status === 200) return Date.now();
      } catch (e) { last = e.message; }
      await sleep(50);
    }
    throw new Error(`not healthy after ${timeoutMs} ms (last: ${last})\n${this.logs()}`);
  }
  async stop(signal = 'SIGTERM') {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 30000);
    const r = await this.exited;	// stdout and stderr drained into the log, and flushed
    clearTimeout(timer);
    // Under the ASan/UBSan build, any report in any process fails the test
    // that stopped the server.
    const report = this.logs().match(/^.*(AddressSanitizer|LeakSanitizer|runtime error:).*$/m);
    if (report) throw new Error(`sanitizer report in ${this.logPath}: ${report[0]}`);
    return r;
  }
  // Children of the master as { pid, title } from ps.
  children() {
    const out = execFileSync('ps', ['--ppid', String(this.proc.pid), '-o', 'pid=,args='], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map((l) => {
      const m = l.trim().match(/^(\d+)\s+(.*)$/);
      return { pid: Number(m[1]), title: m[2].trim() };
    });
  }
  childPid(title) {
    const c = this.children().find((x) => x.title === title);
    return c ? c.pid : undefined;
  }
}

export const SESSION_COOKIE = 'dreamauth_session';

// One fetch to a Server with the knobs the API tests need; never follows
// redirects. json or form make the body (and a POST unless method says
// otherwise); cookie: a Cookie header, or browser: a cookie jar (its header,
// and take() for the answer's Set-Cookie).
export async function call(s, path, { method, json, form, body, headers = {}, cookie, browser } = {}) {
  const h = { ...headers };
  if (cookie) h.cookie = cookie;
  if (browser && browser.cookies.size) h.cookie = browser.header;
  if (json !== undefined) {
    h['content-type'] ??= 'application/json';
    body = typeof json === 'string' ? json : JSON.stringify(json);
  } else if (form !== undefined) {
    h['content-type'] ??= 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const r = await fetch(s.url + path, { method: method ?? (body === undefined ? 'GET' : 'POST'), headers: h, body,
    redirect: 'manual' });
  if (browser) browser.take(r);
  const text = await r.text();
  let data;
  try { data = JSON.parse(text); } catch { data = undefined; }
  return { status: r.status, headers: r.headers, text, json: data, setCookies: r.headers.getSetCookie() };
}

// name=value of the cookie a call's answer sets, or undefined.
export function cookieFrom(res, name = SESSION_COOKIE) {
  const line = res.setCookies.find((c) => c.startsWith(name + '='));
  return line ? line.split(';')[0] : undefined;
}

// Headless Chromium (playwright-core) for test t, or null with t skipped
// where /usr/bin/chromium is missing (a failure under CI, which installs it).
// The pages are browsed at localhost (WebAuthn refuses IP addresses).
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

// Raw HTTP over a socket: for requests fetch() refuses to send. halfClose:
// send FIN after the data, as `printf ... | nc` does.
export function rawRequest(port, data, { timeoutMs = 3000, halfClose = false } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = () => { clearTimeout(timer); sock.destroy(); resolve(buf); };
    const timer = setTimeout(done, timeoutMs);
    sock.on('data', (d) => { buf += d.toString('latin1'); });
    sock.on('end', done);
    sock.on('error', done);
    sock.on('connect', () => (halfClose ? sock.end(data) : sock.write(data)));
  });
}

export function statusOf(raw) {
  const m = raw.match(/^HTTP\/1\.1 (\d{3})/);
  return m ? Number(m[1]) : 0;
}
