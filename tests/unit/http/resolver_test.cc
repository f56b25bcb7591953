#include "sse/http/resolver.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

using namespace std::chrono_literals;

namespace {

sse::ResolveResult Resolve(const std::string& host, const std::string& port,
                           std::chrono::milliseconds budget = 5s) {
  boost::asio::io_context io;
  sse::ResolveResult result;
  bool done = false;
  boost::asio::co_spawn(
      io,
      sse::ResolveWithDeadline(io.get_executor(), host, port,
                               std::chrono::steady_clock::now() + budget),
      [&](std::exception_ptr e, sse::ResolveResult r) {
        REQUIRE_FALSE(e);
        result = std::move(r);
        done = true;
      });
  io.run();
  REQUIRE(done);
  return result;
}

}  // namespace

TEST_CASE("IP literals resolve without a lookup", "[resolver]") {
  auto v4 = Resolve("127.0.0.1", "8080", 0ms);  // even with no time left
  REQUIRE_FALSE(v4.error);
  REQUIRE(v4.endpoints.size() == 1);
  REQUIRE(v4.endpoints[0].address().to_string() == "127.0.0.1");
  REQUIRE(v4.endpoints[0].port() == 8080);
  auto v6 = Resolve("::1", "443", 0ms);
  REQUIRE_FALSE(v6.error);
  REQUIRE(v6.endpoints[0].address().is_v6());
  REQUIRE(Resolve("127.0.0.1", "http").error ==
          boost::asio::error::service_not_found);
}

TEST_CASE("names resolve through the system resolver", "[resolver]") {
  auto local = Resolve("localhost", "9810");
  REQUIRE_FALSE(local.error);
  REQUIRE_FALSE(local.endpoints.empty());
  for (const auto& endpoint : local.endpoints) {
    REQUIRE(endpoint.address().is_loopback());
    REQUIRE(endpoint.port() == 9810);
  }
}

TEST_CASE("an unknown name is an error, not a hang", "[resolver]") {
  auto start = std::chrono::steady_clock::now();
  auto r = Resolve("nonexistent.invalid", "80", 3s);
  REQUIRE(r.error);
  REQUIRE(r.endpoints.empty());
  REQUIRE(std::chrono::steady_clock::now() - start < 4s);
}

TEST_CASE("many lookups at once all complete", "[resolver]") {
  boost::asio::io_context io;
  int done = 0;
  for (int i = 0; i < 200; ++i) {
    boost::asio::co_spawn(
        io,
        sse::ResolveWithDeadline(io.get_executor(), "localhost",
                                 std::to_string(1000 + i % 7),
                                 std::chrono::steady_clock::now() + 10s),
        [&](std::exception_ptr e, sse::ResolveResult r) {
          REQUIRE_FALSE(e);
          REQUIRE_FALSE(r.error);
          ++done;
        });
  }
  io.run();
  REQUIRE(done == 200);
  REQUIRE(sse::PendingLookups() == 0);
}
