/** The SVG plotting helper moved to src/util/svg-plot.ts (train uses it too); this re-export keeps the eval imports working. */
export * from "../util/svg-plot.js";
