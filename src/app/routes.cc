#include "sse/app/routes.h"

#include <memory>

namespace sse {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

}  // namespace

std::vector<ServiceRow> ServiceRows(const PollRecorder& recorder,
                                    const std::string& name_filter,
                                    const std::string& state_filter) {
  std::vector<ServiceRow> rows;
  for (auto& view : recorder.tracker().ViewAll()) {
    if (!name_filter.empty() && view.name != name_filter) continue;
    if (!state_filter.empty() && view.state != state_filter) continue;
    ServiceRow row;
    if (const auto* record = recorder.Find(view.name))
      row.poll = record->status;
    row.view = std::move(view);
    rows.push_back(std::move(row));
  }
  return rows;
}

Router MakeRoutes(RouteSources sources) {
  auto src = std::make_shared<const RouteSources>(std::move(sources));
  Router router;
  // First: the telemetry path wins over any other route of the same path.
  router.Add(src->telemetry_path, {"GET", "HEAD"},
             [src](const WebRequest& req) {
               return RenderMetrics(*src->metrics, req);
             });
  router.Add("/", {"GET", "HEAD"}, [src](const WebRequest&) {
    return MakeResponse(200, "text/html; charset=utf-8",
                        RenderLandingPage(ServiceRows(*src->recorder, "", ""),
                                          src->status().lists,
                                          src->telemetry_path, src->now()));
  });
  router.Add("/api/v1/services", {"GET", "HEAD"}, [src](const WebRequest& req) {
    auto name = QueryParam(req.query, "name");
    auto state = QueryParam(req.query, "state");
    if (!name || !state) {
      return MakeResponse(400, kText,
                          "Bad Request: the query is malformed or not UTF-8 "
                          "(percent-encode name and state).\n");
    }
    return MakeResponse(
        200, "application/json",
        RenderServicesJson(ServiceRows(*src->recorder, *name, *state)));
  });
  router.Add("/api/v1/status", {"GET", "HEAD"}, [src](const WebRequest&) {
    return MakeResponse(200, "application/json",
                        RenderStatusJson(src->status()));
  });
  router.Add("/-/healthy", {"GET", "HEAD"}, [](const WebRequest&) {
    return MakeResponse(200, kText, "Service State Exporter is Healthy.\n");
  });
  router.Add("/-/ready", {"GET", "HEAD"}, [src](const WebRequest&) {
    const ExporterStatus status = src->status();
    if (status.ready)
      return MakeResponse(200, kText, "Service State Exporter is Ready.\n");
    return MakeResponse(503, kText,
                        "Not ready: " + std::to_string(status.services_polled) +
                            " of " + std::to_string(status.services) +
                            " targets polled.\n");
  });
  if (!src->enable_lifecycle) {
    router.Add("/-/reload", {}, [](const WebRequest&) {
      return MakeResponse(
          403, kText,
          "Lifecycle API is not enabled (--web.enable-lifecycle).\n");
    });
  } else {
    // The files are read and parsed on the file thread; the answer comes
    // when the reload is applied.
    router.Add("/-/reload", {"POST", "PUT"}, [src](const WebRequest&) {
      WebResponse r;
      r.later = [src](std::function<void(WebResponse)> done) {
        src->reload([done = std::move(done)](bool ok,
                                             const std::string& error) {
          done(ok ? MakeResponse(200, kText, "")
                  : MakeResponse(500, kText,
                                 "failed to reload config: " + error + "\n"));
        });
      };
      return r;
    });
  }
  return router;
}

}  // namespace sse
