// The gateway's view of one configuration: the validated config::DesiredState plus the lookup
// tables the request path needs (API keys by SHA-256 digest, routes and models by name, the
// upstream address and key of every Model, the prebuilt GET /v1/models body) and the commit id.
//
// A Snapshot is immutable once built and shared as std::shared_ptr<const Snapshot>; a request
// keeps the snapshot it started with until it finishes. SnapshotHolder publishes a new one (live
// re-sync calls Publish) and lets each worker notice it through a version number, so the hot
// path reads one atomic integer and no lock; the mutex is taken only when the version changed.
// Upstream API keys are read from the environment once, when the snapshot is built.
// Errors: BuildSnapshot gives InvalidArgument for an unusable Model base URL or key hash.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"
#include "config/model.h"
#include "gateway/router.h"
#include "gateway/upstream_client.h"

namespace bursar::gateway {

struct ModelEntry {
  const config::Model* model = nullptr;
  UpstreamTarget target;
  std::string api_key;  // from the environment variable Model::api_key_env ("" when unset)
  std::shared_ptr<CircuitBreaker> breaker;
  std::string price_json;  // PriceJson(model->pricing), for spend records
};

struct Snapshot {
  config::DesiredStatePtr state;
  std::string commit;  // revision of the configuration ("" for a plain directory)
  // SHA-256 digest (32 raw bytes as a string) -> key.
  std::unordered_map<std::string, const config::ApiKey*> keys_by_digest;
  std::unordered_map<std::string_view, const config::Route*> routes;
  std::unordered_map<std::string_view, ModelEntry> models;
  bool any_tls = false;

  const config::Route* FindRoute(std::string_view name) const;
  const ModelEntry* FindModel(std::string_view name) const;
  // The key whose digest equals SHA-256(`presented`), compared in constant time; null if none.
  const config::ApiKey* Authenticate(std::string_view presented) const;
  // GET /v1/models for `key` (routes it may use), OpenAI list shape.
  std::string ModelsJson(const config::ApiKey& key) const;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;
using GetEnvFn = std::function<std::string(const std::string& name)>;

// Builds the lookup tables. `breakers` supplies (and keeps across snapshots) each Model's breaker.
// `getenv` defaults to the process environment.
StatusOr<SnapshotPtr> BuildSnapshot(const config::DesiredStatePtr& state, CircuitBreakers& breakers,
                                    GetEnvFn getenv = nullptr);

// A worker's memo of the last key it authenticated and the snapshot it was found in: a keep-alive
// client sends the same key with every request, and comparing it (in constant time) costs a
// fraction of hashing it. A different snapshot or a different key goes through
// Snapshot::Authenticate; only keys that authenticated are remembered. It holds the presented key
// in memory, as the connection's buffer does, and a reference to one snapshot. Not thread-safe
// (one per worker).
class KeyMemo {
 public:
  const config::ApiKey* Authenticate(const SnapshotPtr& snapshot, std::string_view presented);

 private:
  SnapshotPtr snapshot_;
  std::string presented_;
  const config::ApiKey* key_ = nullptr;
};

class SnapshotHolder {
 public:
  void Publish(SnapshotPtr snapshot);
  SnapshotPtr Current() const;
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // A worker's cached view: Get() re-reads the holder only when the version moved.
  class Reader {
   public:
    explicit Reader(const SnapshotHolder& holder) : holder_(holder) {}
    const SnapshotPtr& Get() {
      uint64_t v = holder_.version();
      if (v != seen_) {
        current_ = holder_.Current();
        seen_ = v;
      }
      return current_;
    }

   private:
    const SnapshotHolder& holder_;
    uint64_t seen_ = 0;
    SnapshotPtr current_;
  };

 private:
  mutable std::mutex mu_;  // guards current_
  SnapshotPtr current_;
  std::atomic<uint64_t> version_{0};
};

// Compact JSON of the non-zero unit prices (pico-units), LiteLLM field names, e.g.
// {"input_cost_per_token":150000,"output_cost_per_token":600000}.
std::string PriceJson(const config::ModelPricing& p);

}  // namespace bursar::gateway
