// The field names (and enumerated values) the loader accepts, per bursar kind and path. The loader
// checks every mapping of a bursar document against this table (unknown fields are errors), and a
// test compares it to schema/bursar.schema.json so the schema and the loader cannot drift.
//
// Thread safety: the table is immutable static data.
#pragma once

#include <span>
#include <string_view>

namespace bursar::config {

struct FieldTable {
  std::string_view kind;  // "Model", "Route", ...
  std::string_view path;  // "" (document), "metadata", "spec", "spec.targets[]", ...
  std::span<const std::string_view> fields;
};

// The values accepted by an enumerated field, in the order of the matching C++ enum (if any).
struct EnumTable {
  std::string_view kind;
  std::string_view path;  // "spec.period", "spec.modalities[]", ...
  std::span<const std::string_view> values;
};

// Every table, for every bursar kind.
std::span<const FieldTable> KnownFieldTables();

// The fields accepted at (kind, path), or nullptr when there is no table for it.
const FieldTable* FindFieldTable(std::string_view kind, std::string_view path);

std::span<const EnumTable> KnownEnumTables();
const EnumTable* FindEnumTable(std::string_view kind, std::string_view path);

// The bursar kinds, in the order documented.
std::span<const std::string_view> BursarKinds();

}  // namespace bursar::config
