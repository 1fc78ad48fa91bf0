#include "ledger/spend_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

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

uint32_t Crc(std::string_view payload) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync", dir);
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

std::string SpendLog::Frame(std::string_view payload) {
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", Crc(payload));
  std::string line;
  line.reserve(payload.size() + 10);
  line.append(crc, 8);
  line.push_back(' ');
  line.append(payload);
  line.push_back('\n');
  return line;
}

SpendLog::SpendLog(Options options) : options_(std::move(options)) {}

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

Status SpendLog::OpenSegmentLocked(uint64_t segment) {
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

Status SpendLog::Append(std::string_view payload, uint64_t* segment) {
  if (payload.find('\n') != std::string_view::npos) {
    return InvalidArgumentError("spend log: payload contains a newline");
  }
  std::string line = Frame(payload);
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return FailedPreconditionError("spend log is closed");
  if (!error_.ok()) return error_;
  if (!options_.sync) {
    // No fdatasync to share: each appender writes its own line, outside the lock (O_APPEND
    // writes to a regular file never interleave). The lock only hands out the segment; Rotate
    // and Close wait for writes in flight so that a closed segment's count is exact.
    cv_.wait(lock, [this] { return !flushing_; });
    if (closed_) return FailedPreconditionError("spend log is closed");
    if (!error_.ok()) return error_;
    const int fd = fd_;
    const uint64_t seg = segment_;
    ++in_flight_;
    lock.unlock();
    Status s = WriteAll(fd, line.data(), line.size(), segment_path_);
    lock.lock();
    --in_flight_;
    if (s.ok()) {
      segment_bytes_ += static_cast<int64_t>(line.size());
      ++segment_records_;
    } else if (error_.ok()) {
      error_ = s;
    }
    if (in_flight_ == 0 && flushing_) cv_.notify_all();
    if (!s.ok()) return s;
    if (segment) *segment = seg;
    return OkStatus();
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
  if (in_flight_ > 0) {
    // Unsynced appends write outside the lock: hold new ones back until these are done.
    flushing_ = true;
    cv_.wait(lock, [this] { return in_flight_ == 0; });
    flushing_ = false;
    cv_.notify_all();
  }
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
  BURSAR_RETURN_IF_ERROR(FlushPendingLocked(lock));
  Closed closed{segment_, segment_records_};
  int old_fd = fd_;
  Status s = OpenSegmentLocked(segment_ + 1);
  if (!s.ok()) return s;
  ::close(old_fd);
  segment_starts_[next_ticket_ + 1] = segment_;
  return closed;
}

uint64_t SpendLog::current_segment() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segment_;
}

int64_t SpendLog::current_segment_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
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
  (void)FlushPendingLocked(lock);
  closed_ = true;
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
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {  // torn last line
      ++stats.skipped;
      break;
    }
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
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
      ++stats.skipped;
      continue;
    }
    BURSAR_RETURN_IF_ERROR(on_record(payload));
    ++stats.records;
  }
  return stats;
}

}  // namespace bursar::ledger
