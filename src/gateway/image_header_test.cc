#include "gateway/image_header.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace bursar::gateway {
namespace {

std::string ReadCorpus(const std::string& name) {
  const char* dir = std::getenv("BURSAR_SOURCE_DIR");
  std::string path =
      std::string(dir ? dir : BURSAR_SOURCE_DIR) + "/fuzz/corpus/image_header_fuzz/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  const char* file;
  ImageFormat format;
  int width;
  int height;
};

TEST(ImageHeaderTest, RealFilesMadeByImageMagickAndCwebp) {
  const Case cases[] = {
      {"png37x23.png", ImageFormat::kPng, 37, 23},
      {"jpeg41x19.jpg", ImageFormat::kJpeg, 41, 19},
      {"progressive43x21.jpg", ImageFormat::kJpeg, 43, 21},
      {"jpeg_comment300x200.jpg", ImageFormat::kJpeg, 300, 200},
      {"gif19x7.gif", ImageFormat::kGif, 19, 7},
      {"webp_lossy37x23.webp", ImageFormat::kWebp, 37, 23},
      {"webp_lossless37x23.webp", ImageFormat::kWebp, 37, 23},
      {"webp_alpha25x13.webp", ImageFormat::kWebp, 25, 13},
  };
  for (const Case& c : cases) {
    const std::string bytes = ReadCorpus(c.file);
    auto info = DecodeImageHeader(bytes);
    ASSERT_TRUE(info.ok()) << c.file << ": " << info.status().ToString();
    EXPECT_EQ(*info, (ImageInfo{c.format, c.width, c.height})) << c.file;
  }
}

TEST(ImageHeaderTest, PrefixesAreTruncatedNeverOutOfBounds) {
  const std::string png = ReadCorpus("png37x23.png");
  auto info = DecodeImageHeader(std::string_view(png).substr(0, 24));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->width, 37);
  auto short_png = DecodeImageHeader(std::string_view(png).substr(0, 20));
  EXPECT_EQ(short_png.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_png.status().message().find("truncated png"), std::string::npos);
  const std::string jpeg = ReadCorpus("jpeg_comment300x200.jpg");
  // The comment segment is 3000 bytes: a 2000-byte prefix cannot reach the SOF.
  auto short_jpeg = DecodeImageHeader(std::string_view(jpeg).substr(0, 2000));
  EXPECT_EQ(short_jpeg.status().message(), "truncated jpeg header");
}

TEST(ImageHeaderTest, RejectsNonImagesAndZeroSizes) {
  EXPECT_EQ(DecodeImageHeader("hello world, not an image").status().message(),
            "not a PNG, JPEG, WebP or GIF image");
  EXPECT_EQ(DecodeImageHeader("").status().code(), StatusCode::kInvalidArgument);
  std::string gif = "GIF89a";
  gif += std::string("\x00\x00\x07\x00", 4);
  EXPECT_EQ(DecodeImageHeader(gif).status().message(), "gif image has a zero dimension");
  // JPEG whose scan starts before any frame header.
  const std::string jpeg("\xFF\xD8\xFF\xDA\x00\x02", 6);
  EXPECT_EQ(DecodeImageHeader(jpeg).status().message(),
            "jpeg: no frame header (SOF) before the image data");
}

TEST(ImageHeaderTest, HandBuiltWebpVp8xCanvasUses24Bits) {
  std::string b = "RIFF";
  b += std::string("\x00\x00\x00\x00", 4);
  b += "WEBPVP8X";
  b += std::string("\x0a\x00\x00\x00", 4);
  b += std::string("\x00\x00\x00\x00", 4);  // flags
  b += std::string("\xff\x1f\x00", 3);      // width-1 = 8191
  b += std::string("\x0f\x27\x00", 3);      // height-1 = 9999
  auto info = DecodeImageHeader(b);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->width, 8192);
  EXPECT_EQ(info->height, 10000);
}

TEST(Base64Test, RoundTripsAndIsStrict) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto d = DecodeBase64(EncodeBase64(s), 100);
    ASSERT_TRUE(d.ok()) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(EncodeBase64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(EncodeBase64("fo"), "Zm8=");
  EXPECT_EQ(Base64DecodedSize("Zm8="), 2u);
  EXPECT_EQ(DecodeBase64("Zm8", 100).status().message(), "base64: length 3 is not a multiple of 4");
  EXPECT_EQ(DecodeBase64("Zm 8", 100).status().message(), "base64: invalid character at offset 2");
  EXPECT_EQ(DecodeBase64("Zm=8", 100).status().message(), "base64: invalid character at offset 2");
  EXPECT_EQ(DecodeBase64("Zm9=", 100).status().message(),
            "base64: non-zero padding bits at offset 0");
  EXPECT_EQ(DecodeBase64("Zm9vYmFy", 5).status().code(), StatusCode::kResourceExhausted);
}

TEST(DataUrlTest, ParsesBase64AndPercentEncoded) {
  auto d = ParseDataUrl("data:image/PNG;base64,Zm9v", 100);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->media_type, "image/png");
  EXPECT_TRUE(d->base64);
  EXPECT_EQ(d->data, "foo");
  auto p = ParseDataUrl("data:,a%20b", 100);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->media_type, "text/plain");
  EXPECT_EQ(p->data, "a b");
  EXPECT_EQ(ParseDataUrl("https://x/y.png", 100).status().message(), "not a data: URL");
  EXPECT_EQ(ParseDataUrl("data:image/png;base64", 100).status().message(), "data: URL has no ','");
  EXPECT_EQ(ParseDataUrl("data:image/png;base64,Zm9v!", 100).status().message(),
            "data: URL base64: length 5 is not a multiple of 4");
  EXPECT_EQ(ParseDataUrl("data:,%zz", 100).status().message(),
            "data: URL has a bad percent escape at offset 0");
}

TEST(DataUrlTest, PrefixDecodesOnlyTheStartButValidatesAll) {
  const std::string payload = EncodeBase64("abcdefghij");  // 10 bytes
  size_t size = 0;
  auto d = ParseDataUrlPrefix("data:image/png;base64," + payload, 100, 4, &size);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->data, "abcd");
  EXPECT_EQ(size, 10u);
  auto bad =
      ParseDataUrlPrefix("data:image/png;base64," + payload.substr(0, 8) + "!AAA", 100, 4, &size);
  EXPECT_EQ(bad.status().message(), "data: URL base64: invalid character at offset 8");
  auto pct = ParseDataUrlPrefix("data:,hello%21", 100, 2, &size);
  ASSERT_TRUE(pct.ok());
  EXPECT_EQ(pct->data, "he");
  EXPECT_EQ(size, 6u);
}

}  // namespace
}  // namespace bursar::gateway
