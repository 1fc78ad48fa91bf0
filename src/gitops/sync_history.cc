#include "gitops/sync_history.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

namespace bursar::gitops {
namespace {

constexpr char kColumns[] =
    "commit_id, author, message, commit_time, trigger_kind, seen_at_us, finished_at_us, "
    "duration_us, result, errors";

SyncResult ParseResult(const std::string& s) {
  if (s == "applied") return SyncResult::kApplied;
  if (s == "refused") return SyncResult::kRefused;
  return SyncResult::kFailed;
}

std::string OneLine(std::string s, size_t max) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

}  // namespace

const std::vector<ledger::Migration>& SyncHistoryMigrations() {
  static const std::vector<ledger::Migration> kMigrations = {
      {1, "create sync_history",
       "CREATE TABLE sync_history ("
       " id INTEGER PRIMARY KEY AUTOINCREMENT,"
       " commit_id TEXT NOT NULL, author TEXT NOT NULL, message TEXT NOT NULL,"
       " commit_time BIGINT NOT NULL, trigger_kind TEXT NOT NULL,"
       " seen_at_us BIGINT NOT NULL, finished_at_us BIGINT NOT NULL, duration_us BIGINT NOT NULL,"
       " result TEXT NOT NULL, errors TEXT NOT NULL);"
       "CREATE INDEX sync_history_seen ON sync_history (seen_at_us);",
       "CREATE TABLE sync_history ("
       " id BIGSERIAL PRIMARY KEY,"
       " commit_id TEXT NOT NULL, author TEXT NOT NULL, message TEXT NOT NULL,"
       " commit_time BIGINT NOT NULL, trigger_kind TEXT NOT NULL,"
       " seen_at_us BIGINT NOT NULL, finished_at_us BIGINT NOT NULL, duration_us BIGINT NOT NULL,"
       " result TEXT NOT NULL, errors TEXT NOT NULL);"
       "CREATE INDEX sync_history_seen ON sync_history (seen_at_us);"},
  };
  return kMigrations;
}

StatusOr<std::unique_ptr<SyncHistory>> SyncHistory::Open(const std::string& url) {
  BURSAR_ASSIGN_OR_RETURN(std::unique_ptr<ledger::Db> db, ledger::OpenDatabase(url));
  return Create(std::move(db));
}

StatusOr<std::unique_ptr<SyncHistory>> SyncHistory::Create(std::unique_ptr<ledger::Db> db) {
  BURSAR_RETURN_IF_ERROR(
      ledger::ApplyMigrations(*db, "sync_history", SyncHistoryMigrations()).status());
  return std::unique_ptr<SyncHistory>(new SyncHistory(std::move(db)));
}

Status SyncHistory::Record(const SyncRecord& r) {
  nlohmann::json errors = r.errors;
  std::lock_guard<std::mutex> l(mu_);
  return db_
      ->Execute(std::string("INSERT INTO sync_history (") + kColumns +
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                {r.commit, r.author, r.message, r.commit_time, r.trigger, r.seen_at_us,
                 r.finished_at_us, r.duration_us, std::string(ToString(r.result)), errors.dump()})
      .status();
}

StatusOr<std::vector<SyncRecord>> SyncHistory::List(size_t limit) {
  std::vector<SyncRecord> out;
  std::lock_guard<std::mutex> l(mu_);
  Status s = db_->Query(std::string("SELECT ") + kColumns +
                            " FROM sync_history ORDER BY seen_at_us DESC, id DESC LIMIT $1",
                        {static_cast<int64_t>(limit)}, [&](const ledger::Row& row) {
                          SyncRecord r;
                          r.commit = row.Text(0);
                          r.author = row.Text(1);
                          r.message = row.Text(2);
                          r.commit_time = row.Int(3);
                          r.trigger = row.Text(4);
                          r.seen_at_us = row.Int(5);
                          r.finished_at_us = row.Int(6);
                          r.duration_us = row.Int(7);
                          r.result = ParseResult(row.Text(8));
                          nlohmann::json e = nlohmann::json::parse(row.Text(9), nullptr, false);
                          if (e.is_array()) {
                            for (const auto& v : e) {
                              if (v.is_string()) r.errors.push_back(v.get<std::string>());
                            }
                          }
                          out.push_back(std::move(r));
                          return OkStatus();
                        });
  if (!s.ok()) return s;
  return out;
}

std::string FormatUnixMicros(int64_t us) {
  time_t secs = static_cast<time_t>(us / 1000000);
  int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string FormatHistoryTable(const std::vector<SyncRecord>& rows) {
  std::ostringstream o;
  char line[512];
  std::snprintf(line, sizeof(line), "%-19s  %-7s  %-12s  %-8s  %9s  %-24s  %s\n", "SEEN (UTC)",
                "RESULT", "COMMIT", "TRIGGER", "DURATION", "AUTHOR", "MESSAGE");
  o << line;
  for (const SyncRecord& r : rows) {
    std::string seen = FormatUnixMicros(r.seen_at_us).substr(0, 19);
    seen[10] = ' ';
    char dur[32];
    std::snprintf(dur, sizeof(dur), "%.1fms", static_cast<double>(r.duration_us) / 1000.0);
    std::snprintf(line, sizeof(line), "%-19s  %-7s  %-12s  %-8s  %9s  %-24s  %s\n", seen.c_str(),
                  std::string(ToString(r.result)).c_str(), r.commit.substr(0, 12).c_str(),
                  r.trigger.c_str(), dur, OneLine(r.author, 24).c_str(),
                  OneLine(r.message, 60).c_str());
    o << line;
    for (const std::string& e : r.errors) o << "    " << OneLine(e, 300) << "\n";
  }
  if (rows.empty()) o << "(no syncs recorded)\n";
  return o.str();
}

std::string FormatHistoryJson(const std::vector<SyncRecord>& rows) {
  nlohmann::json arr = nlohmann::json::array();
  for (const SyncRecord& r : rows) {
    nlohmann::json j;
    j["commit"] = r.commit;
    j["author"] = r.author;
    j["message"] = r.message;
    j["commitTime"] = r.commit_time;
    j["trigger"] = r.trigger;
    j["seenAt"] = FormatUnixMicros(r.seen_at_us);
    j["appliedAt"] = r.result == SyncResult::kApplied
                         ? nlohmann::json(FormatUnixMicros(r.finished_at_us))
                         : nlohmann::json(nullptr);
    j["refusedAt"] = r.result == SyncResult::kRefused
                         ? nlohmann::json(FormatUnixMicros(r.finished_at_us))
                         : nlohmann::json(nullptr);
    j["result"] = std::string(ToString(r.result));
    j["durationMs"] = static_cast<double>(r.duration_us) / 1000.0;
    j["errors"] = r.errors;
    arr.push_back(std::move(j));
  }
  return arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace bursar::gitops
