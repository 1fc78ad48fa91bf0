// The peer side of bench/ledger.sh: DuckDB reads the FOCUS CSV (read_csv) and runs the same
// GROUP BY as `bursar report --source focus --by ServiceName`, with BilledCost as an exact
// DECIMAL(38,12). Prints the result as CSV (ServiceName,cost), like `bursar report --output csv`.
// Usage: node ledger_duckdb.mjs FILE
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const sql = `SELECT ServiceName, SUM(BilledCost) AS cost
  FROM read_csv('${file.replace(/'/g, "''")}', header = true, nullstr = 'NULL',
                types = {'BilledCost': 'DECIMAL(38,12)'})
  GROUP BY ServiceName ORDER BY cost DESC, ServiceName`;
const reader = await conn.runAndReadAll(sql);
let out = 'ServiceName,cost\n';
for (const [name, cost] of reader.getRows()) {
  let c = cost.toString();
  if (c.includes('.')) c = c.replace(/0+$/, '').replace(/\.$/, '.00');
  if (/\.\d$/.test(c)) c += '0';
  if (!c.includes('.')) c += '.00';
  out += `${name},${c}\n`;
}
process.stdout.write(out);
