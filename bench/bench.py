#!/usr/bin/env python3
"""Performance benchmark of service_state_exporter against its peers.

Started by bench/run.sh (which installs the tools and builds the exporter).
Everything runs on 127.0.0.1 and is stopped by PID; every wait is bounded.

The fleet is Debian's nginx-light (one worker) serving one static status
JSON, {"state":"running"}, at /svc/<i> with keep-alive, plus one small file
per "flip" service (/flip/<k>.json) whose state the benchmark changes. nginx
logs `$msec $uri` of every /svc/ request: the fleet-side timestamps from
which poll start jitter is computed.

For each fleet size N the exporter polls N services (+ the flip services)
every --interval, and the benchmark measures, from /proc/<pid>/stat
(utime+stime) and the exporter's own service_state_exporter_polls_total:
CPU per poll, achieved vs expected polls, RSS, poll start jitter (fleet
side), /metrics latency (single scrape with gzip; p99 of wrk -c8 with gzip
while the polls run), and state-change visibility (commit timestamp on
/metrics minus the time the fleet changed the file).

Peers, in the same run, against the same nginx URL: blackbox_exporter's
/probe driven by wrk (CPU per probe of blackbox_exporter), and wrk hitting
nginx directly (wrk's own CPU per request, the floor of a keep-alive HTTP
client). nginx's CPU per request is reported for each phase separately.
"""

import argparse
import gzip
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
FLIPS = 5
NGINX_PORTS = 4  # 50k connections need more than one port's 28k ephemeral ports


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process (all threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def hwm_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def wait_for(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except OSError:
            pass
        time.sleep(step)
    return False


def http_get(url, headers=None, timeout=60):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


def scrape(port, gz=True):
    """(seconds, wire bytes, text) of one /metrics scrape."""
    headers = {"Accept-Encoding": "gzip"} if gz else {}
    t0 = time.monotonic()
    status, hdrs, body = http_get(f"http://127.0.0.1:{port}/metrics", headers)
    dt = time.monotonic() - t0
    if status != 200:
        raise RuntimeError(f"/metrics: HTTP {status}")
    text = gzip.decompress(body) if hdrs.get("Content-Encoding") == "gzip" else body
    return dt, len(body), text.decode()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text, name):
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = SAMPLE.match(line)
        if m and m.group(1) == name:
            yield dict(LABEL.findall(m.group(2) or "")), float(m.group(3))


def polls_total(text):
    return sum(v for _, v in samples(text, "service_state_exporter_polls_total"))


class Proc:
    """A process we started, stopped by its PID."""

    def __init__(self, args, log_path, **kw):
        self.args = args
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, **kw)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)
        self.log.close()


def run_wrk(args, timeout):
    """Runs wrk; returns (stdout, its CPU seconds from wait4's rusage)."""
    p = subprocess.Popen(["wrk"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    out = b""
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    out = p.stdout.read().decode()
    p.stdout.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    return out, ru.ru_utime + ru.ru_stime


UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk_stats(out):
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if not m:
        raise RuntimeError("unexpected wrk output:\n" + out)
    requests = int(m.group(1))
    errors = 0
    m2 = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m2:
        errors += int(m2.group(1))
    m3 = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m3:
        errors += sum(int(x) for x in m3.groups())
    lat = {}
    for pct, val, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M):
        lat[int(pct)] = float(val) * UNITS[unit]
    return requests, errors, lat


class Nginx:
    def __init__(self, work, fds):
        self.work = work
        self.www = os.path.join(work, "www")
        os.makedirs(os.path.join(self.www, "flip"), exist_ok=True)
        with open(os.path.join(self.www, "status.json"), "w") as f:
            f.write('{"state":"running"}')
        for k in range(FLIPS):
            self.set_flip(k, "running")
        self.ports = [free_port() for _ in range(NGINX_PORTS)]
        self.access_log = os.path.join(work, "nginx-access.log")
        listens = "\n".join(f"    listen 127.0.0.1:{p} backlog=65535;" for p in self.ports)
        conf = f"""
worker_processes 1;
worker_rlimit_nofile {fds};
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
daemon off;
events {{ worker_connections 120000; multi_accept on; }}
http {{
  access_log off;
  log_format ts '$msec $request_uri';
  keepalive_requests 1000000000;
  keepalive_timeout 600s;
  client_body_temp_path {work}/tmp;
  server {{
{listens}
    root {self.www};
    default_type application/json;
    etag off;
    location /svc/ {{
      access_log {self.access_log} ts buffer=256k flush=1s;
      try_files /status.json =404;
    }}
    location /flip/ {{ }}
  }}
}}
"""
        os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
        self.conf = os.path.join(work, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = Proc(["nginx", "-c", self.conf, "-p", work], os.path.join(work, "nginx.out"))
        url = f"http://127.0.0.1:{self.ports[0]}/svc/0"
        if not wait_for(lambda: http_get(url, timeout=2)[0] == 200, 10):
            self.proc.stop()
            raise RuntimeError("nginx did not start: " + open(os.path.join(work, "nginx-error.log")).read()[-2000:])

    def url(self, i):
        return f"http://127.0.0.1:{self.ports[i % len(self.ports)]}/svc/{i}"

    def flip_url(self, k):
        return f"http://127.0.0.1:{self.ports[0]}/flip/{k}.json"

    def set_flip(self, k, state):
        path = os.path.join(self.www, "flip", f"{k}.json")
        with open(path + ".tmp", "w") as f:
            f.write(json.dumps({"state": state}))
        os.rename(path + ".tmp", path)

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def cpu(self):
        return sum(cpu_seconds(p) for p in self.pids())

    def log_size(self):
        return os.path.getsize(self.access_log) if os.path.exists(self.access_log) else 0

    def stop(self):
        self.proc.stop()


def jitter_from_log(path, start, end, t_from, t_to, interval):
    """Poll start lateness (s) of every poll of every /svc/ service in the
    window, from nginx's access log bytes [start, end): per service, the
    arrival times a_k are put on the interval grid through the earliest
    one; lateness = a_k - (phase + k * interval), phase = the service's
    earliest grid offset."""
    per = {}
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    for line in data.splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        t = float(parts[0])
        if t < t_from or t > t_to:
            continue
        per.setdefault(parts[1], []).append(t)
    late = []
    for times in per.values():
        times.sort()
        a0 = times[0]
        offs = []
        for t in times:
            k = round((t - a0) / interval)
            offs.append(t - a0 - k * interval)
        base = min(offs)
        late.extend(o - base for o in offs)
    return late, len(per)


def write_config(path, nginx, n, interval_s):
    lines = [
        "global:",
        f"  poll_interval: {int(interval_s * 1000)}ms",
        f"  poll_timeout: {int(interval_s * 1000)}ms",
        "services:",
    ]
    for k in range(FLIPS):
        lines.append(f"  - {{name: flip-{k}, url: '{nginx.flip_url(k)}', source: json}}")
    for i in range(n):
        lines.append(f"  - {{name: svc-{i}, url: '{nginx.url(i)}', source: json}}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def measure_exporter(a, nginx, n, work):
    """One fleet size; returns a dict of figures."""
    r = {"services": n, "interval_s": a.interval}
    for k in range(FLIPS):
        nginx.set_flip(k, "running")
    cfg = os.path.join(work, f"config-{n}.yaml")
    write_config(cfg, nginx, n, a.interval)
    port = free_port()
    exp = Proc([a.exporter, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn"], os.path.join(work, f"exporter-{n}.log"))
    try:
        base = f"http://127.0.0.1:{port}"
        t_start = time.monotonic()
        ok = wait_for(lambda: http_get(base + "/-/ready", timeout=5)[0] == 200,
                      60 + 3 * a.interval + n / 1000, step=0.1)
        if not ok or not exp.alive():
            raise RuntimeError(f"exporter with {n} services not ready; see {work}/exporter-{n}.log")
        r["ready_s"] = time.monotonic() - t_start
        time.sleep(a.warmup)

        # --- steady polling: CPU, polls, RSS, jitter --------------------------
        _, _, text = scrape(port)
        t0 = time.monotonic()
        p0 = polls_total(text)
        c0, n0 = cpu_seconds(exp.pid), nginx.cpu()
        w0, log0 = time.time(), nginx.log_size()
        rss_max = 0
        deadline = t0 + a.duration
        while time.monotonic() < deadline:
            rss_max = max(rss_max, rss_bytes(exp.pid))
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        c1, n1 = cpu_seconds(exp.pid), nginx.cpu()
        t1 = time.monotonic()
        w1 = time.time()
        _, _, text = scrape(port)
        t2 = time.monotonic()
        p1 = polls_total(text)
        time.sleep(1.5)  # nginx flushes its log buffer every second
        log1 = nginx.log_size()
        polls = p1 - p0
        poll_rate = polls / (t2 - t0)
        cpu_rate = (c1 - c0) / (t1 - t0)
        expected = (n + FLIPS) / a.interval
        r.update({
            "expected_polls_s": expected,
            "polls_s": poll_rate,
            "polls_pct": 100.0 * poll_rate / expected,
            "cpu_cores": cpu_rate,
            "cpu_per_poll_us": 1e6 * cpu_rate / poll_rate if poll_rate else float("nan"),
            "nginx_cpu_per_req_us": 1e6 * ((n1 - n0) / (t1 - t0)) / poll_rate if poll_rate else float("nan"),
            "rss_mib": rss_max / 1048576.0,
            "hwm_mib": hwm_bytes(exp.pid) / 1048576.0,
        })
        # Skip the first and last interval of the window: polls there may
        # have only part of their neighbours in the log slice.
        late, seen = jitter_from_log(nginx.access_log, log0, log1, w0 + a.interval,
                                     w1 - a.interval, a.interval)
        r.update({
            "jitter_p50_ms": 1e3 * percentile(late, 50),
            "jitter_p99_ms": 1e3 * percentile(late, 99),
            "jitter_max_ms": 1e3 * (max(late) if late else float("nan")),
            "jitter_services_seen": seen,
        })

        # --- /metrics: single scrapes ------------------------------------------
        singles, plain = [], []
        size_gz = size_plain = 0
        for _ in range(a.scrapes):
            dt, size_gz, text = scrape(port, gz=True)
            singles.append(dt)
            time.sleep(0.3)
        for _ in range(max(1, a.scrapes // 2)):
            dt, size_plain, _ = scrape(port, gz=False)
            plain.append(dt)
            time.sleep(0.3)
        r.update({
            "series": sum(1 for line in text.splitlines() if line and line[0] != "#"),
            "scrape_gzip_ms": 1e3 * percentile(singles, 50),
            "scrape_gzip_max_ms": 1e3 * max(singles),
            "scrape_plain_ms": 1e3 * percentile(plain, 50),
            "body_gzip_kib": size_gz / 1024.0,
            "body_plain_kib": size_plain / 1024.0,
        })

        # --- /metrics: 8 concurrent scrapers while polling ---------------------
        _, _, text = scrape(port)
        p0, t0 = polls_total(text), time.monotonic()
        c0 = cpu_seconds(exp.pid)
        out, _ = run_wrk(["-t2", "-c8", f"-d{a.scrape_duration}s", "--latency", "--timeout", "10s",
                          "-H", "Accept-Encoding: gzip", base + "/metrics"],
                         timeout=a.scrape_duration + 30)
        c1, t1 = cpu_seconds(exp.pid), time.monotonic()
        _, _, text = scrape(port)
        p1 = polls_total(text)
        reqs, errs, lat = wrk_stats(out)
        rate = (p1 - p0) / (time.monotonic() - t0)
        r.update({
            "scrape8_requests": reqs,
            "scrape8_errors": errs,
            "scrape8_p50_ms": 1e3 * lat.get(50, float("nan")),
            "scrape8_p99_ms": 1e3 * lat.get(99, float("nan")),
            "scrape8_polls_pct": 100.0 * rate / expected,
            "scrape8_cpu_cores": (c1 - c0) / (t1 - t0),
        })

        # --- state change visibility -----------------------------------------
        rng = random.Random(6)
        vis = []
        flip_state = ["running"] * FLIPS
        for k in range(a.flips):
            flip = k % FLIPS
            name = f"flip-{flip}"
            state_to = "stopped" if flip_state[flip] == "running" else "running"
            time.sleep(rng.uniform(0, a.interval))
            t_change = time.time()
            nginx.set_flip(flip, state_to)

            def committed():
                _, _, text = scrape(port, gz=True)
                for labels, v in samples(text, "muster_service_state"):
                    if labels.get("service_name") == name and labels.get("state") == state_to and v == 1:
                        for l2, ts in samples(text, "muster_service_state_entered_timestamp_seconds"):
                            if l2.get("service_name") == name:
                                return ts
                return None

            found = None
            deadline = time.monotonic() + 3 * a.interval + 5
            while found is None and time.monotonic() < deadline:
                found = committed()
                if found is None:
                    time.sleep(0.1)
            if found is None:
                raise RuntimeError(f"{name} did not become {state_to}")
            flip_state[flip] = state_to
            vis.append(found - t_change)
        r.update({"visible_max_ms": 1e3 * max(vis), "visible_mean_ms": 1e3 * sum(vis) / len(vis)})
        r["rss_end_mib"] = rss_bytes(exp.pid) / 1048576.0
        if not exp.alive():
            raise RuntimeError("exporter died")
    finally:
        exp.stop(timeout=60)
    return r


def measure_peers(a, nginx, work):
    r = {}
    url = nginx.url(0)
    # wrk straight at nginx: the floor of a keep-alive HTTP client.
    n0 = nginx.cpu()
    t0 = time.monotonic()
    out, wrk_cpu = run_wrk(["-t1", f"-c{a.wrk_connections}", f"-d{a.peer_duration}s", url],
                           timeout=a.peer_duration + 30)
    dt = time.monotonic() - t0
    n1 = nginx.cpu()
    reqs, errs, _ = wrk_stats(out)
    r.update({
        "wrk_requests_s": reqs / dt,
        "wrk_errors": errs,
        "wrk_cpu_per_req_us": 1e6 * wrk_cpu / reqs,
        "wrk_nginx_cpu_per_req_us": 1e6 * (n1 - n0) / reqs,
    })

    # blackbox_exporter's /probe, driven by wrk.
    cfg = os.path.join(work, "blackbox.yml")
    with open(cfg, "w") as f:
        f.write("modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n"
                "    http:\n      preferred_ip_protocol: ip4\n")
    port = free_port()
    bb = Proc(["prometheus-blackbox-exporter", f"--config.file={cfg}",
               f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
              os.path.join(work, "blackbox.log"))
    try:
        probe = f"http://127.0.0.1:{port}/probe?module=http_2xx&target={url}"
        if not wait_for(lambda: http_get(probe, timeout=5)[0] == 200, 20):
            raise RuntimeError("blackbox_exporter did not start")
        _, _, body = http_get(probe)
        if b"probe_success 1" not in body:
            raise RuntimeError("blackbox probe failed:\n" + body.decode())
        c0, n0, t0 = cpu_seconds(bb.pid), nginx.cpu(), time.monotonic()
        out, _ = run_wrk(["-t1", f"-c{a.blackbox_connections}", f"-d{a.peer_duration}s", probe],
                         timeout=a.peer_duration + 30)
        c1, n1, dt = cpu_seconds(bb.pid), nginx.cpu(), time.monotonic() - t0
        reqs, errs, _ = wrk_stats(out)
        r.update({
            "blackbox_probes_s": reqs / dt,
            "blackbox_errors": errs,
            "blackbox_cpu_per_probe_us": 1e6 * (c1 - c0) / reqs,
            "blackbox_nginx_cpu_per_req_us": 1e6 * (n1 - n0) / reqs,
            "blackbox_rss_mib": rss_bytes(bb.pid) / 1048576.0,
        })
    finally:
        bb.stop()
    return r


def fmt(v, spec=".1f"):
    if isinstance(v, float) and math.isnan(v):
        return "n/a"
    return format(v, spec)


def report(results, peers, targets):
    cols = [
        ("services", "services", "d"),
        ("polls/s exp", "expected_polls_s", ".0f"),
        ("achieved", "polls_pct", ".1f"),
        ("CPU cores", "cpu_cores", ".3f"),
        ("CPU/poll us", "cpu_per_poll_us", ".1f"),
        ("nginx/req us", "nginx_cpu_per_req_us", ".1f"),
        ("RSS MiB", "rss_mib", ".1f"),
        ("jitter p50 ms", "jitter_p50_ms", ".1f"),
        ("jitter p99 ms", "jitter_p99_ms", ".1f"),
        ("scrape gz ms", "scrape_gzip_ms", ".1f"),
        ("scrape8 p99 ms", "scrape8_p99_ms", ".1f"),
        ("polls% w/ 8 scr", "scrape8_polls_pct", ".1f"),
        ("visible max ms", "visible_max_ms", ".0f"),
        ("series", "series", "d"),
    ]
    print()
    print("| " + " | ".join(c[0] for c in cols) + " |")
    print("|" + "|".join("---:" for _ in cols) + "|")
    for r in results:
        print("| " + " | ".join(fmt(r.get(k, float("nan")), s) for _, k, s in cols) + " |")
    print()
    if peers:
        print(f"peers: wrk -> nginx {peers['wrk_requests_s']:.0f} req/s, wrk CPU/request "
              f"{peers['wrk_cpu_per_req_us']:.2f} us (nginx {peers['wrk_nginx_cpu_per_req_us']:.2f} us/req); "
              f"blackbox_exporter {peers['blackbox_probes_s']:.0f} probes/s, CPU/probe "
              f"{peers['blackbox_cpu_per_probe_us']:.1f} us (nginx {peers['blackbox_nginx_cpu_per_req_us']:.2f} us/req), "
              f"RSS {peers['blackbox_rss_mib']:.1f} MiB")
        print()
        print("| services | exporter CPU/poll us | / blackbox CPU/probe (target <= 0.05) | / wrk CPU/request (target <= 2.5) |")
        print("|---:|---:|---:|---:|")
        for r in results:
            bb = r["cpu_per_poll_us"] / peers["blackbox_cpu_per_probe_us"]
            wk = r["cpu_per_poll_us"] / peers["wrk_cpu_per_req_us"]
            r["ratio_blackbox"], r["ratio_wrk"] = bb, wk
            print(f"| {r['services']} | {r['cpu_per_poll_us']:.1f} | {bb:.3f} | {wk:.2f} |")
        print()
    for r in results:
        if r["services"] != 10000:
            continue
        checks = [
            ("polls >= 99%", r["polls_pct"] >= 99),
            ("CPU < 0.5 core", r["cpu_cores"] < 0.5),
            ("RSS <= 64 MiB", r["rss_mib"] <= 64),
            ("jitter p99 <= 50 ms", r["jitter_p99_ms"] <= 50),
            ("scrape gz <= 50 ms", r["scrape_gzip_ms"] <= 50),
            ("8 scrapers p99 <= 100 ms", r["scrape8_p99_ms"] <= 100),
            ("visible <= interval + 50 ms", r["visible_max_ms"] <= 1000 * r["interval_s"] + 50),
        ]
        if peers:
            checks += [("CPU/poll <= blackbox/20", r["ratio_blackbox"] <= 0.05),
                       ("CPU/poll <= 2.5 x wrk", r["ratio_wrk"] <= 2.5)]
        print("targets at 10,000 services: " + ", ".join(
            f"{name} {'ok' if ok else 'MISSED'}" for name, ok in checks))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--services", default="100,1000,10000,50000")
    ap.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    ap.add_argument("--duration", type=float, default=30, help="steady window, seconds")
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--scrapes", type=int, default=7)
    ap.add_argument("--scrape-duration", type=int, default=10)
    ap.add_argument("--flips", type=int, default=5)
    ap.add_argument("--peer-duration", type=int, default=10)
    ap.add_argument("--wrk-connections", type=int, default=50)
    ap.add_argument("--blackbox-connections", type=int, default=4)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="100 services, a few seconds each")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    if a.smoke:
        a.services, a.duration, a.warmup, a.scrapes = "100", 4, 1, 3
        a.scrape_duration, a.flips, a.peer_duration = 2, 2, 2

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 200000
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    fds = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    work = tempfile.mkdtemp(prefix="sse-bench-")
    os.chmod(work, 0o755)  # nginx's workers run as www-data
    log(f"bench: work dir {work}, open files limit {fds}")
    nginx = Nginx(work, fds)
    results, peers = [], {}
    try:
        if not a.no_peers:
            log("bench: peers (wrk -> nginx, wrk -> blackbox_exporter -> nginx)")
            peers = measure_peers(a, nginx, work)
        for n in [int(x) for x in a.services.split(",")]:
            if n + 1000 > fds:
                log(f"bench: skipping {n} services: open files limit {fds}")
                continue
            log(f"bench: {n} services")
            r = measure_exporter(a, nginx, n, work)
            log("  " + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}))
            results.append(r)
    finally:
        nginx.stop()
    uname = os.uname()
    print(f"machine: {os.cpu_count()} CPUs, {uname.sysname} {uname.release}, "
          f"load {os.getloadavg()[0]:.2f}; date {time.strftime('%Y-%m-%d %H:%M %Z')}")
    report(results, peers, None)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d"), "results": results, "peers": peers}, f, indent=1)
    if a.keep:
        log(f"bench: kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    if not results:
        return 1
    ok = all(not math.isnan(r["cpu_per_poll_us"]) and r["polls_s"] > 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
