#include <algorithm>
#include <nlohmann/json.hpp>

#include "finops/allocation.h"
#include "finops/csv.h"
#include "finops/focus_store.h"

namespace bursar::finops {

namespace {

std::string Micros(std::optional<int64_t> m) {
  return m ? FormatPicos(Picos128(*m) * kPicosPerMicro, 2) : "";
}

bool HasGateway(const AllocationReport& r) { return r.query.source != Source::kFocus; }

std::vector<std::string> Header(const AllocationReport& r) {
  std::vector<std::string> h;
  if (r.query.every != Every::kNone) h.push_back("period");
  for (const auto& b : r.query.by) h.push_back(b);
  h.push_back("currency");
  h.push_back("cost");
  if (r.query.shared) h.push_back("shared");
  if (HasGateway(r)) {
    for (const char* c :
         {"requests", "tokens", "images", "per_1k_requests", "per_1M_tokens", "per_image"}) {
      h.push_back(c);
    }
  }
  if (r.query.source != Source::kGateway) h.push_back("line_items");
  return h;
}

std::vector<std::string> Cells(const AllocationReport& r, const AllocationRow& row, bool total) {
  std::vector<std::string> c;
  if (r.query.every != Every::kNone) c.push_back(total ? "TOTAL" : row.period);
  for (size_t i = 0; i < r.query.by.size(); ++i) {
    c.push_back(total ? (r.query.every == Every::kNone && i == 0 ? "TOTAL" : "") : row.keys[i]);
  }
  if (r.query.every == Every::kNone && r.query.by.empty() && total) c.push_back("TOTAL");
  c.push_back(row.currency);
  c.push_back(FormatPicos(row.cost, 2));
  if (r.query.shared) c.push_back(FormatPicos(row.shared, 2));
  if (HasGateway(r)) {
    c.push_back(std::to_string(row.requests));
    c.push_back(std::to_string(row.tokens));
    c.push_back(std::to_string(row.images));
    c.push_back(Micros(CostPer(row.cost, 1000, row.requests)));
    c.push_back(Micros(CostPer(row.cost, 1'000'000, row.tokens)));
    c.push_back(Micros(CostPer(row.cost, 1, row.images)));
  }
  if (r.query.source != Source::kGateway) c.push_back(std::to_string(row.line_items));
  return c;
}

}  // namespace

std::string FormatAllocationTable(const AllocationReport& report) {
  std::vector<std::string> header = Header(report);
  bool label_col = report.query.every == Every::kNone && report.query.by.empty();
  if (label_col) header.insert(header.begin(), "");
  std::vector<std::vector<std::string>> lines = {header};
  for (const auto& row : report.rows) {
    auto c = Cells(report, row, false);
    if (label_col) c.insert(c.begin(), "");
    lines.push_back(c);
  }
  for (const auto& t : report.totals) lines.push_back(Cells(report, t, true));
  std::vector<size_t> width(header.size(), 0);
  for (const auto& l : lines) {
    for (size_t i = 0; i < l.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], l[i].size());
  }
  size_t first_numeric = std::find(header.begin(), header.end(), "cost") - header.begin();
  std::string out;
  for (const auto& l : lines) {
    std::string line;
    for (size_t i = 0; i < l.size() && i < width.size(); ++i) {
      if (i) line += "  ";
      bool numeric = i >= first_numeric;
      std::string pad(width[i] - l[i].size(), ' ');
      line += numeric ? pad + l[i] : l[i] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (report.rows.empty()) out += "(no cost in range)\n";
  return out;
}

std::string FormatAllocationJson(const AllocationReport& report) {
  const auto& q = report.query;
  auto row_json = [&](const AllocationRow& row, bool total) {
    nlohmann::ordered_json j;
    if (!total && q.every != Every::kNone) j["period"] = row.period;
    if (!total) {
      for (size_t i = 0; i < q.by.size(); ++i) j[q.by[i]] = row.keys[i];
    }
    j["currency"] = row.currency;
    j["cost"] = FormatPicos(row.cost, 2);
    if (q.shared) j["shared"] = FormatPicos(row.shared, 2);
    if (HasGateway(report)) {
      j["requests"] = row.requests;
      j["tokens"] = row.tokens;
      j["images"] = row.images;
      auto put = [&](const char* name, std::optional<int64_t> v) {
        if (v) {
          j[name] = Micros(v);
        } else {
          j[name] = nullptr;
        }
      };
      put("costPer1kRequests", CostPer(row.cost, 1000, row.requests));
      put("costPer1MTokens", CostPer(row.cost, 1'000'000, row.tokens));
      put("costPerImage", CostPer(row.cost, 1, row.images));
    }
    if (q.source != Source::kGateway) j["lineItems"] = row.line_items;
    return j;
  };
  nlohmann::ordered_json out;
  out["source"] = q.source == Source::kGateway ? "gateway"
                  : q.source == Source::kFocus ? "focus"
                                               : "all";
  out["by"] = q.by;
  out["every"] = q.every == Every::kNone   ? nullptr
                 : q.every == Every::kDay  ? nlohmann::ordered_json("day")
                 : q.every == Every::kWeek ? nlohmann::ordered_json("week")
                                           : nlohmann::ordered_json("month");
  out["since"] = q.since_us ? nlohmann::ordered_json(FormatTimestamp(*q.since_us)) : nullptr;
  out["until"] = q.until_us ? nlohmann::ordered_json(FormatTimestamp(*q.until_us)) : nullptr;
  if (q.shared) {
    out["shared"] = q.shared->first + "=" + q.shared->second;
    out["split"] = q.split == Split::kEven ? "even" : "proportional";
  }
  out["groups"] = nlohmann::ordered_json::array();
  for (const auto& row : report.rows) out["groups"].push_back(row_json(row, false));
  out["totals"] = nlohmann::ordered_json::array();
  for (const auto& t : report.totals) out["totals"].push_back(row_json(t, true));
  return out.dump(2) + "\n";
}

std::string FormatAllocationCsv(const AllocationReport& report) {
  const auto& q = report.query;
  bool currencies = report.totals.size() > 1;
  std::string out;
  std::vector<std::string> header;
  if (q.every != Every::kNone) header.push_back("period");
  for (const auto& b : q.by) header.push_back(b);
  if (currencies) header.push_back("currency");
  header.push_back("cost");
  for (size_t i = 0; i < header.size(); ++i) {
    if (i) out.push_back(',');
    AppendCsvField(&out, header[i]);
  }
  out.push_back('\n');
  for (const auto& row : report.rows) {
    std::vector<std::string> cells;
    if (q.every != Every::kNone) cells.push_back(row.period);
    for (const auto& k : row.keys) cells.push_back(k);
    if (currencies) cells.push_back(row.currency);
    cells.push_back(FormatPicos(row.cost, 2));
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) out.push_back(',');
      AppendCsvField(&out, cells[i]);
    }
    out.push_back('\n');
  }
  return out;
}

StatusOr<std::string> RunAllocationCommand(const AllocationCommand& cmd) {
  AllocationQuery q;
  BURSAR_ASSIGN_OR_RETURN(q.source, ParseSource(cmd.source));
  BURSAR_ASSIGN_OR_RETURN(q.every, ParseEvery(cmd.every));
  BURSAR_ASSIGN_OR_RETURN(q.split, ParseSplit(cmd.split));
  q.by = cmd.by;
  for (auto [text, slot] :
       {std::pair{&cmd.since, &q.since_us}, std::pair{&cmd.until, &q.until_us}}) {
    if (text->empty()) continue;
    int64_t t;
    if (!ParseTimestamp(*text, &t)) {
      return InvalidArgumentError("\"" + *text + "\" is not a date or RFC 3339 time");
    }
    *slot = t;
  }
  for (const auto& w : cmd.where) {
    BURSAR_ASSIGN_OR_RETURN(auto kv, ParseKeyValue(w));
    q.where.push_back(kv);
  }
  if (!cmd.shared.empty()) {
    BURSAR_ASSIGN_OR_RETURN(auto kv, ParseKeyValue(cmd.shared));
    q.shared = kv;
  }
  BURSAR_ASSIGN_OR_RETURN(auto store, ledger::Store::Open(cmd.data));
  BURSAR_RETURN_IF_ERROR(EnsureFocusSchema(store->db()));
  BURSAR_ASSIGN_OR_RETURN(AllocationReport report, RunAllocation(*store, q));
  if (cmd.output == "json") return FormatAllocationJson(report);
  if (cmd.output == "csv") return FormatAllocationCsv(report);
  return FormatAllocationTable(report);
}

}  // namespace bursar::finops
