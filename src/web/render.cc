#include "sse/web/render.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <boost/url/parse_query.hpp>
#include <cctype>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "sse/util/clock.h"
#include "sse/util/text.h"
#include "sse/version.h"

namespace sse {
namespace {

std::string IsoTime(double unix_seconds) { return FormatRfc3339(unix_seconds); }

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  // RFC 9110 12.5.3: codings and parameter names are case-insensitive; an
  // explicit gzip item decides, `*` only stands for codings not listed.
  auto lower = [](std::string_view in) {
    std::string out(in);
    for (char& c : out)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
      v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
      v.remove_suffix(1);
    return v;
  };
  std::optional<bool> gzip, star;
  std::size_t pos = 0;
  while (pos <= accept_encoding.size()) {
    std::size_t end = accept_encoding.find(',', pos);
    if (end == std::string_view::npos) end = accept_encoding.size();
    const std::string item = lower(accept_encoding.substr(pos, end - pos));
    pos = end + 1;
    std::string_view view = item;
    const std::size_t semi = view.find(';');
    const std::string_view coding = trim(view.substr(0, semi));
    if (coding != "gzip" && coding != "x-gzip" && coding != "*") continue;
    bool accepted = true;
    if (semi != std::string_view::npos) {
      const std::string_view params = view.substr(semi + 1);
      const std::size_t q = params.find("q=");
      if (q != std::string_view::npos) {
        const std::string_view v = trim(params.substr(q + 2));
        accepted = !(v.substr(0, 1) == "0" &&
                     v.substr(0, v.find(';')).find_first_of("123456789") ==
                         std::string_view::npos);
      }
    }
    (coding == "*" ? star : gzip) = accepted;
  }
  if (gzip) return *gzip;
  return star.value_or(false);
}

std::string Gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  // Grown in steps, not sized by deflateBound(): an exposition compresses
  // ~25:1, and a buffer of the input's size would be allocated and zeroed
  // for nothing on every scrape.
  struct End {
    z_stream& zs;
    ~End() { deflateEnd(&zs); }
  } end{zs};
  std::string out;
  out.resize(std::max<std::size_t>(data.size() / 16, 4096));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (zs.total_out == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    rc = deflate(&zs, Z_FINISH);
  }
  out.resize(zs.total_out);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

WebResponse RenderMetrics(const Metrics& metrics, const WebRequest& request) {
  WebResponse res;
  const ExpositionFormat format = NegotiateFormat(request.Header("accept"));
  res.content_type = ContentType(format);
  // Rendered when the server has room for it (WebResponse::render), not
  // now: a crowd of scrapers then waits without holding a body each.
  res.render = [&metrics, format](WebResponse& r) {
    // Sized like the last exposition, so a large one is not copied as it
    // grows.
    static std::atomic<std::size_t> last_size{64 * 1024};
    r.body.reserve(last_size.load(std::memory_order_relaxed) * 9 / 8);
    metrics.Render(format, r.body);
    last_size.store(r.body.size(), std::memory_order_relaxed);
  };
  // Scrapers that ask at the same time share one exposition (made after the
  // last of them asked): in the same format and encoding, it is the same.
  res.share_key = "/metrics " + res.content_type;
  if (AcceptsGzip(request.Header("accept-encoding"))) {
    // Compressing costs 3x rendering; off the I/O thread, so that polls and
    // other scrapes go on meanwhile.
    res.finish = [](WebResponse& r) { r.body = Gzip(r.body); };
    res.headers.emplace_back("Content-Encoding", "gzip");
    res.share_key += " gzip";
  }
  res.headers.emplace_back("Vary", "Accept, Accept-Encoding");
  return res;
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::optional<std::string> QueryParam(std::string_view query,
                                      std::string_view name) {
  auto params = boost::urls::parse_query(query);
  if (!params) return std::nullopt;  // raw bytes a query may not hold
  for (auto param : *params) {
    if (param.key.decode() != name) continue;
    std::string value = param.value.decode();
    if (!IsValidUtf8(value)) return std::nullopt;
    return value;
  }
  return "";
}

namespace {

std::string Dump(const nlohmann::ordered_json& doc, int indent) {
  return doc.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// An event's fields after its service's.
void AddEventFields(nlohmann::ordered_json& out, const HistoryEvent& e) {
  out["from_state"] = e.from;
  out["to_state"] = e.to;
  out["first_observation"] = !e.counted;
  out["outcome"] = OutcomeName(e.outcome);
  out["error"] = e.error;
}

nlohmann::ordered_json EventJson(const FleetEvent& e) {
  nlohmann::ordered_json out;
  out["time"] = FormatRfc3339Millis(e.event.time);
  out["timestamp"] = e.event.time;
  out["service_name"] = e.service;
  out["service_type"] = e.type;
  AddEventFields(out, e.event);
  return out;
}

nlohmann::ordered_json ServiceJson(const ServiceRow& row) {
  nlohmann::ordered_json s;
  s["name"] = row.view.name;
  s["type"] = row.view.type;
  s["state"] = row.view.state;
  s["up"] = row.view.up;
  s["since"] = IsoTime(row.view.since);
  s["since_timestamp"] = row.view.since;
  s["url"] = row.poll.url;
  s["last_poll"] = {{"timestamp", row.poll.last_poll},
                    {"time", IsoTime(row.poll.last_poll)},
                    {"outcome", row.poll.outcome},
                    {"observed_state", row.poll.last_state},
                    {"duration_seconds", row.poll.duration_seconds},
                    {"error", row.poll.error}};
  s["pending"] = row.view.candidate.empty()
                     ? nlohmann::ordered_json(nullptr)
                     : nlohmann::ordered_json{{"state", row.view.candidate},
                                              {"streak", row.view.streak}};
  s["transitions_total"] = row.view.changes;
  nlohmann::ordered_json pairs = nlohmann::ordered_json::array();
  for (const auto& [pair, count] : row.view.transitions) {
    pairs.push_back(
        {{"from", pair.first}, {"to", pair.second}, {"count", count}});
  }
  s["transitions"] = std::move(pairs);
  return s;
}

}  // namespace

std::optional<std::vector<std::string>> QueryParams(
    std::string_view query, std::initializer_list<std::string_view> names) {
  std::vector<std::string> values;
  values.reserve(names.size());
  for (std::string_view name : names) {
    std::optional<std::string> value = QueryParam(query, name);
    if (!value) return std::nullopt;
    values.push_back(std::move(*value));
  }
  return values;
}

std::string RenderServicesJson(const std::vector<ServiceRow>& rows) {
  nlohmann::ordered_json services = nlohmann::ordered_json::array();
  for (const ServiceRow& row : rows) services.push_back(ServiceJson(row));
  nlohmann::ordered_json doc;
  doc["services"] = std::move(services);
  return Dump(doc, 2) + "\n";
}

std::string RenderServiceJson(const ServiceRow& row, std::size_t history_size) {
  nlohmann::ordered_json doc = ServiceJson(row);
  doc["history_size"] = history_size;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  for (auto it = row.view.history.rbegin(); it != row.view.history.rend();
       ++it) {
    nlohmann::ordered_json e;
    e["time"] = FormatRfc3339Millis(it->time);
    e["timestamp"] = it->time;
    AddEventFields(e, *it);
    history.push_back(std::move(e));
  }
  doc["history"] = std::move(history);
  return Dump(doc, 2) + "\n";
}

std::string RenderEventsJson(const std::vector<FleetEvent>& events) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const FleetEvent& e : events) list.push_back(EventJson(e));
  nlohmann::ordered_json doc;
  doc["events"] = std::move(list);
  return Dump(doc, 2) + "\n";
}

std::string RenderEventLine(const FleetEvent& event) {
  return Dump(EventJson(event), -1);
}

std::string RenderStatusJson(const ExporterStatus& st) {
  nlohmann::ordered_json doc;
  doc["version"] = kVersion;
  doc["revision"] = kRevision;
  doc["start_time"] = IsoTime(st.start_time);
  doc["start_timestamp"] = st.start_time;
  doc["uptime_seconds"] = std::max(0.0, st.now - st.start_time);
  doc["config"] = {
      {"file", st.config_file},
      {"reload_successful", st.reload_successful},
      {"last_reload_success_time", IsoTime(st.last_reload_success)},
      {"last_reload_success_timestamp", st.last_reload_success},
      {"last_reload_attempt_timestamp", st.last_reload_attempt},
      {"last_reload_error", st.last_reload_error}};
  doc["web"] = {{"config_file", st.web_config_file},
                {"tls", st.tls},
                {"basic_auth", st.basic_auth}};
  doc["services"] = {{"configured", st.services},
                     {"polled", st.services_polled}};
  doc["ready"] = st.ready;
  nlohmann::ordered_json lists = nlohmann::ordered_json::array();
  for (const ListStatus& l : st.lists) {
    lists.push_back({{"name", l.name},
                     {"source", l.source},
                     {"url", l.poll.url},
                     {"polled", l.poll.polled},
                     {"outcome", l.poll.outcome},
                     {"error", l.poll.error},
                     {"last_poll", l.poll.last_poll},
                     {"last_poll_time", IsoTime(l.poll.last_poll)},
                     {"duration_seconds", l.poll.duration_seconds},
                     {"items", l.items},
                     {"members", l.members},
                     {"mcp_mode", l.mcp_mode}});
  }
  doc["lists"] = std::move(lists);
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace sse
