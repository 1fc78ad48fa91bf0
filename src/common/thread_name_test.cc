#include "common/thread_name.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

namespace bursar {
namespace {

TEST(ThreadNameTest, NamesTheCallingThreadAndCutsLongNames) {
  std::string short_name, long_name, comm;
  std::thread t([&] {
    SetThreadName("bursar-gw-3");
    short_name = ThreadName();
    std::ifstream f("/proc/thread-self/comm");
    std::getline(f, comm);
    SetThreadName("a-name-longer-than-fifteen-bytes");
    long_name = ThreadName();
  });
  t.join();
  EXPECT_EQ(short_name, "bursar-gw-3");
  EXPECT_EQ(comm, "bursar-gw-3");
  EXPECT_EQ(long_name, "a-name-longer-t");
}

}  // namespace
}  // namespace bursar
