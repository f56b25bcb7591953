#include "sse/web/router.h"

#include <catch2/catch.hpp>

namespace {

sse::WebRequest Request(const char* method, const char* path) {
  sse::WebRequest r;
  r.method = method;
  r.path = path;
  r.target = path;
  return r;
}

std::string Allow(const sse::WebResponse& r) {
  for (const auto& [k, v] : r.headers) {
    if (k == "Allow") return v;
  }
  return "";
}

}  // namespace

TEST_CASE("the router answers 404, 405 with Allow, or the route's answer",
          "[router]") {
  sse::Router router;
  router.Add("/a", {"GET", "HEAD"}, [](const sse::WebRequest&) {
    return sse::MakeResponse(200, "text/plain", "a");
  });
  router.Add("/any", {}, [](const sse::WebRequest& r) {
    return sse::MakeResponse(403, "text/plain", r.method);
  });
  // A second route of the same path is never reached: the first wins.
  router.Add("/a", {"POST"}, [](const sse::WebRequest&) {
    return sse::MakeResponse(500, "text/plain", "shadowed");
  });

  CHECK(router(Request("GET", "/a")).body == "a");
  CHECK(router(Request("HEAD", "/a")).status == 200);
  const sse::WebResponse post = router(Request("POST", "/a"));
  CHECK(post.status == 405);
  CHECK(Allow(post) == "GET, HEAD");
  CHECK(router(Request("DELETE", "/any")).body == "DELETE");
  CHECK(router(Request("GET", "/any")).status == 403);
  const sse::WebResponse missing = router(Request("GET", "/b"));
  CHECK(missing.status == 404);
  CHECK(missing.body == "404 page not found\n");
  CHECK(router(Request("GET", "/a/")).status == 404);
  CHECK(router.Paths() == std::vector<std::string>{"/a", "/any", "/a"});
}
