#include "gitops/diff.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

namespace bursar::gitops {

std::string ResourceKey::ToString() const {
  return ns.empty() ? kind + "/" + name : kind + "/" + ns + "/" + name;
}

std::string FieldChange::ToString() const {
  return path + ": " + before.value_or("(absent)") + " -> " + after.value_or("(absent)");
}

int DiffResult::added() const {
  return static_cast<int>(std::count_if(
      changes.begin(), changes.end(), [](const auto& c) { return c.type == ChangeType::kAdded; }));
}
int DiffResult::removed() const {
  return static_cast<int>(std::count_if(changes.begin(), changes.end(), [](const auto& c) {
    return c.type == ChangeType::kRemoved;
  }));
}
int DiffResult::changed() const {
  return static_cast<int>(std::count_if(changes.begin(), changes.end(), [](const auto& c) {
    return c.type == ChangeType::kChanged;
  }));
}

namespace {

constexpr int kMaxDepth = 200;  // deeper subtrees compare as whole values (no stack blow-up)

struct Doc {
  ResourceKey key;
  std::string file;
  int line = 0;
  int column = 0;
  YAML::Node node;
};

// A missing key of a const map is an "invalid" node: every accessor but IsDefined() throws.
std::string ScalarText(const YAML::Node& n) {
  return n.IsDefined() && n.IsScalar() ? n.Scalar() : std::string();
}

bool HasScalar(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return false;
  const YAML::Node value = map[key];
  return value.IsDefined() && value.IsScalar();
}

std::string FlowText(const YAML::Node& n) {
  if (n.IsNull()) return "null";
  YAML::Emitter e;
  e.SetMapFormat(YAML::Flow);
  e.SetSeqFormat(YAML::Flow);
  e << n;
  return e.good() ? std::string(e.c_str()) : std::string("?");
}

nlohmann::json ToJson(const YAML::Node& n, int depth = 0) {
  if (depth > kMaxDepth) return FlowText(n);
  if (n.IsNull() || !n.IsDefined()) return nullptr;
  if (n.IsMap()) {
    nlohmann::json obj = nlohmann::json::object();
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : FlowText(it->first);
      obj[key] = ToJson(it->second, depth + 1);
    }
    return obj;
  }
  if (n.IsSequence()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& item : n) arr.push_back(ToJson(item, depth + 1));
    return arr;
  }
  const std::string& text = n.Scalar();
  if (n.Tag() == "!") return text;  // quoted: always a string
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  static const std::regex kInt("^-?(0|[1-9][0-9]{0,17})$");
  if (std::regex_match(text, kInt)) return std::stoll(text);
  return text;
}

std::string PathKey(const std::string& parent, const std::string& key) {
  bool plain = !key.empty() && key.find_first_of(".[] \"\t") == std::string::npos;
  if (plain) return parent.empty() ? key : parent + "." + key;
  return parent + "[" + nlohmann::json(key).dump() + "]";
}

class Walker {
 public:
  explicit Walker(std::vector<FieldChange>* out) : out_(out) {}

  void Compare(const std::string& path, const YAML::Node& a, const YAML::Node& b, int depth) {
    if (depth > kMaxDepth) {
      if (FlowText(a) != FlowText(b)) Emit(path, &a, &b);
      return;
    }
    if (a.IsMap() && b.IsMap()) return CompareMaps(path, a, b, depth);
    if (a.IsSequence() && b.IsSequence()) return CompareLists(path, a, b, depth);
    if (a.IsScalar() && b.IsScalar()) {
      if (a.Scalar() != b.Scalar()) Emit(path, &a, &b);
      return;
    }
    if (a.IsNull() && b.IsNull()) return;
    Emit(path, &a, &b);
  }

  void Emit(const std::string& path, const YAML::Node* a, const YAML::Node* b) {
    FieldChange c;
    c.path = path;
    if (a != nullptr) {
      c.before = FlowText(*a);
      c.before_json = ToJson(*a).dump();
    }
    if (b != nullptr) {
      c.after = FlowText(*b);
      c.after_json = ToJson(*b).dump();
    }
    out_->push_back(std::move(c));
  }

 private:
  static std::string KeyText(const YAML::Node& k) {
    return k.IsScalar() ? k.Scalar() : FlowText(k);
  }

  void CompareMaps(const std::string& path, const YAML::Node& a, const YAML::Node& b, int depth) {
    std::map<std::string, YAML::Node> before;
    for (auto it = a.begin(); it != a.end(); ++it) before.emplace(KeyText(it->first), it->second);
    std::set<std::string> seen;
    for (auto it = b.begin(); it != b.end(); ++it) {
      std::string key = KeyText(it->first);
      seen.insert(key);
      auto found = before.find(key);
      if (found == before.end()) {
        YAML::Node value = it->second;
        Emit(PathKey(path, key), nullptr, &value);
      } else {
        Compare(PathKey(path, key), found->second, it->second, depth + 1);
      }
    }
    for (auto it = a.begin(); it != a.end(); ++it) {
      std::string key = KeyText(it->first);
      if (seen.count(key) == 0) {
        YAML::Node value = it->second;
        Emit(PathKey(path, key), &value, nullptr);
      }
    }
  }

  // The field by which the items of both lists can be matched, or "" to match by index.
  static std::string MatchKey(const YAML::Node& a, const YAML::Node& b) {
    for (const char* field : {"name", "model"}) {
      bool ok = true;
      for (const YAML::Node* list : {&a, &b}) {
        std::set<std::string> values;
        for (const auto& item : *list) {
          if (!HasScalar(item, field) || !values.insert(item[field].Scalar()).second) {
            ok = false;
            break;
          }
        }
        if (!ok) break;
      }
      if (ok && (a.size() > 0 || b.size() > 0)) return field;
    }
    return "";
  }

  void CompareLists(const std::string& path, const YAML::Node& a, const YAML::Node& b, int depth) {
    std::string field = MatchKey(a, b);
    if (field.empty()) {
      size_t common = std::min(a.size(), b.size());
      for (size_t i = 0; i < common; ++i) {
        Compare(path + "[" + std::to_string(i) + "]", a[i], b[i], depth + 1);
      }
      for (size_t i = common; i < b.size(); ++i) {
        YAML::Node value = b[i];
        Emit(path + "[" + std::to_string(i) + "]", nullptr, &value);
      }
      for (size_t i = common; i < a.size(); ++i) {
        YAML::Node value = a[i];
        Emit(path + "[" + std::to_string(i) + "]", &value, nullptr);
      }
      return;
    }
    auto item_path = [&](const std::string& value) {
      bool plain = value.find_first_of("[]\"") == std::string::npos && !value.empty();
      return path + "[" + field + "=" + (plain ? value : nlohmann::json(value).dump()) + "]";
    };
    std::map<std::string, YAML::Node> before;
    for (const auto& item : a) before.emplace(item[field].Scalar(), item);
    std::set<std::string> seen;
    for (const auto& item : b) {
      std::string value = item[field].Scalar();
      seen.insert(value);
      auto found = before.find(value);
      if (found == before.end()) {
        YAML::Node copy = item;
        Emit(item_path(value), nullptr, &copy);
      } else {
        Compare(item_path(value), found->second, item, depth + 1);
      }
    }
    for (const auto& item : a) {
      std::string value = item[field].Scalar();
      if (seen.count(value) == 0) {
        YAML::Node copy = item;
        Emit(item_path(value), &copy, nullptr);
      }
    }
  }

  std::vector<FieldChange>* out_;
};

StatusOr<std::vector<Doc>> ParseDocs(const std::vector<config::SourceFile>& files) {
  std::vector<Doc> docs;
  std::map<ResourceKey, size_t> index;
  for (const auto& file : files) {
    std::vector<YAML::Node> nodes;
    try {
      nodes = YAML::LoadAll(file.content);
    } catch (const YAML::Exception& e) {
      return InvalidArgumentError(file.path + ":" + std::to_string(e.mark.line + 1) + ":" +
                                  std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      const YAML::Node& node = nodes[i];
      if (!node.IsMap()) continue;  // empty documents (a trailing ---) carry no resource
      Doc doc;
      doc.file = file.path;
      doc.line = node.Mark().line + 1;
      doc.column = node.Mark().column + 1;
      doc.node = node;
      const YAML::Node& cnode = node;
      doc.key.api_version = ScalarText(cnode["apiVersion"]);
      doc.key.kind = ScalarText(cnode["kind"]);
      const YAML::Node meta = cnode["metadata"];
      if (meta.IsDefined() && meta.IsMap()) {
        doc.key.name = ScalarText(meta["name"]);
        doc.key.ns = ScalarText(meta["namespace"]);
      }
      if (doc.key.name.empty()) doc.key.name = file.path + "#" + std::to_string(i + 1);
      auto [it, inserted] = index.emplace(doc.key, docs.size());
      if (!inserted) {
        const Doc& first = docs[it->second];
        return InvalidArgumentError(file.path + ":" + std::to_string(doc.line) + ":" +
                                    std::to_string(doc.column) + ": duplicate " +
                                    doc.key.ToString() + " (first declared at " + first.file + ":" +
                                    std::to_string(first.line) + ")");
      }
      docs.push_back(std::move(doc));
    }
  }
  return docs;
}

}  // namespace

StatusOr<DiffResult> DiffFiles(const std::vector<config::SourceFile>& from,
                               const std::vector<config::SourceFile>& to) {
  try {
    BURSAR_ASSIGN_OR_RETURN(std::vector<Doc> before, ParseDocs(from));
    BURSAR_ASSIGN_OR_RETURN(std::vector<Doc> after, ParseDocs(to));
    std::map<ResourceKey, const Doc*> old_docs;
    for (const Doc& d : before) old_docs.emplace(d.key, &d);
    std::map<ResourceKey, const Doc*> new_docs;
    for (const Doc& d : after) new_docs.emplace(d.key, &d);

    DiffResult result;
    for (const auto& [key, doc] : new_docs) {
      auto found = old_docs.find(key);
      ResourceChange change;
      change.key = key;
      change.file_after = doc->file;
      if (found == old_docs.end()) {
        change.type = ChangeType::kAdded;
      } else {
        change.type = ChangeType::kChanged;
        change.file_before = found->second->file;
        Walker walker(&change.fields);
        walker.Compare("", found->second->node, doc->node, 0);
        if (change.fields.empty()) continue;
      }
      result.changes.push_back(std::move(change));
    }
    for (const auto& [key, doc] : old_docs) {
      if (new_docs.count(key) != 0) continue;
      ResourceChange change;
      change.type = ChangeType::kRemoved;
      change.key = key;
      change.file_before = doc->file;
      result.changes.push_back(std::move(change));
    }
    std::sort(result.changes.begin(), result.changes.end(),
              [](const ResourceChange& a, const ResourceChange& b) { return a.key < b.key; });
    return result;
  } catch (const std::exception& e) {  // yaml-cpp or nlohmann on input we did not foresee
    return InvalidArgumentError(std::string("cannot diff: ") + e.what());
  }
}

std::string FormatDiffTable(const DiffResult& diff) {
  std::string out;
  for (const auto& c : diff.changes) {
    char mark = c.type == ChangeType::kAdded ? '+' : c.type == ChangeType::kRemoved ? '-' : '~';
    out += mark;
    out += ' ';
    out += c.key.ToString();
    out += "  (" + (c.key.api_version.empty() ? std::string("no apiVersion") : c.key.api_version);
    const std::string& file = c.type == ChangeType::kRemoved ? c.file_before : c.file_after;
    out += ", " + file;
    if (c.type == ChangeType::kChanged && c.file_before != c.file_after) {
      out += ", moved from " + c.file_before;
    }
    out += ")\n";
    for (const auto& f : c.fields) out += "    " + f.ToString() + "\n";
  }
  if (diff.changes.empty()) {
    out += "no changes\n";
  } else {
    out += std::to_string(diff.added()) + " added, " + std::to_string(diff.changed()) +
           " changed, " + std::to_string(diff.removed()) + " removed\n";
  }
  return out;
}

std::string FormatDiffJson(const DiffResult& diff) {
  nlohmann::json j;
  j["from"] = {{"rev", diff.from_rev}, {"commit", diff.from_commit}};
  j["to"] = {{"rev", diff.to_rev}, {"commit", diff.to_commit}};
  j["summary"] = {
      {"added", diff.added()}, {"changed", diff.changed()}, {"removed", diff.removed()}};
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : diff.changes) {
    nlohmann::json item;
    item["type"] = c.type == ChangeType::kAdded     ? "added"
                   : c.type == ChangeType::kRemoved ? "removed"
                                                    : "changed";
    item["apiVersion"] = c.key.api_version;
    item["kind"] = c.key.kind;
    if (!c.key.ns.empty()) item["namespace"] = c.key.ns;
    item["name"] = c.key.name;
    if (!c.file_before.empty()) item["fileBefore"] = c.file_before;
    if (!c.file_after.empty()) item["fileAfter"] = c.file_after;
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& f : c.fields) {
      nlohmann::json field;
      field["path"] = f.path;
      if (f.before_json) field["before"] = nlohmann::json::parse(*f.before_json);
      if (f.after_json) field["after"] = nlohmann::json::parse(*f.after_json);
      fields.push_back(std::move(field));
    }
    item["fields"] = std::move(fields);
    changes.push_back(std::move(item));
  }
  j["changes"] = std::move(changes);
  return j.dump(2) + "\n";
}

}  // namespace bursar::gitops
