// Flat open-addressing maps for the FOCUS importer's hot lookups (finops/focus_store.cc): text ->
// id (the dictionary, tag sets) and a row's tuple of texts -> their ids. Keys are copied into one
// arena, probed with a cheap 64-bit hash over the bytes and compared exactly, so a lookup builds
// no std::string. Hand-written because std::unordered_map allocates a node and a key per entry
// and hashes with a slower byte hash; no flat map is among the project's libraries.
// Threads: one thread per map. Growth: doubles at 1/2 load; entries are never removed.
#pragma once

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace bursar::finops {

// A 64-bit hash of `n` bytes mixed into `seed` (wyhash-style multiply-fold; not for security).
inline uint64_t HashBytes(const char* p, size_t n, uint64_t seed) {
  auto mum = [](uint64_t a, uint64_t b) {
    __uint128_t r = static_cast<__uint128_t>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  };
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                     k2 = 0x8ebc6af09c88c6e3ull;
  uint64_t h = seed ^ mum(n ^ k0, k1);
  while (n >= 16) {
    uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    h = mum(a ^ k1 ^ h, b ^ k2);
    p += 16;
    n -= 16;
  }
  uint64_t a = 0, b = 0;
  if (n >= 8) {
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + n - 8, 8);
  } else if (n >= 4) {
    uint32_t x, y;
    std::memcpy(&x, p, 4);
    std::memcpy(&y, p + n - 4, 4);
    a = x;
    b = y;
  } else if (n > 0) {
    a = (static_cast<uint64_t>(static_cast<unsigned char>(p[0])) << 16) |
        (static_cast<uint64_t>(static_cast<unsigned char>(p[n >> 1])) << 8) |
        static_cast<unsigned char>(p[n - 1]);
  }
  return mum(a ^ k1 ^ h, b ^ k0);
}

// Equality of `n` bytes, inline for short runs (most dictionary texts are under 16 bytes).
inline bool SameBytes(const char* a, const char* b, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&a1, a + n - 8, 8);
    std::memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n < 8 && n >= 4) {
    uint32_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 4);
    std::memcpy(&b0, b, 4);
    std::memcpy(&a1, a + n - 4, 4);
    std::memcpy(&b1, b + n - 4, 4);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return std::memcmp(a, b, n) == 0;
}

// Text -> int64 id.
class FlatTextMap {
 public:
  FlatTextMap() { slots_.assign(1024, Slot{}); }

  // The id of `key`, or nullptr.
  const int64_t* Find(std::string_view key) const {
    uint64_t h = HashBytes(key.data(), key.size(), 0);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.entry == 0) return nullptr;
      if (s.hash == h && KeyOf(s.entry - 1) == key) return &values_[s.entry - 1];
    }
  }
  // Adds `key` -> `value` (REQUIRES: key absent).
  void Insert(std::string_view key, int64_t value) {
    if ((values_.size() + 1) * 2 > slots_.size()) Grow();
    offsets_.push_back(arena_.size());
    arena_.append(key);
    values_.push_back(value);
    Place(HashBytes(key.data(), key.size(), 0), static_cast<uint32_t>(values_.size()));
  }
  size_t size() const { return values_.size(); }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t entry = 0;  // index + 1; 0 = empty
  };
  std::string_view KeyOf(size_t e) const {
    size_t end = e + 1 < offsets_.size() ? offsets_[e + 1] : arena_.size();
    return std::string_view(arena_).substr(offsets_[e], end - offsets_[e]);
  }
  void Place(uint64_t h, uint32_t entry) {
    size_t i = h & (slots_.size() - 1);
    while (slots_[i].entry != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = {h, entry};
  }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.entry != 0) Place(s.hash, s.entry);
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  std::vector<size_t> offsets_;
  std::vector<int64_t> values_;
};

// A tuple of `width` optional texts (`present[i]` 0: absent) -> `values` int32-sized values. An
// entry is one run of the arena (values, lengths, texts), so a hit touches the slot and one place
// in the arena.
class FlatTupleMap {
 public:
  FlatTupleMap(size_t width, size_t values) : width_(width), values_(values) {
    slots_.assign(1024, Slot{});
  }

  size_t width() const { return width_; }
  size_t size() const { return size_; }

  // Hash of a tuple; pass it to Find and Insert.
  static uint64_t Hash(const std::string_view* texts, const uint8_t* present, size_t width) {
    uint64_t h = width;
    for (size_t i = 0; i < width; ++i) {
      h = present[i] ? HashBytes(texts[i].data(), texts[i].size(), h)
                     : h * 0x9E3779B97F4A7C15ull + 1;
    }
    return h;
  }
  // Starts loading the slot where a lookup of hash `h` begins.
  void Prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & (slots_.size() - 1)]); }
  // Where a lookup of hash `h` stops first (an empty slot or one holding `h`); starts loading
  // that entry, so the caller can do other work before FindFrom compares it.
  size_t Probe(uint64_t h) const {
    size_t i = h & (slots_.size() - 1);
    while (slots_[i].at != 0 && slots_[i].hash != h) i = (i + 1) & (slots_.size() - 1);
    if (slots_[i].at != 0) __builtin_prefetch(arena_.data() + slots_[i].at - 1);
    return i;
  }
  // Copies the tuple's values to `ids` and returns true, or returns false. `from`: Probe(h).
  bool FindFrom(size_t from, uint64_t h, const std::string_view* texts, const uint8_t* present,
                int64_t* ids) const {
    for (size_t i = from;; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.at == 0) return false;
      if (s.hash == h && Equals(s.at - 1, texts, present)) {
        const char* p = arena_.data() + s.at - 1;
        for (size_t k = 0; k < values_; ++k) {
          int32_t v;
          std::memcpy(&v, p + k * sizeof v, sizeof v);
          ids[k] = v;
        }
        return true;
      }
    }
  }
  bool Find(uint64_t h, const std::string_view* texts, const uint8_t* present, int64_t* ids) const {
    return FindFrom(Probe(h), h, texts, present, ids);
  }
  // Adds a tuple (REQUIRES: absent) with its values. Returns false, adding nothing, when a value
  // is outside int32 or a text is 64 KiB or longer (entries are kept compact: the map is probed
  // once per imported row, and its size decides how often that misses the CPU caches).
  bool Insert(uint64_t h, const std::string_view* texts, const uint8_t* present,
              const int64_t* ids) {
    for (size_t k = 0; k < values_; ++k) {
      if (ids[k] < INT32_MIN || ids[k] > INT32_MAX) return false;
    }
    for (size_t i = 0; i < width_; ++i) {
      if (present[i] && texts[i].size() >= kAbsent) return false;
    }
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t at = arena_.size();
    for (size_t k = 0; k < values_; ++k) {
      int32_t v = static_cast<int32_t>(ids[k]);
      arena_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    for (size_t i = 0; i < width_; ++i) {
      uint16_t len = present[i] ? static_cast<uint16_t>(texts[i].size()) : kAbsent;
      arena_.append(reinterpret_cast<const char*>(&len), sizeof len);
    }
    for (size_t i = 0; i < width_; ++i) {
      if (present[i]) arena_.append(texts[i]);
    }
    ++size_;
    Place(h, at + 1);
    return true;
  }

 private:
  // An entry: the values as int32, the lengths as uint16 (kAbsent when absent), the texts.
  static constexpr uint16_t kAbsent = 0xFFFF;
  struct Slot {
    uint64_t hash = 0;
    uint64_t at = 0;  // arena offset + 1; 0 = empty
  };
  bool Equals(size_t at, const std::string_view* texts, const uint8_t* present) const {
    const char* lens = arena_.data() + at + values_ * sizeof(int32_t);
    for (size_t i = 0; i < width_; ++i) {
      uint16_t len;
      std::memcpy(&len, lens + i * sizeof len, sizeof len);
      // A text of kAbsent bytes or more is never stored (Insert refuses it): no match.
      if (present[i] ? (texts[i].size() >= kAbsent || len != texts[i].size()) : len != kAbsent) {
        return false;
      }
    }
    const char* p = lens + width_ * sizeof(uint16_t);
    for (size_t i = 0; i < width_; ++i) {
      if (!present[i]) continue;
      if (!SameBytes(p, texts[i].data(), texts[i].size())) return false;
      p += texts[i].size();
    }
    return true;
  }
  void Place(uint64_t h, uint64_t at) {
    size_t i = h & (slots_.size() - 1);
    while (slots_[i].at != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = {h, at};
  }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.at != 0) Place(s.hash, s.at);
    }
  }

  size_t width_;
  size_t values_;
  size_t size_ = 0;
  std::vector<Slot> slots_;
  std::string arena_;
};

}  // namespace bursar::finops
