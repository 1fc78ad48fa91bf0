// bench/sync.mjs: commit-to-serving latency of the GitOps loop.
//
// For each of N commits (default 50) to the repository `bursar serve` follows, the clock starts
// when `git commit` has returned and stops when the first request answered by the new
// configuration arrives (the gateway's x-bursar-commit response header names the commit that
// served it). Requests are sent back to back, one at a time, meanwhile.
//   webhook: the commit is followed by a signed push webhook (POST /hooks/git); polling is off.
//   poll:    no webhook; the server polls every POLL_MS (default 1000 ms); each commit is made
//            at a random phase of the interval, so the expected p50 is about POLL_MS / 2.
// Each commit changes the canary route's split. Prints both distributions and, last:
//   sync: webhook_p50_ms=A webhook_p99_ms=B poll_p50_ms=C poll_p99_ms=D poll_interval_ms=E
// Usage: node bench/sync.mjs   (env: BURSAR_BIN, COMMITS=50, POLL_MS=1000, WORKERS=2)
import { performance } from 'node:perf_hooks';
import { startFakeUpstream } from '../test/fake_upstream.mjs';
import { makeConfigRepo, startBursar, tmpdir } from '../test/helpers.mjs';
import {
  SYNC_ARGS, SYNC_ENV, chat, commitAll, pushWebhook, setCanary,
} from '../test/sync_helpers.mjs';

const COMMITS = Number(process.env.COMMITS || 50);
const POLL_MS = Number(process.env.POLL_MS || 1000);
const WORKERS = Number(process.env.WORKERS || 2);

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function measure(mode) {
  const upstream = await startFakeUpstream();
  const repo = makeConfigRepo(upstream.port);
  const interval = mode === 'webhook' ? '1h' : `${POLL_MS}ms`;
  const bursar = await startBursar({
    repo: repo.dir, data: tmpdir(`bench-sync-${mode}`), env: SYNC_ENV, workers: WORKERS,
    extraArgs: [...SYNC_ARGS, '--sync-interval', interval],
  });
  const latencies = [];
  try {
    for (let i = 1; i <= COMMITS; i++) {
      // Polling: commit at a random phase of the poll interval, as a person would.
      if (mode === 'poll') await new Promise((r) => setTimeout(r, Math.random() * POLL_MS));
      setCanary(repo.dir, (i * 37) % 101);
      const commit = commitAll(repo.dir, `bench ${mode} #${i}`);
      const t0 = performance.now();
      if (mode === 'webhook') {
        const hook = await pushWebhook(bursar.url, commit);
        if (hook.status !== 202) throw new Error(`webhook answered ${hook.status}`);
      }
      for (;;) {
        const r = await chat(bursar.url, { route: 'canary' });
        if (r.status !== 200) throw new Error(`request failed: ${r.status} ${r.text}`);
        if (r.commit === commit) break;
        if (performance.now() - t0 > 60000) throw new Error(`commit ${commit} never served`);
      }
      latencies.push(performance.now() - t0);
    }
    // The server's own share: resolve, read, validate, policy-check and swap (sync history).
    const hist = await (await fetch(`${bursar.url}/api/sync-history?limit=${COMMITS}`,
      { headers: { authorization: `Bearer ${SYNC_ENV.BURSAR_TEST_ADMIN_TOKEN}` } })).json();
    const syncMs = hist.filter((h) => h.result === 'applied').map((h) => h.durationMs).sort((a, b) => a - b);
    if (syncMs.length) {
      console.log(`${mode.padEnd(8)} server-side sync (read + validate + publish): ` +
        `p50=${pct(syncMs, 50).toFixed(1)} p99=${pct(syncMs, 99).toFixed(1)} ms`);
    }
  } finally {
    await bursar.stop('SIGTERM');
    await upstream.close();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const out = { p50: pct(sorted, 50), p90: pct(sorted, 90), p99: pct(sorted, 99),
    min: sorted[0], max: sorted.at(-1) };
  console.log(`${mode.padEnd(8)} n=${sorted.length}  min=${out.min.toFixed(1)} p50=${out.p50.toFixed(1)} ` +
    `p90=${out.p90.toFixed(1)} p99=${out.p99.toFixed(1)} max=${out.max.toFixed(1)} ms`);
  return out;
}

console.log(`commit-to-serving latency over ${COMMITS} commits (bursar: ${process.env.BURSAR_BIN || 'build/bursar'})`);
const webhook = await measure('webhook');
const poll = await measure('poll');
console.log(`sync: webhook_p50_ms=${webhook.p50.toFixed(1)} webhook_p99_ms=${webhook.p99.toFixed(1)} ` +
  `poll_p50_ms=${poll.p50.toFixed(1)} poll_p99_ms=${poll.p99.toFixed(1)} poll_interval_ms=${POLL_MS}`);
