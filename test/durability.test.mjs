// Spend records under failure and concurrency: SIGKILL under load then restart (every answered
// request has exactly one record), 200 concurrent requests against a budget that fits 50 (the
// overspend is at most one reservation), and SIGTERM draining an in-flight stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeUpstream } from './fake_upstream.mjs';
import { KEYS, makeConfigRepo, startBursar, tmpdir, sqlite, costMicros } from './helpers.mjs';

let upstream;
before(async () => { upstream = await startFakeUpstream(); });
after(async () => { await upstream.close(); });

test('SIGKILL under load, restart: every answered request has exactly one spend record', async () => {
  const repo = makeConfigRepo(upstream.port);
  const data = tmpdir('kill');
  let bursar = await startBursar({ repo: repo.dir, data });
  const answered = new Set();
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const r = await fetch(`${bursar.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEYS.main}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'load' }] }),
        });
        await r.text();
        if (r.status === 200) answered.add(r.headers.get('x-request-id'));
      } catch {
        return;  // the server is gone
      }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  await new Promise((r) => setTimeout(r, 700));
  bursar.child.kill('SIGKILL');
  stop = true;
  await Promise.all(workers);
  const exit = await bursar.exited;
  assert.equal(exit.signal, 'SIGKILL');
  assert.ok(answered.size > 20, `only ${answered.size} requests answered before the kill`);

  // Restart on the same data: the spend log is replayed into SQLite.
  bursar = await startBursar({ repo: repo.dir, data });
  await bursar.stop('SIGTERM');
  const rows = sqlite(data, 'SELECT request_id, cost_micros FROM spend');
  const ids = new Map(rows.map((r) => [r.request_id, r.cost_micros]));
  assert.equal(ids.size, rows.length, 'request ids are unique in the ledger');
  const missing = [...answered].filter((id) => !ids.has(id));
  assert.deepEqual(missing, [], `${missing.length} answered requests have no spend record`);
  for (const id of answered) assert.equal(ids.get(id), costMicros({ input: 12, output: 5 }));
});

test('200 concurrent requests at a budget that fits 50: overspend at most one reservation', async () => {
  const perRequest = costMicros({ input: 12, output: 5 });  // 80 micros actual
  const limitMicros = 50 * perRequest;
  const repo = makeConfigRepo(upstream.port, { budgetLimit: (limitMicros / 1e6).toFixed(6) });
  const data = tmpdir('budget');
  const bursar = await startBursar({ repo: repo.dir, data });
  try {
    const client = new OpenAI({ apiKey: KEYS.budget, baseURL: bursar.baseURL, maxRetries: 0 });
    // max_tokens 10: the reservation (8 prompt + 10 output tokens estimated = 120 micros) covers
    // the actual cost (80), as a reservation must.
    const reservation = costMicros({ input: 8, output: 10 });
    const results = await Promise.allSettled(Array.from({ length: 200 }, () =>
      client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const blocked = results.filter((r) => r.status === 'rejected' && r.reason.status === 429);
    assert.equal(ok + blocked.length, 200, 'every request was either served or blocked');
    assert.ok(ok >= 30 && ok <= 50, `served ${ok}`);
    const b = blocked[0].reason;
    assert.equal(b.code, 'budget_exceeded');
    assert.match(b.error.message, /budgeted-daily/);
    assert.equal(b.headers['x-bursar-budget'], 'budgeted-daily');
    assert.ok(Number(b.headers['retry-after']) >= 1);
    assert.match(b.headers['x-request-id'], /^req_[0-9a-f]{28}$/);
    assert.match(b.error.message, /resets at \d{4}-\d\d-\d\dT00:00:00Z/);
    let spent = 0;
    for (let i = 0; i < 100; i++) {
      const rows = sqlite(data, "SELECT count(*) AS n, coalesce(sum(cost_micros),0) AS c FROM spend WHERE key_name = 'budgeted' AND status = 200");
      spent = rows[0].c;
      if (rows[0].n === ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(spent, ok * perRequest);
    assert.ok(spent <= limitMicros + reservation, `spent ${spent} > limit ${limitMicros} + ${reservation}`);
  } finally {
    await bursar.stop('SIGTERM');
  }
});

test('SIGTERM drains an in-flight stream, then exits 0 with its record flushed', async () => {
  const repo = makeConfigRepo(upstream.port);
  const data = tmpdir('drain');
  const bursar = await startBursar({ repo: repo.dir, data });
  const client = new OpenAI({ apiKey: KEYS.main, baseURL: bursar.baseURL, maxRetries: 0 });
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'stream', messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse();
  const id = response.headers.get('x-request-id');
  let text = '';
  let signalled = false;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content || '';
    if (!signalled) { signalled = true; bursar.child.kill('SIGTERM'); }
  }
  assert.equal(text, 'Hello, world');
  const exit = await bursar.exited;
  assert.equal(exit.code, 0);
  const rows = sqlite(data, `SELECT cost_micros FROM spend WHERE request_id = '${id}'`);
  assert.deepEqual(rows, [{ cost_micros: costMicros({ input: 12, output: 5 }) }]);
});
