// Shared helpers of the integration tests: a desired-state Git repository pointing at the fake
// upstream, and bursar processes (serve, report) started from BURSAR_BIN.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BURSAR_BIN = process.env.BURSAR_BIN || path.join(here, '..', 'build', 'bursar');

export const KEYS = {
  main: 'sk-test-bursar-main-0001',
  limited: 'sk-test-bursar-limited-0002',
  budget: 'sk-test-bursar-budget-0003',
  narrow: 'sk-test-bursar-narrow-0004',
  downgrade: 'sk-test-bursar-downgrade-0005',
};
export const UPSTREAM_KEY = 'upstream-secret-key';

// Unit prices (USD per token) of the test models, and the same in pico-units for exact sums.
export const PRICE = { input: 2_500_000n, output: 10_000_000n, image_token: 5_000_000n, embed: 1_000_000n };

export function sha256hex(s) {
  return createHash('sha256').update(s).digest('hex');
}

export function tmpdir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bursar-${prefix}-`));
}

function model(name, upstreamModel, port, extra = {}) {
  const base = extra.baseUrl || `http://127.0.0.1:${port}/v1`;
  const pricing = extra.pricing || `
    input_cost_per_token: 2.5e-06
    output_cost_per_token: 1e-05
    input_cost_per_image_token: 5e-06`;
  return `apiVersion: bursar.dev/v1
kind: Model
metadata:
  name: ${name}
spec:
  baseUrl: ${base}
  upstreamModel: ${upstreamModel}
  apiKeyEnv: FAKE_UPSTREAM_KEY
  timeout: ${extra.timeout || '5s'}
  modalities: [${extra.modalities || 'text, image'}]
  imageTokens: openai
  pricing:${pricing}
`;
}

function route(name, targets, extra = '') {
  return `apiVersion: bursar.dev/v1
kind: Route
metadata:
  name: ${name}
spec:
  targets:
${targets.map(([m, w]) => `    - model: ${m}\n      weight: ${w}`).join('\n')}
${extra}`;
}

function apiKey(name, key, extra = '') {
  return `apiVersion: bursar.dev/v1
kind: ApiKey
metadata:
  name: ${name}
spec:
  keyHash: sha256:${sha256hex(key)}
  tags:
    team: qa
    app: ${name}
${extra}`;
}

// Writes the test configuration into a new Git repository and commits it. Returns
// { dir, commit }.
export function makeConfigRepo(upstreamPort, { budgetLimit = '0.004' } = {}) {
  const dir = tmpdir('repo');
  const p = upstreamPort;
  const noRetry = `  retry:\n    attempts: 1\n`;
  const models = [
    model('m-ok', 'ok', p),
    model('m-vision', 'vision', p),
    model('m-stream', 'stream', p),
    model('m-embed', 'ok', p, { modalities: 'embedding', pricing: '\n    input_cost_per_token: 1e-06' }),
    model('m-500', 'err500', p),
    model('m-429', 'err429', p),
    model('m-slow', 'slow', p, { timeout: '300ms' }),
    model('m-split', 'split', p),
    model('m-drop', 'drop', p),
    model('m-malformed', 'malformed', p),
    model('m-flaky', 'flaky', p),
    model('m-down', 'ok', p, { baseUrl: 'http://127.0.0.1:1/v1' }),
  ].join('---\n');
  const routes = [
    route('chat', [['m-ok', 100]]),
    route('vision', [['m-vision', 100]]),
    route('stream', [['m-stream', 100]]),
    route('embed', [['m-embed', 100]]),
    route('err500', [['m-500', 100]], noRetry),
    route('err429', [['m-429', 100]], noRetry),
    route('slow', [['m-slow', 100]], noRetry),
    route('split', [['m-split', 100]], noRetry),
    route('drop', [['m-drop', 100]], noRetry),
    route('malformed', [['m-malformed', 100]], noRetry),
    route('fallback', [['m-down', 100]],
      `  fallbacks: [m-ok]\n  retry:\n    attempts: 2\n    backoff: 10ms\n    on: [connect, timeout, 5xx]\n`),
    route('retry', [['m-flaky', 100]],
      `  retry:\n    attempts: 3\n    backoff: 10ms\n    on: [connect, timeout, 5xx]\n`),
    route('cached', [['m-ok', 100]], `  cache:\n    enabled: true\n    ttl: 60s\n`),
    route('canary', [['m-ok', 50], ['m-vision', 50]]),
    route('premium', [['m-vision', 100]]),
  ].join('---\n');
  const keys = [
    apiKey('main', KEYS.main),
    apiKey('limited', KEYS.limited, `  rateLimits:\n    requestsPerMinute: 2\n`),
    apiKey('budgeted', KEYS.budget),
    apiKey('narrow', KEYS.narrow, `  routes: [chat]\n`),
    apiKey('downgraded', KEYS.downgrade),
  ].join('---\n');
  const budgets = `apiVersion: bursar.dev/v1
kind: Budget
metadata:
  name: budgeted-daily
spec:
  scope:
    keys: [budgeted]
  period: day
  timeZone: UTC
  limit: "${budgetLimit}"
  currency: USD
  thresholds:
    - at: 100
      action: block
---
apiVersion: bursar.dev/v1
kind: Budget
metadata:
  name: downgrade-daily
spec:
  scope:
    keys: [downgraded]
  period: day
  timeZone: UTC
  limit: "0.000001"
  currency: USD
  thresholds:
    - at: 1
      action: downgrade
      downgradeTo: chat
`;
  fs.mkdirSync(path.join(dir, 'gateway'));
  fs.writeFileSync(path.join(dir, 'gateway', 'models.yaml'), models);
  fs.writeFileSync(path.join(dir, 'gateway', 'routes.yaml'), routes);
  fs.writeFileSync(path.join(dir, 'gateway', 'keys.yaml'), keys);
  fs.writeFileSync(path.join(dir, 'gateway', 'budgets.yaml'), budgets);
  const git = (...args) => execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-q', '-m', 'test config');
  return { dir, commit: git('rev-parse', 'HEAD') };
}

// Starts `bursar serve` on a free port; resolves once it answers /readyz.
export async function startBursar({ repo, data, workers = 2, extraArgs = [], env = {} }) {
  const child = spawn(BURSAR_BIN, ['serve', '--repo', repo, '--listen', '127.0.0.1:0', '--data', data,
    '--workers', String(workers), ...extraArgs], {
    env: { ...process.env, FAKE_UPSTREAM_KEY: UPSTREAM_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d.toString(); });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d.toString();
      const m = out.match(/serving on [^\s]+:(\d+)/);
      if (m) { child.stdout.off('data', onData); resolve(Number(m[1])); }
    };
    child.stdout.on('data', onData);
    child.on('exit', (code) => reject(new Error(`bursar serve exited ${code}: ${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child, port, url, baseURL: `${url}/v1`, exited,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

// `bursar report --data DIR --by BY --output json`, parsed.
export function report(data, by = 'key', extra = []) {
  const out = execFileSync(BURSAR_BIN, ['report', '--data', data, '--by', by, '--output', 'json', ...extra]);
  return JSON.parse(out.toString());
}

// Rows of the SQLite ledger (sqlite3 CLI, read-only).
export function sqlite(data, sql) {
  const out = execFileSync('sqlite3', ['-json', `file:${path.join(data, 'ledger.db')}?mode=ro`, sql]);
  const text = out.toString().trim();
  return text ? JSON.parse(text) : [];
}

// Exact cost in micros of a usage under the test prices (pico sums, rounded half up once).
export function costMicros({ input = 0, output = 0, imageTokens = 0, embed = 0 }) {
  const picos = BigInt(input) * PRICE.input + BigInt(output) * PRICE.output +
    BigInt(imageTokens) * PRICE.image_token + BigInt(embed) * PRICE.embed;
  return Number((picos + 500_000n) / 1_000_000n);
}
