#include "sse/probe/poller.h"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "support/fake_service.h"

using namespace std::chrono_literals;

TEST_CASE(
    "a rebound poller polls on with the new config and lets the old one go",
    "[poller]") {
  sse::test::FakeService fake;
  fake.SetState("running");
  boost::asio::io_context io;
  auto first = std::make_shared<sse::ServiceConfig>();
  first->name = "svc";
  first->url = sse::ParseUrl(fake.Url("/status"));
  first->interval = 20ms;
  first->timeout = 1s;
  first->max_body_bytes = 1024 * 1024;
  auto second = std::make_shared<const sse::ServiceConfig>(*first);
  const sse::ServiceConfig* first_address = first.get();
  std::weak_ptr<const sse::ServiceConfig> old = first;

  std::vector<const sse::ServiceConfig*> seen;
  std::vector<sse::Outcome> outcomes;
  std::shared_ptr<sse::Poller> poller;
  poller = std::make_shared<sse::Poller>(
      io.get_executor(), std::move(first),
      [&](const sse::ServiceConfig& service, const sse::PollResult& result) {
        seen.push_back(&service);
        outcomes.push_back(result.http.outcome);
        if (seen.size() == 3) poller->Rebind(second);
        if (seen.size() == 6) poller->Stop();
      });
  poller->Start(0ms);
  io.run_for(10s);

  REQUIRE(seen.size() == 6);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    REQUIRE(outcomes[i] == sse::Outcome::kOk);
    REQUIRE(seen[i] == (i < 3 ? first_address : second.get()));
  }
  // Nothing holds the replaced config any more; polling went on over the
  // same kept-alive connection.
  REQUIRE(old.expired());
  REQUIRE(fake.connections() == 1);
}
