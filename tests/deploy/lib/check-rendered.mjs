// Checks what the schemas cannot: that a rendered kustomization deploys the
// exporter securely (non-root, read-only, limits, probes) and that its parts
// fit together.
//
// usage: node check-rendered.mjs --expect EXPECT.json --binary EXPORTER
//          --tmp DIR DIR_NAME=RENDERED.yaml...
//
// For every rendered kustomization (DIR_NAME is its directory, the key into
// EXPECT.json):
// - every exporter container (image ...service_state_exporter...): non-root,
//   read-only root filesystem, no privilege escalation, all capabilities
//   dropped, CPU and memory requests and limits, liveness probe on /-/healthy
//   and readiness probe on /-/ready at the `metrics` port, the listen address
//   matching that port, a writable volume for --storage.state-file;
// - its --config.file comes from a ConfigMap in the same render, and the
//   exporter binary itself accepts that config (--config.check); every
//   absolute credential or certificate file the config names lies in a
//   volume mounted into the exporter container;
// - a Service selects the pods and has a port named `metrics`; a
//   ServiceMonitor selects the Service, scrapes port `metrics` on the
//   telemetry path, and sets the job label the alert rules select on;
// - the PrometheusRule, where present, carries exactly
//   deploy/prometheus/rules.yml; the dashboard ConfigMap, where present, has
//   label grafana_dashboard: "1" and exactly deploy/grafana's JSON file;
// - the expectations of EXPECT.json: namespace, replicas, which of rule,
//   dashboard, tenant label and sidecar the render has; optionally `config`
//   (the ConfigMap's config is exactly that repository file) and
//   `serviceAccountToken` ({mountPath, path, audience, expirationSeconds}: a
//   projected ServiceAccount token mounted read-only into the exporter
//   container only, and the file every bearer_token_file of its config
//   names); `sharded` (true: the exporter runs as a StatefulSet whose
//   --shard.count equals spec.replicas and which sets no --shard.index, so
//   each pod's ordinal is its shard; its serviceName is a headless Service
//   of the render that selects the pods and that a ServiceMonitor selects;
//   a PodDisruptionBudget selects the pods. false: no --shard.* argument).

import { readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse, parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
let expectFile, binary, tmp;
const renders = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--expect") expectFile = args[++i];
  else if (args[i] === "--binary") binary = args[++i];
  else if (args[i] === "--tmp") tmp = args[++i];
  else {
    const eq = args[i].indexOf("=");
    renders.push([args[i].slice(0, eq), args[i].slice(eq + 1)]);
  }
}
if (!expectFile || !binary || !tmp || renders.length === 0) {
  console.error("usage: node check-rendered.mjs --expect EXPECT.json --binary EXPORTER --tmp DIR DIR=RENDERED.yaml...");
  process.exit(2);
}

const repo = process.cwd();
const expectations = JSON.parse(readFileSync(expectFile, "utf8"));
const rulesText = readFileSync(path.join(repo, "deploy/prometheus/rules.yml"), "utf8");
const rules = parse(rulesText);
const dashboardName = "service-state-exporter.json";
const dashboardText = readFileSync(path.join(repo, "deploy/grafana", dashboardName), "utf8");
const TENANT_LABEL = "observability.giantswarm.io/tenant";

// The job label the exporter alerts select on, e.g. up{job="service-state-exporter"}.
const jobMatch = rulesText.match(/\bup\{job="([^"]+)"\}/);
if (!jobMatch) {
  console.error("FAIL deploy/prometheus/rules.yml: no up{job=\"...\"} selector to take the exporter's job label from");
  process.exit(1);
}
const exporterJob = jobMatch[1];

const problems = [];
let checkedConfigs = 0;

// The files an exporter config names (credentials, certificates), each as
// {key, file} with the key's path in the config.
function configFiles(config) {
  const out = [];
  const polled = (node, where) => {
    if (!node || typeof node !== "object") return;
    if (typeof node.bearer_token_file === "string") out.push({ key: `${where}.bearer_token_file`, file: node.bearer_token_file });
    if (typeof node.basic_auth?.password_file === "string") {
      out.push({ key: `${where}.basic_auth.password_file`, file: node.basic_auth.password_file });
    }
    for (const k of ["ca_file", "cert_file", "key_file"]) {
      if (typeof node.tls?.[k] === "string") out.push({ key: `${where}.tls.${k}`, file: node.tls[k] });
    }
  };
  for (const section of ["services", "lists", "file_sd", "http_sd"]) {
    (Array.isArray(config[section]) ? config[section] : []).forEach((n, i) => polled(n, `${section}[${i}]`));
  }
  return out;
}

// A projected ServiceAccount token as `want` describes it, mounted read-only
// into the exporter container `c` of workload `w` and no other container,
// and named by every bearer_token_file of the exporter's config.
function checkToken(want, w, c, bearerFiles, where, fail) {
  const pod = w.spec.template.spec;
  const tokenFile = path.posix.join(want.mountPath, want.path);
  const mount = (c.volumeMounts ?? []).find((m) => m.mountPath.replace(/\/$/, "") === want.mountPath);
  if (!mount) {
    fail(`${where}: no volume mounted at ${want.mountPath} (the projected ServiceAccount token)`);
    return;
  }
  if (mount.readOnly !== true) fail(`${where}: the token mount ${want.mountPath} should be readOnly`);
  const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
  const sources = volume?.projected?.sources ?? [];
  const sat = sources.find((x) => x.serviceAccountToken)?.serviceAccountToken;
  if (!sat) fail(`${where}: volume ${mount.name} at ${want.mountPath} is not a projected serviceAccountToken`);
  else {
    if (sat.path !== want.path) fail(`${where}: the token's path is ${sat.path}, expected ${want.path}`);
    if (sat.expirationSeconds !== want.expirationSeconds) {
      fail(`${where}: the token's expirationSeconds is ${sat.expirationSeconds}, expected ${want.expirationSeconds}`);
    }
    if (sat.audience !== want.audience) {
      fail(`${where}: the token's audience is ${JSON.stringify(sat.audience)}, expected ${JSON.stringify(want.audience)} (the replacement from the overlay's settings)`);
    }
  }
  for (const other of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    if (other !== c && (other.volumeMounts ?? []).some((m) => m.name === mount.name)) {
      fail(`${where}: container ${other.name} mounts the exporter's token volume ${mount.name} too`);
    }
  }
  if (bearerFiles.length === 0) fail(`${where}: the config names no bearer_token_file, so the token is unused`);
  for (const f of bearerFiles) {
    if (f.file !== tokenFile) fail(`${where}: ${f.key} is ${f.file}, but the token is mounted as ${tokenFile}`);
  }
}

// The sharded deployment: a StatefulSet (stable ordinals, so stable shards)
// with --shard.count equal to its replicas, governed by a headless Service
// the ServiceMonitor scrapes through, and a PodDisruptionBudget.
function checkSharding(sharded, w, c, objs, fail) {
  const where = `${w.kind}/${w.metadata.name}`;
  const count = flagValue(c.args, "--shard.count");
  const index = flagValue(c.args, "--shard.index");
  if (!sharded) {
    if (count !== undefined || index !== undefined) fail(`${where}: --shard.* set, but the expectations say not sharded`);
    return;
  }
  if (w.kind !== "StatefulSet") fail(`${where}: a sharded exporter must be a StatefulSet (its pod ordinals are the shard indexes)`);
  if (index !== undefined) fail(`${where}: --shard.index=${index} is the same on every pod; leave it to the pod name's ordinal`);
  if (count === undefined || !/^[0-9]+$/.test(count) || Number(count) !== w.spec?.replicas) {
    fail(`${where}: --shard.count=${count} is not spec.replicas (${w.spec?.replicas}); the replacement should copy it`);
  }
  const podLabels = w.spec?.template?.metadata?.labels ?? {};
  const selects = (sel) => sel && Object.keys(sel).length > 0 && subset(sel, podLabels);
  const governing = objs.find((o) => o.kind === "Service" && o.metadata.name === w.spec?.serviceName);
  if (!governing) fail(`${where}: serviceName ${w.spec?.serviceName} is no Service of the render`);
  else {
    if (governing.spec?.clusterIP !== "None") fail(`${where}: its Service ${governing.metadata.name} is not headless (clusterIP: None)`);
    if (!selects(governing.spec?.selector)) fail(`${where}: its Service ${governing.metadata.name} does not select its pods`);
    const monitored = objs.some((sm) => sm.kind === "ServiceMonitor" &&
      subset(sm.spec?.selector?.matchLabels, governing.metadata?.labels));
    if (!monitored) fail(`${where}: no ServiceMonitor selects the headless Service ${governing.metadata.name}`);
  }
  if (!objs.some((o) => o.kind === "PodDisruptionBudget" && selects(o.spec?.selector?.matchLabels))) {
    fail(`${where}: no PodDisruptionBudget selects its pods`);
  }
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet"]);
const isExporterImage = (image) => /service_state_exporter/.test(image ?? "");
const flagValue = (argv, flag) => {
  const a = (argv ?? []).find((x) => x.startsWith(`${flag}=`));
  return a === undefined ? undefined : a.slice(flag.length + 1);
};
const subset = (small, big) =>
  Object.entries(small ?? {}).every(([k, v]) => (big ?? {})[k] === v);

for (const [dir, file] of renders) {
  const expect = expectations[dir];
  const fail = (msg) => problems.push(`${dir}: ${msg}`);
  if (!expect) {
    fail(`no entry in ${expectFile}: add one for this kustomization`);
    continue;
  }
  const objs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const ns = (o) => o.metadata?.namespace ?? "";
  const byKind = (kind) => objs.filter((o) => o.kind === kind);

  if (expect.namespace !== undefined) {
    for (const o of objs) {
      if (ns(o) !== expect.namespace) {
        fail(`${o.kind}/${o.metadata?.name} is in namespace "${ns(o)}", expected "${expect.namespace}"`);
      }
    }
  }

  // Exporter containers.
  const workloads = objs.filter((o) => WORKLOAD_KINDS.has(o.kind));
  let exporters = 0;
  let sidecars = 0;
  for (const w of workloads) {
    const pod = w.spec?.template?.spec ?? {};
    const containers = pod.containers ?? [];
    const idx = containers.findIndex((c) => isExporterImage(c.image));
    if (idx < 0) continue;
    exporters++;
    const c = containers[idx];
    const where = `${w.kind}/${w.metadata.name} container ${c.name}`;
    if (containers.length > 1) {
      sidecars++;
      if (idx === 0) fail(`${where}: a sidecar must come after the service's own container (kubectl logs/exec default to the first)`);
    }
    if (expect.replicas !== undefined && w.spec?.replicas !== expect.replicas) {
      fail(`${w.kind}/${w.metadata.name}: replicas ${w.spec?.replicas}, expected ${expect.replicas}`);
    }

    checkSharding(expect.sharded === true, w, c, objs.filter((o) => ns(o) === ns(w)), fail);

    const sc = c.securityContext ?? {};
    const psc = pod.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) fail(`${where}: securityContext.allowPrivilegeEscalation must be false`);
    if (sc.readOnlyRootFilesystem !== true) fail(`${where}: securityContext.readOnlyRootFilesystem must be true`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(`${where}: securityContext.capabilities.drop must include ALL`);
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) fail(`${where}: runAsNonRoot must be true (container or pod)`);
    const uid = sc.runAsUser ?? psc.runAsUser;
    if (uid === 0) fail(`${where}: runAsUser is 0 (root)`);
    if (sc.privileged === true) fail(`${where}: privileged`);
    for (const kind of ["requests", "limits"]) {
      for (const res of ["cpu", "memory"]) {
        if (c.resources?.[kind]?.[res] === undefined) fail(`${where}: resources.${kind}.${res} is not set`);
      }
    }

    const listen = flagValue(c.args, "--web.listen-address") ?? ":9810";
    const listenPort = Number(listen.slice(listen.lastIndexOf(":") + 1));
    const telemetryPath = flagValue(c.args, "--web.telemetry-path") ?? "/metrics";
    const metricsPort = (c.ports ?? []).find((p) => p.name === "metrics");
    if (!metricsPort) fail(`${where}: no container port named "metrics"`);
    else if (metricsPort.containerPort !== listenPort) {
      fail(`${where}: port "metrics" is ${metricsPort.containerPort} but --web.listen-address is ${listen}`);
    }
    for (const [probe, wantPath] of [["livenessProbe", "/-/healthy"], ["readinessProbe", "/-/ready"]]) {
      const get = c[probe]?.httpGet;
      if (!get) fail(`${where}: no ${probe} with httpGet`);
      else {
        if (get.path !== wantPath) fail(`${where}: ${probe} path is ${get.path}, expected ${wantPath}`);
        if (get.port !== "metrics" && get.port !== listenPort) fail(`${where}: ${probe} port ${get.port} is not the metrics port`);
      }
    }

    const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
    // The mount of the file's directory; with `below`, of any directory above it.
    const mountFor = (file, below = false) =>
      (c.volumeMounts ?? []).find((m) => {
        const dir = m.mountPath.replace(/\/$/, "");
        return path.posix.dirname(file) === dir || (below && file.startsWith(`${dir}/`));
      });

    const configFile = flagValue(c.args, "--config.file");
    if (!configFile) fail(`${where}: no --config.file argument`);
    else {
      const m = mountFor(configFile);
      const v = m && volumes.get(m.name);
      if (!v?.configMap) fail(`${where}: ${configFile} is not mounted from a ConfigMap volume`);
      else {
        if (m.readOnly !== true) fail(`${where}: config mount ${m.mountPath} should be readOnly`);
        const key = path.posix.basename(configFile);
        const cm = byKind("ConfigMap").find((x) => x.metadata.name === v.configMap.name && ns(x) === ns(w));
        if (!cm) fail(`${where}: ConfigMap ${v.configMap.name} (its config) is not in the render`);
        else if (typeof cm.data?.[key] !== "string") fail(`${where}: ConfigMap ${cm.metadata.name} has no key ${key}`);
        else {
          const cfg = path.join(tmp, `${dir.replace(/[^A-Za-z0-9]+/g, "_")}__${cm.metadata.name}.yaml`);
          writeFileSync(cfg, cm.data[key]);
          const r = spawnSync(binary, ["--config.check", `--config.file=${cfg}`], { encoding: "utf8" });
          checkedConfigs++;
          if (r.status !== 0) {
            fail(`${where}: ${binary} --config.check rejects ConfigMap ${cm.metadata.name}/${key} ` +
              `(exit ${r.status ?? r.signal}):\n    ${(r.stdout + r.stderr).trim().replaceAll("\n", "\n    ")}`);
          }
          if (expect.config !== undefined &&
              cm.data[key] !== readFileSync(path.join(repo, expect.config), "utf8")) {
            fail(`${where}: ConfigMap ${cm.metadata.name}/${key} differs from ${expect.config} (keep the overlay's copy identical)`);
          }
          let config = {};
          try {
            config = parse(cm.data[key]) ?? {};
          } catch {
            // --config.check above reports a broken file.
          }
          const files = configFiles(config);
          for (const f of files.filter((x) => x.file.startsWith("/"))) {
            if (!mountFor(f.file, true)) fail(`${where}: ${f.key} ${f.file} is in no volume mounted into the container`);
          }
          if (expect.serviceAccountToken) {
            checkToken(expect.serviceAccountToken, w, c, files.filter((x) => x.key.endsWith("bearer_token_file")), where, fail);
          }
        }
      }
    }
    const stateFile = flagValue(c.args, "--storage.state-file");
    if (stateFile !== undefined) {
      const m = mountFor(stateFile);
      const v = m && volumes.get(m.name);
      if (!v || m.readOnly || !(v.emptyDir || v.persistentVolumeClaim || v.ephemeral)) {
        fail(`${where}: --storage.state-file ${stateFile} needs a writable volume (the root filesystem is read-only)`);
      }
    }

    // Service -> pods, ServiceMonitor -> Service.
    const podLabels = w.spec?.template?.metadata?.labels ?? {};
    const services = byKind("Service").filter(
      (s) => ns(s) === ns(w) && s.spec?.selector && Object.keys(s.spec.selector).length > 0 && subset(s.spec.selector, podLabels));
    const withPort = services.filter((s) => (s.spec.ports ?? []).some(
      (p) => p.name === "metrics" && (p.targetPort === "metrics" || p.targetPort === listenPort)));
    if (withPort.length === 0) {
      fail(`${where}: no Service selects these pods with a port named "metrics" targeting the exporter`);
      continue;
    }
    const monitors = byKind("ServiceMonitor").filter((sm) => ns(sm) === ns(w) &&
      withPort.some((s) => subset(sm.spec?.selector?.matchLabels, s.metadata?.labels)) &&
      !sm.spec?.selector?.matchExpressions);
    const endpoint = monitors.flatMap((sm) => sm.spec.endpoints ?? []).find((e) => e.port === "metrics");
    if (!endpoint) fail(`${where}: no ServiceMonitor selects its Service with an endpoint on port "metrics"`);
    else {
      if ((endpoint.path ?? "/metrics") !== telemetryPath) fail(`${where}: ServiceMonitor path ${endpoint.path} is not ${telemetryPath}`);
      const setsJob = (endpoint.relabelings ?? []).some(
        (r) => r.targetLabel === "job" && r.replacement === exporterJob && (r.action ?? "replace") === "replace");
      if (!setsJob) {
        fail(`${where}: its ServiceMonitor endpoint does not set job="${exporterJob}", which the alert rules select on`);
      }
    }
  }
  if (exporters === 0) fail("no exporter container (image ...service_state_exporter...) in the render");
  if (expect.sidecar !== (sidecars > 0)) {
    fail(expect.sidecar ? "expected the exporter as a sidecar, found none" : "found the exporter as a sidecar, expected none");
  }

  // PrometheusRule.
  const prs = byKind("PrometheusRule");
  if (expect.prometheusRule !== (prs.length > 0)) {
    fail(expect.prometheusRule ? "expected a PrometheusRule, found none" : `found ${prs.length} PrometheusRule(s), expected none`);
  }
  for (const pr of prs) {
    if (!isDeepStrictEqual(pr.spec, rules)) {
      fail(`PrometheusRule/${pr.metadata.name}: spec differs from deploy/prometheus/rules.yml ` +
        "(run deploy/prometheus/generate-prometheusrule.sh)");
    }
    const tenant = pr.metadata?.labels?.[TENANT_LABEL];
    if (expect.tenantLabel && !tenant) fail(`PrometheusRule/${pr.metadata.name}: no ${TENANT_LABEL} label`);
    if (!expect.tenantLabel && tenant !== undefined) fail(`PrometheusRule/${pr.metadata.name}: unexpected ${TENANT_LABEL} label`);
  }

  // Dashboard ConfigMap.
  const dashboards = byKind("ConfigMap").filter((cm) => cm.metadata?.labels?.grafana_dashboard !== undefined ||
    Object.keys(cm.data ?? {}).some((k) => k.endsWith(".json")));
  if (expect.dashboard !== (dashboards.length > 0)) {
    fail(expect.dashboard ? "expected the dashboard ConfigMap, found none" : "found a dashboard ConfigMap, expected none");
  }
  for (const cm of dashboards) {
    const where = `ConfigMap/${cm.metadata.name}`;
    if (cm.metadata?.labels?.grafana_dashboard !== "1") fail(`${where}: label grafana_dashboard must be "1"`);
    const keys = Object.keys(cm.data ?? {});
    if (keys.length !== 1 || keys[0] !== dashboardName) fail(`${where}: data keys ${JSON.stringify(keys)}, expected ["${dashboardName}"]`);
    else if (cm.data[dashboardName] !== dashboardText) fail(`${where}: data differs from deploy/grafana/${dashboardName}`);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
console.log(`policy: ${renders.length} render(s) fit together; ${checkedConfigs} exporter config(s) accepted by --config.check`);
