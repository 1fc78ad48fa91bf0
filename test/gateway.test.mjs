// End-to-end tests of `bursar serve` driven by the official openai SDK against a fake upstream:
// chat, streaming, image input, embeddings, models, error shapes, fallback, retry, cache,
// budget downgrade, metrics (promtool), with the exact cost checked in the header and the ledger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import OpenAI from 'openai';
import { startFakeUpstream, STREAM_PIECES, STREAM_GAP_MS } from './fake_upstream.mjs';
import { KEYS, UPSTREAM_KEY, makeConfigRepo, startBursar, tmpdir, sqlite, report, costMicros } from './helpers.mjs';
import { pngDataUrl } from './png.mjs';

let upstream, repo, data, bursar;
const client = (key = KEYS.main) => new OpenAI({ apiKey: key, baseURL: bursar.baseURL, maxRetries: 0 });
const hello = [{ role: 'user', content: 'Say hello' }];

// The spend row of a request id, waiting for the ledger's background writer to store it.
async function spendRow(requestId) {
  for (let i = 0; i < 100; i++) {
    const rows = sqlite(data, `SELECT * FROM spend WHERE request_id = '${requestId}'`);
    if (rows.length) return rows[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no spend record for ${requestId}`);
}

before(async () => {
  upstream = await startFakeUpstream();
  repo = makeConfigRepo(upstream.port);
  data = tmpdir('data');
  bursar = await startBursar({ repo: repo.dir, data, extraArgs: ['--max-body-bytes', '1048576'] });
});

after(async () => {
  const exit = await bursar.stop('SIGTERM');
  await upstream.close();
  assert.equal(exit.code, 0, `bursar exited ${JSON.stringify(exit)}: ${bursar.stderr()}`);
});

test('chat completion: answer, cost header, commit, upstream key, ledger record', async () => {
  const { data: completion, response } = await client().chat.completions
    .create({ model: 'chat', messages: hello }).withResponse();
  assert.equal(completion.choices[0].message.content, 'Hello, world');
  const expected = costMicros({ input: 12, output: 5 });
  assert.equal(expected, 80);
  assert.equal(response.headers.get('x-bursar-cost-micros'), String(expected));
  assert.equal(response.headers.get('x-bursar-commit'), repo.commit);
  const id = response.headers.get('x-request-id');
  assert.match(id, /^req_[0-9a-f]+$/);
  assert.equal(upstream.stats.authorization.ok, `Bearer ${UPSTREAM_KEY}`);
  const row = await spendRow(id);
  assert.equal(row.cost_micros, expected);
  assert.equal(row.key_name, 'main');
  assert.equal(row.route, 'chat');
  assert.equal(row.model, 'm-ok');
  assert.equal(row.upstream_model, 'ok');
  assert.equal(row.commit_rev, repo.commit);
  assert.equal(row.status, 200);
  assert.equal(row.cache_hit, 0);
});

test('streaming: chunks arrive incrementally, usage billed, no extra usage chunk', async () => {
  const { data: stream, response } = await client().chat.completions
    .create({ model: 'stream', messages: hello, stream: true }).withResponse();
  const arrivals = [];
  let text = '';
  for await (const chunk of stream) {
    assert.ok(chunk.choices.length > 0, 'a client that did not ask for usage gets no usage chunk');
    const piece = chunk.choices[0].delta?.content;
    if (piece) { text += piece; arrivals.push(Date.now()); }
  }
  assert.equal(text, STREAM_PIECES.join(''));
  assert.equal(arrivals.length, STREAM_PIECES.length);
  // Passed through as they came: the pieces are spread over the upstream's pacing.
  assert.ok(arrivals.at(-1) - arrivals[0] >= (STREAM_PIECES.length - 1) * STREAM_GAP_MS * 0.6,
    `pieces arrived too close together: ${arrivals.map((t) => t - arrivals[0])}`);
  const row = await spendRow(response.headers.get('x-request-id'));
  assert.equal(row.cost_micros, costMicros({ input: 12, output: 5 }));
  assert.equal(row.status, 200);
});

test('streaming with include_usage: the client gets the usage chunk', async () => {
  const stream = await client().chat.completions.create({
    model: 'stream', messages: hello, stream: true, stream_options: { include_usage: true },
  });
  let usage = null;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  assert.deepEqual(usage, { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
});

test('image input: tokens from the PNG header (512x512 -> 255), exact cost', async () => {
  const { data: completion, response } = await client().chat.completions.create({
    model: 'vision',
    messages: [{ role: 'user', content: [
      { type: 'text', text: 'What is in this image?' },
      { type: 'image_url', image_url: { url: pngDataUrl(512, 512) } },
    ] }],
  }).withResponse();
  assert.equal(completion.usage.prompt_tokens, 267);
  const expected = costMicros({ input: 12, imageTokens: 255, output: 5 });
  assert.equal(expected, 1355);
  assert.equal(response.headers.get('x-bursar-cost-micros'), String(expected));
  const row = await spendRow(response.headers.get('x-request-id'));
  assert.equal(row.cost_micros, expected);
  assert.equal(row.image_tokens, 255);
  assert.equal(row.images, 1);
});

test('embeddings: exact cost', async () => {
  const { data: emb, response } = await client().embeddings
    .create({ model: 'embed', input: 'hello world' }).withResponse();
  assert.equal(emb.data[0].embedding.length, 3);
  assert.equal(response.headers.get('x-bursar-cost-micros'), String(costMicros({ embed: 8 })));
  const row = await spendRow(response.headers.get('x-request-id'));
  assert.equal(row.cost_micros, 8);
  assert.equal(row.route, 'embed');
});

test('models: the routes a key may use', async () => {
  const all = [];
  for await (const m of client().models.list()) all.push(m.id);
  assert.ok(all.includes('chat') && all.includes('vision') && all.includes('embed'));
  const narrow = [];
  for await (const m of client(KEYS.narrow).models.list()) narrow.push(m.id);
  assert.deepEqual(narrow, ['chat']);
});

function assertOpenAIError(err, status, code) {
  assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${err}`);
  assert.equal(err.status, status);
  assert.equal(err.code, code);
  assert.equal(typeof err.error.message, 'string');
  assert.ok(err.error.message.length > 0);
  assert.ok('param' in err.error && 'type' in err.error);
}

test('401 unknown key', async () => {
  await assert.rejects(client('sk-wrong').chat.completions.create({ model: 'chat', messages: hello }),
    (e) => { assertOpenAIError(e, 401, 'invalid_api_key'); assert.ok(e instanceof OpenAI.AuthenticationError); return true; });
});

test('400 malformed body and 413 too large', async () => {
  const post = (body) => fetch(`${bursar.baseURL}/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${KEYS.main}`, 'content-type': 'application/json' }, body,
  });
  let r = await post('{"model": "chat", "messages": [');
  assert.equal(r.status, 400);
  let j = await r.json();
  assert.equal(j.error.type, 'invalid_request_error');
  assert.ok(j.error.message.length > 0);
  assert.ok('param' in j.error && 'code' in j.error);
  r = await post(JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }));
  assert.equal(r.status, 413);
  j = await r.json();
  assert.equal(j.error.code, 'request_too_large');
});

test('404 unknown route, and a route the key may not use', async () => {
  await assert.rejects(client().chat.completions.create({ model: 'no-such-route', messages: hello }),
    (e) => { assertOpenAIError(e, 404, 'model_not_found'); return true; });
  await assert.rejects(client(KEYS.narrow).chat.completions.create({ model: 'vision', messages: hello }),
    (e) => { assertOpenAIError(e, 404, 'model_not_found'); return true; });
});

test('429 rate limit per key', async () => {
  const c = client(KEYS.limited);
  await c.chat.completions.create({ model: 'chat', messages: hello });
  await c.chat.completions.create({ model: 'chat', messages: hello });
  await assert.rejects(c.chat.completions.create({ model: 'chat', messages: hello }),
    (e) => { assertOpenAIError(e, 429, 'rate_limit_exceeded'); assert.ok(Number(e.headers['retry-after']) >= 1); return true; });
});

test('an answer whose body arrives after its head is read whole and billed', async () => {
  const { data: completion, response } = await client().chat.completions
    .create({ model: 'split', messages: hello }).withResponse();
  assert.equal(completion.choices[0].message.content, 'Hello, world');
  assert.equal(response.headers.get('x-bursar-cost-micros'), '80');
  const row = await spendRow(response.headers.get('x-request-id'));
  assert.equal(row.model, 'm-split');
  assert.equal(row.cost_micros, 80);
  assert.equal(row.status, 200);
});

test('a pooled upstream connection the upstream closed is replaced, and the request sent whole', async () => {
  await client().chat.completions.create({ model: 'chat', messages: hello });  // pools a connection
  const before = upstream.stats.requests.ok || 0;
  const closed = await fetch(`http://127.0.0.1:${upstream.port}/_close_idle`, { method: 'POST' });
  assert.equal(closed.status, 200);
  await new Promise((r) => setTimeout(r, 100));  // bursar's pooled connection is now closed
  const { data: completion, response } = await client().chat.completions
    .create({ model: 'chat', messages: hello }).withResponse();
  assert.equal(completion.choices[0].message.content, 'Hello, world');
  assert.equal(response.headers.get('x-bursar-cost-micros'), '80');
  assert.equal((upstream.stats.requests.ok || 0) - before, 1);
});

test('502 on upstream 500, 429, dropped connection and malformed JSON; 504 on timeout', async () => {
  for (const route of ['err500', 'err429', 'drop', 'malformed']) {
    await assert.rejects(client().chat.completions.create({ model: route, messages: hello }),
      (e) => { assert.equal(e.status, 502, route); assert.equal(e.error.type, 'upstream_error'); return true; });
  }
  await assert.rejects(client().chat.completions.create({ model: 'slow', messages: hello }),
    (e) => { assertOpenAIError(e, 504, 'upstream_timeout'); return true; });
});

test('fallback: a refused connection falls back to the next model', async () => {
  const { data: completion, response } = await client().chat.completions
    .create({ model: 'fallback', messages: hello }).withResponse();
  assert.equal(completion.choices[0].message.content, 'Hello, world');
  assert.equal(response.headers.get('x-bursar-model'), 'm-ok');
  const row = await spendRow(response.headers.get('x-request-id'));
  assert.equal(row.model, 'm-ok');
  assert.equal(row.cost_micros, 80);
});

test('retry: a 5xx is retried on the same model with backoff', async () => {
  const before = upstream.stats.requests.flaky || 0;
  const { response } = await client().chat.completions.create({ model: 'retry', messages: hello }).withResponse();
  assert.equal(response.status, 200);
  assert.equal((upstream.stats.requests.flaky || 0) - before, 2);
});

test('cache: an identical request is answered from cache, free, saving its cost', async () => {
  const body = { model: 'cached', messages: [{ role: 'user', content: 'cache me' }] };
  const first = await client().chat.completions.create(body).withResponse();
  assert.equal(first.response.headers.get('x-bursar-cache'), 'miss');
  const before = upstream.stats.requests.ok;
  // Same request with keys in another order: still a hit.
  const second = await client().chat.completions.create({ messages: body.messages, model: 'cached' }).withResponse();
  assert.equal(second.response.headers.get('x-bursar-cache'), 'hit');
  assert.equal(second.response.headers.get('x-bursar-cost-micros'), '0');
  assert.equal(second.response.headers.get('x-bursar-saved-micros'), '80');
  assert.equal(upstream.stats.requests.ok, before);
  assert.deepEqual(second.data.choices, first.data.choices);
  const row = await spendRow(second.response.headers.get('x-request-id'));
  assert.equal(row.cache_hit, 1);
  assert.equal(row.cost_micros, 0);
  assert.equal(row.saved_micros, 80);
});

test('budget downgrade: served by the cheaper route, with a header saying so', async () => {
  const { response } = await client(KEYS.downgrade).chat.completions
    .create({ model: 'premium', messages: hello }).withResponse();
  assert.equal(response.headers.get('x-bursar-downgraded-from'), 'premium');
  const row = await spendRow(response.headers.get('x-request-id'));
  assert.equal(row.route, 'chat');
  assert.equal(row.downgraded_from, 'premium');
  assert.equal(row.model, 'm-ok');
});

test('report: per-key spend equals the sum of the ledger rows', async () => {
  const rows = sqlite(data, "SELECT sum(cost_micros) AS c, count(*) AS n FROM spend WHERE key_name = 'main'");
  const rep = report(data, 'key');
  const main = rep.groups.find((g) => g.key === 'main');
  assert.ok(main, JSON.stringify(rep));
  assert.equal(main.cost_micros, rows[0].c);
  assert.equal(main.requests, rows[0].n);
});

test('metrics: Prometheus text passes promtool check metrics', async () => {
  const r = await fetch(`${bursar.url}/metrics`);
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.match(text, /bursar_requests_total\{route="chat",model="m-ok",status="200"\} \d+/);
  assert.match(text, /bursar_cost_micros_total\{key="main",route="chat",model="m-ok"\} \d+/);
  assert.match(text, /bursar_request_duration_seconds_bucket\{route="chat",le="\+Inf"\} \d+/);
  assert.match(text, /bursar_tokens_total\{route="vision",model="m-vision",modality="image_input"\} 255/);
  assert.match(text, /bursar_cache_hits_total\{route="cached"\} 1/);
  assert.match(text, /bursar_upstream_errors_total\{model="m-500",kind="5xx"\} 1/);
  assert.match(text, new RegExp(`bursar_config_info\\{commit="${repo.commit}"\\} 1`));
  assert.match(text, /bursar_budget_limit_micros\{budget="budgeted-daily"\} 4000/);
  execFileSync('promtool', ['check', 'metrics'], { input: text });
});

test('health, readiness, and admin endpoints off without a token', async () => {
  assert.equal((await fetch(`${bursar.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${bursar.url}/readyz`)).status, 200);
  const r = await fetch(`${bursar.url}/admin/budgets`, { headers: { authorization: 'Bearer x' } });
  assert.equal(r.status, 403);
});
