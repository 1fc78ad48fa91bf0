// Concurrent load on the gateway while 20 commits are synced: not one request may fail because
// of a configuration swap. Each commit flips the canary split; every response must be a 200
// served by a commit that was live, and every one of the 20 commits must serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeUpstream } from './fake_upstream.mjs';
import { makeConfigRepo, startBursar, tmpdir } from './helpers.mjs';
import { SYNC_ARGS, SYNC_ENV, chat, commitAll, pushWebhook, setCanary, waitServedBy } from './sync_helpers.mjs';

let upstream, repo, bursar;

before(async () => {
  upstream = await startFakeUpstream();
  repo = makeConfigRepo(upstream.port);
  bursar = await startBursar({
    repo: repo.dir, data: tmpdir('sync-load'), env: SYNC_ENV, workers: 2,
    extraArgs: [...SYNC_ARGS, '--sync-interval', '1h'],
  });
});

after(async () => {
  const exit = await bursar.stop('SIGTERM');
  await upstream.close();
  assert.equal(exit.code, 0, `bursar exited ${JSON.stringify(exit)}: ${bursar.stderr()}`);
});

test('no request fails while 20 commits are synced under load', async () => {
  const commits = [repo.commit];
  let stop = false;
  const results = { total: 0, failed: [], byCommit: new Map() };
  const worker = async (route) => {
    while (!stop) {
      const r = await chat(bursar.url, { route });
      results.total++;
      if (r.status !== 200) results.failed.push(r);
      results.byCommit.set(r.commit, (results.byCommit.get(r.commit) || 0) + 1);
    }
  };
  const workers = [];
  for (let i = 0; i < 8; i++) workers.push(worker(i % 2 ? 'canary' : 'chat'));
  try {
    for (let i = 1; i <= 20; i++) {
      setCanary(repo.dir, (i * 37) % 101);
      const c = commitAll(repo.dir, `canary split #${i}`);
      commits.push(c);
      const hook = await pushWebhook(bursar.url, c);
      assert.equal(hook.status, 202);
      await waitServedBy(bursar.url, c, { route: 'canary' });
    }
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  assert.deepEqual(results.failed, [], `${results.failed.length} of ${results.total} failed`);
  assert.ok(results.total >= 200, `only ${results.total} requests`);
  for (const c of results.byCommit.keys()) assert.ok(commits.includes(c), `unknown commit ${c}`);
  for (const c of commits.slice(1)) assert.ok(results.byCommit.has(c), `commit ${c} never served`);
});
