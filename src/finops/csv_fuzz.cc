// libFuzzer target: the CSV reader and FOCUS header/row parsing on arbitrary bytes. Seed corpus:
// fuzz/corpus/csv_fuzz/ (rows of the FinOps Foundation FOCUS sample, CC BY 4.0).
#include <cstddef>
#include <cstdint>
#include <string>

#include "finops/csv.h"
#include "finops/focus.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bursar::finops;
  CsvOptions options;
  options.max_record_bytes = 1 << 16;
  CsvReader reader(MemorySource(std::string(reinterpret_cast<const char*>(data), size)), "fuzz.csv",
                   options);
  auto first = reader.Next();
  if (!first.ok() || !*first) return 0;
  auto schema = DetectSchema(reader);
  FocusRow row;
  for (int i = 0; i < 1000; ++i) {
    auto more = reader.Next();
    if (!more.ok() || !*more) break;
    if (schema.ok()) {
      if (ParseFocusRow(reader, *schema, &row).ok() && !row.tags.empty()) {
        (void)CanonicalTags(row.tags);
      }
    }
    for (size_t f = 0; f < reader.size(); ++f) {
      Picos128 p;
      int64_t t;
      (void)ParsePicos(reader.field(f), &p);
      (void)ParseTimestamp(reader.field(f), &t);
    }
  }
  return 0;
}
