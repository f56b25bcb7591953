#include "sse/http/client.h"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "sse/version.h"
#include "support/fake_service.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using sse::test::FakeRequest;
using sse::test::FakeResponse;
using sse::test::FakeService;

namespace {

// Runs one Get() to completion on a private io_context.
struct ClientRig {
  boost::asio::io_context io;
  sse::HttpClient client;
  ClientRig(const std::string& url, sse::HttpClientOptions options = {})
      : client(io.get_executor(), sse::ParseUrl(url), std::move(options)) {}
  sse::HttpResult Get() {
    sse::HttpResult result;
    boost::asio::co_spawn(io, client.Get(),
                          [&](std::exception_ptr e, sse::HttpResult r) {
                            REQUIRE_FALSE(e);
                            result = std::move(r);
                          });
    io.restart();
    io.run();
    return result;
  }
};

}  // namespace

TEST_CASE("keep-alive: many polls share one connection", "[http_client]") {
  FakeService fake;
  fake.SetState("running");
  ClientRig rig(fake.Url("/status"));
  for (int i = 0; i < 5; ++i) {
    auto r = rig.Get();
    REQUIRE(r.outcome == sse::Outcome::kOk);
    REQUIRE(r.status == 200);
    REQUIRE(r.body == R"({"state":"running"})");
  }
  REQUIRE(fake.requests() == 5);
  REQUIRE(fake.connections() == 1);
  REQUIRE(rig.client.connections_opened() == 1);
  REQUIRE(fake.last_request().target == "/status");
  REQUIRE(fake.last_request().headers.at("host") ==
          "127.0.0.1:" + std::to_string(fake.port()));
}

TEST_CASE("a server that closes after each response gets a new connection",
          "[http_client]") {
  FakeService fake;
  fake.SetHandler([](const FakeRequest&) {
    FakeResponse r;
    r.body = "{}";
    r.keep_alive = false;
    return r;
  });
  ClientRig rig(fake.Url());
  for (int i = 0; i < 3; ++i) REQUIRE(rig.Get().outcome == sse::Outcome::kOk);
  REQUIRE(fake.connections() == 3);
}

TEST_CASE("the timeout covers a server that never answers", "[http_client]") {
  FakeService fake;
  fake.SetHandler([](const FakeRequest&) {
    FakeResponse r;
    r.delay = 3s;
    return r;
  });
  sse::HttpClientOptions options;
  options.timeout = 200ms;
  ClientRig rig(fake.Url(), options);
  auto start = std::chrono::steady_clock::now();
  auto r = rig.Get();
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(r.outcome == sse::Outcome::kTimeout);
  REQUIRE(elapsed < 1s);
}

TEST_CASE("a refused connection is connect_error", "[http_client]") {
  // FreePort: a port nobody listens on (refused connections).
  ClientRig rig("http://127.0.0.1:" + std::to_string(sse::test::FreePort()) +
                "/");
  auto r = rig.Get();
  REQUIRE(r.outcome == sse::Outcome::kConnectError);
  REQUIRE(r.error.find("connect") != std::string::npos);
}

TEST_CASE("the body read stops at max_body_bytes", "[http_client]") {
  FakeService fake;
  fake.SetResponse(200, std::string(4 * 1024 * 1024, 'x'));
  sse::HttpClientOptions options;
  options.max_body_bytes = 1024;
  ClientRig rig(fake.Url(), options);
  auto r = rig.Get();
  REQUIRE(r.outcome == sse::Outcome::kTooLarge);
  REQUIRE(r.body.empty());
  // A body just under the limit passes.
  fake.SetResponse(200, std::string(1024, 'y'));
  REQUIRE(rig.Get().outcome == sse::Outcome::kOk);
}

TEST_CASE("a chunked body over the limit is too_large", "[http_client]") {
  FakeService fake;
  std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 100; ++i)
    raw += "400\r\n" + std::string(1024, 'z') + "\r\n";
  raw += "0\r\n\r\n";
  fake.SetHandler([raw](const FakeRequest&) {
    FakeResponse r;
    r.raw = raw;
    return r;
  });
  sse::HttpClientOptions options;
  options.max_body_bytes = 10 * 1024;
  ClientRig rig(fake.Url(), options);
  REQUIRE(rig.Get().outcome == sse::Outcome::kTooLarge);
}

TEST_CASE("malformed responses are http_error", "[http_client]") {
  FakeService fake;
  auto raw = GENERATE(std::string("garbage\r\n\r\n"),
                      std::string("HTTP/1.1 200 OK\r\nX-Big: ") +
                          std::string(200 * 1024, 'h') + "\r\n\r\n",
                      std::string("HTTP/1.1 2000 OK\r\n\r\n"));
  fake.SetHandler([raw](const FakeRequest&) {
    FakeResponse r;
    r.raw = raw;
    return r;
  });
  ClientRig rig(fake.Url());
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == sse::Outcome::kHttpError);
}

TEST_CASE("redirects are not followed unless configured", "[http_client]") {
  FakeService fake;
  fake.SetHandler([](const FakeRequest& req) {
    FakeResponse r;
    if (req.target == "/old") {
      r.status = 302;
      r.headers["Location"] = "/new";
    } else {
      r.body = R"({"state":"running"})";
    }
    return r;
  });
  {
    ClientRig rig(fake.Url("/old"));
    auto r = rig.Get();
    REQUIRE(r.outcome == sse::Outcome::kOk);
    REQUIRE(r.status == 302);
  }
  sse::HttpClientOptions options;
  options.follow_redirects = true;
  ClientRig rig(fake.Url("/old"), options);
  auto r = rig.Get();
  REQUIRE(r.status == 200);
  REQUIRE(fake.last_request().target == "/new");
}

TEST_CASE("a redirect loop stops with http_error", "[http_client]") {
  FakeService fake;
  fake.SetHandler([](const FakeRequest& req) {
    FakeResponse r;
    r.status = 301;
    r.headers["Location"] = req.target == "/a" ? "/b" : "/a";
    return r;
  });
  sse::HttpClientOptions options;
  options.follow_redirects = true;
  ClientRig rig(fake.Url("/a"), options);
  auto r = rig.Get();
  REQUIRE(r.outcome == sse::Outcome::kHttpError);
  REQUIRE(r.error.find("redirects") != std::string::npos);
  REQUIRE(fake.requests() == 11);
}

TEST_CASE("auth and custom headers are sent", "[http_client]") {
  sse::test::TempDir dir;
  dir.Write("token", "tok-123\n");
  dir.Write("password", "pw\n");
  auto config = sse::ParseConfig(
      "services:\n"
      "  - name: a\n    url: http://127.0.0.1:1/\n    bearer_token_file: "
      "token\n"
      "    headers: {X-Probe: yes}\n"
      "  - name: b\n    url: http://127.0.0.1:1/\n"
      "    basic_auth: {username: probe, password_file: password}\n",
      "mem.yaml", dir.path());
  FakeService fake;
  {
    ClientRig rig(fake.Url(), sse::ClientOptionsFor(config.services[0]));
    REQUIRE(rig.Get().outcome == sse::Outcome::kOk);
    auto req = fake.last_request();
    REQUIRE(req.headers.at("authorization") == "Bearer tok-123");
    REQUIRE(req.headers.at("x-probe") == "yes");
    REQUIRE(req.headers.at("user-agent").rfind("service_state_exporter/", 0) ==
            0);
  }
  {
    ClientRig rig(fake.Url(), sse::ClientOptionsFor(config.services[1]));
    REQUIRE(rig.Get().outcome == sse::Outcome::kOk);
    // base64("probe:pw")
    REQUIRE(fake.last_request().headers.at("authorization") ==
            "Basic cHJvYmU6cHc=");
  }
}

TEST_CASE("credentials are not sent where a redirect to another origin points",
          "[http_client]") {
  FakeService other;  // another port: another origin
  FakeService origin;
  origin.SetHandler([&other](const FakeRequest& req) {
    FakeResponse r;
    if (req.target == "/away") {
      r.status = 307;
      r.headers["Location"] = other.Url("/landing");
    } else if (req.target == "/here") {
      r.status = 302;
      r.headers["Location"] = "/landed";
    } else {
      r.body = R"({"state":"running"})";
    }
    return r;
  });
  sse::HttpClientOptions options;
  options.follow_redirects = true;
  options.headers = {{"Authorization", "Bearer s3cret"}, {"X-Probe", "yes"}};
  {
    ClientRig rig(origin.Url("/away"), options);
    auto r = rig.Get();
    REQUIRE(r.outcome == sse::Outcome::kOk);
    REQUIRE(r.status == 200);
    REQUIRE(origin.last_request().headers.at("authorization") ==
            "Bearer s3cret");
    auto landed = other.last_request();
    REQUIRE(landed.target == "/landing");
    REQUIRE(landed.headers.count("authorization") == 0);
    REQUIRE(landed.headers.at("x-probe") == "yes");
  }
  {
    // Same origin: the credentials follow.
    ClientRig rig(origin.Url("/here"), options);
    REQUIRE(rig.Get().status == 200);
    REQUIRE(origin.last_request().target == "/landed");
    REQUIRE(origin.last_request().headers.at("authorization") ==
            "Bearer s3cret");
  }
}

TEST_CASE("a response cut off by the server is connect_error",
          "[http_client]") {
  FakeService fake;
  fake.SetHandler([](const FakeRequest&) {
    FakeResponse r;
    r.raw = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"state\":";
    return r;
  });
  ClientRig rig(fake.Url());
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == sse::Outcome::kConnectError);
  REQUIRE(r.error.find("partial message") != std::string::npos);
}

TEST_CASE("a reset in the middle of the body is connect_error",
          "[http_client]") {
  FakeService fake;
  fake.SetHandler([](const FakeRequest&) {
    FakeResponse r;
    r.raw = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"state\":";
    r.reset = true;
    return r;
  });
  ClientRig rig(fake.Url());
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == sse::Outcome::kConnectError);
}

TEST_CASE("a streamed 64 MiB body stops at the limit", "[http_client]") {
  FakeService fake;
  fake.SetHandler([](const FakeRequest&) {
    FakeResponse r;
    r.raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    r.stream_bytes = 64ull << 20;
    r.stream_chunked = true;
    return r;
  });
  sse::HttpClientOptions options;
  options.max_body_bytes = 1 << 20;
  ClientRig rig(fake.Url(), options);
  auto r = rig.Get();
  REQUIRE(r.outcome == sse::Outcome::kTooLarge);
  // The client stopped reading: the fake could not write all 64 MiB.
  REQUIRE(sse::test::WaitFor([&] { return fake.connections() == 1; }, 1s));
  std::this_thread::sleep_for(200ms);
  REQUIRE(fake.bytes_streamed() < (32ull << 20));
}

TEST_CASE("100 Continue and 103 Early Hints before the response are skipped",
          "[http_client]") {
  FakeService fake;
  std::atomic<int> n{0};
  fake.SetHandler([&n](const FakeRequest&) {
    FakeResponse r;
    // 100 Continue and 103 Early Hints, then the response; the connection
    // stays open.
    const std::string state = ++n % 2 ? "running" : "stopped";
    const std::string body = "{\"state\":\"" + state + "\"}";
    r.raw =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: "
        "</a>\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    r.hang = true;
    return r;
  });
  ClientRig rig(fake.Url());
  auto first = rig.Get();
  REQUIRE(first.outcome == sse::Outcome::kOk);
  REQUIRE(first.status == 200);
  REQUIRE(first.body == R"({"state":"running"})");
}

TEST_CASE("the plain GET is the request Beast's serializer writes",
          "[http_client]") {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  const sse::Url url = sse::ParseUrl("http://svc.example:8080/status?x=1");
  auto beast_get = [&url](const Headers& headers) {
    namespace http = boost::beast::http;
    http::request<http::empty_body> req{http::verb::get, url.target, 11};
    req.set(http::field::host, url.host_header);
    req.set(http::field::user_agent,
            std::string("service_state_exporter/") + sse::kVersion);
    req.set(http::field::accept, "application/json, */*;q=0.5");
    for (const auto& [name, value] : headers) req.set(name, value);
    std::ostringstream out;
    out << req;
    return out.str();
  };
  for (const Headers& headers : std::vector<Headers>{
           {},
           {{"X-Probe", "yes"}},
           {{"Authorization", "Bearer t"}, {"X-A", "1"}},
           {{"accept", "text/plain"}, {"X-B", "2"}},
           {{"User-Agent", "mine"}, {"x-c", "3"}, {"X-C", "4"}},
           {{"X-Spaces", " \t padded \t"}, {"X-Empty", "  "}},
       }) {
    INFO(headers.size() << " headers");
    REQUIRE(sse::PlainGetRequest(url, headers) == beast_get(headers));
  }
}

TEST_CASE("a redirect that times out leaves the next poll a working connection",
          "[http_client]") {
  FakeService slow;  // the other origin: answers too late
  slow.SetHandler([](const FakeRequest&) {
    FakeResponse r;
    r.delay = 2s;
    return r;
  });
  FakeService fake;
  std::atomic<bool> redirect{true};
  fake.SetHandler([&](const FakeRequest&) {
    FakeResponse r;
    if (redirect) {
      r.status = 302;
      r.headers["Location"] = slow.Url("/late");
    } else {
      r.body = R"({"state":"running"})";
    }
    return r;
  });
  sse::HttpClientOptions options;
  options.follow_redirects = true;
  options.timeout = 300ms;
  ClientRig rig(fake.Url("/"), options);
  REQUIRE(rig.Get().outcome == sse::Outcome::kTimeout);
  redirect = false;
  const sse::HttpResult next = rig.Get();
  INFO(next.error);
  REQUIRE(next.outcome == sse::Outcome::kOk);
  REQUIRE(next.status == 200);
}

TEST_CASE("Close() while a redirect's request is pending ends it at once",
          "[http_client]") {
  // The second origin answers after 5 s; Close() must not wait for it (it
  // once cancelled only the first origin's connection).
  FakeService slow;
  slow.SetHandler([](const FakeRequest&) {
    FakeResponse r;
    r.delay = 5s;
    r.body = R"({"state":"running"})";
    return r;
  });
  FakeService first;
  first.SetHandler([&](const FakeRequest&) {
    FakeResponse r;
    r.status = 302;
    r.headers["Location"] = slow.Url("/late");
    return r;
  });
  sse::HttpClientOptions options;
  options.follow_redirects = true;
  options.timeout = 10s;
  boost::asio::io_context io;
  sse::HttpClient client(io.get_executor(), sse::ParseUrl(first.Url("/")),
                         options);
  std::optional<sse::HttpResult> result;
  boost::asio::co_spawn(io, client.Get(),
                        [&](std::exception_ptr e, sse::HttpResult r) {
                          REQUIRE_FALSE(e);
                          result = std::move(r);
                        });
  // Close once the slow origin has the request.
  boost::asio::steady_timer poll(io);
  std::function<void()> wait_then_close = [&] {
    if (slow.requests() > 0) {
      client.Close();
      return;
    }
    poll.expires_after(5ms);
    poll.async_wait([&](auto) { wait_then_close(); });
  };
  wait_then_close();
  const auto start = std::chrono::steady_clock::now();
  io.run_for(8s);
  REQUIRE(result.has_value());
  REQUIRE(result->outcome != sse::Outcome::kOk);
  REQUIRE(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE(
    "a credential file is read again when it changes, never its old "
    "secret once it is gone",
    "[http_client]") {
  FakeService fake;
  fake.SetHandler([](const FakeRequest& req) {
    FakeResponse r;
    auto auth = req.headers.find("authorization");
    r.body =
        nlohmann::json{{"auth", auth == req.headers.end() ? "" : auth->second}}
            .dump();
    return r;
  });
  sse::test::TempDir dir;
  const std::string token = dir.Write("token", "first\n");
  sse::HttpClientOptions options;
  options.auth = {sse::AuthFile::Scheme::kBearer, token, "",
                  "bearer_token_file"};
  ClientRig rig(fake.Url("/"), options);
  auto auth_of = [](const sse::HttpResult& r) {
    return nlohmann::json::parse(r.body)["auth"].get<std::string>();
  };
  REQUIRE(auth_of(rig.Get()) == "Bearer first");
  // Rotated as the kubelet does it: a new file renamed over the old one.
  dir.Write("token.new", "second");
  std::filesystem::rename(dir.path() / "token.new", token);
  REQUIRE(auth_of(rig.Get()) == "Bearer second");
  // Rewritten in place with the same size.
  dir.Write("token", "third!");
  REQUIRE(auth_of(rig.Get()) == "Bearer third!");
  const auto sent = fake.requests();

  // Gone: the poll fails with the file named, and nothing is sent.
  std::filesystem::remove(token);
  auto missing = rig.Get();
  REQUIRE(missing.outcome == sse::Outcome::kHttpError);
  REQUIRE(missing.error.find("bearer_token_file") != std::string::npos);
  REQUIRE(missing.error.find(token) != std::string::npos);
  REQUIRE(missing.error.find("does not exist") != std::string::npos);
  REQUIRE(fake.requests() == sent);
  // Empty while being written: the same.
  dir.Write("token", "");
  auto empty = rig.Get();
  REQUIRE(empty.outcome == sse::Outcome::kHttpError);
  REQUIRE(empty.error.find("is empty") != std::string::npos);
  REQUIRE(fake.requests() == sent);
  // Back: used at once.
  dir.Write("token", "fourth");
  REQUIRE(auth_of(rig.Get()) == "Bearer fourth");

  // Basic auth from a password file, the same way.
  const std::string password = dir.Write("password", "s3cret\n");
  sse::HttpClientOptions basic;
  basic.auth = {sse::AuthFile::Scheme::kBasic, password, "probe",
                "basic_auth.password_file"};
  ClientRig basic_rig(fake.Url("/"), basic);
  REQUIRE(auth_of(basic_rig.Get()) ==
          "Basic cHJvYmU6czNjcmV0");  // probe:s3cret
  dir.Write("password", "other");
  REQUIRE(auth_of(basic_rig.Get()) == "Basic cHJvYmU6b3RoZXI=");  // probe:other
}
