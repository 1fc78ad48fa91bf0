// Internal to config/: the building blocks the kind decoders share. Not for use outside the
// area (the public surface is config/loader.h).
//
// A Decoder collects diagnostics for one file; readers report an error and return false when a
// value is missing or malformed, so decoding goes on and every error is found.
// Names and cross-document references are recorded in a Registry and checked after all files
// are decoded. Single-threaded; no exceptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/fields.h"
#include "config/loader.h"
#include "config/model.h"
#include "config/yaml_tree.h"

namespace bursar::config::internal {

// Where in a document a node sits, for messages: subject `Route "chat"`, path
// `spec.targets[0]`; `table` is the FieldTable path ("spec.targets[]").
struct Path {
  std::string subject;
  std::string path;
  std::string table;
  std::string kind = {};  // bursar kind, for the field and enum tables ("" for Kubernetes)

  Path Field(std::string_view f) const;
  Path Index(size_t i) const;                 // path "x[3]", table "x[]"
  Path MapValue(std::string_view key) const;  // path "x.key", table "x{}"
  // `Route "chat" spec.targets[0]` (or just the subject at the document's root).
  std::string Describe() const;
};

// A declared name, e.g. Model "gpt-4o-mini" at models/openai.yaml:4:9.
struct NameDecl {
  std::string kind;
  std::string name;
  SourceLocation where;
};

// A reference from one document to a named thing, checked once everything is loaded.
struct Reference {
  // Model, Route, ApiKey, Workload ("Kind/name"), GpuType, RouteTarget (a Model among the
  // targets of `route`), NonProductionWorkload (a Workload not labelled env=prod)
  std::string target_kind;
  std::string name;
  SourceLocation where;  // of the referring value
  std::string from;      // `Route "chat" spec.targets[0].model`
  std::string route;     // target_kind "RouteTarget": the Route whose targets must hold `name`
};

struct Registry {
  std::vector<NameDecl> names;
  std::vector<Reference> refs;
  std::vector<std::string> gpu_types;                             // declared in PriceCatalogs
  std::map<std::string, std::vector<std::string>> route_targets;  // Route name -> target Models
  std::set<std::string> production_workloads;           // "Kind/name" labelled env=prod|production
  std::map<std::string, bool> model_serves_embeddings;  // Model name -> has modality embedding
  // Every target and fallback of every route, in order: they must serve the same endpoint.
  struct RouteMember {
    std::string route;
    std::string model;
    SourceLocation where;
    std::string from;  // `Route "chat" spec.fallbacks[0]`
  };
  std::vector<RouteMember> route_members;
};

class Decoder {
 public:
  Decoder(std::string file, std::vector<Diagnostic>* out, Registry* registry)
      : file_(std::move(file)), out_(out), registry_(registry) {}

  const std::string& file() const { return file_; }
  Registry& registry() { return *registry_; }
  SourceLocation Where(const YamlNode& n) const { return {file_, n.line, n.column}; }
  void Error(const YamlNode& at, const std::string& message);
  void Error(int line, int column, const std::string& message);
  void Error(const SourceLocation& where, const std::string& message);

  void Declare(std::string kind, std::string name, const YamlNode& at);
  void Refer(std::string target_kind, std::string name, const YamlNode& at, const Path& from);

  // ---- readers: each reports what is wrong and what was expected, then returns false.
  // `expect` completes "expected ..." in messages, e.g. "a http(s) URL".

  // A scalar as text. Refuses values that look like plaintext secrets (config/syntax.h).
  bool ReadString(const YamlNode* n, const Path& p, std::string_view expect, std::string* out);
  bool ReadInt(const YamlNode* n, const Path& p, int64_t min, int64_t max, int64_t* out);
  bool ReadInt(const YamlNode* n, const Path& p, int min, int max, int* out);
  bool ReadBool(const YamlNode* n, const Path& p, bool* out);
  // A decimal given as a number or string, parsed exactly from its text to 10^-digits units.
  bool ReadDecimal(const YamlNode* n, const Path& p, int digits, bool allow_negative, int64_t* out);
  bool ReadDuration(const YamlNode* n, const Path& p, bool allow_zero,
                    std::chrono::milliseconds* out);
  bool ReadSeconds(const YamlNode* n, const Path& p, std::chrono::seconds* out);
  // One of the values of the EnumTable for (p.kind, p.table); `*out` is its index.
  bool ReadEnum(const YamlNode* n, const Path& p, int* out);
  bool ReadStringList(const YamlNode* n, const Path& p, std::string_view expect,
                      std::vector<std::string>* out, std::vector<const YamlNode*>* nodes = nullptr);
  bool ReadStringMap(const YamlNode* n, const Path& p, std::map<std::string, std::string>* out);
  bool ReadCurrency(const YamlNode* n, const Path& p, std::string* out);
  bool ReadName(const YamlNode* n, const Path& p, std::string* out);

  void WrongType(const YamlNode& n, const Path& p, std::string_view expect);
  void Missing(const YamlNode& parent, const Path& p, std::string_view field,
               std::string_view expect);

 private:
  std::string file_;
  std::vector<Diagnostic>* out_;
  Registry* registry_;
};

// A mapping checked against its FieldTable: reports a non-mapping, duplicate keys, non-string
// keys and unknown fields (or, when `strict` is false, accepts any field).
class Fields {
 public:
  // `secret_fields` are names reported as plaintext secrets rather than as unknown fields.
  Fields(Decoder& d, const YamlNode* node, const Path& path, std::string_view kind,
         bool strict = true, std::initializer_list<std::string_view> secret_fields = {},
         std::string_view secret_hint = {});

  bool ok() const { return ok_; }
  const YamlNode* node() const { return node_; }
  const Path& path() const { return path_; }
  const YamlNode* Get(std::string_view key) const;
  const YamlNode* Key(std::string_view key) const;
  // Reports a missing required field and returns nullptr.
  const YamlNode* Require(std::string_view key, std::string_view expect) const;
  Path At(std::string_view key) const { return path_.Field(key); }
  const std::vector<std::pair<const YamlNode*, const YamlNode*>>& entries() const;

 private:
  Decoder& d_;
  const YamlNode* node_;
  Path path_;
  bool ok_ = false;
  std::vector<std::pair<const YamlNode*, const YamlNode*>> entries_;  // unique string keys
  std::vector<std::string> unknown_;                                  // reported unknown keys
};

// "a, b, c" (at most `max` items, then ", ...").
std::string JoinNames(const std::vector<std::string>& names, size_t max = 12);
// Whether `a` looks like a misspelling of `b` (edit distance 1 for short names, else 2; case
// differences count as equal, so "baseURL" is a near miss of "baseUrl").
bool IsNearMiss(std::string_view a, std::string_view b);
// Whether `a` looks like a misspelling of `b` (edit distance 1 for short names, else 2; case
// differences count as equal, so "baseURL" is a near miss of "baseUrl").
bool IsNearMiss(std::string_view a, std::string_view b);
// `s` as valid UTF-8 without control characters (others escaped as \xNN), at most
// `max_chars` characters then "...".
std::string Printable(std::string_view s, size_t max_chars);
std::string Quote(std::string_view s);  // "\"s\"", shortened to 60 characters

// Kind decoders: `doc` is the document's root mapping (already checked), `meta` its metadata.
void DecodeModel(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state);
void DecodeRoute(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state);
void DecodeApiKey(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state);
void DecodeBudget(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state);
void DecodeAlertPolicy(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state);
void DecodeRemediation(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state);
void DecodePriceCatalog(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state);

// A Kubernetes workload document (Deployment, StatefulSet, DaemonSet, Job, CronJob).
void DecodeWorkload(Decoder& d, const YamlNode& root, std::string api_version,
                    const std::string& kind, DesiredState* state);

}  // namespace bursar::config::internal
