#include "ledger/spend_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "ledger/spend_record.h"

namespace bursar::ledger {
namespace {

constexpr char kPrefix[] = "spend-";
constexpr char kSuffix[] = ".log";

Status Errno(std::string_view what, const std::string& path) {
  int e = errno;
  std::string msg = std::string(what) + " " + path + ": " + std::strerror(e);
  if (e == ENOSPC || e == EDQUOT || e == EIO) return UnavailableError(msg);
  return InternalError(msg);
}

#if defined(__x86_64__)
__attribute__((target("avx"))) void ZeroUpperHalves() { _mm256_zeroupper(); }
#endif

// zlib's CRC-32 (the format's), computed by ISA-L with carry-less multiplies where the CPU has
// them: about 13 ns for a gateway record against zlib's 190.
//
// ISA-L's AVX-512 kernel (payloads of about 256 bytes and more) returns without VZEROUPPER: the
// upper halves of the vector registers stay dirty, and every legacy-SSE instruction the thread
// runs after that (bursar is built for baseline x86-64) pays a merge penalty until something
// clears them. Measured on an AVX-512 Xeon (a loop of 1M appends of a 183-byte line): 56 ns per
// append, 192 ns once one 300-byte line had gone through the CRC. So clear them after each call.
uint32_t Crc(std::string_view payload) {
  const uint32_t crc =
      crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
#if defined(__x86_64__)
  static const bool has_avx = __builtin_cpu_supports("avx");
  if (has_avx) ZeroUpperHalves();
#endif
  return crc;
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync", dir);
  return OkStatus();
}

// Appending threads spread over this many per-thread counters of a mapping.
constexpr size_t kAppendSlots = 8;

// This thread's counter slot: threads take slots in turn as they first append.
size_t AppendSlot() {
  static std::atomic<size_t> next_slot{0};
  thread_local const size_t slot = next_slot.fetch_add(1) % kAppendSlots;
  return slot;
}

// The context lines this thread appended lately, and where: which log (SpendLog::instance_) and
// segment. As many as a thread's encoder keeps contexts, replaced in turn.
struct ContextMemo {
  struct Entry {
    uint64_t log = 0;
    uint64_t segment = 0;
    uint64_t id = 0;
  };
  std::array<Entry, kSpendLogContextsPerThread> entries;
  size_t next = 0;
};
thread_local ContextMemo context_memo;

bool HasNewlineOrNul(std::string_view s) {
  return s.find('\n') != std::string_view::npos || s.find('\0') != std::string_view::npos;
}

Status BadContext() { return InvalidArgumentError("spend log: context contains a newline or NUL"); }

// "<crc> " (9 bytes) for a payload.
void CrcPrefix(std::string_view payload, char out[9]) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint32_t crc = Crc(payload);
  for (int i = 7; i >= 0; --i, crc >>= 4) out[i] = kHex[crc & 0xf];
  out[8] = ' ';
}

Status PwriteAll(int fd, const char* data, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return OkStatus();
}

Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return OkStatus();
}

}  // namespace

struct SpendLog::Mapped {
  uint64_t segment = 0;
  std::string path;
  int fd = -1;
  char* base = nullptr;  // cap bytes mapped MAP_SHARED (null when cap == 0)
  size_t cap = 0;
  alignas(64) std::atomic<uint64_t> next{0};  // bytes reserved so far
  // Per appending thread (by AppendSlot), each on its own cache line, so that concurrent appends
  // share only `next`: appends using this mapping right now, and lines completely written.
  struct alignas(64) Slot {
    std::atomic<int> writers{0};
    std::atomic<int64_t> records{0};
  };
  std::array<Slot, kAppendSlots> slots;
  bool Idle() const {
    for (const Slot& s : slots) {
      if (s.writers.load() != 0) return false;
    }
    return true;
  }
  int64_t Records() const {
    int64_t n = 0;
    for (const Slot& s : slots) n += s.records.load();
    return n;
  }
  size_t prefaulted = 0;  // bytes from the start faulted in by PrefaultAhead (mu_)
  ~Mapped() {
    if (base) ::munmap(base, cap);
    if (fd >= 0) ::close(fd);
  }
};

std::string SpendLog::Frame(std::string_view payload) {
  std::string line(payload.size() + 10, '\0');
  CrcPrefix(payload, line.data());
  std::memcpy(line.data() + 9, payload.data(), payload.size());
  line.back() = '\n';
  return line;
}

namespace {
std::atomic<uint64_t> next_instance{0};
}  // namespace

SpendLog::SpendLog(Options options)
    : options_(std::move(options)), instance_(next_instance.fetch_add(1) + 1) {}

bool SpendLog::NeedsContext(const Context* context, uint64_t segment) const {
  if (context == nullptr) return false;
  for (const ContextMemo::Entry& e : context_memo.entries) {
    if (e.id == context->id && e.segment == segment && e.log == instance_) return false;
  }
  return true;
}

void SpendLog::WroteContext(const Context* context, uint64_t segment) const {
  for (ContextMemo::Entry& e : context_memo.entries) {
    if (e.id == context->id && e.log == instance_) {  // the same context, a later segment
      e.segment = segment;
      return;
    }
  }
  context_memo.entries[context_memo.next] = {instance_, segment, context->id};
  context_memo.next = (context_memo.next + 1) % context_memo.entries.size();
}

SpendLog::~SpendLog() {
  Close();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string SpendLog::SegmentPath(uint64_t segment) const {
  char name[64];
  std::snprintf(name, sizeof name, "%s%020llu%s", kPrefix, static_cast<unsigned long long>(segment),
                kSuffix);
  return (std::filesystem::path(options_.dir) / name).string();
}

StatusOr<std::unique_ptr<SpendLog>> SpendLog::Open(const Options& options) {
  if (options.dir.empty()) return InvalidArgumentError("spend log: empty directory");
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return UnavailableError("spend log: cannot create " + options.dir + ": " + ec.message());
  auto log = std::unique_ptr<SpendLog>(new SpendLog(options));
  // One process per log folder: a second one would replay and delete the first one's segments.
  std::string lock_path = (std::filesystem::path(options.dir) / "spend.lock").string();
  log->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (log->lock_fd_ < 0) return Errno("open", lock_path);
  if (::flock(log->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return FailedPreconditionError("spend log " + options.dir +
                                     " is in use by another bursar process");
    }
    return Errno("flock", lock_path);
  }
  for (const auto& entry : std::filesystem::directory_iterator(options.dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) continue;
    std::string digits =
        name.substr(sizeof kPrefix - 1, name.size() - (sizeof kPrefix - 1) - (sizeof kSuffix - 1));
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    log->existing_.push_back(std::stoull(digits));
  }
  if (ec) return UnavailableError("spend log: cannot list " + options.dir + ": " + ec.message());
  std::sort(log->existing_.begin(), log->existing_.end());
  uint64_t next = log->existing_.empty() ? 1 : log->existing_.back() + 1;
  std::lock_guard<std::mutex> lock(log->mu_);
  BURSAR_RETURN_IF_ERROR(log->OpenSegmentLocked(next));
  return log;
}

StatusOr<std::unique_ptr<SpendLog::Mapped>> SpendLog::MapSegment(uint64_t segment) {
  auto m = std::make_unique<Mapped>();
  m->segment = segment;
  m->path = SegmentPath(segment);
  m->fd = ::open(m->path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (m->fd < 0) return Errno("open", m->path);
  size_t cap = options_.map_bytes;
  if (cap > 0 && ::fallocate(m->fd, 0, 0, static_cast<off_t>(cap)) != 0) {
    if (errno != EOPNOTSUPP) {
      Status s = Errno("fallocate", m->path);
      ::unlink(m->path.c_str());
      return s;
    }
    cap = 0;  // a file system without fallocate: every append uses pwrite
  }
  if (cap > 0) {
    void* p = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
    if (p == MAP_FAILED) {
      Status s = Errno("mmap", m->path);
      ::unlink(m->path.c_str());
      return s;
    }
    m->base = static_cast<char*>(p);
    m->cap = cap;
  }
  return m;
}

int64_t SpendLog::RetireMappedLocked(std::unique_ptr<Mapped> m) {
  if (!m) return 0;
  if (mapped_.load() == m.get()) mapped_.store(nullptr);
  // An appender that saw this mapping either registered before the store above (waited for
  // here) or sees the store when it checks again, and leaves.
  while (!m->Idle()) std::this_thread::yield();
  const uint64_t size = m->next.load();
  if (::ftruncate(m->fd, static_cast<off_t>(size)) != 0 && error_.ok()) {
    error_ = Errno("ftruncate", m->path);
    broken_.store(true);
  }
  return m->Records();
}

Status SpendLog::AppendMapped(std::string_view payload, uint64_t* segment, const Context* context) {
  Mapped* m = nullptr;
  Mapped::Slot* slot = nullptr;
  for (;;) {
    if (broken_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(mu_);
      return error_;
    }
    m = mapped_.load();
    if (!m) return FailedPreconditionError("spend log is closed");
    slot = &m->slots[AppendSlot()];
    slot->writers.fetch_add(1);
    if (mapped_.load() == m) break;
    slot->writers.fetch_sub(1);  // retired meanwhile: take the new one
  }
  // The segment is fixed now: the context line, if this thread has not written it there yet,
  // goes in the same reservation, right before the record.
  const bool with_context = NeedsContext(context, m->segment);
  if (with_context && HasNewlineOrNul(context->payload)) {
    slot->writers.fetch_sub(1);
    return BadContext();
  }
  const size_t cn = with_context ? context->payload.size() + 10 : 0;
  const size_t n = cn + payload.size() + 10;
  const uint64_t off = m->next.fetch_add(n, std::memory_order_relaxed);
  Status s;
  if (off + n <= m->cap) {
    char* p = m->base + off;
    if (with_context) {
      CrcPrefix(context->payload, p);
      std::memcpy(p + 9, context->payload.data(), context->payload.size());
      p[cn - 1] = '\n';
      p += cn;
    }
    CrcPrefix(payload, p);
    std::memcpy(p + 9, payload.data(), payload.size());
    p[payload.size() + 9] = '\n';
  } else {
    std::string lines = with_context ? Frame(context->payload) : std::string();
    lines += Frame(payload);
    s = PwriteAll(m->fd, lines.data(), lines.size(), off, m->path);
  }
  if (s.ok()) slot->records.fetch_add(1, std::memory_order_relaxed);
  const uint64_t seg = m->segment;
  slot->writers.fetch_sub(1);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = s;
    broken_.store(true, std::memory_order_release);
    return s;
  }
  if (with_context) WroteContext(context, seg);
  if (segment) *segment = seg;
  return OkStatus();
}

Status SpendLog::OpenSegmentLocked(uint64_t segment) {
  if (!options_.sync) {
    BURSAR_ASSIGN_OR_RETURN(std::unique_ptr<Mapped> m, MapSegment(segment));
    segment_ = segment;
    segment_path_ = m->path;
    mapped_.store(m.get());
    mapped_owner_ = std::move(m);
    return OkStatus();
  }
  std::string path = SegmentPath(segment);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open", path);
  if (options_.sync) {
    Status s = SyncDir(options_.dir);  // the new name itself must survive a crash
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
  }
  fd_ = fd;
  segment_ = segment;
  segment_path_ = std::move(path);
  if (segment_starts_.empty()) segment_starts_[1] = segment;
  segment_bytes_ = 0;
  segment_records_ = 0;
  return OkStatus();
}

Status SpendLog::Append(std::string_view payload, uint64_t* segment, const Context* context) {
  if (HasNewlineOrNul(payload)) {
    return InvalidArgumentError("spend log: payload contains a newline or NUL");
  }
  if (!options_.sync) return AppendMapped(payload, segment, context);
  std::string line = Frame(payload);
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return FailedPreconditionError("spend log is closed");
  if (!error_.ok()) return error_;
  // Lines pending now go to segment_: a rotation writes them out before it moves on.
  if (NeedsContext(context, segment_)) {
    if (HasNewlineOrNul(context->payload)) return BadContext();
    pending_.append(Frame(context->payload));
    WroteContext(context, segment_);  // if that write fails, the log is broken for good
  }
  pending_.append(line);
  ++pending_count_;
  const uint64_t ticket = ++next_ticket_;
  while (durable_ticket_ < ticket) {
    if (!flushing_) {
      // Leader: write everything pending (ours and the followers') with one write + fdatasync.
      flushing_ = true;
      std::string batch;
      batch.swap(pending_);
      const int64_t count = pending_count_;
      pending_count_ = 0;
      const uint64_t last = next_ticket_;
      const int fd = fd_;
      const std::string path = segment_path_;
      Status s = error_;
      lock.unlock();
      if (s.ok()) s = WriteAll(fd, batch.data(), batch.size(), path);
      if (s.ok() && options_.sync && ::fdatasync(fd) != 0) s = Errno("fdatasync", path);
      lock.lock();
      FinishBatchLocked(s, static_cast<int64_t>(batch.size()), count, last);
      flushing_ = false;
      cv_.notify_all();
    } else {
      cv_.wait(lock);
    }
  }
  if (!error_.ok() && ticket >= failed_from_) return error_;
  if (segment) *segment = SegmentOfTicketLocked(ticket);
  return OkStatus();
}

void SpendLog::FinishBatchLocked(const Status& s, int64_t bytes, int64_t count, uint64_t last) {
  if (s.ok()) {
    segment_bytes_ += bytes;
    segment_records_ += count;
  } else if (error_.ok()) {
    error_ = s;
    failed_from_ = durable_ticket_ + 1;
  }
  durable_ticket_ = last;
}

uint64_t SpendLog::SegmentOfTicketLocked(uint64_t ticket) const {
  auto it = segment_starts_.upper_bound(ticket);
  return it == segment_starts_.begin() ? segment_ : std::prev(it)->second;
}

Status SpendLog::FlushPendingLocked(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [this] { return !flushing_; });
  if (durable_ticket_ == next_ticket_) return error_;
  // Write what is pending while holding the lock: appenders wait for one write + fdatasync.
  const std::string& path = segment_path_;
  Status s = error_;
  if (s.ok()) s = WriteAll(fd_, pending_.data(), pending_.size(), path);
  if (s.ok() && options_.sync && ::fdatasync(fd_) != 0) s = Errno("fdatasync", path);
  FinishBatchLocked(s, static_cast<int64_t>(pending_.size()), pending_count_, next_ticket_);
  pending_.clear();
  pending_count_ = 0;
  cv_.notify_all();
  return error_;
}

StatusOr<SpendLog::Closed> SpendLog::Rotate() {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return FailedPreconditionError("spend log is closed");
  if (!options_.sync) {
    // Map the next segment first: appends move on to it while the old one drains.
    BURSAR_ASSIGN_OR_RETURN(std::unique_ptr<Mapped> next, MapSegment(segment_ + 1));
    std::unique_ptr<Mapped> old = std::move(mapped_owner_);
    mapped_owner_ = std::move(next);
    mapped_.store(mapped_owner_.get());
    segment_ = mapped_owner_->segment;
    segment_path_ = mapped_owner_->path;
    const uint64_t old_segment = old->segment;
    const int64_t records = RetireMappedLocked(std::move(old));
    if (!error_.ok()) return error_;
    return Closed{old_segment, records};
  }
  BURSAR_RETURN_IF_ERROR(FlushPendingLocked(lock));
  Closed closed{segment_, segment_records_};
  int old_fd = fd_;
  Status s = OpenSegmentLocked(segment_ + 1);
  if (!s.ok()) return s;
  ::close(old_fd);
  segment_starts_[next_ticket_ + 1] = segment_;
  return closed;
}

void SpendLog::PrefaultAhead(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  Mapped* m = mapped_owner_.get();
  if (options_.sync || closed_ || prefault_unsupported_ || !m || !m->base) return;
  static const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t next = static_cast<size_t>(std::min<uint64_t>(m->next.load(), m->cap));
  const size_t from = std::max(m->prefaulted, next / kPage * kPage);
  const size_t to = std::min(m->cap, (next + bytes + kPage - 1) / kPage * kPage);
  if (to <= from) return;
  if (::madvise(m->base + from, to - from, MADV_POPULATE_WRITE) != 0) {
    if (errno == EINVAL) prefault_unsupported_ = true;  // an older kernel: appends fault in
    return;
  }
  m->prefaulted = to;
}

uint64_t SpendLog::current_segment() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segment_;
}

int64_t SpendLog::current_segment_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!options_.sync) return mapped_owner_ ? static_cast<int64_t>(mapped_owner_->next.load()) : 0;
  return segment_bytes_;
}

Status SpendLog::DeleteSegment(uint64_t segment) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (segment == segment_ && !closed_) {
      return FailedPreconditionError("spend log: cannot delete the current segment");
    }
  }
  std::string path = SegmentPath(segment);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("unlink", path);
  return OkStatus();
}

void SpendLog::Close() {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return;
  closed_ = true;
  if (!options_.sync) {
    const std::string path = mapped_owner_ ? mapped_owner_->path : "";
    const int64_t records = RetireMappedLocked(std::move(mapped_owner_));
    // An empty segment holds nothing to replay.
    if (!path.empty() && records == 0 && error_.ok()) ::unlink(path.c_str());
    return;
  }
  (void)FlushPendingLocked(lock);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    // An empty segment holds nothing to replay.
    if (segment_records_ == 0 && error_.ok()) ::unlink(SegmentPath(segment_).c_str());
  }
}

StatusOr<SpendLog::ReadStats> SpendLog::ReadSegment(
    const std::string& path, const std::function<Status(std::string_view payload)>& on_record) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ReadStats{};
    return Errno("open", path);
  }
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return ParseSegment(data, on_record);
}

StatusOr<SpendLog::ReadStats> SpendLog::ParseSegment(
    std::string_view data, const std::function<Status(std::string_view payload)>& on_record) {
  ReadStats stats;
  std::string_view rest(data);
  while (!rest.empty()) {
    // NUL runs: preallocated space never written (a mapped segment after a crash) or an append
    // cut off mid-copy. A record never holds a NUL, so one starts after the last NUL of a line.
    size_t start = rest.find_first_not_of('\0');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {  // torn last line
      ++stats.skipped;
      break;
    }
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    const size_t z = line.rfind('\0');
    if (z != std::string_view::npos) {
      ++stats.skipped;  // a cut-off append; what follows its last NUL may be the next record
      line.remove_prefix(z + 1);
      if (line.empty()) continue;
    }
    uint32_t crc = 0;
    bool ok = line.size() >= 9 && line[8] == ' ';
    for (size_t i = 0; ok && i < 8; ++i) {
      char c = line[i];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (d < 0) ok = false;
      crc = crc << 4 | static_cast<uint32_t>(d < 0 ? 0 : d);
    }
    std::string_view payload = ok ? line.substr(9) : std::string_view();
    if (!ok || Crc(payload) != crc) {
      if (z == std::string_view::npos) ++stats.skipped;  // else the rest of that cut append
      continue;
    }
    BURSAR_RETURN_IF_ERROR(on_record(payload));
    ++stats.records;
  }
  return stats;
}

}  // namespace bursar::ledger
