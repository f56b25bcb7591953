#include "sse/app/routes.h"

#include <algorithm>
#include <charconv>
#include <memory>

#include "sse/util/clock.h"
#include "sse/web/pages.h"

namespace sse {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kHtml = "text/html; charset=utf-8";

WebResponse BadQuery(const char* what) {
  return MakeResponse(400, kText,
                      std::string("Bad Request: ") + what +
                          " (percent-encode values; see docs/api.md).\n");
}

// An HTML page; gzipped off the I/O thread when the client accepts it (a
// page of a flapping fleet is ~1 MB of repetitive SVG).
WebResponse Page(const WebRequest& req, std::string html) {
  WebResponse r = MakeResponse(200, kHtml, std::move(html));
  r.headers = PageHeaders();
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (AcceptsGzip(req.Header("accept-encoding"))) {
    r.finish = [](WebResponse& done) { done.body = Gzip(done.body); };
    r.headers.emplace_back("Content-Encoding", "gzip");
  }
  return r;
}

// One service with its history and poll status, or nullopt.
std::optional<ServiceRow> DetailRow(const PollRecorder& recorder,
                                    const std::string& name) {
  std::optional<ServiceView> view = recorder.tracker().View(name);
  if (!view) return std::nullopt;
  ServiceRow row;
  if (const auto* record = recorder.Find(name)) row.poll = record->status;
  row.view = std::move(*view);
  return row;
}

// /api/v1/events: its query, read.
struct EventsQuery {
  EventQuery query;
  bool watch = false;
  bool has_since = false;
};

std::optional<EventsQuery> ParseEventsQuery(std::string_view raw,
                                            std::string& error) {
  EventsQuery q;
  auto values =
      QueryParams(raw, {"service", "type", "since", "limit", "watch"});
  if (!values) {
    error = "the query is malformed or not UTF-8";
    return std::nullopt;
  }
  q.query.service = (*values)[0];
  q.query.type = (*values)[1];
  const std::string& since = (*values)[2];
  const std::string& limit = (*values)[3];
  const std::string& watch = (*values)[4];
  if (!since.empty()) {
    auto t = ParseTimestamp(since);
    if (!t) {
      error = "since must be an RFC 3339 time or Unix seconds";
      return std::nullopt;
    }
    q.query.since = *t;
    q.has_since = true;
  }
  if (!limit.empty()) {
    std::size_t n = 0;
    auto [end, ec] =
        std::from_chars(limit.data(), limit.data() + limit.size(), n);
    if (ec != std::errc() || end != limit.data() + limit.size() || n == 0 ||
        n > kMaxEventsLimit) {
      error = "limit must be a whole number from 1 to " +
              std::to_string(kMaxEventsLimit);
      return std::nullopt;
    }
    q.query.limit = n;
  }
  if (watch == "true" || watch == "1") {
    q.watch = true;
  } else if (!watch.empty() && watch != "false" && watch != "0") {
    error = "watch must be true or false";
    return std::nullopt;
  }
  return q;
}

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
  router.Add("/", {"GET", "HEAD"}, [src](const WebRequest& req) {
    std::optional<PageQuery> query = ParsePageQuery(req.query);
    if (!query) {
      return BadQuery(
          "the query is malformed, not UTF-8, or has a bad page or range "
          "(range=1h or 1d)");
    }
    LandingPage page;
    const PollRecorder& recorder = *src->recorder;
    page.services = recorder.tracker().Briefs();
    page.lists = src->status().lists;
    page.detail = [&recorder](const std::string& name) {
      return DetailRow(recorder, name);
    };
    page.telemetry_path = src->telemetry_path;
    page.now = src->now();
    return Page(req, RenderLandingPage(page, *query));
  });
  router.AddPrefix("/services/", {"GET", "HEAD"}, [src](const WebRequest& req) {
    const std::string name = req.path.substr(std::string("/services/").size());
    std::optional<ServiceRow> row = DetailRow(*src->recorder, name);
    if (!row) return MakeResponse(404, kText, "no such service\n");
    return Page(req,
                RenderServicePage(*row, src->telemetry_path, src->now(),
                                  src->recorder->tracker().history_size()));
  });
  router.AddPrefix("/badge/", {"GET", "HEAD"}, [src](const WebRequest& req) {
    std::string name = req.path.substr(std::string("/badge/").size());
    if (!name.ends_with(".svg"))
      return MakeResponse(404, kText, "badges are at /badge/{name}.svg\n");
    name.resize(name.size() - 4);
    std::optional<ServiceView> view = src->recorder->tracker().View(name);
    if (!view) return MakeResponse(404, kText, "no such service\n");
    WebResponse r = MakeResponse(200, "image/svg+xml",
                                 RenderBadgeSvg(name, view->state, view->up));
    double interval = 0;
    if (const auto* record = src->recorder->Find(name))
      interval = record->status.interval_seconds;
    // Cacheable for as long as the state cannot change: one poll interval.
    r.headers.emplace_back(
        "Cache-Control",
        "max-age=" + std::to_string(static_cast<long>(interval)));
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'");
    return r;
  });
  router.Add("/api/v1/services", {"GET", "HEAD"}, [src](const WebRequest& req) {
    auto filters = QueryParams(req.query, {"name", "state"});
    if (!filters) {
      return MakeResponse(400, kText,
                          "Bad Request: the query is malformed or not UTF-8 "
                          "(percent-encode name and state).\n");
    }
    return MakeResponse(200, "application/json",
                        RenderServicesJson(ServiceRows(
                            *src->recorder, (*filters)[0], (*filters)[1])));
  });
  router.AddPrefix(
      "/api/v1/services/", {"GET", "HEAD"}, [src](const WebRequest& req) {
        const std::string name =
            req.path.substr(std::string("/api/v1/services/").size());
        std::optional<ServiceRow> row = DetailRow(*src->recorder, name);
        if (!row) {
          return MakeResponse(404, "application/json",
                              "{\"error\": \"no such service\"}\n");
        }
        return MakeResponse(
            200, "application/json",
            RenderServiceJson(*row, src->recorder->tracker().history_size()));
      });
  router.Add("/api/v1/events", {"GET", "HEAD"}, [src](const WebRequest& req) {
    std::string error;
    std::optional<EventsQuery> q = ParseEventsQuery(req.query, error);
    if (!q) return BadQuery(error.c_str());
    const Tracker& tracker = src->recorder->tracker();
    if (!q->watch) {
      return MakeResponse(200, "application/json",
                          RenderEventsJson(tracker.Events(q->query)));
    }
    // Events since `since` first (oldest first), then live ones.
    std::vector<FleetEvent> replay;
    if (q->has_since) {
      replay = tracker.Events(q->query);
      std::reverse(replay.begin(), replay.end());
    }
    WebResponse r;
    r.content_type = "text/event-stream; charset=utf-8";
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Accel-Buffering", "no");
    r.stream = src->events->Watch(
        EventHub::Filter{q->query.service, q->query.type}, replay);
    return r;
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
