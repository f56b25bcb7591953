#include "sse/app/event_hub.h"

#include "sse/util/log.h"
#include "sse/web/render.h"

namespace sse {

std::string SseEvent(const FleetEvent& event) {
  return "event: transition\ndata: " + RenderEventLine(event) + "\n\n";
}

EventHub::EventHub(boost::asio::any_io_executor io, Metrics* metrics,
                   std::chrono::milliseconds keepalive)
    : metrics_(metrics), keepalive_(keepalive), timer_(io) {
  ScheduleKeepalive();
}

EventHub::~EventHub() {
  Stop();
  *self_ = nullptr;
}

std::shared_ptr<WebStream> EventHub::Watch(
    Filter filter, const std::vector<FleetEvent>& replay) {
  auto stream = std::make_shared<WebStream>(kMaxBuffered);
  // The server ended it (client gone, refused, stopping): count it out now.
  stream->OnFinish([self = std::weak_ptr<EventHub*>(self_)] {
    if (auto hub = self.lock(); hub && *hub) (*hub)->Prune();
  });
  // The client retries after 5 s if the connection drops.
  stream->Send("retry: 5000\n: watching transitions\n\n");
  Watcher watcher{stream, std::move(filter)};
  for (const FleetEvent& e : replay) {
    if (!Deliver(watcher, SseEvent(e))) return stream;
  }
  if (stopped_) {
    stream->Close();
  } else {
    watchers_.push_back(std::move(watcher));
  }
  Prune();
  return stream;
}

bool EventHub::Deliver(Watcher& watcher, std::string data) {
  if (watcher.stream->closed()) return false;
  if (watcher.stream->Send(std::move(data))) return true;
  if (metrics_ != nullptr) metrics_->event_watchers_dropped.Increment();
  Log(LogLevel::kWarn, "event watcher dropped: it does not keep up",
      {{"buffered_bytes", std::to_string(watcher.stream->buffered())}});
  watcher.stream->Close(
      "event: dropped\ndata: {\"reason\":\"the client did not read its "
      "events: more than " +
          std::to_string(kMaxBuffered) + " bytes were waiting\"}\n\n",
      /*drop_queued=*/true);
  return false;
}

void EventHub::Publish(const FleetEvent& event) {
  if (watchers_.empty()) return;
  std::string data;  // formatted once, for the first watcher that wants it
  std::erase_if(watchers_, [&](Watcher& w) {
    if (w.stream->closed()) return true;
    if (!w.filter.service.empty() && w.filter.service != event.service)
      return false;
    if (!w.filter.type.empty() && w.filter.type != event.type) return false;
    if (data.empty()) data = SseEvent(event);
    return !Deliver(w, data);
  });
  Prune();
}

void EventHub::Prune() {
  std::erase_if(watchers_, [](const Watcher& w) { return w.stream->closed(); });
  if (metrics_ != nullptr)
    metrics_->event_watchers.Set(static_cast<double>(watchers_.size()));
}

void EventHub::ScheduleKeepalive() {
  if (stopped_) return;
  timer_.expires_after(keepalive_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    std::erase_if(watchers_,
                  [&](Watcher& w) { return !Deliver(w, ": keep-alive\n\n"); });
    ScheduleKeepalive();
  });
}

void EventHub::Stop() {
  stopped_ = true;
  timer_.cancel();
  for (Watcher& w : watchers_) w.stream->Close();
  watchers_.clear();
  Prune();
}

}  // namespace sse
