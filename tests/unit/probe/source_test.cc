#include "sse/probe/source.h"

#include <catch2/catch.hpp>

#include "sse/probe/prober.h"

namespace {

sse::ServiceConfig JsonService(
    std::map<std::string, std::string> state_map = {}, bool keep_case = false) {
  sse::ServiceConfig s;
  s.name = "svc";
  s.source = sse::SourceKind::kJson;
  s.state_map = std::move(state_map);
  s.keep_case = keep_case;
  return s;
}

sse::HttpResult Response(unsigned status, std::string body) {
  sse::HttpResult r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("http_status default mapping", "[source]") {
  struct Case {
    unsigned status;
    const char* state;
  };
  auto c = GENERATE(Case{200, "running"}, Case{204, "running"},
                    Case{299, "running"}, Case{401, "auth_required"},
                    Case{403, "auth_required"}, Case{301, "error"},
                    Case{404, "error"}, Case{500, "error"}, Case{503, "error"});
  CAPTURE(c.status);
  REQUIRE(sse::StateFromStatus(c.status, {}) == c.state);
}

TEST_CASE("status_map: exact code beats class beats default", "[source]") {
  std::map<std::string, std::string> map{
      {"503", "stopped"}, {"5xx", "failed"}, {"2xx", "ok"}};
  REQUIRE(sse::StateFromStatus(503, map) == "stopped");
  REQUIRE(sse::StateFromStatus(500, map) == "failed");
  REQUIRE(sse::StateFromStatus(200, map) == "ok");
  REQUIRE(sse::StateFromStatus(401, map) == "auth_required");
  REQUIRE(sse::StateFromStatus(404, map) == "error");
}

TEST_CASE("http_status source observes any response as ok", "[source]") {
  sse::ServiceConfig s;
  s.source = sse::SourceKind::kHttpStatus;
  auto obs = sse::ObserveService(s, Response(503, "<html>down</html>"));
  REQUIRE(obs.outcome == sse::Outcome::kOk);
  REQUIRE(obs.state == "error");
}

TEST_CASE("json source reads the pointer and maps and lower-cases",
          "[source]") {
  auto s = JsonService(
      {{"UP", "running"}, {"DOWN", "failed"}, {"OUT_OF_SERVICE", "stopped"}});
  s.state_pointer = "/status";
  REQUIRE(sse::ObserveService(s, Response(200, R"({"status":"UP"})")).state ==
          "running");
  REQUIRE(
      sse::ObserveService(s, Response(200, R"({"status":"OUT_OF_SERVICE"})"))
          .state == "stopped");
  REQUIRE(
      sse::ObserveService(s, Response(200, R"({"status":"Degraded"})")).state ==
      "degraded");
  // Spring Boot answers 503 with a body when DOWN: the body's state wins.
  auto down = sse::ObserveService(s, Response(503, R"({"status":"DOWN"})"));
  REQUIRE(down.outcome == sse::Outcome::kOk);
  REQUIRE(down.state == "failed");
}

TEST_CASE("json source keep_case keeps the case", "[source]") {
  auto s = JsonService({}, true);
  REQUIRE(
      sse::ObserveService(s, Response(200, R"({"state":"Running"})")).state ==
      "Running");
}

TEST_CASE("json source nested pointer", "[source]") {
  auto s = JsonService();
  s.state_pointer = "/health/components/0/state";
  auto obs = sse::ObserveService(
      s, Response(200, R"({"health":{"components":[{"state":"connected"}]}})"));
  REQUIRE(obs.outcome == sse::Outcome::kOk);
  REQUIRE(obs.state == "connected");
}

TEST_CASE("unusable bodies are observed as unknown with invalid_body",
          "[source]") {
  auto s = JsonService();
  auto body = GENERATE(
      std::string("not json"), std::string("<html></html>"),
      std::string(R"({"state":)"), std::string(R"({"other":"x"})"),
      std::string(R"({"state":42})"), std::string(R"({"state":null})"),
      std::string(R"({"state":{"a":1}})"), std::string(R"({"state":""})"),
      std::string("{\"state\":\"\xff\xfe\"}"),
      std::string(R"({"state":"a\nb"})"),
      std::string(R"({"state":")") + std::string(200, 'x') + "\"}",
      std::string(""));
  CAPTURE(body);
  auto obs = sse::ObserveService(s, Response(200, body));
  REQUIRE(obs.outcome == sse::Outcome::kInvalidBody);
  REQUIRE(obs.state == "unknown");
  REQUIRE_FALSE(obs.error.empty());
}

TEST_CASE("deeply nested JSON is refused before parsing", "[source]") {
  std::string body(200000, '[');
  body += std::string(200000, ']');
  REQUIRE(sse::JsonTooDeep(body, sse::kMaxJsonDepth));
  auto obs = sse::ObserveService(JsonService(), Response(200, body));
  REQUIRE(obs.outcome == sse::Outcome::kInvalidBody);
  REQUIRE(obs.error.find("deeper") != std::string::npos);
  // Brackets inside strings do not count.
  REQUIRE_FALSE(sse::JsonTooDeep(R"({"state":"[[[[[[[[[[[[[[[[[[[[[[[["})", 3));
}

TEST_CASE("json source non-2xx without a state falls back to the status",
          "[source]") {
  auto s = JsonService();
  auto obs = sse::ObserveService(s, Response(401, "Unauthorized"));
  REQUIRE(obs.outcome == sse::Outcome::kHttpError);
  REQUIRE(obs.state == "auth_required");
  auto obs2 = sse::ObserveService(s, Response(500, "<html>oops</html>"));
  REQUIRE(obs2.outcome == sse::Outcome::kHttpError);
  REQUIRE(obs2.state == "error");
}

TEST_CASE("transport failures are unreachable, limits unknown", "[source]") {
  auto s = JsonService();
  for (auto outcome : {sse::Outcome::kTimeout, sse::Outcome::kConnectError,
                       sse::Outcome::kTlsError}) {
    sse::HttpResult r;
    r.outcome = outcome;
    r.error = "boom";
    auto obs = sse::ObserveService(s, r);
    REQUIRE(obs.outcome == outcome);
    REQUIRE(obs.state == "unreachable");
    REQUIRE(obs.error == "boom");
  }
  for (auto outcome : {sse::Outcome::kTooLarge, sse::Outcome::kHttpError}) {
    sse::HttpResult r;
    r.outcome = outcome;
    auto obs = sse::ObserveService(s, r);
    REQUIRE(obs.outcome == outcome);
    REQUIRE(obs.state == "unknown");
  }
}

TEST_CASE("a mapped state must still be a valid state string", "[source]") {
  auto s = JsonService({{"UP", ""}});
  auto obs = sse::ObserveService(s, Response(200, R"({"state":"UP"})"));
  REQUIRE(obs.outcome == sse::Outcome::kInvalidBody);
}

TEST_CASE("CheckStateString accepts UTF-8 and refuses control characters",
          "[source]") {
  REQUIRE(sse::CheckStateString("läuft").empty());
  REQUIRE(sse::CheckStateString("运行中").empty());
  REQUIRE_FALSE(sse::CheckStateString("a\x01").empty());
  REQUIRE_FALSE(sse::CheckStateString("\xc3").empty());
  REQUIRE_FALSE(sse::CheckStateString("\xe8\xbf").empty());
  REQUIRE_FALSE(sse::CheckStateString(std::string(129, 'a')).empty());
  REQUIRE(sse::CheckStateString(std::string(128, 'a')).empty());
}

TEST_CASE("CheckStateString wants strict UTF-8 (found by fuzz_json_state)",
          "[source]") {
  // Four-byte characters up to U+10FFFF are fine.
  REQUIRE(sse::CheckStateString("\xf0\x9f\x9a\x80 launched").empty());
  REQUIRE(sse::CheckStateString("\xf4\x8f\xbf\xbf").empty());
  struct Case {
    const char* what;
    const char* bytes;
  };
  auto c = GENERATE(Case{"past U+10FFFF (fuzz reproducer)", "\xf4\xa3\xbf\xa7"},
                    Case{"past U+10FFFF", "\xf4\x90\x80\x80"},
                    Case{"overlong NUL", "\xc0\x80"},
                    Case{"overlong slash", "\xe0\x80\xaf"},
                    Case{"overlong 4-byte", "\xf0\x80\x80\xaf"},
                    Case{"surrogate", "\xed\xa0\x80"},
                    Case{"lead byte F5", "\xf5\x80\x80\x80"},
                    Case{"lone continuation", "a\x80"},
                    Case{"short sequence", "\xf0\x9f\x9a"});
  CAPTURE(c.what);
  REQUIRE(sse::CheckStateString(c.bytes) == "state is not valid UTF-8");
}
