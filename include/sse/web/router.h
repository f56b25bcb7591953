#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "sse/web/server.h"

namespace sse {

/// The exporter's endpoints: one route per path, with the methods it
/// answers. A path without a route is 404; a method the route does not
/// answer is 405 with `Allow`. Routes are added at start; dispatching is
/// thread-compatible (the server's executor calls it).
class Router {
 public:
  /// Adds a route. `methods` lists what it answers ("GET", "HEAD", ...);
  /// an empty list answers every method (the handler decides).
  void Add(std::string path, std::initializer_list<const char*> methods,
           WebHandler handler);
  /// Adds a route for every path that starts with `prefix` and goes on
  /// (e.g. "/api/v1/services/" for /api/v1/services/{name}); exact routes
  /// win over prefixes, longer prefixes over shorter.
  void AddPrefix(std::string prefix, std::initializer_list<const char*> methods,
                 WebHandler handler);

  /// The route's answer to `request`.
  WebResponse operator()(const WebRequest& request) const;

  /// The paths, in the order added.
  std::vector<std::string> Paths() const;

 private:
  struct Route {
    std::string path;
    std::vector<std::string> methods;
    WebHandler handler;
    bool prefix = false;
  };
  const Route* Match(const std::string& path) const;
  std::vector<Route> routes_;
};

/// 404 with Prometheus' text, for a path no route serves.
WebResponse NotFound();

}  // namespace sse
