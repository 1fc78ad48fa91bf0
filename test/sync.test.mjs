// The GitOps control loop end to end: a real Git repository, a real `bursar serve` following it,
// signed push webhooks, a refused commit, an emergency override healed by the drift policy, and
// the sync history in the ledger (`bursar history`, `bursar drift`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeUpstream } from './fake_upstream.mjs';
import { BURSAR_BIN, KEYS, makeConfigRepo, startBursar, tmpdir } from './helpers.mjs';
import {
  SYNC_ARGS, SYNC_ENV, adminGet, adminSend, chat, commitAll, git, pushWebhook, setRouteModel,
  until, waitServedBy,
} from './sync_helpers.mjs';

let upstream, repo, data, bursar;

before(async () => {
  upstream = await startFakeUpstream();
  repo = makeConfigRepo(upstream.port);
  data = tmpdir('sync-data');
  bursar = await startBursar({
    repo: repo.dir, data, env: SYNC_ENV,
    extraArgs: [...SYNC_ARGS, '--sync-interval', '1h', '--drift-policy', 'heal-after=2s'],
  });
});

after(async () => {
  const exit = await bursar.stop('SIGTERM');
  await upstream.close();
  assert.equal(exit.code, 0, `bursar exited ${JSON.stringify(exit)}: ${bursar.stderr()}`);
});

const history = () => JSON.parse(execFileSync(BURSAR_BIN,
  ['history', '--data', data, '--output', 'json']).toString());

test('the first commit serves and is recorded', async () => {
  const r = await chat(bursar.url);
  assert.equal(r.status, 200);
  assert.equal(r.commit, repo.commit);
  assert.equal(r.model, 'ok');
  const st = await adminGet(bursar.url, '/api/sync-status');
  assert.equal(st.status, 200);
  assert.equal(st.body.liveCommit, repo.commit);
  assert.equal(st.body.branch, 'refs/heads/main');
  assert.equal(st.body.lastSync.trigger, 'start');
});

test('a pushed route change serves after a signed webhook', async () => {
  setRouteModel(repo.dir, 'chat', 'm-vision');
  const c2 = commitAll(repo.dir, 'chat: serve from m-vision');
  const hook = await pushWebhook(bursar.url, c2);
  assert.equal(hook.status, 202);
  assert.equal((await hook.json()).triggered, true);
  const r = await waitServedBy(bursar.url, c2);
  assert.equal(r.status, 200);
  assert.equal(r.model, 'vision');
});

test('a webhook with a wrong or missing signature is rejected and syncs nothing', async () => {
  const before = (await adminGet(bursar.url, '/api/sync-status')).body.liveCommit;
  setRouteModel(repo.dir, 'chat', 'm-ok');
  const c3 = commitAll(repo.dir, 'chat: back to m-ok');
  const wrong = await pushWebhook(bursar.url, c3, { secret: 'not-the-secret' });
  assert.equal(wrong.status, 401);
  const missing = await fetch(`${bursar.url}/hooks/git`, {
    method: 'POST', headers: { 'x-github-event': 'push' }, body: '{"ref":"refs/heads/main"}',
  });
  assert.equal(missing.status, 401);
  const other = await pushWebhook(bursar.url, c3, { ref: 'refs/heads/feature' });
  assert.equal(other.status, 200);
  assert.equal((await other.json()).triggered, false);
  await new Promise((r) => setTimeout(r, 300));
  const st = (await adminGet(bursar.url, '/api/sync-status')).body;
  assert.equal(st.liveCommit, before, 'nothing synced without a valid webhook');
  assert.equal((await chat(bursar.url)).commit, before);
  assert.equal((await pushWebhook(bursar.url, c3)).status, 202);
  assert.equal((await waitServedBy(bursar.url, c3)).model, 'ok');
});

test('an invalid commit is refused with file:line errors; the last good one keeps serving', async () => {
  const good = git(repo.dir, 'rev-parse', 'HEAD');
  const file = path.join(repo.dir, 'gateway', 'routes.yaml');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(
    'name: canary\nspec:\n  targets:\n    - model: m-ok\n      weight: 50',
    'name: canary\nspec:\n  targets:\n    - model: m-ok\n      wieght: 50'));
  const bad = commitAll(repo.dir, 'canary: typo');
  assert.equal((await pushWebhook(bursar.url, bad)).status, 202);
  const st = await until(async () => {
    const s = (await adminGet(bursar.url, '/api/sync-status')).body;
    return s.lastRefused && s.lastRefused.commit === bad ? s : null;
  }, 'the refusal');
  assert.equal(st.liveCommit, good);
  assert.match(st.lastRefused.errors[0], /^gateway\/routes\.yaml:\d+:\d+: /);
  assert.ok(st.lastRefused.errors.some((e) => e.includes('wieght')), st.lastRefused.errors.join('\n'));
  const r = await chat(bursar.url);
  assert.equal(r.status, 200);
  assert.equal(r.commit, good);

  const rows = history();
  const refused = rows.find((h) => h.commit === bad);
  assert.equal(refused.result, 'refused');
  assert.equal(refused.message, 'canary: typo');
  assert.equal(refused.author, 'Dev <dev@example.com>');
  assert.equal(refused.appliedAt, null);
  assert.ok(refused.refusedAt);
  assert.match(refused.errors[0], /^gateway\/routes\.yaml:\d+:\d+: /);
  assert.equal(rows.find((h) => h.commit === good).result, 'applied');
  assert.deepEqual(rows.map((h) => h.trigger).slice(-1), ['start']);
  const table = execFileSync(BURSAR_BIN, ['history', '--data', data]).toString();
  assert.match(table, /refused\s+[0-9a-f]{12}\s+webhook/);
  assert.match(table, /^ {4}gateway\/routes\.yaml:\d+:\d+: /m);

  git(repo.dir, 'revert', '--no-edit', 'HEAD');
  const fixed = git(repo.dir, 'rev-parse', 'HEAD');
  assert.equal((await pushWebhook(bursar.url, fixed)).status, 202);
  await waitServedBy(bursar.url, fixed);
});

test('drift: an emergency override is reported, then healed after the grace period', async () => {
  assert.equal((await chat(bursar.url, { key: KEYS.narrow })).status, 200);
  assert.equal((await adminGet(bursar.url, '/api/drift', 'wrong')).status, 401);
  const added = await adminSend(bursar.url, 'POST', '/admin/overrides',
    { kind: 'blockKey', target: 'narrow', reason: 'key leaked in a log' });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  assert.equal((await chat(bursar.url, { key: KEYS.narrow })).status, 401);
  assert.equal((await chat(bursar.url)).status, 200, 'other keys keep working');
  const drift = (await adminGet(bursar.url, '/api/drift')).body;
  assert.equal(drift.drifted, true);
  assert.equal(drift.entries[0].resource, 'ApiKey/narrow');
  assert.equal(drift.entries[0].file, 'gateway/keys.yaml');
  assert.deepEqual(drift.entries[0].fields[0], { path: '(key)', git: 'active', live: 'blocked' });
  const cli = spawnSync(BURSAR_BIN, ['drift', '--data', data, '--output', 'json']);
  assert.equal(cli.status, 1, cli.stderr.toString());
  assert.equal(JSON.parse(cli.stdout.toString()).entries[0].override.target, 'narrow');
  const metrics = await (await fetch(`${bursar.url}/metrics`)).text();
  assert.match(metrics, /^bursar_drift_active_overrides 1$/m);
  assert.match(metrics, /^bursar_sync_live_commit_info\{commit="[0-9a-f]{40}",branch="refs\/heads\/main"\} 1$/m);
  execFileSync('promtool', ['check', 'metrics'], { input: metrics });

  await until(async () => !(await adminGet(bursar.url, '/api/drift')).body.drifted, 'healing');
  assert.equal((await chat(bursar.url, { key: KEYS.narrow })).status, 200);
  const overrides = (await adminGet(bursar.url, '/admin/overrides')).body;
  assert.equal(overrides[0].state, 'healed');
  assert.equal(spawnSync(BURSAR_BIN, ['drift', '--data', data]).status, 0);
});
