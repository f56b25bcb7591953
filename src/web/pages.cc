#include "sse/web/pages.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "sse/util/clock.h"
#include "sse/util/text.h"
#include "sse/version.h"

namespace sse {
namespace {

// The one style of every page. Constant, so that the Content-Security-Policy
// can allow exactly it by its hash (PageHeaders).
constexpr std::string_view kStyle =
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;"
    "vertical-align:middle}"
    ".up{color:#2e7d32}.down{color:#c62828}"
    "#summary a{display:inline-block;margin:0 .4em .4em 0;padding:.2em .6em;"
    "border-radius:.8em;color:#fff;text-decoration:none}"
    "#summary .total{background:#555}"
    ".s-green{background:#2e7d32}.s-grey{background:#757575}"
    ".s-amber{background:#b26a00}.s-red{background:#c62828}"
    "form{margin:.6em 0}input{margin-right:.6em}"
    "svg.timeline{display:block;background:#eee}"
    "td.err{max-width:28em;overflow-wrap:anywhere}";

constexpr const char* kGreen = "#2e7d32";
constexpr const char* kGrey = "#9e9e9e";
constexpr const char* kAmber = "#f9a825";
constexpr const char* kRed = "#c62828";

std::string Ago(double seconds) {
  if (seconds < 0) seconds = 0;
  long s = std::lround(seconds);
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

// A duration for people: "42s", "3m 20s", "5h 2m", "2d 3h".
std::string Span(double seconds) {
  long s = std::max(0L, std::lround(seconds));
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600)
    return std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  if (s < 86400)
    return std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) +
           "m";
  return std::to_string(s / 86400) + "d " + std::to_string(s % 86400 / 3600) +
         "h";
}

std::string ColorClass(std::string_view state, bool up) {
  const std::string_view color = StateColor(state, up);
  if (color == kGreen) return "s-green";
  if (color == kGrey) return "s-grey";
  if (color == kAmber) return "s-amber";
  return "s-red";
}

bool ContainsIgnoreCase(std::string_view text, std::string_view part) {
  if (part.empty()) return true;
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  return std::search(text.begin(), text.end(), part.begin(), part.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) !=
         text.end();
}

// Number formatting for SVG coordinates: two decimals, no exponent.
std::string Coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The query string of the landing page for `q` (page and range included
// when not the defaults), as an HTML attribute value.
std::string QueryLink(const PageQuery& q) {
  std::string out;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    out += out.empty() ? "?" : "&amp;";
    out += key;
    out += '=';
    out += PercentEncode(value);
  };
  add("state", q.state);
  add("type", q.type);
  add("name", q.name);
  if (q.range != 3600) add("range", "1d");
  if (q.page > 1) add("page", std::to_string(q.page));
  return out.empty() ? "./" : out;
}

void Head(std::string& html, std::string_view title) {
  html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  html += "<title>";
  html += HtmlEscape(title);
  html += "</title><style>";
  html += kStyle;
  html += "</style></head><body>\n";
}

void Links(std::string& html, std::string_view telemetry_path,
           std::string_view root) {
  html += "<p>Version ";
  html += HtmlEscape(kVersion);
  html += " (revision ";
  html += HtmlEscape(kRevision);
  html += ")</p>\n<ul><li><a href=\"";
  html += HtmlEscape(telemetry_path);
  html += "\">Metrics</a></li>";
  for (const auto& [path, label] :
       {std::pair{"api/v1/services", "Services (JSON)"},
        {"api/v1/events", "Events (JSON)"},
        {"api/v1/status", "Status (JSON)"},
        {"-/healthy", "Health"},
        {"-/ready", "Readiness"}}) {
    html += "<li><a href=\"";
    html += root;
    html += path;
    html += "\">";
    html += label;
    html += "</a></li>";
  }
  html += "</ul>\n";
}

void ListsTable(std::string& html, const std::vector<ListStatus>& lists,
                double now) {
  if (lists.empty()) return;
  html += "<h2>Service lists (" + std::to_string(lists.size()) + ")</h2>\n";
  html +=
      "<table id=\"lists\"><thead><tr><th>Name</th><th>Source</th>"
      "<th>URL</th><th>Last poll</th><th>When</th><th>Error</th>"
      "<th>Services</th></tr></thead><tbody>\n";
  for (const ListStatus& l : lists) {
    const bool ok = l.poll.polled && l.poll.outcome == "ok";
    std::string source = l.source;
    if (!l.mcp_mode.empty()) source += " (" + l.mcp_mode + ")";
    html += "<tr><td>" + HtmlEscape(l.name) + "</td><td>" + HtmlEscape(source) +
            "</td><td>" + HtmlEscape(l.poll.url) + "</td><td class=\"" +
            (ok ? "up" : "down") + "\">" +
            HtmlEscape(l.poll.polled ? l.poll.outcome : "pending") +
            "</td><td>" +
            (l.poll.polled ? Ago(now - l.poll.last_poll) + " ago" : "") +
            "</td><td class=\"err\">" + HtmlEscape(l.poll.error) + "</td><td>" +
            std::to_string(l.members) + "</td></tr>\n";
  }
  html += "</tbody></table>\n";
}

bool IsUpIn(const std::vector<std::string>& up_states, std::string_view s) {
  return std::find(up_states.begin(), up_states.end(), s) != up_states.end();
}

}  // namespace

const char* StateColor(std::string_view state, bool up) {
  if (up) return kGreen;
  if (state == "unknown") return kGrey;
  for (std::string_view transitional : {"starting", "stopping", "restarting",
                                        "pending", "initializing", "waiting"}) {
    if (state == transitional) return kAmber;
  }
  return kRed;
}

std::vector<std::pair<std::string, std::string>> PageHeaders() {
  static const std::string policy = [] {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(kStyle.data(), kStyle.size(), digest, &size, EVP_sha256(),
               nullptr);
    return "default-src 'none'; style-src 'sha256-" +
           EncodeBase64(
               std::string_view(reinterpret_cast<char*>(digest), size)) +
           "'; img-src 'self'; form-action 'self'; base-uri 'none'; "
           "frame-ancestors 'none'";
  }();
  return {{"Content-Security-Policy", policy},
          {"X-Content-Type-Options", "nosniff"}};
}

std::optional<PageQuery> ParsePageQuery(std::string_view query) {
  PageQuery q;
  auto values = QueryParams(query, {"state", "type", "name", "page", "range"});
  if (!values) return std::nullopt;
  q.state = (*values)[0];
  q.type = (*values)[1];
  q.name = (*values)[2];
  const std::string& page = (*values)[3];
  const std::string& range = (*values)[4];
  if (!page.empty()) {
    std::size_t n = 0;
    for (char c : page) {
      if (c < '0' || c > '9' || n > 1000000) return std::nullopt;
      n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    if (n == 0) return std::nullopt;
    q.page = n;
  }
  if (range == "1d") {
    q.range = 86400;
  } else if (!range.empty() && range != "1h") {
    return std::nullopt;
  }
  return q;
}

bool ProblemsFirst(const ServiceBrief& a, const ServiceBrief& b, double now) {
  auto group = [now](const ServiceBrief& v) {
    if (!v.up) return 0;
    // `since` is the last transition's time once there was one (the first
    // observation is not a change).
    if (v.changes > 0 && v.since >= now - 3600) return 1;
    return 2;
  };
  const int ga = group(a), gb = group(b);
  if (ga != gb) return ga < gb;
  if (ga < 2 && a.since != b.since) return a.since > b.since;
  return *a.name < *b.name;
}

std::string RenderTimelineSvg(const ServiceView& view, double now, double range,
                              int width) {
  constexpr int kHeight = 16;
  const double start = now - range;
  const auto& h = view.history;
  // The state at `start`: the last change before it, else what the oldest
  // change left (unless that was the first observation: nothing is known
  // before it), else (no history) the current state if it began before.
  // An empty state is a gap: no data.
  std::string state;
  std::size_t next = 0;
  while (next < h.size() && h[next].time <= start) ++next;
  double cursor = start;
  if (next > 0) {
    state = h[next - 1].to;
  } else if (!h.empty()) {
    if (h[0].counted) state = h[0].from;
  } else if (view.since <= start) {
    state = view.state;
  }
  auto up_of = [&](const std::string& s) {
    return s == view.state ? view.up : IsUpIn(view.up_states, s);
  };
  std::string svg = "<svg class=\"timeline\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(kHeight) +
                    "\" viewBox=\"0 0 " + std::to_string(width) + " " +
                    std::to_string(kHeight) +
                    "\" role=\"img\" aria-label=\"state timeline of " +
                    HtmlEscape(view.name) + "\">";
  auto segment = [&](double from, double to, const std::string& s) {
    if (to <= from || s.empty()) return;
    const double x = (from - start) / range * width;
    const double w = (to - from) / range * width;
    svg += "<rect x=\"" + Coord(x) + "\" y=\"0\" width=\"" + Coord(w) +
           "\" height=\"" + std::to_string(kHeight) + "\" fill=\"" +
           StateColor(s, up_of(s)) + "\" data-state=\"" + HtmlEscape(s) +
           "\"><title>" + HtmlEscape(s) + " from " + FormatRfc3339(from) +
           " to " + (to >= now ? "now" : FormatRfc3339(to)) + " (" +
           Span(to - from) + ")</title></rect>";
  };
  // Without history a service's current state starts at `since`.
  if (h.empty() && view.since > start && view.since < now) {
    segment(cursor, view.since, state);
    cursor = view.since;
    state = view.state;
  }
  for (; next < h.size() && h[next].time <= now; ++next) {
    segment(cursor, h[next].time, state);
    cursor = h[next].time;
    state = h[next].to;
  }
  segment(cursor, now, state);
  svg += "</svg>";
  return svg;
}

std::string RenderBadgeSvg(std::string_view name, std::string_view state,
                           bool up) {
  // Shields-like: 20 px high, ~6.5 px a character of Verdana 11.
  const std::string label = TruncateUtf8(name, 48);
  const std::string value = TruncateUtf8(state, 32);
  auto width = [](const std::string& text) {
    std::size_t chars = 0;
    for (char c : text) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return static_cast<int>(chars * 13 / 2) + 12;
  };
  const int lw = width(label), vw = width(value), total = lw + vw;
  const std::string title = HtmlEscape(label) + ": " + HtmlEscape(value);
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(total) +
                    "\" height=\"20\" role=\"img\" aria-label=\"" + title +
                    "\"><title>" + title + "</title>";
  svg += "<rect width=\"" + std::to_string(lw) +
         "\" height=\"20\" fill=\"#555\"/>";
  svg += "<rect x=\"" + std::to_string(lw) + "\" width=\"" +
         std::to_string(vw) + "\" height=\"20\" fill=\"" +
         StateColor(state, up) + "\"/>";
  svg +=
      "<g fill=\"#fff\" text-anchor=\"middle\" "
      "font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\">";
  svg += "<text x=\"" + std::to_string(lw / 2) + "\" y=\"14\">" +
         HtmlEscape(label) + "</text>";
  svg += "<text x=\"" + std::to_string(lw + vw / 2) + "\" y=\"14\">" +
         HtmlEscape(value) + "</text></g></svg>\n";
  return svg;
}

std::string RenderLandingPage(const LandingPage& page, const PageQuery& query) {
  const double now = page.now;
  // The summary counts the whole fleet; the table shows the filtered rows.
  std::map<std::pair<std::string_view, bool>, std::size_t> counts;
  std::vector<const ServiceBrief*> shown;
  shown.reserve(page.services.size());
  for (const ServiceBrief& s : page.services) {
    ++counts[{*s.state, s.up}];
    if (!query.state.empty() && *s.state != query.state) continue;
    if (!query.type.empty() && *s.type != query.type) continue;
    if (!ContainsIgnoreCase(*s.name, query.name)) continue;
    shown.push_back(&s);
  }
  const std::size_t pages = std::max<std::size_t>(
      1, (shown.size() + PageQuery::kPageSize - 1) / PageQuery::kPageSize);
  const std::size_t current = std::min(query.page, pages);
  const std::size_t first = (current - 1) * PageQuery::kPageSize;
  const std::size_t last = std::min(shown.size(), first + PageQuery::kPageSize);

  std::string html;
  html.reserve(8192 + (last - first) * 2500);
  Head(html, "service_state_exporter");
  html += "<h1>service_state_exporter</h1>\n";
  Links(html, page.telemetry_path, "");

  // Summary: states not up first (most services first), then up ones.
  std::vector<std::pair<std::pair<std::string, bool>, std::size_t>> order(
      counts.begin(), counts.end());
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) {
                     if (a.first.second != b.first.second)
                       return !a.first.second;
                     return a.second > b.second;
                   });
  html += "<div id=\"summary\"><a class=\"total\" href=\"./\">all <b>" +
          std::to_string(page.services.size()) + "</b></a>";
  for (const auto& [key, count] : order) {
    PageQuery filter;
    filter.state = std::string(key.first);
    filter.range = query.range;
    html += "<a class=\"" + ColorClass(key.first, key.second) +
            "\" data-state=\"" + HtmlEscape(key.first) + "\" href=\"" +
            QueryLink(filter) + "\">" + HtmlEscape(key.first) + " <b>" +
            std::to_string(count) + "</b></a>";
  }
  html += "</div>\n";

  // Filters: a plain GET form (no script needed).
  html +=
      "<form id=\"filters\" method=\"get\" action=\"./\">"
      "<label>Name contains <input name=\"name\" value=\"" +
      HtmlEscape(query.name) +
      "\"></label><label>State <input name=\"state\" value=\"" +
      HtmlEscape(query.state) +
      "\"></label><label>Type <input name=\"type\" value=\"" +
      HtmlEscape(query.type) + "\"></label>";
  if (query.range != 3600)
    html += "<input type=\"hidden\" name=\"range\" value=\"1d\">";
  html +=
      "<button type=\"submit\">Filter</button> <a href=\"./\">clear</a>"
      "</form>\n";

  ListsTable(html, page.lists, now);

  PageQuery hour = query, day = query;
  hour.range = 3600;
  day.range = 86400;
  hour.page = day.page = current;
  html += "<h2>Services (" + std::to_string(shown.size()) +
          (shown.size() == page.services.size()
               ? std::string()
               : " of " + std::to_string(page.services.size())) +
          ")</h2>\n<p id=\"range\">Timeline: " +
          (query.range == 3600
               ? std::string("<b>last hour</b>")
               : "<a href=\"" + QueryLink(hour) + "\">last hour</a>") +
          " · " +
          (query.range == 86400
               ? std::string("<b>last day</b>")
               : "<a href=\"" + QueryLink(day) + "\">last day</a>") +
          "</p>\n";

  // Only as much is sorted as the shown page needs.
  auto before = [now](const ServiceBrief* a, const ServiceBrief* b) {
    return ProblemsFirst(*a, *b, now);
  };
  std::partial_sort(shown.begin(),
                    shown.begin() + static_cast<std::ptrdiff_t>(last),
                    shown.end(), before);
  html +=
      "<table id=\"services\"><thead><tr><th>Name</th><th>Type</th>"
      "<th>State</th><th>Since</th><th>Last poll</th><th>Error</th>"
      "<th>Transitions</th><th>Timeline</th></tr></thead><tbody>\n";
  for (std::size_t i = first; i < last; ++i) {
    std::optional<ServiceRow> detail =
        page.detail ? page.detail(*shown[i]->name) : std::nullopt;
    if (!detail) continue;  // gone meanwhile (not on one thread: cannot be)
    const ServiceView& v = detail->view;
    const PollStatus& poll = detail->poll;
    html += "<tr><td><a href=\"services/" + PercentEncode(v.name) + "\">" +
            HtmlEscape(v.name) + "</a></td><td>" + HtmlEscape(v.type) +
            "</td><td class=\"" + (v.up ? "up" : "down") + "\">" +
            HtmlEscape(v.state) + "</td><td title=\"" + FormatRfc3339(v.since) +
            "\">" + Ago(now - v.since) + " ago</td><td>" +
            HtmlEscape(poll.polled ? poll.outcome : "pending") +
            "</td><td class=\"err\">" + HtmlEscape(poll.error) + "</td><td>" +
            std::to_string(v.changes) + "</td><td>" +
            RenderTimelineSvg(v, now, query.range, 240) + "</td></tr>\n";
  }
  html += "</tbody></table>\n<p id=\"pages\">Page " + std::to_string(current) +
          " of " + std::to_string(pages);
  if (current > 1) {
    PageQuery prev = query;
    prev.page = current - 1;
    html += " <a rel=\"prev\" href=\"" + QueryLink(prev) + "\">previous</a>";
  }
  if (current < pages) {
    PageQuery next = query;
    next.page = current + 1;
    html += " <a rel=\"next\" href=\"" + QueryLink(next) + "\">next</a>";
  }
  html += "</p>\n</body></html>\n";
  return html;
}

std::string RenderServicePage(const ServiceRow& row,
                              std::string_view telemetry_path, double now,
                              std::size_t history_size) {
  const ServiceView& v = row.view;
  const PollStatus& poll = row.poll;
  std::string html;
  html.reserve(8192 + v.history.size() * 300);
  Head(html, v.name + " · service_state_exporter");
  html += "<p><a href=\"../\">service_state_exporter</a></p>\n<h1>" +
          HtmlEscape(v.name) + "</h1>\n";
  const std::string encoded = PercentEncode(v.name);
  html += "<table id=\"service\"><tbody>\n";
  auto field = [&](const char* name, const std::string& value_html) {
    html += "<tr><th>";
    html += name;
    html += "</th><td>" + value_html + "</td></tr>\n";
  };
  field("Type", HtmlEscape(v.type));
  field("State", "<span class=\"" + std::string(v.up ? "up" : "down") + "\">" +
                     HtmlEscape(v.state) + "</span>" +
                     (v.up ? " (up)" : " (not up)"));
  field("Since", FormatRfc3339(v.since) + " (" + Ago(now - v.since) + " ago)");
  if (!v.candidate.empty()) {
    field("Pending", HtmlEscape(v.candidate) + " (seen " +
                         std::to_string(v.streak) + " times)");
  }
  field("Transitions", std::to_string(v.changes));
  field("URL", HtmlEscape(poll.url));
  field("Last poll", poll.polled
                         ? HtmlEscape(poll.outcome) + " at " +
                               FormatRfc3339(poll.last_poll) + " (" +
                               Ago(now - poll.last_poll) + " ago, " +
                               Coord(poll.duration_seconds * 1000) + " ms)"
                         : std::string("pending"));
  field("Last error",
        "<span class=\"err\">" + HtmlEscape(poll.error) + "</span>");
  html += "</tbody></table>\n<p><a href=\"../api/v1/services/" + encoded +
          "\">JSON</a> · <a href=\"../api/v1/events?service=" + encoded +
          "\">events (JSON)</a> · <a href=\"../badge/" + encoded +
          ".svg\">badge</a> · <a href=\"";
  html += HtmlEscape(telemetry_path);
  html += "\">metrics</a></p>\n";
  html += "<h2>Last hour</h2>\n" + RenderTimelineSvg(v, now, 3600, 720) +
          "\n<h2>Last day</h2>\n" + RenderTimelineSvg(v, now, 86400, 720) +
          "\n";
  html += "<h2>History (" + std::to_string(v.history.size()) + " of at most " +
          std::to_string(history_size) + ")</h2>\n";
  html +=
      "<table id=\"history\"><thead><tr><th>Time</th><th>From</th>"
      "<th>To</th><th>Outcome</th><th>Error</th></tr></thead><tbody>\n";
  for (auto it = v.history.rbegin(); it != v.history.rend(); ++it) {
    html += "<tr><td title=\"" + FormatRfc3339Millis(it->time) + "\">" +
            FormatRfc3339(it->time) + "</td><td>" + HtmlEscape(it->from) +
            (it->counted ? "" : " (first observation)") + "</td><td class=\"" +
            (IsUpIn(v.up_states, it->to) ? "up" : "down") + "\">" +
            HtmlEscape(it->to) + "</td><td>" + OutcomeName(it->outcome) +
            "</td><td class=\"err\">" + HtmlEscape(it->error) + "</td></tr>\n";
  }
  html += "</tbody></table>\n</body></html>\n";
  return html;
}

}  // namespace sse
