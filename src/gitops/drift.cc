#include "gitops/drift.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "gitops/sync_history.h"

namespace bursar::gitops {
namespace {

const config::RouteTarget* FindTarget(const config::Route& r, std::string_view model) {
  for (const auto& t : r.targets) {
    if (t.model == model) return &t;
  }
  return nullptr;
}

int OverrideWeight(const Override& o, std::string_view model) {
  for (const auto& w : o.weights) {
    if (w.model == model) return w.weight;
  }
  return 0;
}

std::string ResourceOf(const Override& o) {
  switch (o.kind) {
    case OverrideKind::kBlockKey:
      return "ApiKey/" + o.target;
    case OverrideKind::kRouteWeights:
      return "Route/" + o.target;
    case OverrideKind::kBudgetLimit:
      return "Budget/" + o.target;
  }
  return "";
}

const char* KindOf(OverrideKind k) {
  switch (k) {
    case OverrideKind::kBlockKey:
      return "ApiKey";
    case OverrideKind::kRouteWeights:
      return "Route";
    case OverrideKind::kBudgetLimit:
      return "Budget";
  }
  return "";
}

// The end (exclusive byte offset) of the scalar token starting at `pos`.
size_t ScalarEnd(const std::string& text, size_t pos) {
  if (pos >= text.size()) return pos;
  char q = text[pos];
  if (q == '"' || q == '\'') {
    for (size_t i = pos + 1; i < text.size(); ++i) {
      if (q == '"' && text[i] == '\\') {
        ++i;
        continue;
      }
      if (text[i] == q) {
        if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;
          continue;
        }
        return i + 1;
      }
    }
    return text.size();
  }
  size_t i = pos;
  while (i < text.size() && text[i] != '\n' && text[i] != ',' && text[i] != ']' && text[i] != '}' &&
         !(text[i] == '#' && i > pos && text[i - 1] == ' ')) {
    ++i;
  }
  while (i > pos && (text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\r')) --i;
  return i;
}

struct Replacement {
  size_t begin, end;
  std::string text;
};

std::string ApplyReplacements(std::string text, std::vector<Replacement> reps) {
  std::sort(reps.begin(), reps.end(),
            [](const Replacement& a, const Replacement& b) { return a.begin > b.begin; });
  for (const auto& r : reps) text.replace(r.begin, r.end - r.begin, r.text);
  return text;
}

bool IsSeparatorLine(std::string_view line) {
  return line.rfind("---", 0) == 0 && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' ||
                                       line[3] == '\r' || line[3] == '\n');
}

}  // namespace

std::string_view ToString(OverrideKind k) {
  switch (k) {
    case OverrideKind::kBlockKey:
      return "blockKey";
    case OverrideKind::kRouteWeights:
      return "routeWeights";
    case OverrideKind::kBudgetLimit:
      return "budgetLimit";
  }
  return "?";
}

std::string_view ToString(OverrideState s) {
  switch (s) {
    case OverrideState::kActive:
      return "active";
    case OverrideState::kHealed:
      return "healed";
    case OverrideState::kCommitted:
      return "committed";
    case OverrideState::kReverted:
      return "reverted";
    case OverrideState::kDropped:
      return "dropped";
  }
  return "?";
}

StatusOr<Override> ParseOverrideJson(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("override must be a JSON object");
  }
  Override o;
  auto str = [&](const char* key, std::string* out) -> bool {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  std::string kind;
  if (!str("kind", &kind)) {
    return InvalidArgumentError("override needs \"kind\": blockKey, routeWeights or budgetLimit");
  }
  if (kind == "blockKey") {
    o.kind = OverrideKind::kBlockKey;
  } else if (kind == "routeWeights") {
    o.kind = OverrideKind::kRouteWeights;
  } else if (kind == "budgetLimit") {
    o.kind = OverrideKind::kBudgetLimit;
  } else {
    return InvalidArgumentError("unknown override kind \"" + kind +
                                "\"; expected blockKey, routeWeights or budgetLimit");
  }
  if (!str("target", &o.target) || o.target.empty()) {
    return InvalidArgumentError("override needs \"target\": the ApiKey, Route or Budget name");
  }
  if (!str("reason", &o.reason) || o.reason.empty()) {
    return InvalidArgumentError("override needs a non-empty \"reason\"");
  }
  str("actor", &o.actor);
  for (const auto& [key, value] : j.items()) {
    static const std::set<std::string> kKnown = {"kind",  "target",  "reason",
                                                 "actor", "weights", "limit"};
    if (!kKnown.count(key)) return InvalidArgumentError("unknown override field \"" + key + "\"");
  }
  if (o.kind == OverrideKind::kRouteWeights) {
    auto w = j.find("weights");
    if (w == j.end() || !w->is_object() || w->empty()) {
      return InvalidArgumentError("routeWeights needs \"weights\": {\"model\": percent, ...}");
    }
    for (const auto& [model, weight] : w->items()) {
      if (!weight.is_number_integer() || weight.get<int64_t>() < 0 || weight.get<int64_t>() > 100) {
        return InvalidArgumentError("weight of \"" + model + "\" must be an integer 0..100");
      }
      o.weights.push_back({model, weight.get<int>()});
    }
  } else if (j.contains("weights")) {
    return InvalidArgumentError("\"weights\" is only for routeWeights");
  }
  if (o.kind == OverrideKind::kBudgetLimit) {
    auto l = j.find("limit");
    if (l == j.end() || !(l->is_string() || l->is_number())) {
      return InvalidArgumentError("budgetLimit needs \"limit\": a decimal such as \"20.00\"");
    }
    std::string text = l->is_string() ? l->get<std::string>() : l->dump();
    BURSAR_ASSIGN_OR_RETURN(o.limit, ParseScaledDecimal(text, kMicroDigits));
    if (o.limit <= 0) return InvalidArgumentError("limit must be greater than 0");
  } else if (j.contains("limit")) {
    return InvalidArgumentError("\"limit\" is only for budgetLimit");
  }
  return o;
}

std::string OverrideToJson(const Override& o) {
  nlohmann::json j;
  j["id"] = o.id;
  j["kind"] = std::string(ToString(o.kind));
  j["target"] = o.target;
  if (o.kind == OverrideKind::kRouteWeights) {
    nlohmann::json w = nlohmann::json::object();
    for (const auto& t : o.weights) w[t.model] = t.weight;
    j["weights"] = w;
  }
  if (o.kind == OverrideKind::kBudgetLimit) j["limit"] = FormatMicros(o.limit);
  j["reason"] = o.reason;
  j["actor"] = o.actor;
  j["createdAt"] = FormatUnixMicros(o.created_at_us);
  j["baseCommit"] = o.base_commit;
  j["state"] = std::string(ToString(o.state));
  j["closedAt"] =
      o.closed_at_us ? nlohmann::json(FormatUnixMicros(o.closed_at_us)) : nlohmann::json(nullptr);
  j["commit"] = o.commit;
  j["note"] = o.note;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status CheckOverride(const config::DesiredState& git, const Override& o) {
  switch (o.kind) {
    case OverrideKind::kBlockKey:
      if (git.FindApiKey(o.target) == nullptr) {
        return NotFoundError("no ApiKey \"" + o.target + "\" in the live commit");
      }
      return OkStatus();
    case OverrideKind::kRouteWeights: {
      const config::Route* r = git.FindRoute(o.target);
      if (r == nullptr) return NotFoundError("no Route \"" + o.target + "\" in the live commit");
      int sum = 0;
      for (const auto& w : o.weights) {
        if (FindTarget(*r, w.model) == nullptr) {
          return NotFoundError("Model \"" + w.model + "\" is not a target of Route \"" + o.target +
                               "\"; an override may only re-split existing targets");
        }
        sum += w.weight;
      }
      if (sum != 100) {
        return InvalidArgumentError("weights sum to " + std::to_string(sum) + "; expected 100");
      }
      return OkStatus();
    }
    case OverrideKind::kBudgetLimit: {
      const config::Budget* b = git.FindBudget(o.target);
      if (b == nullptr) return NotFoundError("no Budget \"" + o.target + "\" in the live commit");
      if (o.limit > b->limit) {
        return InvalidArgumentError("limit " + FormatMicros(o.limit) + " is above Git's " +
                                    FormatMicros(b->limit) +
                                    "; an emergency override may only lower a budget");
      }
      return OkStatus();
    }
  }
  return InvalidArgumentError("unknown override kind");
}

bool IsNoOp(const config::DesiredState& git, const Override& o) {
  switch (o.kind) {
    case OverrideKind::kBlockKey:
      return git.FindApiKey(o.target) == nullptr;
    case OverrideKind::kRouteWeights: {
      const config::Route* r = git.FindRoute(o.target);
      if (r == nullptr) return false;
      for (const auto& t : r->targets) {
        if (t.weight != OverrideWeight(o, t.model)) return false;
      }
      return true;
    }
    case OverrideKind::kBudgetLimit: {
      const config::Budget* b = git.FindBudget(o.target);
      return b != nullptr && b->limit == o.limit;
    }
  }
  return false;
}

StatusOr<std::shared_ptr<config::DesiredState>> ApplyOverrides(
    const config::DesiredState& git, const std::vector<Override>& overrides) {
  auto live = std::make_shared<config::DesiredState>(git);
  for (const Override& o : overrides) {
    BURSAR_RETURN_IF_ERROR(CheckOverride(*live, o));
    switch (o.kind) {
      case OverrideKind::kBlockKey:
        live->api_keys.erase(std::remove_if(live->api_keys.begin(), live->api_keys.end(),
                                            [&](const auto& k) { return k.meta.name == o.target; }),
                             live->api_keys.end());
        break;
      case OverrideKind::kRouteWeights:
        for (auto& r : live->routes) {
          if (r.meta.name != o.target) continue;
          for (auto& t : r.targets) t.weight = OverrideWeight(o, t.model);
        }
        break;
      case OverrideKind::kBudgetLimit:
        for (auto& b : live->budgets) {
          if (b.meta.name == o.target) b.limit = o.limit;
        }
        break;
    }
  }
  return live;
}

std::vector<DriftEntry> DriftOf(const config::DesiredState& git,
                                const std::vector<Override>& active) {
  auto live_or = ApplyOverrides(git, active);
  std::vector<DriftEntry> out;
  if (!live_or.ok()) return out;
  const config::DesiredState& live = **live_or;
  std::map<std::string, size_t> index;  // resource -> entry
  for (const Override& o : active) {
    std::string res = ResourceOf(o);
    auto [it, added] = index.emplace(res, out.size());
    if (added) out.push_back({});
    DriftEntry& e = out[it->second];
    e.override_id = o.id;
    e.resource = res;
    e.reason = o.reason;
    e.actor = o.actor;
    e.created_at_us = o.created_at_us;
    e.fields.clear();
    switch (o.kind) {
      case OverrideKind::kBlockKey: {
        const config::ApiKey* k = git.FindApiKey(o.target);
        if (k != nullptr) e.file = k->meta.where.file;
        FieldChange f;
        f.path = "(key)";
        f.before = "active";
        f.after = "blocked";
        f.before_json = "\"active\"";
        f.after_json = "\"blocked\"";
        e.fields.push_back(std::move(f));
        break;
      }
      case OverrideKind::kRouteWeights: {
        const config::Route* g = git.FindRoute(o.target);
        const config::Route* l = live.FindRoute(o.target);
        if (g == nullptr || l == nullptr) break;
        e.file = g->meta.where.file;
        for (size_t i = 0; i < g->targets.size() && i < l->targets.size(); ++i) {
          if (g->targets[i].weight == l->targets[i].weight) continue;
          FieldChange f;
          f.path = "spec.targets[model=" + g->targets[i].model + "].weight";
          f.before = f.before_json = std::to_string(g->targets[i].weight);
          f.after = f.after_json = std::to_string(l->targets[i].weight);
          e.fields.push_back(std::move(f));
        }
        break;
      }
      case OverrideKind::kBudgetLimit: {
        const config::Budget* g = git.FindBudget(o.target);
        const config::Budget* l = live.FindBudget(o.target);
        if (g == nullptr || l == nullptr) break;
        e.file = g->meta.where.file;
        if (g->limit != l->limit) {
          FieldChange f;
          f.path = "spec.limit";
          f.before = FormatMicros(g->limit);
          f.after = FormatMicros(l->limit);
          f.before_json = "\"" + *f.before + "\"";
          f.after_json = "\"" + *f.after + "\"";
          e.fields.push_back(std::move(f));
        }
        break;
      }
    }
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const auto& e) { return e.fields.empty(); }),
            out.end());
  return out;
}

std::string FormatDriftTable(const std::vector<DriftEntry>& entries) {
  std::ostringstream o;
  if (entries.empty()) {
    o << "no drift: the live state equals Git\n";
    return o.str();
  }
  for (const DriftEntry& e : entries) {
    o << "~ " << e.resource << " (" << e.file << ")  override #" << e.override_id << " by "
      << (e.actor.empty() ? "admin" : e.actor) << " at " << FormatUnixMicros(e.created_at_us)
      << ": " << e.reason << "\n";
    for (const FieldChange& f : e.fields) {
      o << "    " << f.path << ": " << f.before.value_or("(absent)") << " (git) -> "
        << f.after.value_or("(absent)") << " (live)\n";
    }
  }
  o << entries.size() << (entries.size() == 1 ? " resource drifts" : " resources drift")
    << " from Git\n";
  return o.str();
}

std::string FormatDriftJson(const std::string& live_commit, const std::vector<DriftEntry>& entries,
                            const std::vector<Override>& overrides) {
  nlohmann::json j;
  j["drifted"] = !entries.empty();
  j["liveCommit"] = live_commit;
  nlohmann::json arr = nlohmann::json::array();
  for (const DriftEntry& e : entries) {
    nlohmann::json fields = nlohmann::json::array();
    for (const FieldChange& f : e.fields) {
      nlohmann::json fj;
      fj["path"] = f.path;
      fj["git"] = f.before_json ? nlohmann::json::parse(*f.before_json, nullptr, false)
                                : nlohmann::json(nullptr);
      fj["live"] = f.after_json ? nlohmann::json::parse(*f.after_json, nullptr, false)
                                : nlohmann::json(nullptr);
      fields.push_back(std::move(fj));
    }
    arr.push_back({{"override", e.override_id},
                   {"resource", e.resource},
                   {"file", e.file},
                   {"reason", e.reason},
                   {"actor", e.actor},
                   {"createdAt", FormatUnixMicros(e.created_at_us)},
                   {"fields", std::move(fields)}});
  }
  j["entries"] = std::move(arr);
  nlohmann::json ovs = nlohmann::json::array();
  for (const Override& o : overrides) ovs.push_back(nlohmann::json::parse(OverrideToJson(o)));
  j["overrides"] = std::move(ovs);
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

StatusOr<std::vector<FileEdit>> OverrideEdits(const std::vector<config::SourceFile>& files,
                                              const config::DesiredState& git, const Override& o) {
  BURSAR_RETURN_IF_ERROR(CheckOverride(git, o));
  const config::Metadata* meta = nullptr;
  if (o.kind == OverrideKind::kBlockKey) meta = &git.FindApiKey(o.target)->meta;
  if (o.kind == OverrideKind::kRouteWeights) meta = &git.FindRoute(o.target)->meta;
  if (o.kind == OverrideKind::kBudgetLimit) meta = &git.FindBudget(o.target)->meta;
  const config::SourceFile* file = nullptr;
  for (const auto& f : files) {
    if (f.path == meta->where.file) file = &f;
  }
  if (file == nullptr) return NotFoundError("file " + meta->where.file + " is not in the commit");
  const std::string& text = file->content;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    int doc_index = -1;
    int non_empty = 0;
    for (size_t i = 0; i < docs.size(); ++i) {
      const YAML::Node& d = docs[i];
      if (!d.IsMap()) continue;
      ++non_empty;
      if (d["kind"] && d["kind"].IsScalar() && d["kind"].Scalar() == KindOf(o.kind) &&
          d["metadata"] && d["metadata"]["name"] && d["metadata"]["name"].IsScalar() &&
          d["metadata"]["name"].Scalar() == o.target) {
        doc_index = static_cast<int>(i);
      }
    }
    if (doc_index < 0) {
      return NotFoundError(std::string(KindOf(o.kind)) + " \"" + o.target + "\" not found in " +
                           file->path);
    }
    const YAML::Node& doc = docs[doc_index];
    std::vector<Replacement> reps;
    switch (o.kind) {
      case OverrideKind::kBlockKey: {
        if (non_empty <= 1) return std::vector<FileEdit>{{file->path, std::nullopt}};
        // Remove the document's lines: from its separator (or the file start) to the next one.
        int start_line = doc.Mark().line;  // 0-based
        std::vector<size_t> line_starts = {0};
        for (size_t i = 0; i < text.size(); ++i) {
          if (text[i] == '\n' && i + 1 < text.size()) line_starts.push_back(i + 1);
        }
        auto line_at = [&](size_t n) {
          size_t b = line_starts[n];
          size_t e = n + 1 < line_starts.size() ? line_starts[n + 1] : text.size();
          return std::string_view(text).substr(b, e - b);
        };
        size_t begin_line = 0;
        for (int n = std::min<int>(start_line, static_cast<int>(line_starts.size()) - 1); n >= 0;
             --n) {
          if (IsSeparatorLine(line_at(n))) {
            begin_line = n;
            break;
          }
        }
        size_t end = text.size();
        for (size_t n = static_cast<size_t>(start_line) + 1; n < line_starts.size(); ++n) {
          if (IsSeparatorLine(line_at(n))) {
            end = line_starts[n];
            break;
          }
        }
        size_t begin = line_starts[begin_line];
        std::string out = text.substr(0, begin) + text.substr(end);
        if (begin == 0 && !out.empty() && IsSeparatorLine(out.substr(0, out.find('\n')))) {
          out = out.substr(out.find('\n') == std::string::npos ? out.size() : out.find('\n') + 1);
        }
        return std::vector<FileEdit>{{file->path, out}};
      }
      case OverrideKind::kRouteWeights: {
        const YAML::Node targets = doc["spec"]["targets"];
        if (!targets || !targets.IsSequence()) return InternalError("Route without spec.targets");
        for (const YAML::Node& t : targets) {
          std::string model = t["model"] ? t["model"].Scalar() : "";
          int want = OverrideWeight(o, model);
          const YAML::Node w = t["weight"];
          if (!w) {
            if (want != 100) {
              return FailedPreconditionError("target \"" + model + "\" of Route \"" + o.target +
                                             "\" has no weight field to rewrite");
            }
            continue;
          }
          size_t pos = w.Mark().pos;
          reps.push_back({pos, ScalarEnd(text, pos), std::to_string(want)});
        }
        break;
      }
      case OverrideKind::kBudgetLimit: {
        const YAML::Node l = doc["spec"]["limit"];
        if (!l) return InternalError("Budget without spec.limit");
        size_t pos = l.Mark().pos;
        reps.push_back({pos, ScalarEnd(text, pos), "\"" + FormatMicros(o.limit) + "\""});
        break;
      }
    }
    return std::vector<FileEdit>{{file->path, ApplyReplacements(text, std::move(reps))}};
  } catch (const std::exception& e) {
    return InvalidArgumentError(file->path + ": " + e.what());
  }
}

std::string OverrideCommitMessage(const Override& o) {
  std::string what;
  switch (o.kind) {
    case OverrideKind::kBlockKey:
      what = "block ApiKey " + o.target;
      break;
    case OverrideKind::kRouteWeights: {
      what = "set Route " + o.target + " weights to";
      for (const auto& w : o.weights) what += " " + w.model + "=" + std::to_string(w.weight);
      break;
    }
    case OverrideKind::kBudgetLimit:
      what = "lower Budget " + o.target + " limit to " + FormatMicros(o.limit);
      break;
  }
  return "drift: " + what + "\n\nEmergency override #" + std::to_string(o.id) + " by " +
         (o.actor.empty() ? std::string("admin") : o.actor) + " at " +
         FormatUnixMicros(o.created_at_us) +
         ", written to Git by the drift policy so that Git "
         "is true again.\nReason: " +
         o.reason + "\n\nBursar-Drift-Override: " + std::to_string(o.id) + "\n";
}

}  // namespace bursar::gitops
