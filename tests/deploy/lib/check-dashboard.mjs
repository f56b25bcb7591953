// Checks the Grafana dashboard deploy/grafana/service-state-exporter.json.
//
// usage: node check-dashboard.mjs DASHBOARD.json KNOWN_METRICS.txt PROMTOOL_RULES_OUT.yml
//
// - Schema: the dashboard, each panel, and each panel's options and
//   fieldConfig.defaults.custom are type-checked (TypeScript, excess
//   properties included) against Grafana's own generated types
//   (npm @grafana/schema): a misspelt or unknown option fails.
// - Every PromQL expression (panel targets, and the selectors of
//   label_values() variable queries), with Grafana's variables substituted,
//   parses (Lezer here; promtool on PROMTOOL_RULES_OUT.yml, which this script
//   writes as recording rules for check_dashboard.sh to run
//   `promtool check rules` on).
// - Every metric named is served by the exporter or by the aggregator
//   (KNOWN_METRICS.txt), and every panel selector filters on the `namespace`
//   and `pod` template variables.
// - The datasource is the `datasource` template variable everywhere; no
//   ${DS_...} export placeholders.
// - The panels issue 5 asks for exist; ids are unique; panels do not
//   overlap.

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { analyse, grafanaSubstitute, knownMetrics } from "./promql.mjs";

const [dashboardFile, knownFile, promtoolOut] = process.argv.slice(2);
if (!promtoolOut) {
  console.error("usage: node check-dashboard.mjs DASHBOARD.json KNOWN_METRICS.txt PROMTOOL_RULES_OUT.yml");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const deployTests = path.resolve(here, "..");
const problems = [];
const fail = (msg) => problems.push(msg);

const raw = readFileSync(dashboardFile, "utf8");
let dash;
try {
  dash = JSON.parse(raw);
} catch (e) {
  console.error(`FAIL ${dashboardFile}: not JSON: ${e.message}`);
  process.exit(1);
}
const known = knownMetrics(knownFile);

// ---------------------------------------------------------------- schema
const SCHEMA = "@grafana/schema/dist/types/raw";
const PANEL_CFG = {
  stat: "stat/panelcfg/x/StatPanelCfg_types.gen",
  timeseries: "timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen",
  "state-timeline": "statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen",
  table: "table/panelcfg/x/TablePanelCfg_types.gen",
  gauge: "gauge/panelcfg/x/GaugePanelCfg_types.gen",
  bargauge: "bargauge/panelcfg/x/BarGaugePanelCfg_types.gen",
  "status-history": "statushistory/panelcfg/x/StatusHistoryPanelCfg_types.gen",
  text: "text/panelcfg/x/TextPanelCfg_types.gen",
};
const allPanels = [];
for (const p of dash.panels ?? []) {
  allPanels.push(p);
  for (const inner of p.panels ?? []) allPanels.push(inner);
}
{
  const lines = [
    `import type * as D from "${SCHEMA}/dashboard/x/dashboard_types.gen";`,
    ...Object.entries(PANEL_CFG).map(([, m], i) => `import type * as P${i} from "${SCHEMA}/composable/${m}";`),
    // Grafana's types use TypeScript string enums, which JSON's plain strings
    // never satisfy; Loose<T> turns each enum into the union of its values.
    // Every property becomes optional: Grafana fills in defaults for what a
    // stored dashboard leaves out, but unknown or mistyped ones still fail.
    "type Loose<T> = T extends string ? `${T}` : T extends number | boolean | null | undefined ? T :",
    "  T extends Array<infer U> ? Array<Loose<U>> : T extends object ? { [K in keyof T]?: Loose<T[K]> } : T;",
  ];
  const ranges = [];
  const add = (label, type, value) => {
    const first = lines.length + 1;
    const body = JSON.stringify(value, null, 2).split("\n");
    lines.push(`export const v${ranges.length}: ${type} = ${body[0]}`, ...body.slice(1));
    lines[lines.length - 1] += ";";
    ranges.push([first, lines.length, label]);
  };
  const { panels: _panels, ...top } = dash;
  add("dashboard", "Loose<Omit<D.Dashboard, 'panels'>>", top);
  const cfgIndex = Object.keys(PANEL_CFG);
  for (const p of allPanels) {
    const label = `panel ${p.id} "${p.title}" (${p.type})`;
    if (p.type === "row") {
      add(label, "Loose<D.RowPanel>", p);
      continue;
    }
    const i = cfgIndex.indexOf(p.type);
    if (i < 0) {
      fail(`${label}: no schema for panel type ${p.type} in this check (add it to PANEL_CFG)`);
      continue;
    }
    add(label, "Loose<D.Panel>", p);
    if (p.options !== undefined) add(`${label} options`, `Loose<P${i}.Options>`, p.options);
    const custom = p.fieldConfig?.defaults?.custom;
    if (custom !== undefined) add(`${label} fieldConfig.defaults.custom`, `Loose<P${i}.FieldConfig>`, custom);
  }
  const source = lines.join("\n") + "\n";
  const virtualFile = path.join(deployTests, "__dashboard__", "dashboard.ts");
  const options = {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === virtualFile ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === virtualFile || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (path.resolve(name) === virtualFile ? source : readFile(name));
  const program = ts.createProgram([virtualFile], options, host);
  for (const diag of ts.getPreEmitDiagnostics(program)) {
    let message = ts.flattenDiagnosticMessageText(diag.messageText, "\n  ");
    if (message.length > 400) message = message.slice(0, 400) + " ...";
    if (!diag.file || path.resolve(diag.file.fileName) !== virtualFile) {
      fail(`schema: ${message}`);
      continue;
    }
    const { line } = diag.file.getLineAndCharacterOfPosition(diag.start ?? 0);
    const range = ranges.find(([a, b]) => line + 1 >= a && line + 1 <= b);
    fail(`schema: ${range ? range[2] : "imports"}: near \`${lines[line].trim()}\`:\n  ${message}`);
  }
}

// ---------------------------------------------------------------- datasource
if (/\$\{DS_/.test(raw)) fail('the dashboard has ${DS_...} placeholders ("export for sharing externally"); use the datasource variable');
const vars = dash.templating?.list ?? [];
const varByName = new Map(vars.map((v) => [v.name, v]));
const dsVar = varByName.get("datasource");
if (!dsVar || dsVar.type !== "datasource" || dsVar.query !== "prometheus") {
  fail('no template variable "datasource" of type datasource (query prometheus)');
}
const DS_UID = "${datasource}";
for (const name of ["namespace", "pod"]) {
  const v = varByName.get(name);
  if (!v) fail(`no template variable "${name}"`);
  else if (v.type !== "query" || v.datasource?.uid !== DS_UID) fail(`variable "${name}" must be a query on the datasource variable`);
}

// ---------------------------------------------------------------- PromQL
const exprs = []; // { where, expr, panelQuery }
for (const v of vars) {
  if (v.type !== "query") continue;
  const q = typeof v.query === "string" ? v.query : v.query?.query ?? "";
  const m = q.match(/^\s*label_values\((.*),\s*\w+\s*\)\s*$/s) ?? q.match(/^\s*query_result\((.*)\)\s*$/s);
  if (m) exprs.push({ where: `variable ${v.name}`, expr: m[1], panelQuery: false });
  else if (!/^\s*label_values\(\s*\w+\s*\)\s*$/.test(q)) fail(`variable ${v.name}: unsupported query "${q}"`);
}
const ids = new Set();
for (const p of allPanels) {
  const label = `panel ${p.id} "${p.title}"`;
  if (ids.has(p.id)) fail(`${label}: duplicate panel id`);
  ids.add(p.id);
  if (p.type === "row") continue;
  if (p.datasource?.uid !== DS_UID) fail(`${label}: datasource must be {uid: "${DS_UID}"}`);
  const refIds = new Set();
  if (!(p.targets?.length > 0)) fail(`${label}: no queries`);
  for (const t of p.targets ?? []) {
    if (t.datasource && t.datasource.uid !== DS_UID) fail(`${label} query ${t.refId}: datasource must be "${DS_UID}"`);
    if (refIds.has(t.refId)) fail(`${label}: duplicate refId ${t.refId}`);
    refIds.add(t.refId);
    if (typeof t.expr !== "string" || !t.expr.trim()) fail(`${label} query ${t.refId}: no expr`);
    else exprs.push({ where: `${label} query ${t.refId}`, expr: t.expr, panelQuery: true });
  }
}

const named = new Set();
const rules = [];
exprs.forEach(({ where, expr, panelQuery }, i) => {
  const q = grafanaSubstitute(expr);
  rules.push({ record: `dashboard:expr_${i}`, where, expr: q });
  const { errors, selectors } = analyse(q);
  for (const e of errors) fail(`${where}: ${e} in ${q}`);
  for (const s of selectors) {
    for (const name of s.names) {
      if (name === null) {
        fail(`${where}: a selector whose metric name cannot be read: ${q.slice(s.node.from, s.node.to)}`);
        continue;
      }
      named.add(name);
      const info = known.get(name);
      if (!info || (info.source !== "exporter" && info.source !== "aggregator")) {
        fail(`${where}: metric ${name} is served neither by the exporter nor by the aggregator (tests/deploy/known-metrics.txt)`);
      }
    }
    if (panelQuery) {
      for (const [label, variable] of [["namespace", "namespace"], ["pod", "pod"]]) {
        if (!s.matchers.some((m) => m.label === label && m.op === "=~" && m.value === variable)) {
          fail(`${where}: selector ${q.slice(s.node.from, s.node.to)} does not filter ${label}=~"$${variable}"`);
        }
      }
    }
  }
});
writeFileSync(promtoolOut, "# Generated by tests/deploy/lib/check-dashboard.mjs: the dashboard's PromQL.\ngroups:\n  - name: dashboard\n    rules:\n" +
  rules.map((r) => `      # ${r.where}\n      - record: ${r.record}\n        expr: ${JSON.stringify(r.expr)}\n`).join(""));

// ---------------------------------------------------------------- coverage
const panelsOfType = (t) => allPanels.filter((p) => p.type === t);
const reads = (p, re) => (p.targets ?? []).some((t) => re.test(t.expr ?? ""));
const need = [
  ["a stat of service status (muster_service_up)", () => panelsOfType("stat").some((p) => reads(p, /\bmuster_service_up\b/))],
  ["a state timeline from muster_service_state", () => panelsOfType("state-timeline").some((p) => reads(p, /\bmuster_service_state\{/))],
  ["a timeseries of state transitions", () => panelsOfType("timeseries").some((p) => reads(p, /\bmuster_service_state_(transitions|changes)_total\b/))],
  ["tool call rate by tool and outcome", () => panelsOfType("timeseries").some((p) => reads(p, /sum by \(tool, outcome\) \(rate\(muster_tool_calls_total/))],
  ["tool latency p50", () => panelsOfType("timeseries").some((p) => reads(p, /histogram_quantile\(0\.5, .*muster_tool_call_duration_seconds_bucket/))],
  ["tool latency p99", () => panelsOfType("timeseries").some((p) => reads(p, /histogram_quantile\(0\.99, .*muster_tool_call_duration_seconds_bucket/))],
  ["tool error rate per tool", () => panelsOfType("timeseries").some((p) => reads(p, /sum by \(tool\) \(rate\(muster_tool_calls_total\{[^}]*outcome=~/))],
  ["poll outcomes", () => panelsOfType("timeseries").some((p) => reads(p, /sum by \([^)]*outcome[^)]*\) \(rate\(service_state_exporter_polls_total/))],
  ["poll duration", () => panelsOfType("timeseries").some((p) => reads(p, /\bservice_state_exporter_poll_duration_seconds_bucket\b/))],
];
for (const [what, ok] of need) if (!ok()) fail(`missing panel: ${what}`);

// ---------------------------------------------------------------- layout
const boxes = (dash.panels ?? []).map((p) => ({ p, g: p.gridPos ?? {} }));
for (const { p, g } of boxes) {
  if (!(g.w > 0 && g.h > 0 && g.x >= 0 && g.y >= 0 && g.x + g.w <= 24)) fail(`panel ${p.id} "${p.title}": bad gridPos ${JSON.stringify(g)}`);
}
for (let i = 0; i < boxes.length; i++) {
  for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i].g, b = boxes[j].g;
    if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
      fail(`panels ${boxes[i].p.id} and ${boxes[j].p.id} overlap`);
    }
  }
}
if (!dash.uid || !dash.title) fail("the dashboard needs a uid and a title");

if (problems.length > 0) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
console.log(`dashboard: ${allPanels.length} panels, ${exprs.length} expressions, metrics: ${[...named].sort().join(" ")}`);
