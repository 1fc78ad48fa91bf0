// Generates a realistic FOCUS 1.0 CSV for bench/ledger.sh: node ledger_gen.mjs OUT [ROWS]
//
// The columns, value styles and quirks follow "FinOps Foundation, FOCUS Sample Data" (CC BY 4.0;
// src/finops/testdata/): the literal NULL, "YYYY-MM-DD HH:MM:SS" timestamps, Tags as JSON with
// odd key spacing, 11-digit decimals, credits as negative costs, providers spelled differently.
// 30 days of hourly charges over 40,000 resources of AWS, Microsoft, Google and Oracle.
// Deterministic (a fixed-seed PRNG), so every run writes the same bytes.
import { createWriteStream } from 'node:fs';

const out = process.argv[2];
const rows = Number(process.argv[3] ?? 1_000_000);
if (!out) {
  console.error('usage: node ledger_gen.mjs OUT [ROWS]');
  process.exit(2);
}

let seed = 0x9e3779b9;
function rnd() {  // mulberry32
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];

const header = ['AvailabilityZone', 'BilledCost', 'BillingAccountId', 'BillingAccountName',
  'BillingCurrency', 'BillingPeriodEnd', 'BillingPeriodStart', 'ChargeCategory', 'ChargeClass',
  'ChargeDescription', 'ChargeFrequency', 'ChargePeriodEnd', 'ChargePeriodStart',
  'CommitmentDiscountCategory', 'CommitmentDiscountId', 'CommitmentDiscountName',
  'CommitmentDiscountStatus', 'CommitmentDiscountType', 'ConsumedQuantity', 'ConsumedUnit',
  'ContractedCost', 'ContractedUnitPrice', 'EffectiveCost', 'InvoiceIssuerName', 'ListCost',
  'ListUnitPrice', 'PricingCategory', 'PricingQuantity', 'PricingUnit', 'ProviderName',
  'PublisherName', 'RegionId', 'RegionName', 'ResourceId', 'ResourceName', 'ResourceType',
  'ServiceCategory', 'Id', 'ServiceName', 'SkuId', 'SkuPriceId', 'SubAccountId',
  'SubAccountName', 'Tags'];

const providers = [
  { name: 'AWS', issuer: 'Amazon Web Services, Inc.', w: 0.6, regions: [['us-east-1', 'US East (N. Virginia)'], ['us-west-2', 'US West (Oregon)'], ['eu-west-1', 'EU (Ireland)']],
    services: [['Amazon Elastic Compute Cloud', 'Compute', 'Hours'], ['Amazon Simple Storage Service', 'Storage', 'GB-Months'], ['Elastic Load Balancing', 'Networking', 'LCU-Hours'], ['Amazon Relational Database Service', 'Databases', 'Hours'], ['AmazonCloudWatch', 'Management and Governance', 'Metrics'], ['Amazon SageMaker', 'AI and Machine Learning', 'Hours'], ['AWS Lambda', 'Compute', 'Requests'], ['Amazon CloudFront', 'Networking', 'GB']] },
  { name: 'Microsoft', issuer: 'Microsoft', w: 0.25, regions: [['eastus', 'East US'], ['westeurope', 'West Europe']],
    services: [['Virtual Machines', 'Compute', 'Hours'], ['Storage Accounts', 'Storage', 'GB'], ['Azure Machine Learning', 'AI and Machine Learning', 'Hours'], ['Azure Kubernetes Service', 'Compute', 'Hours'], ['Azure DB for MySQL', 'Databases', 'Hours']] },
  { name: 'Google Cloud', issuer: 'Google', w: 0.1, regions: [['us-central1', 'Iowa'], ['europe-west4', 'Netherlands']],
    services: [['Compute Engine', 'Compute', 'Hours'], ['Cloud Storage', 'Storage', 'GiB-Months'], ['Vertex AI', 'AI and Machine Learning', 'Hours'], ['BigQuery', 'Analytics', 'TiB']] },
  { name: 'Oracle', issuer: 'Oracle', w: 0.05, regions: [['us-ashburn-1', 'US East (Ashburn)']],
    services: [['COMPUTE', 'Compute', 'OCPU Hours'], ['BLOCK_STORAGE', 'Storage', 'GB-Months'], ['NETWORK', 'Networking', 'GB']] },
];
const teams = ['search', 'ads', 'payments', 'mobile', 'web', 'data', 'ml-platform', 'sre', 'security', 'growth'];
const apps = Array.from({ length: 60 }, (_, i) => `app-${i.toString(36)}`);
const envs = ['prod', 'staging', 'dev'];

// 40,000 resources, each with a provider, service, region, tags, and a typical hourly cost.
const resources = [];
for (let i = 0; i < 40_000; i++) {
  const r = rnd();
  const p = r < 0.6 ? providers[0] : r < 0.85 ? providers[1] : r < 0.95 ? providers[2] : providers[3];
  const [service, category, unit] = pick(p.services);
  const [region, regionName] = pick(p.regions);
  const team = pick(teams), app = pick(apps), env = pick(envs);
  const odd = rnd() < 0.1;  // a quirk of the sample: " org" with a leading space
  const tags = rnd() < 0.15 ? 'NULL'
    : `"{""team"": ""${team}"", ""application"": ""${app}"", ""${odd ? ' env' : 'env'}"": ""${env}""}"`;
  resources.push({
    p, service, category: rnd() < 0.02 ? category.toLowerCase() : category, unit, region, regionName,
    id: `arn:bench:${p.name.toLowerCase().replace(' ', '-')}:${region}:${100000 + i}:resource/r-${i.toString(16).padStart(8, '0')}`,
    account: String(100000000000 + Math.floor(rnd() * 40)),
    hourly: Math.exp(rnd() * 9 - 7),  // 0.0009 .. 8.1 per hour, log-uniform
    price: (Math.floor(rnd() * 100000) / 100000).toString(),
    sku: Math.floor(rnd() * 1e12).toString(36).toUpperCase(),
    tags,
  });
}

const pad = (n) => (n < 10 ? '0' : '') + n;
const ts = (day, hour) => `2026-10-${pad(day)} ${pad(hour)}:00:00`;
const dec = (x) => (Math.round(x * 1e11) / 1e11).toFixed(11);

const stream = createWriteStream(out);
let buf = header.map((h) => `"${h}"`).join(',') + '\n';
for (let i = 0; i < rows; i++) {
  const res = resources[Math.floor(rnd() * resources.length)];
  const day = 1 + Math.floor(rnd() * 30), hour = Math.floor(rnd() * 24);
  const end = hour === 23 ? ts(day + 1 > 31 ? 31 : day + 1, 0) : ts(day, hour + 1);
  const credit = rnd() < 0.01;
  const qty = res.hourly / (Number(res.price) || 0.01);
  let cost = res.hourly * (0.5 + rnd());
  let category = 'Usage', frequency = rnd() < 0.01 ? 'Usage-based' : 'Usage-Based';
  if (credit) { cost = -cost * 5; category = 'Credit'; frequency = 'One-Time'; }
  const billed = dec(cost);
  const line = [
    'NULL', billed, `"${res.account}"`, '"BenchCorp"', '"USD"', '"2026-11-01 00:00:00"',
    '"2026-10-01 00:00:00"', `"${category}"`, 'NULL', `"${res.service} usage in ${res.regionName}"`,
    `"${frequency}"`, `"${end}"`, `"${ts(day, hour)}"`, 'NULL', 'NULL', 'NULL', 'NULL', 'NULL',
    qty.toFixed(15), `"${res.unit}"`, billed, res.price, billed, `"${res.p.issuer}"`, billed,
    `"${res.price}"`, '"Standard"', qty.toFixed(11), `"${res.unit}"`, `"${res.p.name}"`,
    `"${res.p.issuer}"`, `"${res.region}"`, `"${res.regionName}"`, `"${res.id}"`, 'NULL', 'NULL',
    `"${res.category}"`, String(i + 1), `"${res.service}"`, `"${res.sku}"`,
    `"${res.sku}.${res.price}"`, `"${res.account}"`, `"Account ${res.account.slice(-2)}"`, res.tags,
  ].join(',');
  buf += line + '\n';
  if (buf.length > 1 << 20) {
    if (!stream.write(buf)) await new Promise((r) => stream.once('drain', r));
    buf = '';
  }
}
stream.write(buf);
stream.end();
await new Promise((r) => stream.on('finish', r));
