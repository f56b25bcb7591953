// PromQL helpers for the deploy checks: the Prometheus project's own Lezer
// grammar (@prometheus-io/lezer-promql, the parser of Prometheus' web UI)
// finds syntax errors and the metric names an expression selects. promtool
// stays the authority on whether an expression parses (check_dashboard.sh
// and check_rules.sh run it too); this module says *what* an expression
// reads.

import { readFileSync } from "node:fs";
import { parser } from "@prometheus-io/lezer-promql";

/// Replaces Grafana's variables by values that keep the expression valid
/// PromQL: built-in intervals by durations, template variables by a word.
export function grafanaSubstitute(expr) {
  return expr
    .replace(/\$__(rate_interval|interval|range)(_ms|_s)?\b/g, (_, v, suffix) => (suffix ? "300" : "5m"))
    .replace(/\$\{(\w+)(:\w+)?\}/g, "$1")
    .replace(/\[\[(\w+)(:\w+)?\]\]/g, "$1")
    .replace(/\$(\w+)/g, "$1");
}

const text = (q, node) => q.slice(node.from, node.to);
const unquote = (s) => {
  if (s.startsWith("`")) return s.slice(1, -1);
  return JSON.parse(s.startsWith("'") ? `"${s.slice(1, -1).replace(/"/g, '\\"')}"` : s);
};

/// Parses `expr`. Returns { errors: [string], selectors: [{ names: [metric
/// names, or null when unknown], matchers: [{label, op, value}], node }],
/// aggregations: [...] } and `tree` for walks of one's own.
export function analyse(expr) {
  const tree = parser.parse(expr);
  const errors = [];
  const selectors = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(`syntax error at offset ${ref.from}: "${expr.slice(Math.max(0, ref.from - 15), ref.to + 15)}"`);
      }
      if (ref.name !== "VectorSelector") return;
      const node = ref.node;
      const matchers = [];
      let name = null;
      const ident = node.getChild("Identifier");
      if (ident) name = text(expr, ident);
      const lm = node.getChild("LabelMatchers");
      if (lm) {
        for (let m = lm.firstChild; m; m = m.nextSibling) {
          if (m.name !== "UnquotedLabelMatcher" && m.name !== "QuotedLabelMatcher") continue;
          const label = m.getChild("LabelName") ?? m.getChild("QuotedLabelName");
          const op = m.getChild("MatchOp");
          const value = m.getChild("StringLiteral");
          if (!label || !op || !value) continue;
          matchers.push({ label: text(expr, label).replace(/^"|"$/g, ""), op: text(expr, op), value: unquote(text(expr, value)) });
        }
      }
      let names;
      if (name !== null) names = [name];
      else {
        const n = matchers.find((m) => m.label === "__name__");
        if (n?.op === "=") names = [n.value];
        else if (n?.op === "=~" && /^[A-Za-z_:][A-Za-z0-9_:]*(\|[A-Za-z_:][A-Za-z0-9_:]*)*$/.test(n.value)) names = n.value.split("|");
        else names = [null];
      }
      selectors.push({ names, matchers, node });
    },
  });
  return { tree, errors, selectors };
}

/// Reads tests/deploy/known-metrics.txt: Map name -> {type, source, lazy},
/// with a histogram's _bucket, _sum and _count series added.
export function knownMetrics(file) {
  const known = new Map();
  for (const raw of readFileSync(file, "utf8").split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const [name, type, source, flag] = line.split(/\s+/);
    const info = { family: name, type, source, lazy: flag === "lazy" };
    if (type === "histogram") {
      for (const s of ["_bucket", "_sum", "_count"]) known.set(name + s, info);
    } else {
      known.set(name, info);
    }
  }
  return known;
}
