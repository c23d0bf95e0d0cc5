// Render DOT sources with the vendored viz.js, the same Graphviz the browser runs.
// stdin: a JSON list of DOT strings; stdout: a JSON list of {status, errors, output}.
import { readFileSync } from "node:fs";

const VIZ = new URL("../../workflows/static/legato/vendor/viz/viz-standalone.js", import.meta.url);
const viz = await (await import(VIZ.href)).instance();
const sources = JSON.parse(readFileSync(0, "utf8"));
const results = sources.map((dot) => {
  const { status, errors, output } = viz.render(dot, { format: "svg" });
  return { status, errors, output: output ?? null };
});
process.stdout.write(JSON.stringify(results));
