// Helpers of the GitOps sync tests and bench/sync.mjs: commits to the test repository made by
// makeConfigRepo (helpers.mjs), signed push webhooks, and waiting for a commit to serve.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KEYS } from './helpers.mjs';

export const WEBHOOK_SECRET = 'test-webhook-secret';
export const ADMIN_TOKEN = 'test-admin-token';
export const SYNC_ENV = { BURSAR_TEST_WEBHOOK_SECRET: WEBHOOK_SECRET, BURSAR_TEST_ADMIN_TOKEN: ADMIN_TOKEN };
export const SYNC_ARGS = ['--webhook-secret-env', 'BURSAR_TEST_WEBHOOK_SECRET',
  '--admin-token-env', 'BURSAR_TEST_ADMIN_TOKEN'];

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@example.com',
  GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@example.com' };

export function git(dir, ...args) {
  return execFileSync('git', args, { cwd: dir, env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] })
    .toString().trim();
}

const routesFile = (dir) => path.join(dir, 'gateway', 'routes.yaml');

// Rewrites one single-target route of gateway/routes.yaml to point at `model`.
export function setRouteModel(dir, route, model) {
  const file = routesFile(dir);
  const text = fs.readFileSync(file, 'utf8');
  const re = new RegExp(`(name: ${route}\\nspec:\\n  targets:\\n    - model: )[\\w-]+`);
  if (!re.test(text)) throw new Error(`route ${route} not found`);
  fs.writeFileSync(file, text.replace(re, `$1${model}`));
}

// Sets the canary route's split between m-ok and m-vision.
export function setCanary(dir, okWeight) {
  const file = routesFile(dir);
  const text = fs.readFileSync(file, 'utf8');
  const re = /(name: canary\nspec:\n  targets:\n    - model: m-ok\n      weight: )\d+(\n    - model: m-vision\n      weight: )\d+/;
  if (!re.test(text)) throw new Error('canary route not found');
  fs.writeFileSync(file, text.replace(re, `$1${okWeight}$2${100 - okWeight}`));
}

export function commitAll(dir, message) {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

// POSTs a GitHub push webhook for `commit`, signed with `secret`. Returns the fetch Response.
export function pushWebhook(url, commit, { secret = WEBHOOK_SECRET, ref = 'refs/heads/main' } = {}) {
  const body = JSON.stringify({ ref, after: commit, repository: { full_name: 'test/config' } });
  const sig = createHmac('sha256', secret).update(body).digest('hex');
  return fetch(`${url}/hooks/git`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push',
      'x-hub-signature-256': `sha256=${sig}` },
    body,
  });
}

// One chat request; returns { status, commit, model } (model: the upstream model that answered).
export async function chat(url, { key = KEYS.main, route = 'chat' } = {}) {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: route, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await r.text();
  let model = null;
  try { model = JSON.parse(text).model; } catch { /* an error body */ }
  return { status: r.status, commit: r.headers.get('x-bursar-commit'), model, text };
}

// Sends requests until one is served by `commit`; returns that response. Throws after timeoutMs.
export async function waitServedBy(url, commit, { timeoutMs = 15000, route = 'chat' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await chat(url, { route });
    if (r.commit === commit) return r;
    if (Date.now() > deadline) throw new Error(`commit ${commit} not served; last ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

export async function adminGet(url, p, token = ADMIN_TOKEN) {
  const r = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.json() };
}

export async function adminSend(url, method, p, body) {
  const r = await fetch(`${url}${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

// Polls `fn` until it returns a truthy value; returns it. Throws after timeoutMs.
export async function until(fn, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}
