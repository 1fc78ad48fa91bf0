// Decoder for plain Kubernetes workloads, read for cost only. Only the fields read here are
// validated (replicas, resources, GPU type); every other Kubernetes field is ignored.
#include <optional>

#include "config/decode.h"
#include "config/syntax.h"

namespace bursar::config::internal {
namespace {

constexpr std::string_view kGpuResource = "nvidia.com/gpu";
constexpr std::string_view kGpuProductLabel = "nvidia.com/gpu.product";
constexpr std::string_view kGpuTypeAnnotation = "bursar.dev/gpu-type";

// scale_digits: 3 for CPU (millicores), 0 for bytes and GPUs.
void ReadQuantity(Decoder& d, const YamlNode* n, const Path& p, int scale_digits,
                  std::string_view expect, int64_t* out) {
  if (n == nullptr) return;
  if (!n->IsScalar()) {
    d.WrongType(*n, p, expect);
    return;
  }
  StatusOr<int64_t> v = ParseQuantity(n->value, scale_digits);
  if (!v.ok()) {
    std::string why = v.status().message();
    size_t colon = why.find("\": ");
    if (colon != std::string::npos) why = why.substr(colon + 3);
    d.Error(*n, "invalid quantity " + Quote(n->value) + " for " + p.Describe() + " (" + why +
                    "); expected " + std::string(expect));
    return;
  }
  *out += *v;
}

void ReadResources(Decoder& d, const YamlNode* n, const Path& p, Resources* out) {
  Fields f(d, n, p, "", /*strict=*/false);
  if (!f.ok()) return;
  ReadQuantity(d, f.Get("cpu"), f.At("cpu"), 3,
               "a CPU quantity such as 500m, 1 or 1.5 (at most 1m precision)", &out->cpu_millis);
  ReadQuantity(d, f.Get("memory"), f.At("memory"), 0,
               "a whole number of bytes such as 512Mi, 1Gi or 100M", &out->memory_bytes);
  ReadQuantity(d, f.Get(kGpuResource), f.At(kGpuResource), 0, "a whole number of GPUs such as 1",
               &out->gpus);
}

// Reads the GPU type from an annotations mapping, if present.
void ReadGpuAnnotation(Decoder& d, const YamlNode* n, const Path& p, Workload* w,
                       const YamlNode** where) {
  Fields f(d, n, p, "", false);
  if (!f.ok()) return;
  const YamlNode* v = f.Get(kGpuTypeAnnotation);
  if (d.ReadName(v, f.At(kGpuTypeAnnotation), &w->gpu_type)) *where = v;
}

void ReadPodTemplate(Decoder& d, const YamlNode* n, const Path& p, Workload* w,
                     const YamlNode** gpu_where) {
  Fields tmpl(d, n, p, "", false);
  if (!tmpl.ok()) return;
  Fields meta(d, tmpl.Get("metadata"), tmpl.At("metadata"), "", false);
  if (meta.ok()) {
    ReadGpuAnnotation(d, meta.Get("annotations"), meta.At("annotations"), w, gpu_where);
  }
  Fields spec(d, tmpl.Get("spec"), tmpl.At("spec"), "", false);
  if (!spec.ok()) return;
  Fields selector(d, spec.Get("nodeSelector"), spec.At("nodeSelector"), "", false);
  if (selector.ok()) {
    const YamlNode* product = selector.Get(kGpuProductLabel);
    if (product != nullptr && *gpu_where == nullptr &&
        d.ReadString(product, selector.At(kGpuProductLabel), "a GPU product name", &w->gpu_type)) {
      *gpu_where = product;
    }
  }
  const YamlNode* containers = spec.Get("containers");
  if (containers == nullptr || containers->IsNull()) return;
  if (!containers->IsSequence()) {
    d.WrongType(*containers, spec.At("containers"), "a list of containers");
    return;
  }
  for (size_t i = 0; i < containers->items.size(); ++i) {
    Path cpath = spec.At("containers").Index(i);
    Fields c(d, containers->items[i], cpath, "", false);
    if (!c.ok()) continue;
    Fields res(d, c.Get("resources"), c.At("resources"), "", false);
    if (!res.ok()) continue;
    ReadResources(d, res.Get("requests"), res.At("requests"), &w->requests);
    ReadResources(d, res.Get("limits"), res.At("limits"), &w->limits);
  }
}

}  // namespace

void DecodeWorkload(Decoder& d, const YamlNode& root, std::string api_version,
                    const std::string& kind, DesiredState* state) {
  Workload w;
  w.kind = kind;
  w.api_version = std::move(api_version);
  w.meta.where = d.Where(root);
  Path path{kind, "", ""};
  Fields doc(d, &root, path, "", false);
  Fields meta(d, doc.Get("metadata"), doc.At("metadata"), "", false);
  const YamlNode* name = meta.ok() ? meta.Get("name") : nullptr;
  if (name == nullptr) {
    d.Missing(meta.node() != nullptr ? *meta.node() : root, doc.At("metadata"), "name",
              "the workload's name");
  } else if (d.ReadName(name, meta.At("name"), &w.meta.name)) {
    path.subject = kind + " " + Quote(w.meta.name);
    d.Declare("Workload", kind + "/" + w.meta.name, *name);
  }
  if (meta.ok()) d.ReadStringMap(meta.Get("labels"), meta.At("labels"), &w.meta.labels);
  auto env = w.meta.labels.find("env");
  if (!w.meta.name.empty() && env != w.meta.labels.end() &&
      (env->second == "prod" || env->second == "production")) {
    d.registry().production_workloads.insert(kind + "/" + w.meta.name);
  }
  const YamlNode* gpu_where = nullptr;
  if (meta.ok()) {
    ReadGpuAnnotation(d, meta.Get("annotations"), path.Field("metadata.annotations"), &w,
                      &gpu_where);
  }

  Fields spec(d, doc.Get("spec"), path.Field("spec"), "", false);
  if (spec.ok()) {
    if (kind == "Deployment" || kind == "StatefulSet") {
      if (spec.Get("replicas") != nullptr) {
        d.ReadInt(spec.Get("replicas"), spec.At("replicas"), 0, 100000, &w.replicas);
      }
      ReadPodTemplate(d, spec.Get("template"), spec.At("template"), &w, &gpu_where);
    } else if (kind == "DaemonSet") {
      ReadPodTemplate(d, spec.Get("template"), spec.At("template"), &w, &gpu_where);
    } else {
      const Fields* job = &spec;
      std::optional<Fields> job_template, cron_job_spec;
      if (kind == "CronJob") {
        job_template.emplace(d, spec.Get("jobTemplate"), spec.At("jobTemplate"), "", false);
        if (job_template->ok()) {
          cron_job_spec.emplace(d, job_template->Get("spec"), job_template->At("spec"), "", false);
        }
        if (!cron_job_spec || !cron_job_spec->ok()) {
          state->workloads.push_back(std::move(w));
          return;
        }
        job = &*cron_job_spec;
      }
      if (job->Get("parallelism") != nullptr) {
        d.ReadInt(job->Get("parallelism"), job->At("parallelism"), 0, 100000, &w.replicas);
      }
      ReadPodTemplate(d, job->Get("template"), job->At("template"), &w, &gpu_where);
    }
  }
  // path of the annotation/selector was reported above; the type is checked against the
  // PriceCatalogs once everything is loaded.
  if (gpu_where != nullptr && (w.requests.gpus > 0 || w.limits.gpus > 0)) {
    d.Refer("GpuType", w.gpu_type, *gpu_where, path);
  }
  state->workloads.push_back(std::move(w));
}

}  // namespace bursar::config::internal
