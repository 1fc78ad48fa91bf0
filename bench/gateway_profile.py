# Used by bench/gateway_profile.sh: reads `perf script -F tid,ip,sym,dso` of bursar recorded
# with DWARF call graphs and gives each sample to the innermost function on its stack that names
# a part of the request path (the rules below, first match per frame). Prints each part's share
# and its CPU per request, given bursar's CPU per request in microseconds.
# Usage: perf script -i DATA -F tid,ip,sym,dso | python3 bench/gateway_profile.py US_PER_REQUEST
import sys, re, collections
rules = [
  ('writer thread', r'LedgerWriter::Run|LedgerWriter::StoreBatch|Store::InsertBatch|sqlite3'),
  ('HTTP request head parse', r'ParseRequestHead'),
  ('upstream response head parse', r'ParseResponseHead'),
  ('request JSON parse', r'gateway::ParseRequest\b|DomParser|RequestParser'),
  ('request body rewrite', r'RewriteRequestBody|RewriteValidated|ScanObject'),
  ('response usage JSON parse', r'ParseUsageFromResponse|FindUsage'),
  ('spend record encode', r'EncodeSpendRecord'),
  ('spend log append', r'SpendLog::Append'),
  ('ledger queue (mutex)', r'LedgerWriter::Append'),
  ('budget', r'BudgetTracker|Budget'),
  ('estimate + pricing', r'EstimateRequest|ComputeCost'),
  ('metrics', r'Metrics'),
  ('key check', r'KeyMemo|Authenticate'),
  ('response write to client', r'ConnectionWriter|AppendHeaderBlock|BaseHeaders'),
  ('upstream request write', r'UpstreamClient::Send|UpstreamConnection::Write'),
  ('upstream response read', r'UpstreamConnection::ReadHead|UpstreamConnection::Fill|UpstreamResponse::Read'),
  ('client request read', r'anonymous namespace\)::Session|ReadRequest'),
  ('gateway handler (other)', r'GatewayHandler::'),
]
rules = [(n, re.compile(p)) for n, p in rules]
us = float(sys.argv[1])
tot = collections.Counter(); kern = collections.Counter(); n = 0
chain = []
def flush():
    global chain, n
    if not chain: return
    n += 1
    is_k = '[kernel' in chain[0]
    name = 'other (Asio, libc, allocator)'
    for fr in chain:  # innermost first
        for rn, rx in rules:
            if rx.search(fr):
                name = rn; break
        else:
            continue
        break
    else:
        if is_k: name = 'kernel, outside the named parts'
    tot[name] += 1
    if is_k: kern[name] += 1
    chain = []
for line in sys.stdin:
    if not line.strip():
        flush(); continue
    if not line.startswith('\t'):  # a sample's header line (" 1221 "); its frames are tab-indented
        flush(); continue
    chain.append(line.strip())
flush()
print('%-34s %8s %8s %8s' % ('component', 'share', 'us/req', 'kernel'))
for name, c in tot.most_common():
    print('%-34s %7.1f%% %8.2f %7.0f%%' % (name, 100 * c / n, us * c / n, 100 * kern[name] / c))
