#include "finops/focus.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "finops/flat_map.h"

namespace bursar::finops {
namespace {

using K = ColumnKind;

const std::vector<FocusColumn>& Catalogue() {
  static const std::vector<FocusColumn> kColumns = {
      // FOCUS 1.0
      {"AvailabilityZone", "", "availability_zone", K::kText, 10, false},
      {"BilledCost", "", "billed_cost", K::kCost, 10, true},
      {"BillingAccountId", "", "billing_account_id", K::kText, 10, false},
      {"BillingAccountName", "", "billing_account_name", K::kText, 10, false},
      {"BillingCurrency", "", "billing_currency", K::kText, 10, true},
      {"BillingPeriodEnd", "", "billing_period_end", K::kTime, 10, false},
      {"BillingPeriodStart", "", "billing_period_start", K::kTime, 10, false},
      {"ChargeCategory", "", "charge_category", K::kEnum, 10, true},
      {"ChargeClass", "", "charge_class", K::kEnum, 10, false},
      {"ChargeDescription", "", "charge_description", K::kText, 10, false},
      {"ChargeFrequency", "", "charge_frequency", K::kEnum, 10, false},
      {"ChargePeriodEnd", "", "charge_period_end", K::kTime, 10, true},
      {"ChargePeriodStart", "", "charge_period_start", K::kTime, 10, true},
      {"CommitmentDiscountCategory", "", "commitment_discount_category", K::kEnum, 10, false},
      {"CommitmentDiscountId", "", "commitment_discount_id", K::kText, 10, false},
      {"CommitmentDiscountName", "", "commitment_discount_name", K::kText, 10, false},
      {"CommitmentDiscountStatus", "", "commitment_discount_status", K::kEnum, 10, false},
      {"CommitmentDiscountType", "", "commitment_discount_type", K::kText, 10, false},
      {"ConsumedQuantity", "", "consumed_quantity", K::kDecimal, 10, false},
      {"ConsumedUnit", "", "consumed_unit", K::kText, 10, false},
      {"ContractedCost", "", "contracted_cost", K::kCost, 10, false},
      {"ContractedUnitPrice", "", "contracted_unit_price", K::kDecimal, 10, false},
      {"EffectiveCost", "", "effective_cost", K::kCost, 10, false},
      {"InvoiceIssuerName", "", "invoice_issuer_name", K::kText, 10, false},
      {"ListCost", "", "list_cost", K::kCost, 10, false},
      {"ListUnitPrice", "", "list_unit_price", K::kDecimal, 10, false},
      {"PricingCategory", "", "pricing_category", K::kEnum, 10, false},
      {"PricingQuantity", "", "pricing_quantity", K::kDecimal, 10, false},
      {"PricingUnit", "", "pricing_unit", K::kText, 10, false},
      {"ServiceProviderName", "ProviderName", "provider_name", K::kEnum, 10, true},
      {"HostProviderName", "PublisherName", "publisher_name", K::kText, 10, false},
      {"RegionId", "", "region_id", K::kText, 10, false},
      {"RegionName", "", "region_name", K::kText, 10, false},
      {"ResourceId", "", "resource_id", K::kText, 10, false},
      {"ResourceName", "", "resource_name", K::kText, 10, false},
      {"ResourceType", "", "resource_type", K::kText, 10, false},
      {"ServiceCategory", "", "service_category", K::kEnum, 10, false},
      {"ServiceName", "", "service_name", K::kText, 10, true},
      {"SkuId", "", "sku_id", K::kText, 10, false},
      {"SkuPriceId", "", "sku_price_id", K::kText, 10, false},
      {"SubAccountId", "", "sub_account_id", K::kText, 10, false},
      {"SubAccountName", "", "sub_account_name", K::kText, 10, false},
      {"Tags", "", "tags", K::kTags, 10, false},
      // FOCUS 1.1
      {"CapacityReservationId", "", "capacity_reservation_id", K::kText, 11, false},
      {"CapacityReservationStatus", "", "capacity_reservation_status", K::kEnum, 11, false},
      {"CommitmentDiscountQuantity", "", "commitment_discount_quantity", K::kDecimal, 11, false},
      {"CommitmentDiscountUnit", "", "commitment_discount_unit", K::kText, 11, false},
      {"ServiceSubcategory", "", "service_subcategory", K::kText, 11, false},
      {"SkuMeter", "", "sku_meter", K::kText, 11, false},
      {"SkuPriceDetails", "", "sku_price_details", K::kText, 11, false},
      // FOCUS 1.2
      {"BillingAccountType", "", "billing_account_type", K::kText, 12, false},
      {"SubAccountType", "", "sub_account_type", K::kText, 12, false},
      {"InvoiceId", "", "invoice_id", K::kText, 12, false},
      {"PricingCurrency", "", "pricing_currency", K::kText, 12, false},
      {"PricingCurrencyContractedUnitPrice", "", "pricing_currency_contracted_unit_price",
       K::kDecimal, 12, false},
      {"PricingCurrencyEffectiveCost", "", "pricing_currency_effective_cost", K::kCost, 12, false},
      {"PricingCurrencyListUnitPrice", "", "pricing_currency_list_unit_price", K::kDecimal, 12,
       false},
  };
  return kColumns;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Lower case without spaces, '-', '_', '/', '&' and '.': "Usage-based" -> "usagebased".
std::string FoldKey(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == ' ' || c == '-' || c == '_' || c == '/' || c == '&' || c == '.') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

void AppendJsonMember(std::string* obj, std::string_view key, std::string_view value) {
  obj->push_back(obj->empty() ? '{' : ',');
  bursar::AppendJsonString(obj, key);
  obj->push_back(':');
  bursar::AppendJsonString(obj, value);
}

using EnumTable = std::map<std::string, std::string_view, std::less<>>;

// Index of ChargePeriodStart in the catalogue.
constexpr size_t kChargePeriodStartIndex = 12;

std::map<std::string_view, EnumTable>& ExactTablesMutable() {
  static auto* kExact = new std::map<std::string_view, EnumTable>;
  return *kExact;
}

// Canonical values and aliases per enum column, keyed by FoldKey (and, in ExactEnumTables, by
// their exact spelling).
const std::map<std::string_view, EnumTable>& EnumTables() {
  static const auto* kTables = [] {
    auto* t = new std::map<std::string_view, EnumTable>;
    auto add = [&](std::string_view col, std::initializer_list<std::string_view> canon,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> alias) {
      EnumTable& table = (*t)[col];
      EnumTable& exact = ExactTablesMutable()[col];
      for (std::string_view c : canon) {
        table[FoldKey(c)] = c;
        exact[std::string(c)] = c;
      }
      for (auto [a, c] : alias) {
        table[FoldKey(a)] = c;
        exact[std::string(a)] = c;
      }
    };
    add("charge_category", {"Usage", "Purchase", "Tax", "Credit", "Adjustment"},
        {{"Refund", "Credit"},
         {"Credits", "Credit"},
         {"Purchases", "Purchase"},
         {"Taxes", "Tax"},
         {"Fee", "Purchase"}});
    add("charge_class", {"Correction"}, {});
    add("charge_frequency", {"One-Time", "Recurring", "Usage-Based"},
        {{"Usage", "Usage-Based"}, {"OneOff", "One-Time"}, {"Once", "One-Time"}});
    add("service_category",
        {"AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
         "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
         "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
         "Storage", "Web", "Other"},
        {{"AI/ML", "AI and Machine Learning"},
         {"AI", "AI and Machine Learning"},
         {"Machine Learning", "AI and Machine Learning"},
         {"ML", "AI and Machine Learning"},
         {"AI & Machine Learning", "AI and Machine Learning"},
         {"Database", "Databases"},
         {"Network", "Networking"},
         {"IoT", "Internet of Things"},
         {"Management & Governance", "Management and Governance"}});
    add("commitment_discount_category", {"Spend", "Usage"}, {});
    add("commitment_discount_status", {"Used", "Unused"}, {});
    add("capacity_reservation_status", {"Used", "Unused"}, {});
    add("pricing_category", {"Standard", "Dynamic", "Committed", "Other"},
        {{"On Demand", "Standard"}, {"OnDemand", "Standard"}, {"Spot", "Dynamic"}});
    add("provider_name", {"AWS", "Microsoft", "Google Cloud", "Oracle"},
        {{"Amazon Web Services", "AWS"},
         {"Amazon", "AWS"},
         {"Azure", "Microsoft"},
         {"Microsoft Azure", "Microsoft"},
         {"Google", "Google Cloud"},
         {"GCP", "Google Cloud"},
         {"Google Cloud Platform", "Google Cloud"},
         {"OCI", "Oracle"},
         {"Oracle Cloud Infrastructure", "Oracle"},
         {"Oracle Cloud", "Oracle"}});
    return t;
  }();
  return *kTables;
}

const std::map<std::string_view, EnumTable>& ExactEnumTables() {
  EnumTables();  // fills both
  return ExactTablesMutable();
}

// Per catalogue column, the exact spellings its enum table knows (hashed; nullptr for a column
// without a table): ParseFocusRow looks every enum value up here first.
struct ExactEnumIndex {
  FlatTextMap ids;                      // spelling -> index into canon
  std::vector<std::string_view> canon;  // the spec's spelling
};

const std::vector<const ExactEnumIndex*>& ExactEnumIndexes() {
  static const auto* kIndexes = [] {
    auto* out = new std::vector<const ExactEnumIndex*>(Catalogue().size(), nullptr);
    const auto& exact = ExactEnumTables();
    for (size_t c = 0; c < Catalogue().size(); ++c) {
      auto t = exact.find(Catalogue()[c].sql);
      if (t == exact.end()) continue;
      auto* index = new ExactEnumIndex;
      for (const auto& [spelling, canon] : t->second) {
        index->ids.Insert(spelling, static_cast<int64_t>(index->canon.size()));
        index->canon.push_back(canon);
      }
      (*out)[c] = index;
    }
    return out;
  }();
  return *kIndexes;
}

std::vector<std::string> BuildStoredNames() {
  std::vector<std::string> names;
  for (const FocusColumn& c : Catalogue()) {
    if (c.kind == K::kTags) continue;  // the store turns tags into tagset_id
    names.emplace_back(c.sql);
    if (c.kind == K::kCost) names.push_back(std::string(c.sql) + "_pico");
  }
  return names;
}

}  // namespace

std::string_view ToString(FocusVersion v) {
  switch (v) {
    case FocusVersion::k1_0:
      return "1.0";
    case FocusVersion::k1_1:
      return "1.1";
    case FocusVersion::k1_2:
      return "1.2";
  }
  return "?";
}

const std::vector<FocusColumn>& FocusColumns() { return Catalogue(); }

int FindFocusColumn(std::string_view name) {
  name = Trim(name);
  const auto& cols = Catalogue();
  for (size_t i = 0; i < cols.size(); ++i) {
    if (EqualsIgnoreCase(cols[i].name, name) ||
        (!cols[i].alt.empty() && EqualsIgnoreCase(cols[i].alt, name))) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

const std::vector<bool>& StoredColumnIsDictionary() {
  static const std::vector<bool> kFlags = [] {
    std::vector<bool> flags;
    for (const FocusColumn& c : Catalogue()) {
      if (c.kind == K::kTags) continue;
      flags.push_back(c.kind == K::kText || c.kind == K::kEnum);
      if (c.kind == K::kCost) flags.push_back(false);
    }
    return flags;
  }();
  return kFlags;
}

const std::vector<std::string>& StoredColumnNames() {
  static const std::vector<std::string> kNames = BuildStoredNames();
  return kNames;
}

std::string_view NormalizeProvider(std::string_view value) {
  return NormalizeEnum("provider_name", value);
}

std::string_view NormalizeEnum(std::string_view column_sql, std::string_view value) {
  // Fast path: the value already has a spelling the table knows (no allocation).
  const auto& exact = ExactEnumTables();
  auto e = exact.find(column_sql);
  if (e == exact.end()) return value;
  if (auto hit = e->second.find(value); hit != e->second.end()) return hit->second;
  const auto& tables = EnumTables();
  auto t = tables.find(column_sql);
  if (t == tables.end()) return value;
  auto it = t->second.find(FoldKey(value));
  return it == t->second.end() ? value : it->second;
}

StatusOr<FocusSchema> DetectSchema(const CsvReader& header) {
  const auto& cols = Catalogue();
  FocusSchema schema;
  schema.index.assign(cols.size(), -1);
  schema.names.assign(cols.size(), std::string());
  schema.width = header.size();
  std::vector<bool> by_primary(cols.size(), false);
  int version = 10;
  auto where = header.name() + ":" + std::to_string(header.line()) + ": ";
  std::map<std::string, int> seen;
  for (size_t f = 0; f < header.size(); ++f) {
    std::string_view name = Trim(header.field(f));
    if (name.empty()) {
      return InvalidArgumentError(where + "header field " + std::to_string(f + 1) + " has no name");
    }
    std::string folded = FoldKey(name);
    if (!seen.emplace(folded, static_cast<int>(f)).second) {
      return InvalidArgumentError(where + "column " + std::string(name) + " appears twice");
    }
    int c = FindFocusColumn(name);
    if (c < 0) {
      schema.extras.emplace_back(static_cast<int>(f), std::string(name));
      continue;
    }
    bool primary = EqualsIgnoreCase(cols[c].name, name);
    // A 1.2 file may keep the deprecated spelling beside the new one: the new one wins.
    if (schema.index[c] >= 0) {
      if (primary && !by_primary[c]) {
        schema.extras.emplace_back(schema.index[c], std::string(cols[c].alt));
      } else {
        schema.extras.emplace_back(static_cast<int>(f), std::string(name));
        continue;
      }
    }
    schema.index[c] = static_cast<int>(f);
    schema.names[c] = std::string(name);
    by_primary[c] = primary;
    int since = cols[c].since;
    if (primary && !cols[c].alt.empty()) since = 12;  // ServiceProviderName, HostProviderName
    version = std::max(version, since);
  }
  schema.version = static_cast<FocusVersion>(version);
  std::vector<std::string> missing;
  for (size_t c = 0; c < cols.size(); ++c) {
    if (cols[c].required && schema.index[c] < 0) {
      std::string name(version >= 12 || cols[c].alt.empty() ? cols[c].name : cols[c].alt);
      missing.push_back(name);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return InvalidArgumentError(where + "not a FOCUS " + std::string(ToString(schema.version)) +
                                " header: missing required column" +
                                (missing.size() > 1 ? "s " : " ") + list);
  }
  return schema;
}

Status ParseFocusRow(const CsvReader& record, const FocusSchema& schema, FocusRow* row) {
  const auto& cols = Catalogue();
  const auto& enum_indexes = ExactEnumIndexes();
  const size_t stored = StoredColumnNames().size();
  if (row->values.size() != stored) row->values.assign(stored, Cell());
  row->tags = {};
  row->raw_json.clear();
  row->extra_json.clear();
  row->charge_period_start = 0;
  row->billed_cost = 0;
  auto error = [&](const FocusColumn& c, std::string_view value, std::string_view why) {
    std::string shown(value.substr(0, 80));
    return InvalidArgumentError(record.name() + ":" + std::to_string(record.line()) + ": column " +
                                std::string(c.name) + ": \"" + shown + "\" " + std::string(why));
  };
  if (record.size() != schema.width) {
    return InvalidArgumentError(record.name() + ":" + std::to_string(record.line()) + ": has " +
                                std::to_string(record.size()) + " fields, the header has " +
                                std::to_string(schema.width));
  }
  size_t out = 0;
  std::string_view last_cost_text;  // the last cost text parsed in this row, and its value
  Picos128 last_picos = 0;
  int64_t last_micros = 0, last_rem = 0;
  for (size_t c = 0; c < cols.size(); ++c) {
    const FocusColumn& col = cols[c];
    int f = schema.index[c];
    std::string_view v = f >= 0 ? record.field(static_cast<size_t>(f)) : std::string_view();
    bool null = IsNullField(v);
    if (col.kind == K::kTags) {
      if (!null) row->tags = v;
      continue;
    }
    Cell& slot = row->values[out++];
    if (null) {
      slot.type = Cell::kNull;
      if (col.kind == K::kCost) row->values[out++].type = Cell::kNull;
      if (col.kind == K::kCost && col.required) return error(col, v, "is required");
      if (col.kind == K::kTime && col.required) return error(col, v, "is required");
      continue;
    }
    switch (col.kind) {
      case K::kText:
        slot.type = Cell::kText;
        slot.s = v;
        break;
      case K::kEnum: {
        std::string_view t = Trim(v);
        std::string_view norm;
        const ExactEnumIndex* index = enum_indexes[c];
        if (const int64_t* hit = index ? index->ids.Find(t) : nullptr) {
          norm = index->canon[static_cast<size_t>(*hit)];
        } else {
          norm = NormalizeEnum(col.sql, t);
        }
        if (norm != v) AppendJsonMember(&row->raw_json, schema.names[c], v);
        slot.type = Cell::kText;
        slot.s = norm;
        break;
      }
      case K::kDecimal:
        if (!IsDecimal(v)) return error(col, v, "is not a decimal");
        slot.type = Cell::kText;
        slot.s = v;
        break;
      case K::kCost: {
        // Bills often repeat one amount in several cost columns: parse each text once per row.
        Picos128 picos;
        int64_t micros, rem;
        if (v.size() == last_cost_text.size() &&
            SameBytes(v.data(), last_cost_text.data(), v.size())) {
          picos = last_picos;
          micros = last_micros;
          rem = last_rem;
        } else {
          if (const char* why = ParsePicos(v, &picos)) return error(col, v, why);
          if (!SplitPicos(picos, &micros, &rem)) return error(col, v, "is out of range");
          last_cost_text = v;
          last_picos = picos;
          last_micros = micros;
          last_rem = rem;
        }
        slot.type = Cell::kInt;
        slot.i = micros;
        Cell& pico = row->values[out++];
        pico.type = Cell::kInt;
        pico.i = rem;
        if (c == 1) row->billed_cost = picos;
        break;
      }
      case K::kTime: {
        int64_t t;
        if (!ParseTimestamp(v, &t)) return error(col, v, "is not a timestamp");
        slot.type = Cell::kInt;
        slot.i = t;
        if (c == kChargePeriodStartIndex) row->charge_period_start = t;
        break;
      }
      case K::kTags:
        break;
    }
  }
  for (const auto& [f, name] : schema.extras) {
    std::string_view v = record.field(static_cast<size_t>(f));
    if (!IsNullField(v)) AppendJsonMember(&row->extra_json, name, v);
  }
  if (!row->raw_json.empty()) row->raw_json.push_back('}');
  if (!row->extra_json.empty()) row->extra_json.push_back('}');
  return OkStatus();
}

StatusOr<std::string> CanonicalTags(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgumentError("is not a JSON object");
  }
  std::map<std::string, std::string> tags;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    std::string key(Trim(it.key()));
    if (key.empty() || it.value().is_null()) continue;
    std::string value = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    tags[key] = value;
  }
  if (tags.empty()) return std::string();
  std::string out;
  for (const auto& [k, v] : tags) AppendJsonMember(&out, k, v);
  out.push_back('}');
  return out;
}

}  // namespace bursar::finops
