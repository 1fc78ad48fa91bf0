// A ByteSource that reads another one ahead on its own thread, so that reading (and inflating
// gzip) and hashing the bytes overlap the consumer's parsing. Used by the FOCUS importer
// (finops/focus_store.cc) to take the file read and its SHA-256 off the parsing thread.
//
// Ownership: owns `source`. Threads: Read is called by one consumer thread; `observer` runs on
// the read-ahead thread, once per chunk, in input order, before that chunk is handed out (so
// every byte Read returns has been observed; bytes read ahead but never consumed may be too).
// Destroying the source stops and joins the thread. Errors: the first error of `source` is
// returned by Read once the bytes before it have been consumed.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "finops/csv.h"

namespace bursar::finops {

std::unique_ptr<ByteSource> ReadAheadSource(std::unique_ptr<ByteSource> source,
                                            std::function<void(std::string_view)> observer,
                                            size_t chunk_bytes = 1 << 20, size_t max_chunks = 4);

}  // namespace bursar::finops
