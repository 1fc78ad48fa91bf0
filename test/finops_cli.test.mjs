// The FinOps commands as a user runs them: bursar import focus / report --source focus / export
// focus / forecast, with their exit codes and messages. Data: FinOps Foundation, FOCUS Sample
// Data (CC BY 4.0; src/finops/testdata/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { BURSAR_BIN, tmpdir } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SAMPLE = path.join(here, '..', 'src', 'finops', 'testdata', 'focus-1.0-sample.csv');

function bursar(...args) {
  const r = spawnSync(BURSAR_BIN, args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('import focus: ok, idempotent, gzip, and a broken row rejects the file with its line', () => {
  const data = tmpdir('focus');
  let r = bursar('import', 'focus', SAMPLE, '--data', data, '--output', 'json');
  assert.equal(r.code, 0, r.err);
  const first = JSON.parse(r.out);
  assert.equal(first.rows, 1000);
  assert.equal(first.focusVersion, '1.0');
  assert.equal(first.billedCost, '20.52022672899');

  r = bursar('import', 'focus', SAMPLE, '--data', data);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /already imported/);

  const gz = path.join(tmpdir('gz'), 'sample.csv.gz');
  fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(SAMPLE)));
  r = bursar('import', 'focus', gz, '--data', data);
  assert.match(r.out, /already imported/);  // same content, other name and compression

  const lines = fs.readFileSync(SAMPLE, 'utf8').split('\n');
  const cells = lines[41].split(',');
  cells[1] = '"12,5"';
  lines[41] = cells.join(',');
  const broken = path.join(tmpdir('broken'), 'focus.csv');
  fs.writeFileSync(broken, lines.join('\n'));
  const fresh = tmpdir('fresh');
  r = bursar('import', 'focus', broken, '--data', fresh);
  assert.equal(r.code, 2);
  assert.match(r.err, /focus\.csv:42: column BilledCost: "12,5" is not a decimal/);
  r = bursar('report', '--data', fresh, '--source', 'focus', '--by', 'ProviderName', '--output', 'csv');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'ProviderName,cost\n');  // nothing was written

  r = bursar('import', 'focus', broken, '--data', fresh, '--skip-bad-rows');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /skipped focus\.csv:42: column BilledCost/);
  assert.match(r.out, /imported 999 rows/);
});

test('report --source focus --output csv: header, one row per group, exact cost', () => {
  const data = tmpdir('focus-report');
  assert.equal(bursar('import', 'focus', SAMPLE, '--data', data).code, 0);
  const r = bursar('report', '--data', data, '--source', 'focus', '--by', 'ProviderName',
    '--output', 'csv');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'ProviderName,cost\nAWS,18.0066386184\nMicrosoft,1.97651418586\n' +
    'Oracle,0.53707392473\n');
  const j = bursar('report', '--data', data, '--source', 'focus', '--by', 'business_unit',
    '--every', 'month', '--shared', 'business_unit=PeoriaData', '--split', 'proportional',
    '--output', 'json');
  assert.equal(j.code, 0, j.err);
  const report = JSON.parse(j.out);
  assert.equal(report.totals[0].cost, '20.52022672899');  // sharing moves cost, never loses it
  assert.ok(report.groups.every((g) => g.business_unit !== 'PeoriaData'));
});

test('export focus writes FOCUS 1.2 that import focus reads back', () => {
  const data = tmpdir('export');
  const r = bursar('export', 'focus', '--data', data);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out.split('\n')[0], /^BilledCost,.*ServiceCategory.*x_Commit/);
  const file = path.join(data, 'export.csv');
  assert.equal(bursar('export', 'focus', '--data', data, '-o', file).code, 0);
  const back = bursar('import', 'focus', file, '--data', tmpdir('export-back'), '--output', 'json');
  assert.equal(back.code, 0, back.err);
  assert.equal(JSON.parse(back.out).focusVersion, '1.2');
});
