#include "sse/web/server.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <map>
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
  explicit Server(sse::WebHandler handler, sse::WebServerOptions options = {}) {
    options.listen_address = "127.0.0.1:0";
    server_ = std::make_unique<sse::WebServer>(io_.get_executor(), options,
                                               std::move(handler));
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
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_{1};
  std::unique_ptr<sse::WebServer> server_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a response's finish step runs off the I/O thread before it is sent",
          "[web]") {
  std::atomic<std::thread::id> io_thread{};
  std::atomic<std::thread::id> finish_thread{};
  Server server([&](const sse::WebRequest& req) {
    io_thread = std::this_thread::get_id();
    sse::WebResponse res =
        sse::MakeResponse(200, "text/plain", "finish me " + req.path);
    if (req.path == "/throw") {
      res.finish = [](sse::WebResponse&) {
        throw std::runtime_error("compressor broke");
      };
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
  REQUIRE(head.headers["content-length"] ==
          std::to_string(std::string("finish me /a done").size()));
  REQUIRE(head.body.empty());

  // A finish step that throws is a 500, and the server goes on.
  auto broken = sse::test::HttpGet(server.port(), "/throw");
  REQUIRE(broken.status == 500);
  REQUIRE(broken.body.find("compressor") == std::string::npos);
  REQUIRE(sse::test::HttpGet(server.port(), "/b").body == "finish me /b done");
}

TEST_CASE(
    "heavy responses are made two at a time; the others wait without a body",
    "[web]") {
  std::atomic<std::thread::id> io_thread{};
  std::atomic<int> bodies{0}, most_bodies{0}, renders_off_io{0},
      finishes_on_io{0};
  Server server([&](const sse::WebRequest&) {
    io_thread = std::this_thread::get_id();
    sse::WebResponse res;
    res.render = [&](sse::WebResponse& r) {
      if (std::this_thread::get_id() != io_thread.load()) ++renders_off_io;
      const int now = ++bodies;
      for (int seen = most_bodies;
           now > seen && !most_bodies.compare_exchange_weak(seen, now);) {
      }
      r.body = "slow";
    };
    res.finish = [&](sse::WebResponse& r) {
      if (std::this_thread::get_id() == io_thread.load()) ++finishes_on_io;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r.body += " done";
      --bodies;
    };
    return res;
  });
  std::vector<std::future<sse::test::HttpReply>> replies;
  for (int i = 0; i < 6; ++i) {
    replies.push_back(std::async(std::launch::async, [&] {
      return sse::test::HttpGet(server.port(), "/");
    }));
  }
  for (auto& reply : replies) REQUIRE(reply.get().body == "slow done");
  // Six requests at once, but never more than two bodies made and waiting.
  REQUIRE(most_bodies == 2);
  REQUIRE(renders_off_io == 0);
  REQUIRE(finishes_on_io == 0);
  REQUIRE(bodies == 0);
}

TEST_CASE(
    "requests with the same share key that wait together get one response, "
    "made after the last of them arrived",
    "[web]") {
  // On the I/O thread only: the handler and the render step run there.
  std::map<std::string, std::vector<std::string>> arrived;  // by path
  int renders = 0;
  std::atomic<int> renders_seen{0};
  Server server([&](const sse::WebRequest& req) {
    arrived[req.path].emplace_back(req.Header("x-id"));
    sse::WebResponse res;
    res.share_key = req.path;
    res.render = [&, path = req.path](sse::WebResponse& r) {
      ++renders;
      ++renders_seen;
      r.body = "render " + std::to_string(renders) + ":";
      for (const std::string& id : arrived[path]) r.body += " " + id + ";";
      arrived[path].clear();
    };
    res.finish = [](sse::WebResponse& r) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      r.body += " done";
    };
    res.headers.emplace_back("X-Key", req.path);
    return res;
  });
  auto get = [&](const std::string& path, int id) {
    return std::async(std::launch::async, [&server, path, id] {
      return sse::test::HttpGet(server.port(), path,
                                {{"X-Id", std::to_string(id)}});
    });
  };
  auto first = get("/shared", 0);
  // Once the first is being made, seven more come: they must not get it
  // (it was rendered before they asked) and all join the next one.
  for (int i = 0; i < 200 && renders_seen == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(renders_seen == 1);
  std::vector<std::future<sse::test::HttpReply>> late;
  for (int id = 1; id <= 7; ++id) late.push_back(get("/shared", id));
  auto other = get("/other", 8);  // another key: its own response
  const sse::test::HttpReply reply0 = first.get();
  REQUIRE(reply0.body == "render 1: 0; done");
  std::string shared_body;
  for (int id = 1; id <= 7; ++id) {
    const sse::test::HttpReply reply = late[id - 1].get();
    REQUIRE(reply.status == 200);
    REQUIRE(reply.headers.at("x-key") == "/shared");
    REQUIRE(reply.body.find(" " + std::to_string(id) + ";") !=
            std::string::npos);
    if (id == 1) shared_body = reply.body;
    REQUIRE(reply.body == shared_body);
  }
  const sse::test::HttpReply reply8 = other.get();
  REQUIRE(reply8.headers.at("x-key") == "/other");
  REQUIRE(reply8.body.find(" 8;") != std::string::npos);
  REQUIRE(reply8.body.find(" 1;") == std::string::npos);
  // One render for the first, one for the seven, one for the other key.
  REQUIRE(renders_seen == 3);
}

TEST_CASE(
    "a later response is sent when it is ready; other requests are served "
    "meanwhile",
    "[web]") {
  sse::WebServerOptions options;
  options.write_timeout = std::chrono::milliseconds(1500);
  std::vector<std::thread> workers;
  Server* self = nullptr;
  Server server(
      [&](const sse::WebRequest& req) {
        if (req.path == "/fast")
          return sse::MakeResponse(200, "text/plain", "fast");
        sse::WebResponse res;
        if (req.path == "/throw") {
          res.later = [](std::function<void(sse::WebResponse)>) {
            throw std::runtime_error("no");
          };
        } else if (req.path == "/never") {
          res.later = [](std::function<void(sse::WebResponse)>) {};
        } else {
          // Work on another thread for a while, then answer on the I/O
          // thread, with a finish step to run as any response's.
          res.later = [&](std::function<void(sse::WebResponse)> done) {
            workers.emplace_back([&, done = std::move(done)] {
              std::this_thread::sleep_for(std::chrono::milliseconds(500));
              boost::asio::post(self->io(), [done] {
                sse::WebResponse r =
                    sse::MakeResponse(200, "text/plain", "slow");
                r.finish = [](sse::WebResponse& made) { made.body += " done"; };
                done(r);
                done(sse::MakeResponse(500, "text/plain", "twice"));  // ignored
              });
            });
          };
        }
        return res;
      },
      options);
  self = &server;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto slow = std::async(std::launch::async, [&] {
    return sse::test::HttpGet(server.port(), "/slow");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto fast = sse::test::HttpGet(server.port(), "/fast");
  REQUIRE(fast.status == 200);
  REQUIRE(Clock::now() - start < std::chrono::milliseconds(400));
  auto reply = slow.get();
  REQUIRE(reply.status == 200);
  REQUIRE(reply.body == "slow done");
  REQUIRE(Clock::now() - start >= std::chrono::milliseconds(500));

  REQUIRE(sse::test::HttpGet(server.port(), "/throw").status == 500);
  // Never answered: the connection closes at the write timeout.
  const auto asked = Clock::now();
  auto never = sse::test::HttpRequest(server.port(), "GET", "/never", {},
                                      std::chrono::seconds(10));
  REQUIRE(never.status == 0);
  REQUIRE(Clock::now() - asked >= std::chrono::milliseconds(1400));
  REQUIRE(Clock::now() - asked < std::chrono::seconds(5));
  for (auto& w : workers) w.join();
}
