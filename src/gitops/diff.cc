#include "gitops/diff.h"

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "config/yaml_tree.h"

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

using config::YamlNode;

// Deeper subtrees compare as whole values. The parser already refuses nesting deeper than
// config::kMaxYamlDepth and alias expansions beyond config::kMaxYamlNodes, so a hostile file
// can neither exhaust the stack nor make the walk explode.
constexpr int kMaxDepth = 200;

struct Doc {
  ResourceKey key;
  std::string file;
  int line = 0;
  int column = 0;
  const YamlNode* node = nullptr;
};

const YamlNode* Get(const YamlNode* map, std::string_view key) {
  if (map == nullptr || !map->IsMapping()) return nullptr;
  for (const auto& [k, v] : map->entries) {
    if (k->IsScalar() && k->value == key) return v;
  }
  return nullptr;
}

std::string ScalarText(const YamlNode* n) {
  return n != nullptr && n->IsScalar() ? n->value : std::string();
}

bool HasScalar(const YamlNode* map, const char* key) {
  const YamlNode* v = Get(map, key);
  return v != nullptr && v->IsScalar();
}

// YAML flow text: plain scalars as written, quoted ones double-quoted, {k: v}, [a, b].
void AppendFlow(const YamlNode* n, std::string* out) {
  switch (n->type) {
    case YamlNode::Type::kNull:
      *out += "null";
      return;
    case YamlNode::Type::kScalar:
      *out += n->plain ? n->value
                       : nlohmann::json(n->value).dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace);
      return;
    case YamlNode::Type::kSequence: {
      *out += '[';
      for (size_t i = 0; i < n->items.size(); ++i) {
        if (i > 0) *out += ", ";
        AppendFlow(n->items[i], out);
      }
      *out += ']';
      return;
    }
    case YamlNode::Type::kMapping: {
      *out += '{';
      for (size_t i = 0; i < n->entries.size(); ++i) {
        if (i > 0) *out += ", ";
        AppendFlow(n->entries[i].first, out);
        *out += ": ";
        AppendFlow(n->entries[i].second, out);
      }
      *out += '}';
      return;
    }
  }
}

std::string FlowText(const YamlNode* n) {
  std::string out;
  AppendFlow(n, &out);
  return out;
}

std::string KeyText(const YamlNode* k) { return k->IsScalar() ? k->value : FlowText(k); }

nlohmann::json ToJson(const YamlNode* n) {
  switch (n->type) {
    case YamlNode::Type::kNull:
      return nullptr;
    case YamlNode::Type::kMapping: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& [k, v] : n->entries) obj[KeyText(k)] = ToJson(v);
      return obj;
    }
    case YamlNode::Type::kSequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (const YamlNode* item : n->items) arr.push_back(ToJson(item));
      return arr;
    }
    case YamlNode::Type::kScalar:
      break;
  }
  const std::string& text = n->value;
  if (!n->plain) return text;  // quoted: always a string
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  static const std::regex kInt("^-?(0|[1-9][0-9]{0,17})$");
  if (std::regex_match(text, kInt)) return std::stoll(text);
  return text;
}

std::string JsonText(const YamlNode* n) {
  return ToJson(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string PathKey(const std::string& parent, const std::string& key) {
  bool plain = !key.empty() && key.find_first_of(".[] \"\t") == std::string::npos;
  if (plain) return parent.empty() ? key : parent + "." + key;
  return parent + "[" +
         nlohmann::json(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "]";
}

class Walker {
 public:
  explicit Walker(std::vector<FieldChange>* out) : out_(out) {}

  void Compare(const std::string& path, const YamlNode* a, const YamlNode* b, int depth) {
    if (a == b) return;  // the same (aliased) node
    if (depth > kMaxDepth) {
      if (FlowText(a) != FlowText(b)) Emit(path, a, b);
      return;
    }
    if (a->IsMapping() && b->IsMapping()) return CompareMaps(path, a, b, depth);
    if (a->IsSequence() && b->IsSequence()) return CompareLists(path, a, b, depth);
    if (a->IsScalar() && b->IsScalar()) {
      if (a->value != b->value) Emit(path, a, b);
      return;
    }
    if (a->IsNull() && b->IsNull()) return;
    Emit(path, a, b);
  }

  void Emit(const std::string& path, const YamlNode* a, const YamlNode* b) {
    FieldChange c;
    c.path = path;
    if (a != nullptr) {
      c.before = FlowText(a);
      c.before_json = JsonText(a);
    }
    if (b != nullptr) {
      c.after = FlowText(b);
      c.after_json = JsonText(b);
    }
    out_->push_back(std::move(c));
  }

 private:
  void CompareMaps(const std::string& path, const YamlNode* a, const YamlNode* b, int depth) {
    std::map<std::string, const YamlNode*> before;
    for (const auto& [k, v] : a->entries) before.emplace(KeyText(k), v);
    std::set<std::string> seen;
    for (const auto& [k, v] : b->entries) {
      std::string key = KeyText(k);
      if (!seen.insert(key).second) continue;  // a duplicate key: the first one counts
      auto found = before.find(key);
      if (found == before.end()) {
        Emit(PathKey(path, key), nullptr, v);
      } else {
        Compare(PathKey(path, key), found->second, v, depth + 1);
      }
    }
    for (const auto& [k, v] : a->entries) {
      std::string key = KeyText(k);
      if (seen.insert(key).second) Emit(PathKey(path, key), v, nullptr);
    }
  }

  // The field by which the items of both lists can be matched, or "" to match by index.
  static std::string MatchKey(const YamlNode* a, const YamlNode* b) {
    if (a->items.empty() && b->items.empty()) return "";
    for (const char* field : {"name", "model"}) {
      bool ok = true;
      for (const YamlNode* list : {a, b}) {
        std::set<std::string> values;
        for (const YamlNode* item : list->items) {
          if (!HasScalar(item, field) || !values.insert(Get(item, field)->value).second) {
            ok = false;
            break;
          }
        }
        if (!ok) break;
      }
      if (ok) return field;
    }
    return "";
  }

  void CompareLists(const std::string& path, const YamlNode* a, const YamlNode* b, int depth) {
    std::string field = MatchKey(a, b);
    if (field.empty()) {
      size_t common = std::min(a->items.size(), b->items.size());
      for (size_t i = 0; i < common; ++i) {
        Compare(path + "[" + std::to_string(i) + "]", a->items[i], b->items[i], depth + 1);
      }
      for (size_t i = common; i < b->items.size(); ++i) {
        Emit(path + "[" + std::to_string(i) + "]", nullptr, b->items[i]);
      }
      for (size_t i = common; i < a->items.size(); ++i) {
        Emit(path + "[" + std::to_string(i) + "]", a->items[i], nullptr);
      }
      return;
    }
    auto item_path = [&](const std::string& value) {
      bool plain = value.find_first_of("[]\"") == std::string::npos && !value.empty();
      return path + "[" + field + "=" +
             (plain ? value
                    : nlohmann::json(value).dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace)) +
             "]";
    };
    std::map<std::string, const YamlNode*> before;
    for (const YamlNode* item : a->items) before.emplace(Get(item, field.c_str())->value, item);
    std::set<std::string> seen;
    for (const YamlNode* item : b->items) {
      const std::string& value = Get(item, field.c_str())->value;
      seen.insert(value);
      auto found = before.find(value);
      if (found == before.end()) {
        Emit(item_path(value), nullptr, item);
      } else {
        Compare(item_path(value), found->second, item, depth + 1);
      }
    }
    for (const YamlNode* item : a->items) {
      const std::string& value = Get(item, field.c_str())->value;
      if (seen.count(value) == 0) Emit(item_path(value), item, nullptr);
    }
  }

  std::vector<FieldChange>* out_;
};

// Parsed files of one side; the YamlFiles own the nodes the Docs point into.
struct Parsed {
  std::vector<std::unique_ptr<config::YamlFile>> files;
  std::vector<Doc> docs;
};

Status ParseDocs(const std::vector<config::SourceFile>& files, Parsed* out) {
  std::map<ResourceKey, size_t> index;
  for (const auto& file : files) {
    auto yaml = std::make_unique<config::YamlFile>();
    config::YamlError error;
    if (!config::ParseYaml(file.content, yaml.get(), &error)) {
      return InvalidArgumentError(file.path + ":" + std::to_string(error.line) + ":" +
                                  std::to_string(error.column) + ": " + error.message);
    }
    for (size_t i = 0; i < yaml->documents.size(); ++i) {
      const YamlNode* node = yaml->documents[i];
      if (node == nullptr || !node->IsMapping()) continue;  // empty documents carry no resource
      Doc doc;
      doc.file = file.path;
      doc.line = node->line;
      doc.column = node->column;
      doc.node = node;
      doc.key.api_version = ScalarText(Get(node, "apiVersion"));
      doc.key.kind = ScalarText(Get(node, "kind"));
      const YamlNode* meta = Get(node, "metadata");
      doc.key.name = ScalarText(Get(meta, "name"));
      doc.key.ns = ScalarText(Get(meta, "namespace"));
      if (doc.key.name.empty()) doc.key.name = file.path + "#" + std::to_string(i + 1);
      auto [it, inserted] = index.emplace(doc.key, out->docs.size());
      if (!inserted) {
        const Doc& first = out->docs[it->second];
        return InvalidArgumentError(file.path + ":" + std::to_string(doc.line) + ":" +
                                    std::to_string(doc.column) + ": duplicate " +
                                    doc.key.ToString() + " (first declared at " + first.file + ":" +
                                    std::to_string(first.line) + ")");
      }
      out->docs.push_back(std::move(doc));
    }
    out->files.push_back(std::move(yaml));
  }
  return OkStatus();
}

}  // namespace

StatusOr<DiffResult> DiffFiles(const std::vector<config::SourceFile>& from,
                               const std::vector<config::SourceFile>& to) {
  try {
    Parsed before, after;
    BURSAR_RETURN_IF_ERROR(ParseDocs(from, &before));
    BURSAR_RETURN_IF_ERROR(ParseDocs(to, &after));
    std::map<ResourceKey, const Doc*> old_docs;
    for (const Doc& d : before.docs) old_docs.emplace(d.key, &d);
    std::map<ResourceKey, const Doc*> new_docs;
    for (const Doc& d : after.docs) new_docs.emplace(d.key, &d);

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
  } catch (const std::exception& e) {  // e.g. std::bad_alloc; nothing else is expected
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
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace bursar::gitops
