#include "common/thread_name.h"

#include <pthread.h>

namespace bursar {

void SetThreadName(std::string_view name) {
  char buf[16] = {};
  name.copy(buf, sizeof buf - 1);
  pthread_setname_np(pthread_self(), buf);  // only fails for a name over 15 bytes
}

std::string ThreadName() {
  char buf[16] = {};
  if (pthread_getname_np(pthread_self(), buf, sizeof buf) != 0) return "";
  return buf;
}

}  // namespace bursar
