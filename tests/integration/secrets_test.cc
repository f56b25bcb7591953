// Secrets from files are used, and never appear in logs (at debug level),
// in any endpoint, or in config-check and config-error output.

#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "exporter_rig.h"
#include "support/fake_service.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using sse::test::ExporterRig;
using sse::test::FakeRequest;
using sse::test::FakeResponse;
using sse::test::FakeService;

namespace {

// Every secret contains the marker, nothing else in the configs does.
const std::string kMarker = "S3CRET";
const std::string kToken = "tok-S3CRET-7f3a9c";
const std::string kPassword = "pw-S3CRET-b2e81d";
// base64("probe:pw-S3CRET-b2e81d"): the basic auth header value.
const std::string kBasic = "cHJvYmU6cHctUzNDUkVULWIyZTgxZA==";

// Fails the test if `text` contains a secret in any form.
void RequireNoSecret(const std::string& where, const std::string& text) {
  CAPTURE(where);
  REQUIRE_FALSE(text.empty());
  CHECK(text.find(kMarker) == std::string::npos);
  CHECK(text.find(kBasic) == std::string::npos);
  // Not even its base64 in another alignment.
  CHECK(text.find("UzNDUkVU") == std::string::npos);
}

}  // namespace

TEST_CASE("secrets never appear in logs, endpoints or config errors",
          "[secrets]") {
  const std::string format = GENERATE("logfmt", "json");
  CAPTURE(format);
  FakeService other;  // where a redirect to another origin lands
  FakeService fake;
  fake.SetHandler([&other](const FakeRequest& req) {
    FakeResponse r;
    const std::string auth = req.headers.count("authorization")
                                 ? req.headers.at("authorization")
                                 : "";
    if (req.target == "/unauthorized") {
      r.status = 401;
      r.body = "{\"error\":\"bad credentials: " + auth + "\"}";
    } else if (req.target == "/reflect_html") {
      // A buggy service that reflects the credentials into an error page.
      r.status = 500;
      r.content_type = "text/html";
      r.body = "<html>Authorization was " + auth + "</html>";
    } else if (req.target == "/reflect_json") {
      r.body = "{\"state\":7,\"debug\":\"" + auth + "\"}";
    } else if (req.target == "/away") {
      r.status = 302;
      r.headers["Location"] = other.Url("/landing");
    } else if (req.target == "/hang") {
      r.hang = true;
    } else {
      r.body = R"({"state":"running"})";
    }
    return r;
  });

  sse::test::TempDir secrets;
  const std::string token_file = secrets.Write("token", kToken + "\n");
  const std::string password_file = secrets.Write("password", kPassword + "\n");
  // FreePort: a port nobody listens on (refused connections).
  const std::string refused =
      "http://127.0.0.1:" + std::to_string(sse::test::FreePort()) + "/";
  auto service = [&](const std::string& name, const std::string& url,
                     bool basic, const std::string& extra = "") {
    return "  - name: " + name + "\n    url: " + url + "\n    source: json\n" +
           (basic ? "    basic_auth: {username: probe, password_file: " +
                        password_file + "}\n"
                  : "    bearer_token_file: " + token_file + "\n") +
           extra;
  };
  const std::string config =
      "global:\n  poll_interval: 200ms\n  poll_timeout: 200ms\nservices:\n" +
      service("ok_bearer", fake.Url("/status"), false) +
      service("ok_basic", fake.Url("/status"), true) +
      service("unauthorized", fake.Url("/unauthorized"), false) +
      service("reflect_html", fake.Url("/reflect_html"), true) +
      service("reflect_json", fake.Url("/reflect_json"), false) +
      service("redirect", fake.Url("/away"), false,
              "    follow_redirects: true\n") +
      service("hang", fake.Url("/hang"), true) +
      service("refused", refused, false) +
      service("unresolvable", "http://nonexistent.invalid/", true);

  ExporterRig rig(config, {"--log.format=" + format, "--web.enable-lifecycle"});
  REQUIRE(sse::test::WaitFor(
      [&] { return sse::test::HttpGet(rig.port(), "/-/ready").status == 200; },
      10s));
  std::this_thread::sleep_for(1s);

  // The secrets were read and sent: this test is not vacuous.
  bool saw_bearer = false;
  bool saw_basic = false;
  REQUIRE(sse::test::WaitFor(
      [&] {
        const auto auth = fake.last_request().headers["authorization"];
        saw_bearer = saw_bearer || auth == "Bearer " + kToken;
        saw_basic = saw_basic || auth == "Basic " + kBasic;
        return saw_bearer && saw_basic;
      },
      5s));
  // ...but not to another origin.
  REQUIRE(other.requests() > 0);
  REQUIRE(other.last_request().headers.count("authorization") == 0);

  for (const char* target : {"/metrics", "/", "/api/v1/services",
                             "/api/v1/services?name=reflect_html",
                             "/api/v1/services?name=unauthorized", "/-/healthy",
                             "/-/ready", "/nope"}) {
    auto reply = sse::test::HttpGet(rig.port(), target);
    RequireNoSecret(target, reply.body);
    for (const auto& [name, value] : reply.headers) {
      CAPTURE(target, name);
      CHECK(value.find(kMarker) == std::string::npos);
    }
  }
  auto om = sse::test::HttpGet(
      rig.port(), "/metrics",
      {{"Accept", "application/openmetrics-text;version=1.0.0"}});
  RequireNoSecret("/metrics (OpenMetrics)", om.body);

  // A reload with a config that has credentials inline: rejected, and the
  // error (logged, and in the reload response) does not repeat them.
  rig.RewriteConfig(config + "  - name: inline\n    url: http://probe:" +
                    kPassword + "@127.0.0.1:1/\n");
  auto reload = sse::test::HttpRequest(rig.port(), "POST", "/-/reload");
  REQUIRE(reload.status == 500);
  REQUIRE(reload.body.find("credentials in the URL are not allowed") !=
          std::string::npos);
  RequireNoSecret("POST /-/reload", reload.body);
  rig.process().Signal(SIGHUP);
  REQUIRE(sse::test::WaitFor(
      [&] {
        const std::string log = rig.log();
        std::size_t first = log.find("config reload failed");
        return first != std::string::npos &&
               log.find("config reload failed", first + 1) != std::string::npos;
      },
      5s));
  REQUIRE(rig.process().Stop() == 0);

  const std::string log = rig.log();
  // Debug logging was on and the failures were logged.
  const bool debug = log.find("level=debug") != std::string::npos ||
                     log.find("\"level\":\"debug\"") != std::string::npos;
  REQUIRE(debug);
  for (const char* name : {"unauthorized", "reflect_html", "reflect_json",
                           "hang", "refused", "unresolvable"}) {
    CAPTURE(name);
    CHECK(log.find(name) != std::string::npos);
  }
  RequireNoSecret("exporter log", log);
}

TEST_CASE("config checks and config errors do not print secrets", "[secrets]") {
  sse::test::TempDir dir;
  const std::string token_file = dir.Write("token", kToken + "\n");
  const std::string password_file = dir.Write("password", kPassword + "\n");
  const std::string valid =
      "services:\n  - name: a\n    url: http://127.0.0.1:1/\n    "
      "bearer_token_file: " +
      token_file +
      "\n  - name: b\n    url: http://127.0.0.1:1/\n"
      "    basic_auth: {username: probe, password_file: " +
      password_file + "}\n";
  std::string output;
  REQUIRE(
      sse::test::RunCommand({SSE_BINARY, "--config.check",
                             "--config.file=" + dir.Write("valid.yaml", valid)},
                            output) == 0);
  RequireNoSecret("--config.check (valid)", output);

  struct Case {
    std::string yaml;
    const char* message;
  };
  // Built on every run: GENERATE keeps its values across runs, the
  // temporary directory does not.
  const auto cases = [&](const std::string& what) -> Case {
    if (what == "credentials in the URL") {
      return {"services:\n  - name: a\n    url: http://probe:" + kPassword +
                  "@127.0.0.1:1/\n",
              "credentials in the URL are not allowed"};
    }
    if (what == "token as URL user") {
      return {"services:\n  - name: a\n    url: http://" + kToken +
                  "@127.0.0.1:1/\n",
              "credentials in the URL are not allowed"};
    }
    if (what == "malformed URL with credentials") {
      return {"services:\n  - name: a\n    url: http://probe:" + kPassword +
                  " x@127.0.0.1:1/\n",
              "invalid URL \"http://xxxxx@"};
    }
    if (what == "inline password") {
      return {
          "services:\n  - name: a\n    url: http://127.0.0.1:1/\n"
          "    basic_auth: {username: probe, password: " +
              kPassword + "}\n",
          "basic_auth.password: unknown key"};
    }
    if (what == "inline Authorization header") {
      return {
          "services:\n  - name: a\n    url: http://127.0.0.1:1/\n"
          "    headers: {Authorization: Bearer " +
              kToken + "}\n",
          "use bearer_token_file or basic_auth"};
    }
    if (what == "inline token") {
      return {
          "services:\n  - name: a\n    url: http://127.0.0.1:1/\n"
          "    bearer_token_file: " +
              token_file + "\n    bearer_token: " + kToken + "\n",
          "bearer_token: unknown key"};
    }
    if (what == "YAML syntax error next to a secret") {
      return {
          "services:\n  - name: a\n    url: http://127.0.0.1:1/\n"
          "    headers: {X-Key: \"" +
              kToken + "}\n",
          "invalid YAML"};
    }
    return {valid.substr(0, valid.find("  - name: b")) +
                "    basic_auth: {username: probe, password_file: " +
                password_file + "}\n",
            "at most one of basic_auth and bearer_token_file"};
  };
  const std::string what = GENERATE(
      "credentials in the URL", "token as URL user",
      "malformed URL with credentials", "inline password",
      "inline Authorization header", "inline token",
      "YAML syntax error next to a secret", "basic auth and token both");
  CAPTURE(what);
  const Case c = cases(what);
  const std::string file = dir.Write("invalid.yaml", c.yaml);
  REQUIRE(sse::test::RunCommand(
              {SSE_BINARY, "--config.check", "--config.file=" + file},
              output) == 1);
  CAPTURE(output);
  REQUIRE(output.find(c.message) != std::string::npos);
  RequireNoSecret("--config.check", output);
  // At start-up: exit 1, the error logged without the secret.
  REQUIRE(sse::test::RunCommand(
              {SSE_BINARY, "--config.file=" + file, "--log.level=debug",
               "--web.listen-address=127.0.0.1:0"},
              output) == 1);
  REQUIRE(output.find("cannot load config") != std::string::npos);
  RequireNoSecret("start-up", output);
}
