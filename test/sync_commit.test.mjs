// The GitOps loop without webhooks: a server that only polls picks commits up by itself, and the
// commit-after drift policy writes an emergency override into the repository as a commit of its
// own (author bursar), which the server then syncs, so Git is true again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeUpstream } from './fake_upstream.mjs';
import { makeConfigRepo, startBursar, tmpdir } from './helpers.mjs';
import {
  SYNC_ARGS, SYNC_ENV, adminGet, adminSend, chat, commitAll, git, setCanary, setRouteModel,
  until, waitServedBy,
} from './sync_helpers.mjs';

let upstream, repo, bursar;

before(async () => {
  upstream = await startFakeUpstream();
  repo = makeConfigRepo(upstream.port);
  bursar = await startBursar({
    repo: repo.dir, data: tmpdir('sync-commit'), env: SYNC_ENV,
    extraArgs: [...SYNC_ARGS, '--sync-interval', '200ms', '--drift-policy', 'commit-after=0s'],
  });
});

after(async () => {
  const exit = await bursar.stop('SIGTERM');
  await upstream.close();
  assert.equal(exit.code, 0, `bursar exited ${JSON.stringify(exit)}: ${bursar.stderr()}`);
});

test('polling picks up a commit without any webhook', async () => {
  setRouteModel(repo.dir, 'chat', 'm-vision');
  const c = commitAll(repo.dir, 'chat: m-vision (polled)');
  const r = await waitServedBy(bursar.url, c);
  assert.equal(r.model, 'vision');
  const st = (await adminGet(bursar.url, '/api/sync-status')).body;
  assert.equal(st.lastSync.trigger, 'poll');
});

test('commit-after: an emergency override becomes a bursar commit, then Git is true again', async () => {
  const base = git(repo.dir, 'rev-parse', 'HEAD');
  const added = await adminSend(bursar.url, 'POST', '/admin/overrides', {
    kind: 'routeWeights', target: 'canary', weights: { 'm-ok': 100, 'm-vision': 0 },
    reason: 'm-vision is returning garbage',
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  // The drift thread writes the commit; the syncer applies it; the override closes.
  const overrides = await until(async () => {
    const o = (await adminGet(bursar.url, '/admin/overrides')).body;
    return o[0].state === 'committed' ? o : null;
  }, 'the override to be committed');
  const written = overrides[0].commit;
  assert.match(written, /^[0-9a-f]{40}$/);
  assert.equal(git(repo.dir, 'rev-parse', 'HEAD'), written);
  assert.equal(git(repo.dir, 'rev-parse', 'HEAD~1'), base);
  assert.equal(git(repo.dir, 'log', '-1', '--format=%an <%ae>'), 'bursar <bursar@localhost>');
  const message = git(repo.dir, 'log', '-1', '--format=%B');
  assert.match(message, /^drift: set Route canary weights to m-ok=100 m-vision=0/);
  assert.match(message, /Reason: m-vision is returning garbage/);
  assert.match(message, /Bursar-Drift-Override: \d+/);
  // Only the weights changed, in place.
  const diff = git(repo.dir, 'diff', '--unified=0', 'HEAD~1', 'HEAD');
  assert.deepEqual(diff.split('\n').filter((l) => /^[-+] /.test(l)),
    ['-      weight: 50', '+      weight: 100', '-      weight: 50', '+      weight: 0']);
  assert.equal(git(repo.dir, 'status', '--porcelain'), '', 'the work tree follows the commit');
  const drift = (await adminGet(bursar.url, '/api/drift')).body;
  assert.equal(drift.drifted, false);
  assert.equal(drift.liveCommit, written);
  for (let i = 0; i < 10; i++) {
    const r = await chat(bursar.url, { route: 'canary' });
    assert.equal(r.commit, written);
    assert.equal(r.model, 'ok');
  }
  const file = fs.readFileSync(path.join(repo.dir, 'gateway', 'routes.yaml'), 'utf8');
  assert.match(file, /name: canary\nspec:\n  targets:\n    - model: m-ok\n      weight: 100\n/);
});

test('a later commit by a person is synced on top of the drift commit', async () => {
  setCanary(repo.dir, 70);
  const c = commitAll(repo.dir, 'canary: 70/30');
  await waitServedBy(bursar.url, c, { route: 'canary' });
  assert.equal((await adminGet(bursar.url, '/api/drift')).body.drifted, false);
});
