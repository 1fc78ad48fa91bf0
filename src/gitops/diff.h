// Resource diff: which documents of a desired-state repository were added, removed or changed
// between two sets of files (two revisions), with a field-level path for every change.
//
// Documents are keyed by (apiVersion, kind, metadata.namespace, metadata.name); a document moved
// to another file is not a change. Fields are compared by walking the two YAML trees
// generically: maps by key; lists by index, except lists whose items are all maps with a unique
// `name` (else `model`) key, which are matched by that key and shown as
// `spec.targets[model=llama-v2].weight`. Scalars compare by their text (10 and "10" are equal).
// Map keys with '.', '[', ']' or spaces are quoted: metadata.labels["app.kubernetes.io/name"].
// The diff does not validate: it works on any well-formed YAML (parsed by config/yaml_tree.h,
// with its depth and alias limits), so a broken revision can still be compared.
//
// Pure functions; thread-safe. Errors: InvalidArgument for YAML that does not parse
// ("file:line:column: message") or for two documents with the same key in one revision.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/loader.h"

namespace bursar::gitops {

struct ResourceKey {
  std::string api_version;
  std::string kind;
  std::string ns;  // metadata.namespace, usually empty
  std::string name;
  std::string ToString() const;  // "Kind/name" or "Kind/namespace/name"
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  auto operator<=>(const ResourceKey&) const = default;
};

struct FieldChange {
  std::string path;                   // "spec.targets[1].weight"
  std::optional<std::string> before;  // absent: the field was added
  std::optional<std::string> after;   // absent: the field was removed
  // Values are YAML flow text: plain scalars as written, quoted ones in double quotes:
  // 10, "a b", [a, b], {x: 1}. The *_json twins hold the same
  // values as JSON text: integers, booleans and null typed; every other scalar a string (so
  // decimals such as prices keep their exact text); maps and lists as objects and arrays.
  std::optional<std::string> before_json;
  std::optional<std::string> after_json;
  std::string ToString() const;  // "spec.targets[1].weight: 10 -> 20"
};

enum class ChangeType { kAdded, kRemoved, kChanged };

struct ResourceChange {
  ChangeType type = ChangeType::kChanged;
  ResourceKey key;
  std::string file_before;          // "" when added
  std::string file_after;           // "" when removed
  std::vector<FieldChange> fields;  // kChanged only, in document order
};

struct DiffResult {
  std::string from_rev, to_rev;         // as given
  std::string from_commit, to_commit;   // resolved ids ("" for plain file sets)
  std::vector<ResourceChange> changes;  // sorted by key
  int added() const;
  int removed() const;
  int changed() const;
};

// Diffs two file sets; `from` is the older one.
StatusOr<DiffResult> DiffFiles(const std::vector<config::SourceFile>& from,
                               const std::vector<config::SourceFile>& to);

// Human-readable: one line per resource ("+ ", "- ", "~ ") and one indented line per field,
// then a summary line.
std::string FormatDiffTable(const DiffResult& diff);

// {"from":{"rev","commit"},"to":{...},"summary":{"added","removed","changed"},
//  "changes":[{"type","apiVersion","kind","namespace","name","fileBefore","fileAfter",
//              "fields":[{"path","before","after"}]}]}; before/after are the *_json values,
// and a side that is absent is left out of its field object.
std::string FormatDiffJson(const DiffResult& diff);

}  // namespace bursar::gitops
