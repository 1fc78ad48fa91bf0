#include "config/loader.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <set>
#include <tuple>

#include "config/decode.h"
#include "config/fields.h"
#include "config/yaml_tree.h"

namespace bursar::config {
namespace {

using internal::Decoder;
using internal::Fields;
using internal::JoinNames;
using internal::Path;
using internal::Quote;
using internal::Registry;

bool IsWorkload(std::string_view api_version, std::string_view kind) {
  if (api_version == "apps/v1") {
    return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet";
  }
  if (api_version == "batch/v1") return kind == "Job" || kind == "CronJob";
  return false;
}

bool IsBursarKind(std::string_view kind) {
  auto kinds = BursarKinds();
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

std::string KindList() {
  auto kinds = BursarKinds();
  return JoinNames(std::vector<std::string>(kinds.begin(), kinds.end()));
}

// The scalar value of the first `key` of a mapping, or nullptr.
const YamlNode* Peek(const YamlNode& map, std::string_view key) {
  if (!map.IsMapping()) return nullptr;
  for (const auto& [k, v] : map.entries) {
    if (k->IsScalar() && k->value == key) return v;
  }
  return nullptr;
}

void DecodeBursar(Decoder& d, const YamlNode& root, const std::string& kind, DesiredState* state) {
  // The name goes into every message, so it is peeked before the strict checks.
  Path path{kind, "", "", kind};
  const YamlNode* meta_node = Peek(root, "metadata");
  const YamlNode* peek_name = meta_node ? Peek(*meta_node, "name") : nullptr;
  if (peek_name != nullptr && peek_name->IsScalar() && !peek_name->value.empty()) {
    path.subject = kind + " " + Quote(peek_name->value);
  }
  Fields doc(d, &root, path, kind);
  Metadata meta;
  meta.where = d.Where(root);
  Fields md(d, doc.Require("metadata", "a mapping with name"), doc.At("metadata"), kind);
  if (md.ok()) {
    const YamlNode* name = md.Require("name", "the " + kind + "'s name");
    if (d.ReadName(name, md.At("name"), &meta.name)) d.Declare(kind, meta.name, *name);
    d.ReadStringMap(md.Get("labels"), md.At("labels"), &meta.labels);
    std::map<std::string, std::string> annotations;
    d.ReadStringMap(md.Get("annotations"), md.At("annotations"), &annotations);
  }
  if (kind == "Model") {
    internal::DecodeModel(d, doc, std::move(meta), state);
  } else if (kind == "Route") {
    internal::DecodeRoute(d, doc, std::move(meta), state);
  } else if (kind == "ApiKey") {
    internal::DecodeApiKey(d, doc, std::move(meta), state);
  } else if (kind == "Budget") {
    internal::DecodeBudget(d, doc, std::move(meta), state);
  } else if (kind == "AlertPolicy") {
    internal::DecodeAlertPolicy(d, doc, std::move(meta), state);
  } else if (kind == "Remediation") {
    internal::DecodeRemediation(d, doc, std::move(meta), state);
  } else if (kind == "PriceCatalog") {
    internal::DecodePriceCatalog(d, doc, std::move(meta), state);
  }
}

void DecodeDocument(Decoder& d, const YamlNode& root, DesiredState* state) {
  if (root.IsNull()) return;  // an empty document, e.g. after a trailing "---"
  if (!root.IsMapping()) {
    d.Error(root, "document is a " + std::string(root.TypeName()) +
                      "; expected a mapping with apiVersion, kind, metadata and spec");
    return;
  }
  const YamlNode* api = Peek(root, "apiVersion");
  const YamlNode* kind_node = Peek(root, "kind");
  std::string api_version = api && api->IsScalar() ? api->value : "";
  std::string kind = kind_node && kind_node->IsScalar() ? kind_node->value : "";
  if (api != nullptr && !api->IsScalar()) {
    d.WrongType(*api, Path{"document", "apiVersion", ""}, "a string such as bursar.dev/v1");
    return;
  }
  if (kind_node != nullptr && !kind_node->IsScalar()) {
    d.WrongType(*kind_node, Path{"document", "kind", ""}, "a string such as Model");
    return;
  }
  if (api_version == kApiVersion) {
    if (kind_node == nullptr) {
      d.Error(root, "missing required field \"kind\" in " + api_version +
                        " document; expected one of: " + KindList());
    } else if (!IsBursarKind(kind)) {
      d.Error(*kind_node, "unknown kind " + Quote(kind) + " for apiVersion " + api_version +
                              "; expected one of: " + KindList());
    } else {
      DecodeBursar(d, root, kind, state);
    }
  } else if (api_version.rfind("bursar.dev/", 0) == 0) {
    d.Error(*api, "unsupported apiVersion " + Quote(api_version) + "; expected " + kApiVersion);
  } else if (IsWorkload(api_version, kind)) {
    internal::DecodeWorkload(d, root, api_version, kind, state);
  } else if (api == nullptr && IsBursarKind(kind)) {
    d.Error(root, "missing required field \"apiVersion\" in " + kind + " document; expected " +
                      kApiVersion);
  }
  // Anything else (v1 Service, ConfigMap, other tools' files) is not ours: skipped.
}

// The PriceCatalog key a workload's GPU type means: itself, the same name in another case
// ("NVIDIA-L4"), or the longest key that prefixes it before a '-' (the GPU feature discovery
// label "NVIDIA-A100-SXM4-80GB" is an "nvidia-a100"). "" when none matches.
std::string ResolveGpuType(std::string_view type, const std::set<std::string>& keys) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  if (keys.contains(std::string(type))) return std::string(type);
  std::string t = lower(type);
  std::string best;
  for (const std::string& key : keys) {
    std::string k = lower(key);
    bool prefix = t.size() > k.size() && t.compare(0, k.size(), k) == 0 && t[k.size()] == '-';
    if ((t == k || prefix) && key.size() > best.size()) best = key;
  }
  return best;
}

// Duplicate names within a kind, and references that do not resolve.
void CheckNames(Decoder& d, const Registry& reg) {
  std::map<std::pair<std::string, std::string>, const internal::NameDecl*> first;
  std::map<std::string, std::set<std::string>> by_kind;
  // Workloads carry no catalog reference, so one catalog prices them all.
  const internal::NameDecl* first_catalog = nullptr;
  for (const internal::NameDecl& decl : reg.names) {
    by_kind[decl.kind].insert(decl.name);
    auto [it, inserted] = first.emplace(std::make_pair(decl.kind, decl.name), &decl);
    if (decl.kind == "PriceCatalog" && first_catalog != nullptr && first_catalog != &decl) {
      const SourceLocation& w = first_catalog->where;
      d.Error(decl.where, "second PriceCatalog " + Quote(decl.name) + "; the first is " +
                              Quote(first_catalog->name) + " at " + w.file + ":" +
                              std::to_string(w.line) + ":" + std::to_string(w.column) +
                              "; expected one PriceCatalog per repository");
      continue;
    }
    if (decl.kind == "PriceCatalog" && first_catalog == nullptr) first_catalog = &decl;
    if (inserted || decl.kind == "Workload") continue;  // same name, other namespaces: fine
    const SourceLocation& w = it->second->where;
    std::string at = w.file + ":" + std::to_string(w.line) + ":" + std::to_string(w.column);
    std::string message;
    if (decl.kind == "KeyHash") {
      message = "duplicate keyHash: the same key hash is already declared at " + at +
                "; expected one ApiKey per key";
    } else {
      message = "duplicate " + decl.kind + " name " + Quote(decl.name) + "; first defined at " +
                at + "; expected unique names within a kind";
    }
    d.Error(decl.where, message);
  }
  std::set<std::string> gpu_types(reg.gpu_types.begin(), reg.gpu_types.end());
  for (const internal::Reference& ref : reg.refs) {
    if (ref.target_kind == "GpuType") {
      if (gpu_types.empty() || !ResolveGpuType(ref.name, gpu_types).empty()) continue;
      d.Error(ref.where, "unknown GPU type " + Quote(ref.name) + " in " + ref.from +
                             "; expected a GPU type priced in a PriceCatalog: " +
                             JoinNames({gpu_types.begin(), gpu_types.end()}));
      continue;
    }
    if (ref.target_kind == "NonProductionWorkload") {
      if (!reg.production_workloads.contains(ref.name)) continue;
      d.Error(ref.where, ref.from + ": " + ref.name +
                             " is labelled env=prod; expected a non-production workload (scaleDown "
                             "lowers replicas off-hours only outside production)");
      continue;
    }
    if (ref.target_kind == "RouteTarget") {
      // Only when both the route and the model exist; otherwise that is reported already.
      auto targets = reg.route_targets.find(ref.route);
      if (targets == reg.route_targets.end() || !by_kind["Model"].contains(ref.name)) continue;
      const std::vector<std::string>& models = targets->second;
      if (std::find(models.begin(), models.end(), ref.name) != models.end()) continue;
      d.Error(ref.where, ref.from + ": Model " + Quote(ref.name) + " is not a target of Route " +
                             Quote(ref.route) +
                             "; expected one of its targets: " + JoinNames(models));
      continue;
    }
    const std::set<std::string>& names = by_kind[ref.target_kind];
    if (names.contains(ref.name)) continue;
    d.Error(ref.where, ref.from + " refers to unknown " + ref.target_kind + " " + Quote(ref.name) +
                           "; expected one of: " + JoinNames({names.begin(), names.end()}));
  }
}

// A route sends one kind of request (/v1/embeddings or /v1/chat/completions) to every target
// and fallback, so they must all serve it.
void CheckRouteEndpoints(Decoder& d, const Registry& reg) {
  std::map<std::string, const Registry::RouteMember*> first;  // per route, first known model
  for (const Registry::RouteMember& m : reg.route_members) {
    auto kind = reg.model_serves_embeddings.find(m.model);
    if (m.route.empty() || kind == reg.model_serves_embeddings.end()) continue;
    auto [it, inserted] = first.emplace(m.route, &m);
    if (inserted) continue;
    bool reference = reg.model_serves_embeddings.at(it->second->model);
    if (kind->second == reference) continue;
    auto serves = [](bool embeddings) { return embeddings ? "embeddings" : "chat completions"; };
    d.Error(m.where, m.from + ": Model " + Quote(m.model) + " serves " + serves(kind->second) +
                         " but Model " + Quote(it->second->model) + " (" + it->second->from +
                         ") serves " + serves(reference) +
                         "; expected every target and fallback of a route to serve the same "
                         "endpoint");
  }
}

LoadResult Load(const std::vector<SourceFile>& files) {
  LoadResult result;
  auto state = std::make_shared<DesiredState>();
  Registry registry;
  std::vector<Diagnostic>& diags = result.diagnostics;
  bool unparsed = false;
  size_t documents = 0;
  for (const SourceFile& file : files) {
    Decoder d(file.path, &diags, &registry);
    if (file.content.size() > kMaxFileBytes) {
      d.Error(1, 1,
              "file is " + std::to_string(file.content.size()) + " bytes; expected at most " +
                  std::to_string(kMaxFileBytes) + " bytes");
      unparsed = true;
      continue;
    }
    YamlFile yaml;
    YamlError error;
    if (!ParseYaml(file.content, &yaml, &error)) {
      d.Error(error.line, error.column,
              "invalid YAML: " + internal::Printable(error.message, 200) +
                  "; expected well-formed YAML (check indentation, quotes and brackets)");
      unparsed = true;
      continue;
    }
    for (const YamlNode* doc : yaml.documents) {
      if (++documents > kMaxDocuments) {
        d.Error(*doc, "more than " + std::to_string(kMaxDocuments) +
                          " documents in the repository; expected at most " +
                          std::to_string(kMaxDocuments));
        unparsed = true;
        break;
      }
      DecodeDocument(d, *doc, state.get());
    }
    if (documents > kMaxDocuments) break;
  }
  // Cross-document checks only when every file was read: a file that did not parse would
  // otherwise show up as a flood of dangling references.
  if (!unparsed) {
    Decoder cross("", &diags, &registry);  // its errors carry their own file
    CheckNames(cross, registry);
    CheckRouteEndpoints(cross, registry);
  }
  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) <
           std::tie(b.where.file, b.where.line, b.where.column);
  });
  diags.erase(std::unique(diags.begin(), diags.end(),
                          [](const Diagnostic& a, const Diagnostic& b) {
                            return a.ToString() == b.ToString();
                          }),
              diags.end());
  if (diags.empty()) {
    std::set<std::string> gpu_types(registry.gpu_types.begin(), registry.gpu_types.end());
    for (Workload& w : state->workloads) {
      std::string key = ResolveGpuType(w.gpu_type, gpu_types);
      if (!key.empty()) w.gpu_type = key;
    }
    result.state = std::move(state);
  }
  return result;
}

}  // namespace

std::string Diagnostic::ToString() const {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
         message;
}

LoadResult LoadDesiredState(const std::vector<SourceFile>& files) {
  try {
    return Load(files);
  } catch (const std::bad_alloc&) {
    LoadResult r;
    r.diagnostics.push_back({{files.empty() ? "" : files[0].path, 1, 1},
                             "out of memory while loading; expected a smaller repository"});
    return r;
  } catch (const std::exception& e) {
    LoadResult r;
    r.diagnostics.push_back({{files.empty() ? "" : files[0].path, 1, 1},
                             std::string("internal error while loading: ") + e.what() +
                                 "; expected no error here (please report it)"});
    return r;
  }
}

StatusOr<std::vector<SourceFile>> ReadDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path root(dir);
  if (!fs::is_directory(root, ec)) {
    return NotFoundError("not a directory: " + dir);
  }
  std::vector<SourceFile> files;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) return InvalidArgumentError("cannot read directory " + dir + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return InvalidArgumentError("cannot read directory " + dir + ": " + ec.message());
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (it->is_directory(ec)) {
      if (!name.empty() && name[0] == '.') it.disable_recursion_pending();
      continue;
    }
    std::string ext = p.extension().string();
    if (ext != ".yaml" && ext != ".yml") continue;
    if (!it->is_regular_file(ec)) continue;
    std::ifstream in(p, std::ios::binary);
    if (!in) return InvalidArgumentError("cannot open " + p.string());
    std::string content;
    char buf[65536];
    while (in && content.size() <= kMaxFileBytes) {
      in.read(buf, sizeof buf);
      content.append(buf, static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) return InvalidArgumentError("cannot read " + p.string());
    files.push_back({p.lexically_relative(root).generic_string(), std::move(content)});
  }
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  return files;
}

}  // namespace bursar::config
