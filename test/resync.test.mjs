// Live re-sync: `bursar serve --poll-ms` publishes a new commit as a new configuration snapshot;
// later requests are billed under the new prices and tagged with the new commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { startFakeUpstream } from './fake_upstream.mjs';
import { KEYS, makeConfigRepo, startBursar, tmpdir, costMicros } from './helpers.mjs';

test('a new commit is served without a restart, with its prices and commit id', async () => {
  const upstream = await startFakeUpstream();
  const repo = makeConfigRepo(upstream.port);
  const bursar = await startBursar({ repo: repo.dir, data: tmpdir('resync'), extraArgs: ['--poll-ms', '100'] });
  try {
    const client = new OpenAI({ apiKey: KEYS.main, baseURL: bursar.baseURL, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    let { response } = await ask();
    assert.equal(response.headers.get('x-bursar-cost-micros'), String(costMicros({ input: 12, output: 5 })));
    assert.equal(response.headers.get('x-bursar-commit'), repo.commit);

    // Double m-ok's output price (the first Model document) and commit.
    const file = path.join(repo.dir, 'gateway', 'models.yaml');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace('output_cost_per_token: 1e-05', 'output_cost_per_token: 2e-05'));
    const git = (...a) => execFileSync('git', a, { cwd: repo.dir }).toString().trim();
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qam', 'double m-ok output price');
    const next = git('rev-parse', 'HEAD');

    for (let i = 0; i < 100 && response.headers.get('x-bursar-commit') !== next; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ({ response } = await ask());
    }
    assert.equal(response.headers.get('x-bursar-commit'), next, bursar.stderr());
    const doubled = Number((12n * 2_500_000n + 5n * 20_000_000n + 500_000n) / 1_000_000n);
    assert.equal(response.headers.get('x-bursar-cost-micros'), String(doubled));
  } finally {
    await bursar.stop('SIGTERM');
    await upstream.close();
  }
});
