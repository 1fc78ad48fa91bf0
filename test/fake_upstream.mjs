// A fake OpenAI-compatible model server for the integration tests (the one part that cannot run
// here for real). Its behaviour is chosen by the upstream model id bursar sends ("model" in the
// body), so each config::Model of the test repository maps to one behaviour:
//   ok          chat completion (usage 12 prompt + 5 completion) / embeddings (usage 8)
//   vision      like ok, prompt_tokens 12 + 255 (one 512-px tile), no image_tokens detail
//   stream      (with stream:true) 5 content chunks 60 ms apart, then the usage chunk, [DONE]
//   err500      HTTP 500;  err429  HTTP 429
//   slow        answers after 1500 ms
//   drop        closes the connection without answering
//   malformed   200 with a body that is not JSON
//   flaky       500 the first time it sees an x-request-id, then ok
// GET /_stats returns {"requests": {model: count}, "authorization": {model: last header}};
// POST /_close_idle closes every idle keep-alive connection (bursar's pooled ones).
import http from 'node:http';

export const USAGE_OK = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };
export const USAGE_VISION = { prompt_tokens: 267, completion_tokens: 5, total_tokens: 272 };
export const USAGE_EMBED = { prompt_tokens: 8, total_tokens: 8 };
export const STREAM_PIECES = ['Hel', 'lo', ', ', 'wor', 'ld'];
export const STREAM_GAP_MS = 60;

function completion(model, usage, content = 'Hello, world') {
  return {
    id: 'chatcmpl-fake', object: 'chat.completion', created: 1700000000, model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage,
  };
}

export async function startFakeUpstream() {
  const stats = { requests: {}, authorization: {} };
  const seen = new Set();
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/_stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(stats));
      return;
    }
    if (req.method === 'POST' && req.url === '/_close_idle') {
      res.setHeader('connection', 'close');
      res.end('{}', () => server.closeIdleConnections());
      return;
    }
    let chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.statusCode = 400;
        res.end('{"error":{"message":"bad json from gateway"}}');
        return;
      }
      const model = body.model;
      stats.requests[model] = (stats.requests[model] || 0) + 1;
      stats.authorization[model] = req.headers.authorization || '';
      const json = (status, obj) => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(obj));
      };
      const embeddings = req.url.endsWith('/embeddings');
      switch (model) {
        case 'err500':
          return json(500, { error: { message: 'upstream exploded', type: 'server_error' } });
        case 'err429':
          return json(429, { error: { message: 'slow down', type: 'rate_limit' } });
        case 'drop':
          req.socket.destroy();
          return;
        case 'malformed':
          res.setHeader('content-type', 'application/json');
          res.end('{"id": "x", "choices": [ {not json');
          return;
        case 'slow':
          await sleep(1500);
          break;
        case 'split': {
          // The head first and the body 50 ms later: the gateway has to read the body on its own.
          const text = JSON.stringify(completion(model, USAGE_OK));
          res.statusCode = 200;
          res.setHeader('content-type', 'application/json');
          res.setHeader('content-length', Buffer.byteLength(text));
          res.flushHeaders();
          await sleep(50);
          res.end(text);
          return;
        }
        case 'flaky': {
          const id = req.headers['x-request-id'] || '';
          if (!seen.has(id)) {
            seen.add(id);
            return json(500, { error: { message: 'first try fails', type: 'server_error' } });
          }
          break;
        }
        default:
          break;
      }
      if (embeddings) {
        const vector = [0.1, 0.2, 0.3];
        const embedding = body.encoding_format === 'base64'
          ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
        return json(200, {
          object: 'list', model,
          data: [{ object: 'embedding', index: 0, embedding }],
          usage: USAGE_EMBED,
        });
      }
      const usage = model === 'vision' ? USAGE_VISION : USAGE_OK;
      if (!body.stream) return json(200, completion(model, usage));
      res.statusCode = 200;
      res.setHeader('content-type', 'text/event-stream');
      res.setHeader('cache-control', 'no-cache');
      res.flushHeaders();
      const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1700000000, model };
      for (let i = 0; i < STREAM_PIECES.length; i++) {
        const delta = i === 0 ? { role: 'assistant', content: STREAM_PIECES[i] } : { content: STREAM_PIECES[i] };
        res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
        await sleep(STREAM_GAP_MS);
      }
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
      if (body.stream_options && body.stream_options.include_usage) {
        res.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
      }
      res.write('data: [DONE]\n\n');
      res.end();
    });
  });
  server.keepAliveTimeout = 30000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    stats,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

// Run standalone: node test/fake_upstream.mjs  (prints the port)
if (import.meta.url === `file://${process.argv[1]}`) {
  const f = await startFakeUpstream();
  console.log(`fake upstream on 127.0.0.1:${f.port}`);
}
