#include "config/model.h"

#include <algorithm>

namespace bursar::config {
namespace {
template <typename T>
const T* FindByName(const std::vector<T>& items, std::string_view name) {
  auto it = std::find_if(items.begin(), items.end(),
                         [&](const T& item) { return item.meta.name == name; });
  return it == items.end() ? nullptr : &*it;
}
}  // namespace

const Model* DesiredState::FindModel(std::string_view name) const {
  return FindByName(models, name);
}
const Route* DesiredState::FindRoute(std::string_view name) const {
  return FindByName(routes, name);
}
const ApiKey* DesiredState::FindApiKey(std::string_view name) const {
  return FindByName(api_keys, name);
}
const Budget* DesiredState::FindBudget(std::string_view name) const {
  return FindByName(budgets, name);
}

std::string_view ToString(Modality m) {
  switch (m) {
    case Modality::kText:
      return "text";
    case Modality::kImage:
      return "image";
    case Modality::kAudio:
      return "audio";
    case Modality::kEmbedding:
      return "embedding";
  }
  return "?";
}
std::string_view ToString(ImageTokenScheme s) {
  switch (s) {
    case ImageTokenScheme::kNone:
      return "none";
    case ImageTokenScheme::kOpenAITiles:
      return "openai";
    case ImageTokenScheme::kAnthropic:
      return "anthropic";
    case ImageTokenScheme::kGemini:
      return "gemini";
    case ImageTokenScheme::kFlat:
      return "flat";
  }
  return "?";
}
std::string_view ToString(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::kDay:
      return "day";
    case BudgetPeriod::kWeek:
      return "week";
    case BudgetPeriod::kMonth:
      return "month";
  }
  return "?";
}
std::string_view ToString(BudgetAction a) {
  switch (a) {
    case BudgetAction::kAlert:
      return "alert";
    case BudgetAction::kDowngrade:
      return "downgrade";
    case BudgetAction::kBlock:
      return "block";
  }
  return "?";
}

}  // namespace bursar::config
