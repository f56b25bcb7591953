#include "sse/http/response.h"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>

namespace {

namespace http = boost::beast::http;

sse::HttpResult Parse(const std::string& bytes,
                      sse::ResponseLimits limits = {}) {
  std::string location;
  return sse::ParseResponse(bytes, limits, location);
}

}  // namespace

TEST_CASE("ParseResponse reads complete responses in every framing",
          "[http_response]") {
  auto length = Parse(
      "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"state\":\"running\"}");
  REQUIRE(length.outcome == sse::Outcome::kOk);
  REQUIRE(length.status == 200);
  REQUIRE(length.body == R"({"state":"running"})");

  auto chunked = Parse(
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\n{\"s\r\n8\r\ntate\":\"x\r\n2\r\n\"}\r\n0\r\n\r\n");
  REQUIRE(chunked.outcome == sse::Outcome::kOk);
  REQUIRE(chunked.status == 503);
  REQUIRE(chunked.body == R"({"state":"x"})");

  // No length: the body runs until the server closes the connection.
  auto until_eof = Parse("HTTP/1.0 200 OK\r\n\r\n{\"state\":\"up\"}");
  REQUIRE(until_eof.outcome == sse::Outcome::kOk);
  REQUIRE(until_eof.body == R"({"state":"up"})");

  std::string location;
  auto redirect = sse::ParseResponse(
      "HTTP/1.1 302 Found\r\nLocation: /next?a=1\r\nContent-Length: 0\r\n\r\n",
      {}, location);
  REQUIRE(redirect.status == 302);
  REQUIRE(location == "/next?a=1");
}

TEST_CASE("ParseResponse classifies broken responses like the client",
          "[http_response]") {
  struct Case {
    const char* what;
    std::string bytes;
    sse::Outcome outcome;
    const char* error;
  };
  sse::ResponseLimits limits;
  limits.max_body_bytes = 100;
  limits.max_header_bytes = 1024;
  auto c = GENERATE_COPY(
      Case{"nothing", "", sse::Outcome::kConnectError, "end of stream"},
      Case{"truncated header", "HTTP/1.1 200 OK\r\nContent-Le",
           sse::Outcome::kConnectError, "partial message"},
      Case{"truncated body",
           "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"st",
           sse::Outcome::kConnectError, "partial message"},
      Case{"truncated chunk",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nab",
           sse::Outcome::kConnectError, "partial message"},
      Case{"declared body over the limit",
           "HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n",
           sse::Outcome::kTooLarge, "body larger than 100 bytes"},
      Case{"chunked body over the limit",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
               std::string("40\r\n") + std::string(64, 'a') + "\r\n40\r\n" +
               std::string(64, 'a') + "\r\n0\r\n\r\n",
           sse::Outcome::kTooLarge, "body larger than 100 bytes"},
      Case{"unframed body over the limit",
           "HTTP/1.1 200 OK\r\n\r\n" + std::string(101, 'a'),
           sse::Outcome::kTooLarge, "body larger than 100 bytes"},
      Case{"header over the limit",
           "HTTP/1.1 200 OK\r\nX-Big: " + std::string(2000, 'h') + "\r\n\r\n",
           sse::Outcome::kHttpError, "header larger than 1024 bytes"},
      Case{"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n", sse::Outcome::kHttpError,
           "read: "},
      Case{"bad status", "HTTP/1.1 2000 OK\r\n\r\n", sse::Outcome::kHttpError,
           "read: "},
      Case{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
           sse::Outcome::kHttpError, "read: "},
      Case{
          "two lengths",
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
          sse::Outcome::kHttpError, "read: "},
      Case{"bad chunk size",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           sse::Outcome::kHttpError, "read: "});
  CAPTURE(c.what);
  auto r = Parse(c.bytes, limits);
  CAPTURE(r.error);
  REQUIRE(r.outcome == c.outcome);
  REQUIRE(r.error.find(c.error) != std::string::npos);
  REQUIRE(r.body.empty());
}

TEST_CASE("read errors map to the closed set of outcomes", "[http_response]") {
  namespace net = boost::asio;
  REQUIRE(sse::ClassifyReadError(boost::beast::error::timeout) ==
          sse::Outcome::kTimeout);
  REQUIRE(sse::ClassifyReadError(http::error::body_limit) ==
          sse::Outcome::kTooLarge);
  REQUIRE(sse::ClassifyReadError(http::error::header_limit) ==
          sse::Outcome::kHttpError);
  REQUIRE(sse::ClassifyReadError(http::error::bad_version) ==
          sse::Outcome::kHttpError);
  REQUIRE(sse::ClassifyReadError(http::error::partial_message) ==
          sse::Outcome::kConnectError);
  REQUIRE(sse::ClassifyReadError(http::error::end_of_stream) ==
          sse::Outcome::kConnectError);
  REQUIRE(sse::ClassifyReadError(net::error::connection_reset) ==
          sse::Outcome::kConnectError);
}

TEST_CASE("redirect locations resolve against the URL they came from",
          "[http_response]") {
  const sse::Url from = sse::ParseUrl("http://svc:8080/a/status?x=1");
  std::string error;
  struct Case {
    const char* location;
    const char* url;  // nullptr: refused
  };
  auto c = GENERATE(
      Case{"/healthz", "http://svc:8080/healthz"},
      Case{"ready", "http://svc:8080/a/ready"},
      Case{"../up?y=2", "http://svc:8080/up?y=2"},
      Case{"?z=3", "http://svc:8080/a/status?z=3"},
      Case{"//other:9/x", "http://other:9/x"},
      Case{"https://other/x#frag", "https://other/x"},
      Case{"ftp://other/x", nullptr}, Case{"http://user:pw@other/x", nullptr},
      Case{"http://[::1/x", nullptr}, Case{"http:// bad", nullptr},
      Case{"", "http://svc:8080/a/status?x=1"});
  CAPTURE(c.location);
  auto next = sse::ResolveRedirect(from, c.location, error);
  if (c.url == nullptr) {
    REQUIRE_FALSE(next.has_value());
    REQUIRE(error.rfind("invalid redirect location", 0) == 0);
    // The location itself is not echoed: it may carry credentials.
    REQUIRE(error.find("pw") == std::string::npos);
  } else {
    REQUIRE(next.has_value());
    REQUIRE(next->text == c.url);
  }
}

TEST_CASE("origins compare scheme, host and port", "[http_response]") {
  auto url = [](const char* text) { return sse::ParseUrl(text); };
  REQUIRE(sse::SameOrigin(url("http://a/x"), url("http://a:80/y")));
  REQUIRE_FALSE(sse::SameOrigin(url("http://a/x"), url("https://a/x")));
  REQUIRE_FALSE(sse::SameOrigin(url("http://a/x"), url("http://b/x")));
  REQUIRE_FALSE(
      sse::SameOrigin(url("http://a:8080/x"), url("http://a:8081/x")));
}

TEST_CASE(
    "a redirect to a malformed port is refused (found by fuzz_http_response)",
    "[http_response]") {
  // Boost.URL reads "https://6:0666p69s6" as port 0666 and path "p69s6".
  std::string error;
  auto next = sse::ResolveRedirect(sse::ParseUrl("http://svc/"),
                                   "https://6:0666p69s6", error);
  REQUIRE_FALSE(next.has_value());
  REQUIRE(error.find("malformed port or path") != std::string::npos);
}

TEST_CASE("interim 1xx responses are skipped, bad status codes are http_error",
          "[http_response]") {
  const std::string final_response =
      "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"state\":\"running\"}";
  auto hints = Parse(
      "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 100 Continue\r\n\r\n" +
      final_response);
  REQUIRE(hints.outcome == sse::Outcome::kOk);
  REQUIRE(hints.status == 200);
  REQUIRE(hints.body == R"({"state":"running"})");
  std::string six;
  for (int i = 0; i < 6; ++i) six += "HTTP/1.1 102 Processing\r\n\r\n";
  auto endless = Parse(six + final_response);
  REQUIRE(endless.outcome == sse::Outcome::kHttpError);
  REQUIRE(endless.error == sse::kTooManyInterim);
  // Found by fuzz_http_response: "006" is three digits but no status.
  for (const char* status : {"006", "099", "600", "999"}) {
    CAPTURE(status);
    auto r = Parse(std::string("HTTP/1.1 ") + status +
                   " X\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(r.outcome == sse::Outcome::kHttpError);
    REQUIRE(r.error.find("invalid status code") != std::string::npos);
  }
}
