// usage: node mutate-rule.mjs RULES.yml ALERT FROM TO > MUTATED.yml
// Replaces the first FROM in the rule of ALERT (from its `- alert: ALERT`
// line to the next rule or group) by TO. Exits 1 when FROM is not there, so
// a mutation that no longer applies is noticed rather than passing.
import { readFileSync } from "node:fs";
const [file, alert, from, to] = process.argv.slice(2);
const lines = readFileSync(file, "utf8").split("\n");
const start = lines.findIndex((l) => l.trim() === `- alert: ${alert}`);
if (start < 0) { console.error(`no alert ${alert} in ${file}`); process.exit(1); }
let end = lines.findIndex((l, i) => i > start && /^\s*- (alert|record|name):/.test(l));
if (end < 0) end = lines.length;
const block = lines.slice(start, end).join("\n");
if (!block.includes(from)) { console.error(`mutation does not apply: "${from}" not in alert ${alert}`); process.exit(1); }
process.stdout.write([...lines.slice(0, start), block.replace(from, to), ...lines.slice(end)].join("\n"));
