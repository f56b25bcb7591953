// Issue 16: sharded replicas (--shard.count/--shard.index) poll every
// service exactly once, export together what one process exports, keep
// most services where they were when a shard is added, and page through the
// shipped rules as one process does.

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "exporter_rig.h"
#include "prometheus_rig.h"
#include "support/fake_service.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using nlohmann::json;
using sse::test::ExporterRig;
using sse::test::FakeRequest;
using sse::test::FakeResponse;
using sse::test::FakeService;

namespace {

#if defined(__SANITIZE_ADDRESS__)
// Five exporters under ASan run several times slower and load both cores
// (other tests' timing with them): a quarter of the fleet, longer waits.
constexpr int kScale = 4;
constexpr auto kWait = 120s;
#else
constexpr int kScale = 1;
constexpr auto kWait = 30s;
#endif
constexpr int kServices = 2000 / kScale;
constexpr double kServicesD = kServices;

// A fleet from the three kinds of source at once: `config` services in the
// config file (cfg-N), `discovered` file_sd targets (sd-N, each its own
// __path__ on the same fake server) and `listed` items of a json_list
// (item-N). Every service starts `running`; Set changes one.
class Fleet {
 public:
  Fleet(int config, int discovered, int listed) {
    for (int i = 0; i < config; ++i) Add("cfg-" + std::to_string(i));
    for (int i = 0; i < discovered; ++i) Add("sd-" + std::to_string(i));
    for (int i = 0; i < listed; ++i) Add("item-" + std::to_string(i));
    service_.SetHandler([this](const FakeRequest& request) {
      std::lock_guard lock(mutex_);
      FakeResponse r;
      auto it = states_.find(request.target.substr(3));  // "/s/<name>"
      if (it == states_.end()) {
        r.status = 404;
        return r;
      }
      r.body = json{{"state", it->second}}.dump();
      return r;
    });
    list_.SetHandler([this](const FakeRequest&) {
      std::lock_guard lock(mutex_);
      json items = json::array();
      for (const auto& [name, state] : states_) {
        if (name.starts_with("item-"))
          items.push_back({{"name", name}, {"state", state}});
      }
      FakeResponse r;
      r.body = json{{"services", items}, {"total", items.size()}}.dump();
      return r;
    });
    const std::string host = "127.0.0.1:" + std::to_string(service_.port());
    json groups = json::array();
    yaml_ =
        "global:\n  poll_interval: 1s\n  poll_timeout: 1s\n"
        "services:\n";
    for (const auto& name : names_) {
      if (name.starts_with("cfg-")) {
        yaml_ += "  - name: " + name +
                 "\n    url: " + service_.Url("/s/" + name) +
                 "\n    source: json\n";
      } else if (name.starts_with("sd-")) {
        groups.push_back(
            {{"targets", {host}},
             {"labels", {{"service_name", name}, {"__path__", "/s/" + name}}}});
      }
    }
    yaml_ += "file_sd:\n  - files: [" + dir_.Write("sd.json", groups.dump()) +
             "]\n    source: json\n    type: Discovered\n"
             "lists:\n  - name: inventory\n    url: " +
             list_.Url("/services") + "\n";
  }

  void Set(const std::string& name, const std::string& state) {
    std::lock_guard lock(mutex_);
    states_.at(name) = state;
  }
  const std::string& yaml() const { return yaml_; }
  const std::set<std::string>& names() const { return names_; }

 private:
  void Add(const std::string& name) {
    names_.insert(name);
    states_[name] = "running";
  }

  // Before the servers: their handlers use these until they stop.
  std::mutex mutex_;
  std::map<std::string, std::string> states_;
  std::set<std::string> names_;
  sse::test::TempDir dir_;
  std::string yaml_;
  FakeService service_;
  FakeService list_;
};

// The per-service state series of one exporter, "name{labels}" -> value:
// what must be the same whichever replica polls a service. (Poll counts and
// timestamps differ between any two processes.)
using Series = std::map<std::string, double>;

Series StateSeries(ExporterRig& rig) {
  static const std::set<std::string> kFamilies = {
      "muster_service_up", "muster_service_state",
      "muster_service_state_transitions_total",
      "muster_service_state_changes_total"};
  Series out;
  for (const auto& s : rig.Scrape()) {
    if (!kFamilies.contains(s.name)) continue;
    std::string key = s.name + "{";
    for (const auto& [k, v] : s.labels) key += k + "=" + v + ",";
    out[key + "}"] = s.value;
  }
  return out;
}

// The services an exporter exports (muster_service_up's service_name).
std::set<std::string> Owned(ExporterRig& rig) {
  std::set<std::string> names;
  for (const auto& s :
       sse::test::FindSamples(rig.Scrape(), "muster_service_up"))
    names.insert(s.labels.at("service_name"));
  return names;
}

std::vector<std::unique_ptr<ExporterRig>> StartShards(const Fleet& fleet,
                                                      int count) {
  std::vector<std::unique_ptr<ExporterRig>> shards;
  for (int i = 0; i < count; ++i) {
    shards.push_back(std::make_unique<ExporterRig>(
        fleet.yaml(),
        std::vector<std::string>{"--shard.count=" + std::to_string(count),
                                 "--shard.index=" + std::to_string(i)}));
  }
  return shards;
}

// Waits until the shards together own every service of the fleet; returns
// each shard's services (empty sets if they never did).
std::vector<std::set<std::string>> WaitOwned(
    const Fleet& fleet, std::vector<std::unique_ptr<ExporterRig>>& shards) {
  std::vector<std::set<std::string>> owned(shards.size());
  const bool all = sse::test::WaitFor(
      [&] {
        std::size_t total = 0;
        for (std::size_t i = 0; i < shards.size(); ++i) {
          owned[i] = Owned(*shards[i]);
          total += owned[i].size();
        }
        return total >= fleet.names().size();
      },
      kWait);
  if (!all) return std::vector<std::set<std::string>>(shards.size());
  return owned;
}

// The shards' series merged; a series that two shards export is counted in
// `collisions`.
Series Union(std::vector<std::unique_ptr<ExporterRig>>& shards,
             int& collisions) {
  Series all;
  collisions = 0;
  for (auto& shard : shards) {
    for (auto& [key, value] : StateSeries(*shard)) {
      if (!all.emplace(key, value).second) ++collisions;
    }
  }
  return all;
}

// Each service in exactly one shard: disjoint sets whose union is `names`.
void RequireExactlyOnce(const std::vector<std::set<std::string>>& owned,
                        const std::set<std::string>& names) {
  std::set<std::string> united;
  for (std::size_t i = 0; i < owned.size(); ++i) {
    CAPTURE(i);
    for (const auto& name : owned[i]) {
      CAPTURE(name);
      REQUIRE(united.insert(name).second);
    }
  }
  REQUIRE(united == names);
}

// `count` shards on `fleet` (and, `with_single`, one unsharded process),
// once every service is owned by exactly one shard.
struct Replicas {
  Replicas(const Fleet& fleet, int count, bool with_single) {
    if (with_single) single.emplace(fleet.yaml());
    shards = StartShards(fleet, count);
    owned = WaitOwned(fleet, shards);
    RequireExactlyOnce(owned, fleet.names());
  }
  std::optional<ExporterRig> single;
  std::vector<std::unique_ptr<ExporterRig>> shards;
  std::vector<std::set<std::string>> owned;
};

}  // namespace

TEST_CASE(
    "sharding: 4 shards poll 2,000 services exactly once and export what one "
    "process exports",
    "[shard]") {
  Fleet fleet(300 / kScale, 300 / kScale, 1400 / kScale);
  Replicas replicas(fleet, 4, true);
  ExporterRig& single = *replicas.single;
  auto& shards = replicas.shards;
  const auto& owned = replicas.owned;
  for (std::size_t i = 0; i < owned.size(); ++i) {
    CAPTURE(i, owned[i].size());
    REQUIRE(owned[i].size() > 400 / kScale);  // 2,000 / 4, give or take
    REQUIRE(owned[i].size() < 600 / kScale);
  }

  // Every service observed `running` once: the union of the shards' state
  // series is the single process's, series for series.
  int collisions = 0;
  Series united, one;
  auto same = [&] {
    united = Union(shards, collisions);
    one = StateSeries(single);
    return united == one;
  };
  REQUIRE(sse::test::WaitFor(same, kWait));
  REQUIRE(collisions == 0);
  REQUIRE(sse::test::FindSamples(single.Scrape(), "muster_service_up",
                                 {{"service_name", "item-7"}})
              .size() == 1);

  // Each replica tells its assignment and its share.
  double owned_total = 0;
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    auto samples = shards[i]->Scrape();
    REQUIRE(sse::test::FindSamples(samples, "service_state_exporter_shard_info")
                .size() == 1);
    REQUIRE(sse::test::FindSample(samples, "service_state_exporter_shard_info",
                                  {{"shard_index", std::to_string(i)},
                                   {"shard_count", "4"}}) == 1.0);
    REQUIRE(sse::test::FindSample(samples,
                                  "service_state_exporter_shard_services_seen",
                                  {}) == kServicesD);
    const auto mine = sse::test::FindSample(
        samples, "service_state_exporter_shard_services_owned", {});
    REQUIRE(mine == static_cast<double>(owned[i].size()));
    owned_total += *mine;
  }
  REQUIRE(owned_total == kServicesD);
  auto unsharded = single.Scrape();
  REQUIRE(sse::test::FindSample(unsharded, "service_state_exporter_shard_info",
                                {{"shard_index", "0"}, {"shard_count", "1"}}) ==
          1.0);
  REQUIRE(sse::test::FindSample(unsharded,
                                "service_state_exporter_shard_services_owned",
                                {}) == kServicesD);

  // Flip a service in 12 of each source: the same transitions, each counted
  // once, wherever the service is polled.
  int flipped = 0;
  for (const auto& name : fleet.names()) {
    if (std::stoi(name.substr(name.find('-') + 1)) % 12 == 0) {
      fleet.Set(name, "failed");
      ++flipped;
    }
  }
  const std::string failed_key =
      "muster_service_state_transitions_total{from_state=running,";
  auto transitions = [&] {
    int n = 0;
    for (const auto& [key, value] : one) {
      if (key.starts_with(failed_key) && value == 1.0) ++n;
    }
    return n;
  };
  REQUIRE(sse::test::WaitFor([&] { return same() && transitions() == flipped; },
                             kWait));
  CAPTURE(flipped);
  REQUIRE(flipped > 150 / kScale);
  REQUIRE(collisions == 0);
  RequireExactlyOnce(WaitOwned(fleet, shards), fleet.names());
}

TEST_CASE(
    "sharding: from 4 to 5 shards, at most a quarter of the services move, "
    "all to the new shard",
    "[shard]") {
  Fleet fleet(300 / kScale, 300 / kScale, 1400 / kScale);
  std::map<std::string, int> before;
  {
    Replicas four(fleet, 4, false);
    for (int i = 0; i < 4; ++i) {
      for (const auto& name : four.owned[i]) before[name] = i;
    }
  }
  Replicas five(fleet, 5, false);
  const auto& owned = five.owned;
  int moved = 0;
  for (int i = 0; i < 5; ++i) {
    for (const auto& name : owned[i]) {
      if (before.at(name) == i) continue;
      CAPTURE(name, before.at(name), i);
      REQUIRE(i == 4);  // from an old shard to the new one, never between
      ++moved;
    }
  }
  CAPTURE(moved);
  REQUIRE(moved > 0);
  REQUIRE(moved <= kServices / 4);  // 25%; about 1/5 expected
}

TEST_CASE(
    "sharding: a real Prometheus pages once for a service of shard 2, as for "
    "one process",
    "[shard][prometheus][alerts]") {
  sse::test::TempDir dir;  // Prometheus': its config, rules and data
  Fleet fleet(40, 40, 120);
  Replicas replicas(fleet, 4, true);
  const std::string victim = *replicas.owned[2].begin();
  // And a broken shard set: two replicas both shard 0 of 2, shard 1 absent.
  std::vector<std::unique_ptr<ExporterRig>> broken;
  for (int i = 0; i < 2; ++i) {
    broken.push_back(std::make_unique<ExporterRig>(
        fleet.yaml(),
        std::vector<std::string>{"--shard.count=2", "--shard.index=0"}));
  }
  const std::string rules_file = sse::test::ShippedRulesFile(dir);
  auto targets = [](const std::vector<std::unique_ptr<ExporterRig>>& rigs) {
    std::string out;
    for (const auto& rig : rigs) {
      out += (out.empty() ? "'" : ", '") + std::string("127.0.0.1:") +
             std::to_string(rig->port()) + "'";
    }
    return out;
  };
  const std::uint16_t prom_port = sse::test::FreePort();
  auto prom = sse::test::StartPrometheus(
      dir, prom_port,
      "rule_files: ['" + rules_file +
          "']\n"
          "scrape_configs:\n"
          "  - job_name: sharded\n    static_configs:\n"
          "      - targets: [" +
          targets(replicas.shards) +
          "]\n"
          "  - job_name: broken\n    static_configs:\n"
          "      - targets: [" +
          targets(broken) +
          "]\n"
          "  - job_name: single\n    static_configs:\n"
          "      - targets: ['127.0.0.1:" +
          std::to_string(replicas.single->port()) + "']\n");
  CAPTURE(prom->log());

  // Both jobs scraped: 200 services up in each.
  auto count_up = [&](const std::string& job) {
    auto data = sse::test::PromApi(
        prom_port, "/api/v1/query?query=count(muster_service_up%7Bjob%3D%22" +
                       job + "%22%7D%3D%3D1)");
    if (data.is_null() || data["result"].size() != 1) return -1;
    return std::stoi(data["result"][0]["value"][1].get<std::string>());
  };
  REQUIRE(sse::test::WaitFor(
      [&] { return count_up("sharded") == 200 && count_up("single") == 200; },
      45s));

  // The alerts of each job, "alertname/service_name/state" -> how many.
  using Alerts = std::map<std::string, int>;
  auto alerts = [&](const std::string& job) {
    Alerts out;
    auto data = sse::test::PromApi(prom_port, "/api/v1/alerts");
    if (data.is_null()) return out;
    for (const auto& a : data["alerts"]) {
      if (a["labels"].value("job", "") != job) continue;
      ++out[a["labels"]["alertname"].get<std::string>() + "/" +
            a["labels"].value("service_name", "") + "/" +
            a["state"].get<std::string>()];
    }
    return out;
  };
  fleet.Set(victim, "failed");
  const Alerts want = {{"MusterServiceDown/" + victim + "/firing", 1}};
  Alerts sharded, one;
  REQUIRE(sse::test::WaitFor(
      [&] {
        sharded = alerts("sharded");
        one = alerts("single");
        return sharded == want && one == want;
      },
      45s));
  // Well past every `for:` (5s here), still exactly one alert each, and the
  // shard set is not reported as misconfigured.
  std::this_thread::sleep_for(6s);
  REQUIRE(alerts("sharded") == want);
  REQUIRE(alerts("single") == want);
  // The broken set is reported: index 0 twice, and one index for a count
  // of 2 (two alerts; it is not "sharded" or "single" above).
  REQUIRE(alerts("broken")["ServiceStateExporterShardMisconfigured//firing"] ==
          2);
  REQUIRE(prom->Stop() == 0);
}
