// Checks deploy/prometheus/rules.yml beyond what promtool checks.
//
// usage: node check-rules-meta.mjs RULES.yml TESTS_DIR RUNBOOK_MARKDOWN KNOWN_METRICS.txt
//
// - the alerts issue 5 names exist;
// - each alert has a severity label and summary, description and
//   runbook_url annotations; runbook_url points at this repository's
//   docs/runbook.md, at a section that exists; every section of the runbook
//   belongs to an alert;
// - each alert has promtool unit tests that show it firing and quiet;
// - each expression names only known metrics, and every selector is
//   aggregated so that the replica labels `instance` and `pod` are gone
//   (or sits inside absent()), so two replicas never double an alert.

import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { analyse, knownMetrics } from "./promql.mjs";

const [rulesFile, testsDir, runbookFile, knownFile] = process.argv.slice(2);
if (!knownFile) {
  console.error("usage: node check-rules-meta.mjs RULES.yml TESTS_DIR RUNBOOK_MARKDOWN KNOWN_METRICS.txt");
  process.exit(2);
}
const RUNBOOK_URL = "https://github.com/giantswarm/service_state_exporter/blob/main/docs/runbook.md";
const REQUIRED_ALERTS = [
  "MusterServiceDown", "MusterServiceFlapping", "MusterHighToolErrorRate",
  "ServiceStateExporterDown", "ServiceStateExporterAbsent",
  "ServiceStateExporterPollsFailing", "ServiceStateExporterConfigReloadFailed",
];
const SEVERITIES = new Set(["critical", "warning", "info"]);
const REPLICA_LABELS = ["instance", "pod"];

const problems = [];
const fail = (m) => problems.push(m);
const known = knownMetrics(knownFile);

// GitHub's heading anchors: lower case, punctuation dropped, spaces -> '-'.
const slug = (heading) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
const runbookSections = new Set(
  readFileSync(runbookFile, "utf8").split("\n").filter((l) => /^## /.test(l)).map((l) => slug(l.slice(3))));

const alerts = [];
for (const g of parse(readFileSync(rulesFile, "utf8")).groups ?? []) {
  for (const r of g.rules ?? []) if (r.alert) alerts.push(r);
}
const names = alerts.map((a) => a.alert);
for (const n of REQUIRED_ALERTS) if (!names.includes(n)) fail(`alert ${n} is missing`);
for (const n of new Set(names)) if (names.filter((x) => x === n).length > 1) fail(`alert ${n} is defined more than once`);

// Tests: alertname -> { firing, quiet }.
const coverage = new Map();
for (const f of readdirSync(testsDir).filter((f) => /\.ya?ml$/.test(f))) {
  const t = parse(readFileSync(path.join(testsDir, f), "utf8"));
  for (const group of t.tests ?? []) {
    for (const c of group.alert_rule_test ?? []) {
      const cov = coverage.get(c.alertname) ?? { firing: 0, quiet: 0 };
      if ((c.exp_alerts ?? []).length > 0) cov.firing++;
      else cov.quiet++;
      coverage.set(c.alertname, cov);
    }
  }
}
for (const n of coverage.keys()) if (!names.includes(n)) fail(`tests name alert ${n}, which rules.yml does not define`);

const alertSlugs = new Set();
for (const a of alerts) {
  const where = `alert ${a.alert}`;
  if (!SEVERITIES.has(a.labels?.severity)) fail(`${where}: label severity must be one of ${[...SEVERITIES].join(", ")}`);
  for (const k of ["summary", "description", "runbook_url"]) {
    if (typeof a.annotations?.[k] !== "string" || !a.annotations[k].trim()) fail(`${where}: no ${k} annotation`);
  }
  const s = slug(a.alert);
  alertSlugs.add(s);
  const url = a.annotations?.runbook_url;
  if (url !== undefined && url !== `${RUNBOOK_URL}#${s}`) fail(`${where}: runbook_url should be ${RUNBOOK_URL}#${s}`);
  if (!runbookSections.has(s)) fail(`${where}: docs/runbook.md has no section "## ${a.alert}"`);
  const cov = coverage.get(a.alert);
  if (!cov?.firing) fail(`${where}: no promtool test shows it firing (alert_rule_test with exp_alerts)`);
  if (!cov?.quiet) fail(`${where}: no promtool test shows it quiet (alert_rule_test without exp_alerts)`);

  const expr = String(a.expr);
  const { errors, selectors } = analyse(expr);
  for (const e of errors) fail(`${where}: ${e}`);
  for (const sel of selectors) {
    const text = expr.slice(sel.node.from, sel.node.to);
    for (const n of sel.names) {
      if (n === null) fail(`${where}: cannot read the metric name of ${text}`);
      else if (!known.has(n)) fail(`${where}: metric ${n} is not one the exporter, the aggregator or Prometheus serves (tests/deploy/known-metrics.txt)`);
    }
    // Some aggregation around the selector (or absent()) must drop both
    // replica labels; inner ones such as `sum without (outcome)` may keep them.
    const seen = [];
    let ok = false;
    for (let n = sel.node.parent; n && !ok; n = n.parent) {
      if (n.name === "FunctionCall") {
        const id = n.getChild("FunctionIdentifier");
        if (id && expr.slice(id.from, id.to) === "absent") ok = true;
      }
      if (n.name !== "AggregateExpr") continue;
      const mod = n.getChild("AggregateModifier");
      const kind = mod?.firstChild?.name; // By | Without | none
      const labels = [];
      const grouping = mod?.getChild("GroupingLabels");
      for (let l = grouping?.firstChild; l; l = l.nextSibling) if (l.name === "LabelName") labels.push(expr.slice(l.from, l.to));
      if (kind === "Without") ok = REPLICA_LABELS.every((l) => labels.includes(l));
      else if (kind === "By") ok = !REPLICA_LABELS.some((l) => labels.includes(l));
      else ok = true; // no modifier: every label aggregated away
      seen.push(`${kind === "Without" ? "without" : "by"} (${labels.join(", ")})`);
    }
    const verdict = ok ? null : seen.length ? seen.join(" then ") : "no aggregation";
    if (verdict) fail(`${where}: ${text} is not aggregated over the replica labels ${REPLICA_LABELS.join(", ")} (${verdict})`);
  }
}
for (const s of runbookSections) if (!alertSlugs.has(s)) fail(`docs/runbook.md section #${s} belongs to no alert`);

if (problems.length > 0) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
console.log(`rules: ${alerts.length} alerts with annotations, runbook sections, firing and quiet tests; replica labels aggregated away`);
