#include "gateway/snapshot.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>

#include "common/json_text.h"
#include "common/sha256.h"
#include "gateway/http_types.h"

namespace bursar::gateway {

namespace {
int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AddPrice(std::string& out, const char* name, Picos p) {
  if (p == 0) return;
  out += out.size() > 1 ? ",\"" : "\"";
  out += name;
  out += "\":";
  out += std::to_string(p);
}

StatusOr<std::string> DigestFromHex(std::string_view hex) {
  if (hex.substr(0, 7) == "sha256:") hex.remove_prefix(7);
  if (hex.size() != 64) return InvalidArgumentError("key hash is not 64 hex digits");
  std::string out(32, '\0');
  for (size_t i = 0; i < 32; ++i) {
    int hi = HexVal(hex[2 * i]), lo = HexVal(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgumentError("key hash is not hex");
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}
}  // namespace

std::string PriceJson(const config::ModelPricing& p) {
  std::string out = "{";
  AddPrice(out, "input_cost_per_token", p.input_cost_per_token);
  AddPrice(out, "cache_read_input_token_cost", p.cache_read_input_token_cost);
  AddPrice(out, "output_cost_per_token", p.output_cost_per_token);
  AddPrice(out, "output_cost_per_reasoning_token", p.output_cost_per_reasoning_token);
  AddPrice(out, "input_cost_per_image", p.input_cost_per_image);
  AddPrice(out, "input_cost_per_image_token", p.input_cost_per_image_token);
  AddPrice(out, "input_cost_per_audio_token", p.input_cost_per_audio_token);
  AddPrice(out, "output_cost_per_audio_token", p.output_cost_per_audio_token);
  AddPrice(out, "input_cost_per_audio_per_second", p.input_cost_per_audio_per_second);
  out += "}";
  return out;
}

const config::Route* Snapshot::FindRoute(std::string_view name) const {
  auto it = routes.find(name);
  return it == routes.end() ? nullptr : it->second;
}

const ModelEntry* Snapshot::FindModel(std::string_view name) const {
  auto it = models.find(name);
  return it == models.end() ? nullptr : &it->second;
}

const config::ApiKey* Snapshot::Authenticate(std::string_view presented) const {
  if (presented.empty()) return nullptr;
  std::string digest = Sha256Raw(presented);
  auto it = keys_by_digest.find(digest);
  if (it == keys_by_digest.end()) return nullptr;
  // The map matched on the digest; compare again in constant time so that the comparison that
  // grants access leaks nothing about how many bytes matched.
  if (CRYPTO_memcmp(it->first.data(), digest.data(), digest.size()) != 0) return nullptr;
  return it->second;
}

const config::ApiKey* KeyMemo::Authenticate(const SnapshotPtr& snapshot,
                                            std::string_view presented) {
  if (snapshot == snapshot_ && !presented.empty() && presented.size() == presented_.size() &&
      CRYPTO_memcmp(presented.data(), presented_.data(), presented.size()) == 0) {
    return key_;
  }
  const config::ApiKey* key = snapshot->Authenticate(presented);
  if (key) {
    snapshot_ = snapshot;
    presented_.assign(presented);
    key_ = key;
  }
  return key;
}

std::string Snapshot::ModelsJson(const config::ApiKey& key) const {
  std::string out = R"({"object":"list","data":[)";
  bool first = true;
  for (const auto& route : state->routes) {
    if (!key.routes.empty() &&
        std::find(key.routes.begin(), key.routes.end(), route.meta.name) == key.routes.end()) {
      continue;
    }
    if (!first) out += ',';
    first = false;
    out += R"({"id":")";
    AppendJsonEscaped(&out, route.meta.name);
    out += R"(","object":"model","created":0,"owned_by":"bursar"})";
  }
  out += "]}";
  return out;
}

StatusOr<SnapshotPtr> BuildSnapshot(const config::DesiredStatePtr& state, CircuitBreakers& breakers,
                                    GetEnvFn getenv) {
  if (!state) return InvalidArgumentError("no configuration");
  if (!getenv) {
    getenv = [](const std::string& name) {
      const char* v = std::getenv(name.c_str());
      return std::string(v ? v : "");
    };
  }
  auto snap = std::make_shared<Snapshot>();
  snap->state = state;
  snap->commit = state->revision;
  for (const auto& key : state->api_keys) {
    auto digest = DigestFromHex(key.key_sha256);
    if (!digest.ok()) {
      return InvalidArgumentError("ApiKey " + key.meta.name + ": " + digest.status().message());
    }
    snap->keys_by_digest.emplace(std::move(digest).value(), &key);
  }
  for (const auto& route : state->routes) snap->routes.emplace(route.meta.name, &route);
  for (const auto& model : state->models) {
    ModelEntry entry;
    entry.model = &model;
    auto target = UpstreamTarget::Parse(model.base_url);
    if (!target.ok()) {
      return InvalidArgumentError("Model " + model.meta.name + ": " + target.status().message());
    }
    entry.target = std::move(target).value();
    snap->any_tls = snap->any_tls || entry.target.tls;
    if (!model.api_key_env.empty()) entry.api_key = getenv(model.api_key_env);
    entry.breaker = breakers.Get(model.meta.name);
    entry.price_json = PriceJson(model.pricing);
    snap->models.emplace(model.meta.name, std::move(entry));
  }
  return SnapshotPtr(std::move(snap));
}

void SnapshotHolder::Publish(SnapshotPtr snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(snapshot);
  version_.fetch_add(1, std::memory_order_acq_rel);
}

SnapshotPtr SnapshotHolder::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

}  // namespace bursar::gateway
