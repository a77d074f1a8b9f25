// Signing-key rotation for operators: `dreamauth keys list|rotate|revoke`
// against running servers. A token issued before a rotation keeps verifying
// (jose against /jwks, and /api/verify as Bearer) while its key retires; new
// tokens carry the new kid; a revoked kid leaves /jwks at once and its tokens
// are refused. Changes reach running servers (two instances sharing the
// database) within about a second without a restart. Hostile input to the
// CLI fails clearly with a non-zero exit and changes nothing.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as jose from 'jose';
import { Server, freshDatabase, psql, sleep, TEST_SECRET, BIN } from './harness.mjs';

const TTL = 600;	// OIDC_ACCESS_TOKEN_TTL for servers and CLI alike
const MARGIN = 300;	// KEYSTORE_RETIRE_MARGIN in signer/keystore.h
const ISSUER = 'http://localhost:7443';
const CLIENTS = [
  { clientId: 'svc', clientSecret: 'svc-secret-123', name: 'Service', redirectURLs: ['http://localhost:9999/cb'],
    grantTypes: ['client_credentials'] },
  { clientId: 'svc-es', clientSecret: 'svc-es-secret-1', name: 'ES service', redirectURLs: ['http://localhost:9999/cb'],
    grantTypes: ['client_credentials'], accessTokenSignedResponseAlg: 'ES256' },
];

let url, s1, s2;
const servers = [];
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

before(async () => {
  url = freshDatabase('keys');
  // One issuer for both instances, as behind a load balancer.
  const env = { DATABASE_URL: url, AUTH_SECRET: TEST_SECRET, AUTO_MIGRATE: 'true', ENABLE_OIDC_PROVIDER: 'true',
    OIDC_CLIENTS: JSON.stringify(CLIENTS), OIDC_ACCESS_TOKEN_TTL: String(TTL), AUTH_URL: ISSUER,
    FORWARD_AUTH_ALLOW_MACHINE_TOKENS: 'true' };
  s1 = new Server(env);
  servers.push(s1);
  await s1.start();
  // A second instance on the same database.
  s2 = new Server(env);
  servers.push(s2);
  await s2.start();
});

function keys(args, env = {}) {
  return spawnSync(BIN, ['keys', ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: url, AUTH_SECRET: TEST_SECRET, OIDC_ACCESS_TOKEN_TTL: String(TTL),
      LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8', timeout: 60000,
  });
}

// `keys list` as { kid: { alg, state, created, until } }.
function listKeys() {
  const r = keys(['list']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^KID\s+ALG\s+STATE\s+CREATED\s+JWKS_UNTIL$/);
  const out = {};
  for (const line of lines.slice(1)) {
    const m = line.match(/^(\S{43})\s+(RS256|ES256|EdDSA)\s+(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)\s+(.+)$/);
    assert.ok(m, `keys list line: ${line}`);
    out[m[1]] = { alg: m[2], state: m[3], created: m[4], until: m[5] };
  }
  return out;
}
const listTime = (t) => Date.parse(t.replace(' ', 'T'));

async function token(s, id = 'svc', secret = 'svc-secret-123') {
  const r = await fetch(s.url + '/oauth2/token', { method: 'POST', headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') },
    // For forward-auth (RFC 8707 resource = the default FORWARD_AUTH_AUDIENCE): checked at /api/verify.
    body: `grant_type=client_credentials&resource=${encodeURIComponent(ISSUER + '/api/verify')}` });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).access_token;
}
const kidOf = (jwt) => jose.decodeProtectedHeader(jwt).kid;
const jwks = async (s) => (await (await fetch(s.url + '/jwks')).json()).keys;
const kids = async (s) => (await jwks(s)).map((k) => k.kid);
const bearer = (s, jwt) => fetch(s.url + '/api/verify', { headers: { authorization: 'Bearer ' + jwt } });
// jose as a relying party would use it: a JWKS fetched now (no cache carried over).
const rpVerify = async (s, jwt) => jose.jwtVerify(jwt, jose.createLocalJWKSet({ keys: await jwks(s) }),
  { issuer: ISSUER, typ: 'at+jwt' });

// ms until pred(s) holds, polling every 25 ms; -1 after limitMs.
async function msUntil(pred, limitMs = 5000) {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    if (await pred()) return Date.now() - t0;
    await sleep(25);
  }
  return -1;
}

function fingerprint() {
  return psql(url, "select string_agg(kid || state || coalesce(revoked_at::text, '') || md5(sealed_private), ',' order by kid) from signing_keys");
}

let oldRs, newRs, oldTok, newTok;

test('rotate: old tokens keep verifying, new tokens carry the new kid, picked up within ~1 s', async () => {
  const signerPids = [s1.childPid('dreamauth: signer'), s2.childPid('dreamauth: signer')];
  oldTok = await token(s1);
  oldRs = kidOf(oldTok);
  const oldEsTok = await token(s1, 'svc-es', 'svc-es-secret-1');
  const oldEs = kidOf(oldEsTok);
  assert.equal((await rpVerify(s1, oldTok)).payload.sub, 'svc');
  assert.equal((await bearer(s1, oldTok)).status, 200);
  let before = listKeys();
  assert.equal(Object.keys(before).length, 3);
  assert.deepEqual(Object.values(before).map((k) => k.state), ['active', 'active', 'active']);
  assert.equal(before[oldRs].until, '-');

  const r = keys(['rotate']);
  const t0 = Date.now();
  assert.equal(r.status, 0, r.stderr);
  const printed = [...r.stdout.matchAll(/^(RS256|ES256|EdDSA)\s+active\s+(\S{43})$/gm)].map((m) => [m[1], m[2]]);
  assert.equal(printed.length, 3, r.stdout);
  newRs = printed.find(([alg]) => alg === 'RS256')[1];
  assert.match(r.stdout, new RegExp(`RS256\\s+retiring\\s+${oldRs}\\s+\\(in /jwks until \\d{4}-`));

  // Both instances publish the new kid and sign with it within about a second, no restart.
  for (const s of [s1, s2]) {
    const ms = await msUntil(async () => (await kids(s)).includes(newRs) && kidOf(await token(s)) === newRs);
    assert.ok(ms >= 0, 'rotation reached the server');
    const took = Date.now() - t0;
    assert.ok(took <= 1500, `rotation picked up in ${took} ms`);
  }
  assert.deepEqual([s1.childPid('dreamauth: signer'), s2.childPid('dreamauth: signer')], signerPids, 'no signer restarted');

  // /jwks: old and new kids (3 retiring + 3 active).
  const published = await kids(s1);
  assert.equal(published.length, 6);
  for (const k of [oldRs, oldEs, newRs]) assert.ok(published.includes(k), k);
  // The old tokens verify with jose against the new /jwks and at /api/verify, on both instances.
  for (const s of [s1, s2]) {
    assert.equal((await rpVerify(s, oldTok)).payload.sub, 'svc');
    assert.equal((await rpVerify(s, oldEsTok)).protectedHeader.alg, 'ES256');
    assert.equal((await bearer(s, oldTok)).status, 200);
    assert.equal((await bearer(s, oldEsTok)).status, 200);
  }
  // New tokens: new kids, verifiable too; jose's remote JWKS (as a relying party) agrees.
  newTok = await token(s2);
  assert.equal(kidOf(newTok), newRs);
  assert.notEqual(kidOf(await token(s1, 'svc-es', 'svc-es-secret-1')), oldEs);
  const remote = jose.createRemoteJWKSet(new URL(s1.url + '/jwks'));
  for (const t of [oldTok, newTok]) await jose.jwtVerify(t, remote, { issuer: ISSUER });
  assert.equal((await bearer(s1, newTok)).status, 200);

  // keys list: old keys retiring until TTL + margin from now, new ones active.
  const now = Date.now();
  const list = listKeys();
  assert.equal(Object.keys(list).length, 6);
  for (const k of [oldRs, oldEs]) {
    assert.equal(list[k].state, 'retiring');
    const until = listTime(list[k].until);
    assert.ok(Math.abs(until - (now + (TTL + MARGIN) * 1000)) < 10000, `${k} leaves the JWKS at ${list[k].until}`);
  }
  assert.equal(list[newRs].state, 'active');
  assert.equal(list[newRs].until, '-');
  assert.equal(Object.values(list).filter((k) => k.state === 'active').length, 3);
  assert.ok(!/PRIVATE|"d"|BEGIN/.test(keys(['list']).stdout), 'no private material');
});

test('rotate --alg: only that algorithm', async () => {
  const before = listKeys();
  const r = keys(['rotate', '--alg', 'EdDSA']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^EdDSA\s+active\s+\S{43}$/m);
  assert.doesNotMatch(r.stdout, /RS256|ES256/);
  const after = listKeys();
  assert.equal(Object.keys(after).length, Object.keys(before).length + 1);
  assert.equal(after[newRs].state, 'active');
});

test('revoke: the kid leaves /jwks at once and its tokens are refused', async () => {
  const r = keys(['revoke', oldRs]);
  const t0 = Date.now();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`RS256\\s+revoked\\s+${oldRs}`));
  assert.doesNotMatch(r.stdout, /active/, 'a retiring key is not replaced');
  for (const s of [s1, s2]) {
    const ms = await msUntil(async () => !(await kids(s)).includes(oldRs) && (await bearer(s, oldTok)).status === 401);
    assert.ok(ms >= 0, 'revocation reached the server');
    assert.ok(Date.now() - t0 <= 1500, `revocation picked up in ${Date.now() - t0} ms`);
    const v = await bearer(s, oldTok);
    assert.equal(v.status, 401);
    assert.match(v.headers.get('www-authenticate'), /invalid_token/);
    await assert.rejects(rpVerify(s, oldTok), (e) => e.code === 'ERR_JWKS_NO_MATCHING_KEY');
    assert.equal((await bearer(s, newTok)).status, 200, 'tokens of other keys are untouched');
  }
  assert.equal(listKeys()[oldRs].state, 'revoked');
  assert.equal(psql(url, `select length(sealed_private) from signing_keys where kid = '${oldRs}'`), '0', 'private half erased');
});

test('revoke of the active key: a fresh key takes over', async () => {
  const r = keys(['revoke', newRs]);
  assert.equal(r.status, 0, r.stderr);
  const m = r.stdout.match(/^RS256\s+active\s+(\S{43})$/m);
  assert.ok(m, r.stdout);
  const fresh = m[1];
  assert.notEqual(fresh, newRs);
  assert.ok(await msUntil(async () => (await bearer(s1, newTok)).status === 401 && (await kids(s1)).includes(fresh)) >= 0);
  const t = await token(s1);
  assert.equal(kidOf(t), fresh);
  assert.equal((await bearer(s1, t)).status, 200);
  assert.equal((await rpVerify(s1, t)).payload.sub, 'svc');
  const list = listKeys();
  assert.equal(list[newRs].state, 'revoked');
  assert.equal(list[fresh].state, 'active');
  assert.equal(Object.values(list).filter((k) => k.state === 'active').length, 3);
  assert.equal(psql(url, "select count(*) from signing_keys where state = 'current'"), '3');
});

test('hostile or unknown input: clear error, non-zero exit, nothing changed', async () => {
  const before = fingerprint();
  const gen = await kids(s1);
  const cases = [
    [['revoke', "'; DROP TABLE signing_keys; --"], 2, /not a key id/],
    [['revoke', ''], 2, /not a key id/],
    [['revoke', 'A'.repeat(44)], 2, /not a key id/],
    [['revoke', 'A'.repeat(42) + '\n'], 2, /not a key id/],
    [['revoke', '../../etc/passwd' + 'A'.repeat(27)], 2, /not a key id/],
    [['revoke', '\x1b[31mred\x1b[0m'.padEnd(43, 'x')], 2, /not a key id/],
    [['revoke', 'A'.repeat(43)], 1, /no signing key with kid A{43}/],
    [['revoke', oldRs], 1, /already revoked or retired/],
    [['revoke'], 2, /usage: dreamauth keys/],
    [['revoke', oldRs, 'extra'], 2, /usage: dreamauth keys/],
    [['rotate', '--alg', 'HS256'], 2, /--alg must be RS256, ES256 or EdDSA/],
    [['rotate', '--alg', 'none'], 2, /--alg must be/],
    [['rotate', '--alg'], 2, /usage/],
    [['rotate', '--bogus'], 2, /usage/],
    [['frobnicate'], 2, /usage/],
    [[], 2, /usage/],
  ];
  for (const [args, code, message] of cases) {
    const r = keys(args);
    assert.equal(r.status, code, `${JSON.stringify(args)}: ${r.stderr}`);
    assert.match(r.stderr, message, JSON.stringify(args));
    assert.equal(r.stdout, '', JSON.stringify(args));
    assert.ok(!r.stderr.includes('\x1b['), 'hostile bytes are not echoed to the terminal');
  }
  // The wrong AUTH_SECRET cannot rotate in a key no server could open.
  const wrong = keys(['rotate'], { AUTH_SECRET: 'not-the-servers-secret-0123456789abcdef' });
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /cannot open the stored signing keys/);
  const active = Object.entries(listKeys()).find(([, k]) => k.state === 'active')[0];
  const wrongRevoke = keys(['revoke', active], { AUTH_SECRET: 'x'.repeat(40) });
  assert.equal(wrongRevoke.status, 1);
  assert.match(wrongRevoke.stderr, /cannot open the stored signing keys/);
  assert.equal(fingerprint(), before);
  assert.deepEqual(await kids(s1), gen);
  assert.equal((await fetch(s1.url + '/api/health')).status, 200);
});

test('retiring keys leave /jwks when their window ends, without a restart', async () => {
  const retiring = Object.entries(listKeys()).filter(([, k]) => k.state === 'retiring').map(([kid]) => kid);
  assert.ok(retiring.length >= 1);
  // Time travel: their tokens have all expired two seconds from now. The signer
  // reloads at the earliest publish_until it knows (an hour away), so tell it
  // once, as an operator's rotate would; then it schedules the new end itself.
  psql(url, "update signing_keys set publish_until = now() + interval '2 seconds' where state = 'standby'");
  psql(url, "select pg_notify('dreamauth_keys', 'test')");
  assert.ok(await msUntil(async () => (await kids(s1)).length === 3 + retiring.length, 2000) >= 0);
  const ms = await msUntil(async () => (await kids(s1)).length === 3 && (await kids(s2)).length === 3, 6000);
  assert.ok(ms >= 0, 'retired keys unpublished');
  const list = listKeys();
  for (const k of retiring) assert.equal(list[k].state, 'retired', k);
  assert.ok(await msUntil(() => psql(url, "select count(*) from signing_keys where state = 'standby'") === '0', 3000) >= 0);
  assert.equal(psql(url, "select count(*) from signing_keys where state = 'retired' and revoked_at is null and length(sealed_private) > 0"), '0');
  // Signing goes on with the active keys.
  assert.equal((await bearer(s2, await token(s2))).status, 200);
});
