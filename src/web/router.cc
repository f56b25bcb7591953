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

void Router::AddPrefix(std::string prefix,
                       std::initializer_list<const char*> methods,
                       WebHandler handler) {
  Add(std::move(prefix), methods, std::move(handler));
  routes_.back().prefix = true;
}

const Router::Route* Router::Match(const std::string& path) const {
  const Route* best = nullptr;
  for (const Route& r : routes_) {
    if (!r.prefix) {
      if (r.path == path) return &r;
      continue;
    }
    if (path.size() > r.path.size() && path.starts_with(r.path) &&
        (best == nullptr || r.path.size() > best->path.size())) {
      best = &r;
    }
  }
  return best;
}

WebResponse NotFound() {
  return MakeResponse(404, "text/plain; charset=utf-8", "404 page not found\n");
}

WebResponse Router::operator()(const WebRequest& request) const {
  const Route* route = Match(request.path);
  if (route == nullptr) return NotFound();
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
