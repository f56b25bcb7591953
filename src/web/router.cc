#include "sse/web/router.h"

#include <algorithm>

namespace sse {

void Router::Add(std::string path, std::initializer_list<const char*> methods,
                 WebHandler handler) {
  Route route;
  route.path = std::move(path);
  for (const char* m : methods) route.methods.emplace_back(m);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

WebResponse NotFound() {
  return MakeResponse(404, "text/plain; charset=utf-8", "404 page not found\n");
}

WebResponse Router::operator()(const WebRequest& request) const {
  auto route =
      std::find_if(routes_.begin(), routes_.end(),
                   [&](const Route& r) { return r.path == request.path; });
  if (route == routes_.end()) return NotFound();
  if (!route->methods.empty() &&
      std::find(route->methods.begin(), route->methods.end(), request.method) ==
          route->methods.end()) {
    std::string allow;
    for (const auto& m : route->methods)
      allow += (allow.empty() ? "" : ", ") + m;
    WebResponse r =
        MakeResponse(405, "text/plain; charset=utf-8", "Method Not Allowed\n");
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  return route->handler(request);
}

std::vector<std::string> Router::Paths() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r.path);
  return out;
}

}  // namespace sse
