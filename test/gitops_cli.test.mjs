// End-to-end tests of the GitOps commands on real Git repositories made with `git`:
// `bursar validate`, `diff`, `check` (workloads, and traffic observed by a real `bursar serve`
// re-priced under a price change) and `rollback` (revert commit pushed to a bare remote).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeUpstream } from './fake_upstream.mjs';
import { BURSAR_BIN, KEYS, makeConfigRepo, startBursar, tmpdir, sqlite } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLE = path.join(here, '..', 'examples', 'platform');
const gitEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
const cleanup = [];
after(() => { for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true }); });

function bursar(...args) {
  const r = spawnSync(BURSAR_BIN, args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function gitIn(dir) {
  return (...args) => execFileSync('git', args, { cwd: dir, env: gitEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    .toString().trim();
}

// A Git repository holding a copy of examples/platform, with user set up and one commit.
function exampleRepo() {
  const dir = tmpdir('gitops');
  cleanup.push(dir);
  fs.cpSync(EXAMPLE, dir, { recursive: true });
  const git = gitIn(dir);
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Dev');
  git('config', 'user.email', 'dev@example.com');
  git('add', '-A');
  git('commit', '-q', '-m', 'platform config');
  return { dir, git };
}

function edit(dir, file, from, to) {
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, 'utf8');
  assert.ok(text.includes(from), `${file} has ${from}`);
  fs.writeFileSync(p, text.replace(from, to));
}

const DEPLOYMENT = 'k8s/inference/deployment.yaml';

test('validate: plain directory, Git revisions, errors with file:line:column', () => {
  let r = bursar('validate', '--repo', EXAMPLE);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /: valid — \d+ models?, \d+ routes?, \d+ API keys?, \d+ budgets?/);
  r = bursar('validate', '--repo', EXAMPLE, '--rev', 'HEAD');
  assert.equal(r.code, 2);
  assert.match(r.err, /plain directory, not a Git repository/);

  const { dir, git } = exampleRepo();
  const good = git('rev-parse', 'HEAD');
  fs.writeFileSync(path.join(dir, 'routes', 'broken.yaml'),
    'apiVersion: bursar.dev/v1\nkind: Route\nmetadata:\n  name: broken\nspec:\n  targets:\n    - model: nowhere\n      weight: 100\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'broken route');
  r = bursar('validate', '--repo', dir);
  assert.equal(r.code, 2);
  assert.match(r.err, /^routes\/broken\.yaml:\d+:\d+: .*nowhere/m);
  assert.match(r.err, /invalid — 1 error/);
  r = bursar('validate', '--repo', dir, '--rev', 'HEAD~1');
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.includes(good.slice(0, 12)));
  r = bursar('validate', '--repo', dir, '--rev', 'nope');
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown revision "nope"/);
  r = bursar('validate', '--repo', dir, '--rev', good, '--output', 'json');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).revision, good);

  // A URL is mirrored into the cache folder and read from there.
  const cache = tmpdir('cache');
  cleanup.push(cache);
  const viaUrl = spawnSync(BURSAR_BIN, ['validate', '--repo', `file://${dir}`, '--rev', 'HEAD~1'],
    { encoding: 'utf8', env: { ...process.env, BURSAR_CACHE_DIR: cache } });
  assert.equal(viaUrl.status, 0, viaUrl.stderr);
  assert.ok(fs.readdirSync(path.join(cache, 'git')).length === 1);
});

test('diff: exactly the changed fields, as a table and as JSON', () => {
  const { dir, git } = exampleRepo();
  edit(dir, DEPLOYMENT, 'replicas: 3', 'replicas: 5');
  fs.rmSync(path.join(dir, 'k8s', 'staging'), { recursive: true });
  git('commit', '-q', '-am', 'scale up, drop staging');
  const r = bursar('diff', '--repo', dir, 'HEAD~1', 'HEAD', '--output', 'json');
  assert.equal(r.code, 0, r.err);
  const d = JSON.parse(r.out);
  assert.deepEqual(d.summary, { added: 0, changed: 1, removed: 1 });
  const changed = d.changes.find((c) => c.type === 'changed');
  assert.equal(changed.kind, 'Deployment');
  assert.deepEqual(changed.fields, [{ path: 'spec.replicas', before: 3, after: 5 }]);
  const t = bursar('diff', '--repo', dir, 'HEAD~1', 'HEAD');
  assert.match(t.out, /^ {4}spec\.replicas: 3 -> 5$/m);
  assert.match(t.out, /^0 added, 1 changed, 1 removed$/m);
});

test('check: replicas change priced exactly; a budget over its limit exits 1', () => {
  const { dir, git } = exampleRepo();
  edit(dir, DEPLOYMENT, 'replicas: 3', 'replicas: 5');
  git('commit', '-q', '-am', 'scale inference to 5');
  let r = bursar('check', '--repo', dir, '--base', 'HEAD~1', '--head', 'HEAD', '--output', 'json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  // 2 more replicas x (1 nvidia-l4 at 0.7106 + 0.5 vCPU at 0.031611 + 1 GiB at 0.004237) x 730 h.
  const perReplicaMicros = Math.round(0.7106e6 * 730) + Math.round(0.5 * 0.031611e6 * 730) +
    Math.round(0.004237e6 * 730);
  assert.equal(j.monthlyCostDiffMicros, 2 * perReplicaMicros);
  assert.equal(j.monthlyCostDiff, '1066.73805');
  const line = j.resources.find((x) => x.kind === 'Deployment' && x.name === 'multimodal-inference-service');
  assert.equal(line.afterDetail, '5 x (1 nvidia-l4, 0.5 vCPU, 1 GiB)');

  fs.appendFileSync(path.join(dir, 'finops', 'budgets.yaml'), `---
apiVersion: bursar.dev/v1
kind: Budget
metadata:
  name: platform-total
spec:
  scope: {}
  period: month
  limit: "${(j.baseMonthlyCostMicros / 1e6 + 100).toFixed(2)}"
  currency: USD
  thresholds:
    - at: 100
      action: alert
`);
  git('commit', '-q', '-am', 'platform budget');
  r = bursar('check', '--repo', dir, '--base', 'HEAD~2', '--head', 'HEAD', '--output', 'markdown');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /budget platform-total would be exceeded/);
  assert.match(r.out, /\| Deployment\/multimodal-inference-service \| [\d.]+ \| [\d.]+ \| \+1066\.74 \|/);
  assert.match(r.out, /\| platform-total \| month \| .* \| \*\*over by 966\.74\*\* \|/);
  r = bursar('check', '--repo', dir, '--base', 'HEAD~2', '--head', 'HEAD~1');
  assert.equal(r.code, 0, r.err);  // the budget is only in the head
});

test('check: a price change re-priced on traffic observed by bursar serve', async () => {
  const upstream = await startFakeUpstream();
  const { dir } = makeConfigRepo(upstream.port, { budgetLimit: '10' });
  cleanup.push(dir);
  const data = tmpdir('data');
  cleanup.push(data);
  const server = await startBursar({ repo: dir, data });
  try {
    // 10 requests: 8 with the main key, 2 with the key Budget budgeted-daily is scoped to.
    for (let i = 0; i < 10; i++) {
      const key = i < 8 ? KEYS.main : KEYS.budget;
      const res = await fetch(`${server.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = await res.text();
      assert.equal(res.status, 200, body);
    }
  } finally {
    await server.stop();
    await upstream.close?.();
  }
  assert.equal(sqlite(data, "SELECT COUNT(*) AS n FROM spend WHERE route = 'chat'")[0].n, 10);
  // m-ok's output price doubles: 10 requests x 5 completion tokens x 1e-05 more per 30 days.
  const git = gitIn(dir);
  const models = path.join(dir, 'gateway', 'models.yaml');
  const text = fs.readFileSync(models, 'utf8');
  const start = text.indexOf('name: m-ok');
  const at = text.indexOf('output_cost_per_token: 1e-05', start);
  fs.writeFileSync(models, text.slice(0, at) + 'output_cost_per_token: 2e-05' +
    text.slice(at + 'output_cost_per_token: 1e-05'.length));
  git('-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-q', '-am', 'double m-ok output price');
  const r = bursar('check', '--repo', dir, '--base', 'HEAD~1', '--head', 'HEAD', '--data', data, '--output', 'json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.observedRequests, 10);
  // Base: 10 x (12 x 2.5e-06 + 5 x 1e-05) = 0.0008 per 30 days -> x 730/720 = 0.000811.
  assert.equal(j.baseMonthlyCostMicros, 811);
  assert.equal(j.headMonthlyCostMicros, 1318);
  assert.equal(j.monthlyCostDiff, '0.000507');
  const chat = j.resources.find((x) => x.kind === 'Route' && x.name === 'chat');
  assert.equal(chat.diff, '0.000507');
  // The key-scoped daily budget counts its own 2 requests: 0.00016 (base) and 0.00026 (head)
  // per 30 days -> 162 and 264 micros a month -> 5 and 9 micros a day (x 24 / 730).
  const budgeted = j.budgets.find((b) => b.name === 'budgeted-daily');
  assert.equal(budgeted.trafficAttributed, true);
  assert.equal(budgeted.projectedBefore, '0.000005');
  assert.equal(budgeted.projectedAfter, '0.000009');
});

test('rollback: revert commit with the earlier tree, pushed to a bare remote', () => {
  const { dir, git } = exampleRepo();
  const remote = tmpdir('remote');
  cleanup.push(remote);
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote], { env: gitEnv });
  git('remote', 'add', 'origin', remote);
  git('push', '-q', 'origin', 'main');
  const goodTree = git('rev-parse', 'HEAD^{tree}');
  edit(dir, DEPLOYMENT, 'replicas: 3', 'replicas: 8');
  git('commit', '-q', '-am', 'scale to 8');
  edit(dir, DEPLOYMENT, 'replicas: 8', 'replicas: 9');
  git('commit', '-q', '-am', 'scale to 9');
  const r = bursar('rollback', '--repo', dir, '--to', 'HEAD~2', '--reason', 'cost spike', '--output', 'json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.pushed, true);
  assert.equal(j.tree, goodTree);
  assert.deepEqual(j.reverted.map((c) => c.subject), ['scale to 9', 'scale to 8']);
  assert.equal(git('rev-parse', 'HEAD^{tree}'), goodTree);
  assert.equal(execFileSync('git', ['-C', remote, 'rev-parse', 'main'], { env: gitEnv }).toString().trim(), j.commit);
  assert.equal(git('log', '-1', '--format=%an <%ae>|%cn <%ce>'), 'bursar <bursar@localhost>|bursar <bursar@localhost>');
  assert.match(git('log', '-1', '--format=%B'), /Reason: cost spike/);
  assert.equal(git('status', '--porcelain'), '');
  assert.match(fs.readFileSync(path.join(dir, DEPLOYMENT), 'utf8'), /replicas: 3/);

  const again = bursar('rollback', '--repo', dir, '--to', 'HEAD');
  assert.equal(again.code, 2);
  assert.match(again.err, /nothing to roll back/);
});
