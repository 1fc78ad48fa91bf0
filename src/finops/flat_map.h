// Flat open-addressing maps for the FOCUS importer's hot lookups (finops/focus_store.cc): text ->
// id (the dictionary, tag sets) and a row's tuple of texts -> their ids. Keys are copied into one
// arena, probed with a cheap 64-bit hash over the bytes and compared exactly, so a lookup builds
// no std::string. Hand-written because std::unordered_map allocates a node and a key per entry
// and hashes with a slower byte hash; no flat map is among the project's libraries.
// Threads: one thread per map. Growth: doubles at 1/2 load; entries are never removed.
#pragma once

#include <sys/mman.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace bursar::finops {

// Allocates blocks of 1 MiB or more as their own mappings, 2 MiB-aligned and advised for
// transparent huge pages; smaller ones from the heap. The maps below are probed at random once
// or more per imported row: with 4 KiB pages most probes of a large map also miss the TLB (a
// 1M-row import spent about 0.2-0.5 s of CPU in those page walks).
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocators convert implicitly

  static constexpr size_t kHuge = size_t{2} << 20;
  static size_t Mapped(size_t bytes) { return (bytes + kHuge - 1) & ~(kHuge - 1); }

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < (size_t{1} << 20)) return std::allocator<T>().allocate(n);
    const size_t size = Mapped(bytes);
    // Map one huge page more than needed and trim, so that the block starts on a 2 MiB boundary.
    void* raw =
        mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    char* const base = static_cast<char*>(raw);
    const size_t lead = (kHuge - reinterpret_cast<uintptr_t>(raw) % kHuge) % kHuge;
    char* const aligned = base + lead;
    if (lead > 0) munmap(base, lead);
    munmap(aligned + size, kHuge - lead);   // what is left of the extra huge page (never 0)
    madvise(aligned, size, MADV_HUGEPAGE);  // advice: failure is fine
    return reinterpret_cast<T*>(aligned);
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < (size_t{1} << 20)) {
      std::allocator<T>().deallocate(p, n);
      return;
    }
    munmap(p, Mapped(bytes));
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;
using HugeString = std::basic_string<char, std::char_traits<char>, HugePageAllocator<char>>;

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
      if (s.hash != h) continue;
      std::string_view k = KeyOf(s.entry - 1);
      if (k.size() == key.size() && SameBytes(k.data(), key.data(), key.size())) {
        return &values_[s.entry - 1];
      }
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
    HugeVector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.entry != 0) Place(s.hash, s.entry);
    }
  }

  HugeVector<Slot> slots_;
  HugeString arena_;
  HugeVector<size_t> offsets_;
  HugeVector<int64_t> values_;
};

// Copies `n` bytes with a few overlapping word moves when short (no call for the common sizes).
inline void CopyBytes(char* dst, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    std::memcpy(dst, src, n);
  }
}

// A tuple of `width` optional texts encoded as one run of bytes (per text: its length as uint16,
// 0xFFFF when absent, then its bytes) and the hash of that run: the key of FlatTupleMap, built
// once per row so that the lookup hashes and compares one run instead of `width` texts.
class TupleKey {
 public:
  // Encodes the tuple (`present[i]` 0: absent). False when a text is 64 KiB - 1 or longer: such
  // a tuple has no key (and is never cached).
  bool Set(const std::string_view* texts, const uint8_t* present, size_t width) {
    size_t need = width * sizeof(uint16_t);
    for (size_t i = 0; i < width; ++i) {
      if (!present[i]) continue;
      if (texts[i].size() >= kAbsent) return ok_ = false;
      need += texts[i].size();
    }
    if (buf_.size() < need) buf_.resize(need * 2);
    char* p = buf_.data();
    for (size_t i = 0; i < width; ++i) {
      uint16_t len = present[i] ? static_cast<uint16_t>(texts[i].size()) : kAbsent;
      std::memcpy(p, &len, sizeof len);
      p += sizeof len;
      if (present[i]) {
        CopyBytes(p, texts[i].data(), texts[i].size());
        p += texts[i].size();
      }
    }
    size_ = need;
    hash_ = HashBytes(buf_.data(), size_, width);
    return ok_ = true;
  }
  bool ok() const { return ok_; }
  std::string_view bytes() const { return std::string_view(buf_.data(), size_); }
  uint64_t hash() const { return hash_; }

 private:
  static constexpr uint16_t kAbsent = 0xFFFF;
  std::vector<char> buf_;
  size_t size_ = 0;
  uint64_t hash_ = 0;
  bool ok_ = false;
};

// A tuple of texts (its TupleKey) -> `values` int32-sized values. An entry is one run of the
// arena (values, key length, key bytes), so a hit touches the slot and one place in the arena.
class FlatTupleMap {
 public:
  explicit FlatTupleMap(size_t values) : values_(values) { slots_.assign(1024, Slot{}); }

  size_t size() const { return size_; }

  // Starts loading the slot where a lookup of `key` begins.
  void Prefetch(const TupleKey& key) const {
    __builtin_prefetch(&slots_[key.hash() & (slots_.size() - 1)]);
  }
  // Where a lookup of `key` stops first (an empty slot or one holding its hash); starts loading
  // that entry, so the caller can do other work before FindFrom compares it. REQUIRES: key.ok().
  size_t Probe(const TupleKey& key) const {
    const uint64_t h = key.hash();
    size_t i = h & (slots_.size() - 1);
    while (slots_[i].at != 0 && slots_[i].hash != h) i = (i + 1) & (slots_.size() - 1);
    if (slots_[i].at != 0) {
      // A matching entry is as long as the key: load all its cache lines, not only the first.
      const char* p = arena_.data() + slots_[i].at - 1;
      const size_t bytes = values_ * sizeof(int32_t) + sizeof(uint32_t) + key.bytes().size();
      for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
    }
    return i;
  }
  // Copies the tuple's values to `ids` and returns true, or returns false. `from`: Probe(key).
  bool FindFrom(size_t from, const TupleKey& key, int64_t* ids) const {
    const uint64_t h = key.hash();
    const std::string_view k = key.bytes();
    for (size_t i = from;; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.at == 0) return false;
      if (s.hash != h) continue;
      const char* p = arena_.data() + s.at - 1;
      uint32_t len;
      std::memcpy(&len, p + values_ * sizeof(int32_t), sizeof len);
      if (len != k.size() ||
          std::memcmp(p + values_ * sizeof(int32_t) + sizeof len, k.data(), k.size()) != 0) {
        continue;
      }
      for (size_t v = 0; v < values_; ++v) {
        int32_t x;
        std::memcpy(&x, p + v * sizeof x, sizeof x);
        ids[v] = x;
      }
      return true;
    }
  }
  bool Find(const TupleKey& key, int64_t* ids) const {
    return key.ok() && FindFrom(Probe(key), key, ids);
  }
  // Adds a tuple (REQUIRES: absent) with its values. Returns false, adding nothing, when the key
  // is not ok or a value is outside int32 (entries are kept compact: the map is probed once per
  // imported row, and its size decides how often that misses the CPU caches).
  bool Insert(const TupleKey& key, const int64_t* ids) {
    if (!key.ok()) return false;
    for (size_t k = 0; k < values_; ++k) {
      if (ids[k] < INT32_MIN || ids[k] > INT32_MAX) return false;
    }
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t at = arena_.size();
    for (size_t k = 0; k < values_; ++k) {
      int32_t v = static_cast<int32_t>(ids[k]);
      arena_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    uint32_t len = static_cast<uint32_t>(key.bytes().size());
    arena_.append(reinterpret_cast<const char*>(&len), sizeof len);
    arena_.append(key.bytes());
    ++size_;
    Place(key.hash(), at + 1);
    return true;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint64_t at = 0;  // arena offset + 1; 0 = empty
  };
  void Place(uint64_t h, uint64_t at) {
    size_t i = h & (slots_.size() - 1);
    while (slots_[i].at != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = {h, at};
  }
  void Grow() {
    HugeVector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.at != 0) Place(s.hash, s.at);
    }
  }

  size_t values_;
  size_t size_ = 0;
  HugeVector<Slot> slots_;
  HugeString arena_;
};

}  // namespace bursar::finops
