#include "sse/web.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/test_util.h"

namespace {

// A WebServer on 127.0.0.1 with its own I/O thread, stopped and joined at
// the end of the scope.
class Server {
 public:
  explicit Server(sse::WebHandler handler) {
    sse::WebServerOptions options;
    options.listen_address = "127.0.0.1:0";
    server_ = std::make_unique<sse::WebServer>(io_.get_executor(), options, std::move(handler));
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Server() {
    boost::asio::post(io_, [this] {
      server_->Stop();
      io_.stop();
    });
    thread_.join();
  }
  std::uint16_t port() const { return server_->port(); }

 private:
  boost::asio::io_context io_{1};
  std::unique_ptr<sse::WebServer> server_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a response's finish step runs off the I/O thread before it is sent", "[web]") {
  std::atomic<std::thread::id> io_thread{};
  std::atomic<std::thread::id> finish_thread{};
  Server server([&](const sse::WebRequest& req) {
    io_thread = std::this_thread::get_id();
    sse::WebResponse res = sse::MakeResponse(200, "text/plain", "finish me " + req.path);
    if (req.path == "/throw") {
      res.finish = [](sse::WebResponse&) { throw std::runtime_error("compressor broke"); };
    } else {
      res.finish = [&finish_thread](sse::WebResponse& r) {
        finish_thread = std::this_thread::get_id();
        r.body += " done";
        r.headers.emplace_back("X-Finished", "1");
      };
    }
    return res;
  });
  auto reply = sse::test::HttpGet(server.port(), "/a");
  REQUIRE(reply.status == 200);
  REQUIRE(reply.body == "finish me /a done");
  REQUIRE(reply.headers["x-finished"] == "1");
  REQUIRE(reply.headers["content-length"] == std::to_string(reply.body.size()));
  REQUIRE(finish_thread.load() != std::thread::id{});
  REQUIRE(finish_thread.load() != io_thread.load());

  // HEAD: the finished body's length, no body.
  auto head = sse::test::HttpRequest(server.port(), "HEAD", "/a");
  REQUIRE(head.status == 200);
  REQUIRE(head.headers["content-length"] == std::to_string(std::string("finish me /a done").size()));
  REQUIRE(head.body.empty());

  // A finish step that throws is a 500, and the server goes on.
  auto broken = sse::test::HttpGet(server.port(), "/throw");
  REQUIRE(broken.status == 500);
  REQUIRE(broken.body.find("compressor") == std::string::npos);
  REQUIRE(sse::test::HttpGet(server.port(), "/b").body == "finish me /b done");
}

TEST_CASE("finish steps beyond two at a time run on the I/O thread, bounding waiting bodies", "[web]") {
  std::atomic<std::thread::id> io_thread{};
  std::atomic<int> inline_runs{0}, pool_runs{0};
  Server server([&](const sse::WebRequest&) {
    io_thread = std::this_thread::get_id();
    sse::WebResponse res = sse::MakeResponse(200, "text/plain", "slow");
    res.finish = [&](sse::WebResponse& r) {
      ++(std::this_thread::get_id() == io_thread.load() ? inline_runs : pool_runs);
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      r.body += " done";
    };
    return res;
  });
  std::vector<std::future<sse::test::HttpReply>> replies;
  for (int i = 0; i < 5; ++i) {
    replies.push_back(std::async(std::launch::async, [&] { return sse::test::HttpGet(server.port(), "/"); }));
  }
  for (auto& reply : replies) REQUIRE(reply.get().body == "slow done");
  REQUIRE(inline_runs + pool_runs == 5);
  REQUIRE(inline_runs >= 1);
  REQUIRE(pool_runs >= 1);
}
