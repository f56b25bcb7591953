// Validates rendered Kubernetes objects against their API schemas.
//
// usage: node validate-k8s.mjs RENDERED.yaml...
//
// Two passes over every object, both from the same generated models
// (npm kubernetes-models for the built-in kinds, built from the Kubernetes
// OpenAPI spec; @kubernetes-models/prometheus-operator for ServiceMonitor and
// PrometheusRule, built from the operator's CRDs):
//   1. ajv (Model#validate): required fields, types, enums, formats
//      (quantities, int-or-string, ...).
//   2. TypeScript excess-property checking: the models' JSON schemas do not
//      forbid unknown fields (the API server's strict field validation does),
//      so a typo such as `livenesProbe` would pass ajv. Each object is
//      type-checked as an object literal of the model's interface, which
//      rejects any field the schema does not define.
// An object whose apiVersion/kind has no model fails: nothing passes
// unchecked. Exits 0 when all objects are valid, 1 otherwise.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { parseAllDocuments } from "yaml";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const deployTests = path.resolve(here, "..");
const require = createRequire(path.join(deployTests, "package.json"));

// apiVersion group -> npm package that has its models.
function modelPackage(apiVersion) {
  const [group, version] = apiVersion.includes("/")
    ? apiVersion.split("/")
    : ["", apiVersion];
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/${group}/${version}`;
  }
  return group === "" ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate-k8s.mjs RENDERED.yaml...");
  process.exit(2);
}

const problems = [];
const objects = []; // { file, id, doc, modulePath, kind }

for (const file of files) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const d of docs) {
    if (d.errors.length > 0) {
      problems.push(`${file}: YAML error: ${d.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const doc = d.toJS();
    if (doc === null || doc === undefined) continue;
    const id = `${file}: ${doc.kind ?? "?"}/${doc.metadata?.name ?? "?"}`;
    if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") {
      problems.push(`${id}: no apiVersion or kind`);
      continue;
    }
    const modulePath = `${modelPackage(doc.apiVersion)}/${doc.kind}`;
    let Model;
    try {
      Model = require(modulePath)[doc.kind];
    } catch {
      Model = undefined;
    }
    if (typeof Model !== "function") {
      problems.push(`${id}: no schema for apiVersion ${doc.apiVersion} kind ${doc.kind} ` +
        `(add its models package to tests/deploy/package.json)`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      problems.push(`${id}: schema: ${e.message}`);
    }
    objects.push({ file, id, doc, modulePath, kind: doc.kind });
  }
}

// Pass 2: excess-property check with the TypeScript compiler, one in-memory
// program for all objects.
if (objects.length > 0) {
  const virtualFile = path.join(deployTests, "__rendered__", "objects.ts");
  const lines = [];
  const ranges = []; // [firstLine, lastLine, id]
  objects.forEach((o, i) => {
    lines.push(`import type { I${o.kind} as T${i} } from ${JSON.stringify(o.modulePath)};`);
  });
  objects.forEach((o, i) => {
    const first = lines.length + 1;
    const body = JSON.stringify(o.doc, null, 2).split("\n");
    lines.push(`export const o${i}: T${i} = ${body[0]}`, ...body.slice(1));
    lines[lines.length - 1] += ";";
    ranges.push([first, lines.length, o.id]);
  });
  const source = lines.join("\n") + "\n";

  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === virtualFile
      ? ts.createSourceFile(name, source, lang)
      : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === virtualFile || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (path.resolve(name) === virtualFile ? source : readFile(name));

  const program = ts.createProgram([virtualFile], options, host);
  for (const diag of ts.getPreEmitDiagnostics(program)) {
    let message = ts.flattenDiagnosticMessageText(diag.messageText, "\n  ");
    if (message.length > 400) message = message.slice(0, 400) + " ...";
    if (!diag.file || path.resolve(diag.file.fileName) !== virtualFile) {
      problems.push(`type check: ${message}`);
      continue;
    }
    const { line } = diag.file.getLineAndCharacterOfPosition(diag.start ?? 0);
    const range = ranges.find(([a, b]) => line + 1 >= a && line + 1 <= b);
    const where = range ? range[2] : "imports";
    problems.push(`${where}: unknown or mistyped field near \`${lines[line].trim()}\`:\n  ${message}`);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(`FAIL ${p}`);
  console.error(`${problems.length} schema problem(s) in ${objects.length} object(s)`);
  process.exit(1);
}
console.log(`schema: ${objects.length} object(s) valid (${files.length} file(s))`);
