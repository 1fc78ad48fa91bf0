// The gateway part of scripts/demo.sh (not a test): starts the fake OpenAI-compatible upstream
// (the one part that cannot run here for real), a `bursar serve` on a Git repository pointing at
// it, sends chat, streaming and image requests through the official openai SDK, and prints what
// each cost and the ledger's report. Usage: BURSAR_BIN=build/bursar node test/demo_traffic.mjs
import OpenAI from 'openai';
import { execFileSync } from 'node:child_process';
import { startFakeUpstream } from './fake_upstream.mjs';
import { BURSAR_BIN, KEYS, makeConfigRepo, startBursar, tmpdir } from './helpers.mjs';
import { pngDataUrl } from './png.mjs';

const upstream = await startFakeUpstream();
const repo = makeConfigRepo(upstream.port);
const data = tmpdir('demo-data');
const bursar = await startBursar({ repo: repo.dir, data });
console.log(`bursar serving ${repo.dir} (commit ${repo.commit.slice(0, 12)}) on ${bursar.url}`);
try {
  const client = new OpenAI({ apiKey: KEYS.main, baseURL: bursar.baseURL, maxRetries: 0 });
  // A streamed answer's cost is known only at its end: bursar sends it as a closing SSE comment
  // (": bursar-cost-micros=N"), which the SDK skips; the report below has it.
  const show = (what, resp) => {
    const cost = resp.headers.get('x-bursar-cost-micros');
    console.log(`  ${what.padEnd(28)} ${cost === null ? 'cost in the closing SSE comment (see the report)'
      : `cost ${cost} micro-USD`}  commit ${resp.headers.get('x-bursar-commit')?.slice(0, 12)}`);
  };

  const chat = await client.chat.completions
    .create({ model: 'chat', messages: [{ role: 'user', content: 'Say hello' }] }).withResponse();
  show('chat (text)', chat.response);

  const vision = await client.chat.completions.create({
    model: 'vision',
    messages: [{ role: 'user', content: [
      { type: 'text', text: 'What is in this picture?' },
      { type: 'image_url', image_url: { url: pngDataUrl(512, 512) } }] }],
  }).withResponse();
  show('vision (512x512 PNG)', vision.response);

  const stream = await client.chat.completions
    .create({ model: 'stream', stream: true, messages: [{ role: 'user', content: 'Stream it' }] })
    .withResponse();
  let text = '';
  for await (const chunk of stream.data) text += chunk.choices?.[0]?.delta?.content ?? '';
  show(`stream ("${text}")`, stream.response);

  const emb = await client.embeddings.create({ model: 'embed', input: 'a sentence' }).withResponse();
  show('embeddings', emb.response);
} finally {
  await bursar.stop();
  await upstream.close?.();
}
console.log('\n$ bursar report --data DATA --by route');
console.log(execFileSync(BURSAR_BIN, ['report', '--data', data, '--by', 'route']).toString());
process.exit(0);
