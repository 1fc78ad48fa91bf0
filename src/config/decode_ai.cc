// Decoders for the kinds the gateway serves from: Model and Route.
#include <algorithm>

#include "common/money.h"
#include "config/decode.h"
#include "config/syntax.h"

namespace bursar::config::internal {
namespace {

void DecodePricing(Decoder& d, const YamlNode* node, const Path& path, ModelPricing* p) {
  Fields f(d, node, path, "Model");
  if (!f.ok()) return;
  struct Field {
    std::string_view name;
    Picos ModelPricing::*member;
  };
  static constexpr Field kFields[] = {
      {"input_cost_per_token", &ModelPricing::input_cost_per_token},
      {"cache_read_input_token_cost", &ModelPricing::cache_read_input_token_cost},
      {"output_cost_per_token", &ModelPricing::output_cost_per_token},
      {"output_cost_per_reasoning_token", &ModelPricing::output_cost_per_reasoning_token},
      {"input_cost_per_image", &ModelPricing::input_cost_per_image},
      {"input_cost_per_image_token", &ModelPricing::input_cost_per_image_token},
      {"input_cost_per_audio_token", &ModelPricing::input_cost_per_audio_token},
      {"output_cost_per_audio_token", &ModelPricing::output_cost_per_audio_token},
      {"input_cost_per_audio_per_second", &ModelPricing::input_cost_per_audio_per_second},
  };
  for (const Field& field : kFields) {
    d.ReadDecimal(f.Get(field.name), f.At(field.name), kPicoDigits, false, &(p->*field.member));
  }
}

}  // namespace

void DecodeModel(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state) {
  Model m;
  m.meta = std::move(meta);
  Fields spec(d, doc.Require("spec", "a mapping with baseUrl, upstreamModel and pricing"),
              doc.At("spec"), "Model", true, {"apiKey", "key", "secret", "token", "password"},
              "apiKeyEnv: the name of an environment variable that holds the key");
  if (spec.ok()) {
    const YamlNode* url = spec.Require("baseUrl", "the upstream's http(s) base URL");
    if (d.ReadString(url, spec.At("baseUrl"), "a http(s) URL", &m.base_url)) {
      Status s = CheckUrl(m.base_url);
      if (!s.ok()) {
        d.Error(*url, "invalid URL " + Quote(m.base_url) + " for " + spec.At("baseUrl").Describe() +
                          ": " + s.message());
      }
    }
    d.ReadString(spec.Require("upstreamModel", "the model id sent upstream, e.g. gpt-4o-mini"),
                 spec.At("upstreamModel"), "a model id", &m.upstream_model);
    const YamlNode* env = spec.Get("apiKeyEnv");
    if (d.ReadString(env, spec.At("apiKeyEnv"), "an environment variable name", &m.api_key_env) &&
        !IsValidEnvName(m.api_key_env)) {
      d.Error(*env, "invalid environment variable name " + Quote(m.api_key_env) + " for " +
                        spec.At("apiKeyEnv").Describe() +
                        "; expected letters, digits and '_' not starting with a digit, such as "
                        "OPENAI_API_KEY");
    }
    d.ReadDuration(spec.Get("timeout"), spec.At("timeout"), false, &m.timeout);
    int scheme = 0;
    if (d.ReadEnum(spec.Get("imageTokens"), spec.At("imageTokens"), &scheme)) {
      m.image_tokens = static_cast<ImageTokenScheme>(scheme);
    }
    const YamlNode* mods = spec.Get("modalities");
    if (mods == nullptr) {
      m.modalities = {Modality::kText};
    } else if (!mods->IsSequence() || mods->items.empty()) {
      d.WrongType(*mods, spec.At("modalities"),
                  "a non-empty list of: text, image, audio, embedding");
    } else {
      for (size_t i = 0; i < mods->items.size(); ++i) {
        int v = 0;
        if (!d.ReadEnum(mods->items[i], spec.At("modalities").Index(i), &v)) {
          continue;
        }
        auto mod = static_cast<Modality>(v);
        if (std::find(m.modalities.begin(), m.modalities.end(), mod) != m.modalities.end()) {
          d.Error(*mods->items[i], "duplicate modality " + Quote(mods->items[i]->value) + " in " +
                                       spec.At("modalities").Describe() +
                                       "; expected each modality once");
          continue;
        }
        m.modalities.push_back(mod);
      }
      bool image = std::find(m.modalities.begin(), m.modalities.end(), Modality::kImage) !=
                   m.modalities.end();
      if (image && m.image_tokens == ImageTokenScheme::kNone &&
          spec.Get("imageTokens") == nullptr) {
        d.Error(*mods, spec.At("modalities").Describe() +
                           " includes image but imageTokens is not set; expected imageTokens: "
                           "openai, anthropic, gemini or flat");
      }
    }
    d.ReadCurrency(spec.Get("currency"), spec.At("currency"), &m.currency);
    DecodePricing(d, spec.Get("pricing"), spec.At("pricing"), &m.pricing);
  }
  if (!m.meta.name.empty()) {
    d.registry().model_serves_embeddings[m.meta.name] =
        std::find(m.modalities.begin(), m.modalities.end(), Modality::kEmbedding) !=
        m.modalities.end();
  }
  state->models.push_back(std::move(m));
}

void DecodeRoute(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state) {
  Route r;
  r.meta = std::move(meta);
  Fields spec(d, doc.Require("spec", "a mapping with targets"), doc.At("spec"), "Route");
  if (spec.ok()) {
    const YamlNode* targets = spec.Require("targets", "a list of {model, weight}");
    Path tpath = spec.At("targets");
    if (targets != nullptr) {
      if (!targets->IsSequence() || targets->items.empty()) {
        d.WrongType(*targets, tpath, "a non-empty list of {model, weight}");
      } else {
        bool weights_ok = true;
        int sum = 0;
        bool many = targets->items.size() > 1;
        for (size_t i = 0; i < targets->items.size(); ++i) {
          Fields t(d, targets->items[i], tpath.Index(i), "Route");
          if (!t.ok() || t.node()->IsNull()) {
            if (t.ok()) d.WrongType(*t.node(), tpath.Index(i), "a mapping {model, weight}");
            weights_ok = false;
            continue;
          }
          RouteTarget target;
          const YamlNode* model = t.Require("model", "the name of a Model");
          if (d.ReadName(model, t.At("model"), &target.model)) {
            d.Refer("Model", target.model, *model, t.At("model"));
            d.registry().route_members.push_back(
                {r.meta.name, target.model, d.Where(*model), t.At("model").Describe()});
            for (const RouteTarget& other : r.targets) {
              if (other.model == target.model) {
                d.Error(*model, "duplicate target " + Quote(target.model) + " in " +
                                    tpath.Describe() + "; expected each model once per route");
              }
            }
          }
          const YamlNode* weight =
              many ? t.Require("weight", "a percentage; a route's weights sum to 100")
                   : t.Get("weight");
          if (weight != nullptr || many) {
            if (!d.ReadInt(weight, t.At("weight"), 0, 100, &target.weight)) weights_ok = false;
          }
          sum += target.weight;
          r.targets.push_back(std::move(target));
        }
        if (weights_ok && sum != 100) {
          d.Error(*targets, "route weights sum to " + std::to_string(sum) + " in " +
                                tpath.Describe() + "; expected 100");
        }
      }
    }
    std::vector<const YamlNode*> nodes;
    if (d.ReadStringList(spec.Get("fallbacks"), spec.At("fallbacks"), "Model names", &r.fallbacks,
                         &nodes)) {
      for (size_t i = 0; i < nodes.size(); ++i) {
        d.Refer("Model", r.fallbacks[i], *nodes[i], spec.At("fallbacks").Index(i));
        d.registry().route_members.push_back({r.meta.name, r.fallbacks[i], d.Where(*nodes[i]),
                                              spec.At("fallbacks").Index(i).Describe()});
      }
    }
    Fields retry(d, spec.Get("retry"), spec.At("retry"), "Route");
    if (retry.ok()) {
      d.ReadInt(retry.Get("attempts"), retry.At("attempts"), 1, 10, &r.retry.attempts);
      d.ReadDuration(retry.Get("backoff"), retry.At("backoff"), true, &r.retry.backoff);
      const YamlNode* on = retry.Get("on");
      if (on != nullptr) {
        if (!on->IsSequence()) {
          d.WrongType(*on, retry.At("on"), "a list of: connect, timeout, 5xx");
        } else {
          r.retry.on_connect_error = r.retry.on_timeout = r.retry.on_5xx = false;
          for (size_t i = 0; i < on->items.size(); ++i) {
            int v = 0;
            if (!d.ReadEnum(on->items[i], retry.At("on").Index(i), &v)) {
              continue;
            }
            (v == 0   ? r.retry.on_connect_error
             : v == 1 ? r.retry.on_timeout
                      : r.retry.on_5xx) = true;
          }
        }
      }
    }
    Fields cache(d, spec.Get("cache"), spec.At("cache"), "Route");
    if (cache.ok()) {
      d.ReadBool(cache.Get("enabled"), cache.At("enabled"), &r.cache.enabled);
      d.ReadSeconds(cache.Get("ttl"), cache.At("ttl"), &r.cache.ttl);
      d.ReadInt(cache.Get("maxEntries"), cache.At("maxEntries"), int64_t{1}, int64_t{100'000'000},
                &r.cache.max_entries);
    }
    Fields images(d, spec.Get("images"), spec.At("images"), "Route");
    if (images.ok()) {
      d.ReadInt(images.Get("maxLongEdge"), images.At("maxLongEdge"), 0, 16384,
                &r.images.max_long_edge);
    }
    Fields breaker(d, spec.Get("circuitBreaker"), spec.At("circuitBreaker"), "Route");
    if (breaker.ok()) {
      d.ReadInt(breaker.Get("failures"), breaker.At("failures"), 1, 1000,
                &r.circuit_breaker.failures);
      d.ReadDuration(breaker.Get("cooldown"), breaker.At("cooldown"), false,
                     &r.circuit_breaker.cooldown);
    }
  }
  if (!r.meta.name.empty()) {
    std::vector<std::string>& models = d.registry().route_targets[r.meta.name];
    for (const RouteTarget& t : r.targets) models.push_back(t.model);
  }
  state->routes.push_back(std::move(r));
}

}  // namespace bursar::config::internal
