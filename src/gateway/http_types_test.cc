#include "gateway/http_types.h"

#include <gtest/gtest.h>

namespace bursar::gateway {
namespace {

TEST(HttpTypesTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(202), "Accepted");  // the admin API's drift override answer
  EXPECT_EQ(ReasonPhrase(429), "Too Many Requests");
  EXPECT_EQ(ReasonPhrase(504), "Gateway Timeout");
  // Codes without their own entry get their class's phrase, never "Unknown".
  EXPECT_EQ(ReasonPhrase(418), "Client Error");
  EXPECT_EQ(ReasonPhrase(599), "Server Error");
  EXPECT_EQ(ReasonPhrase(226), "Success");
}

TEST(HttpTypesTest, ErrorJsonEscapesAndIsOpenAiShaped) {
  std::string body = ErrorJson("bad \"model\"\n", "invalid_request_error", "");
  EXPECT_NE(body.find(R"("message":"bad \"model\"\n")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("type":"invalid_request_error")"), std::string::npos) << body;
}

}  // namespace
}  // namespace bursar::gateway
