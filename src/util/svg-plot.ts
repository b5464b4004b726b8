/**
 * A small SVG line-chart writer, with no dependency: line series with point markers, two axes
 * with ticks and grid lines, axis labels, a title and a legend. Used for perplexity against
 * context length (§7.3), and meant for pass@k charts and loss curves too.
 *
 * The output is a standalone, well-formed SVG 1.1 document (every text is XML-escaped; numbers
 * are written with at most 2 decimals). Each series is a `<g class="series" data-name="...">`
 * holding one `<polyline>` (its `points` has one "x,y" pair per data point) and, with markers on,
 * one `<circle>` per point carrying a `<title>` tooltip with the values.
 */

export type Point = readonly [number, number];

export interface Series {
  name: string;
  points: readonly Point[];
  /** CSS colour; default: the next colour of the palette. */
  color?: string;
  dashed?: boolean;
}

export interface Axis {
  label?: string;
  /** "log": log10 positions (every value must be > 0). Default "linear". */
  scale?: "linear" | "log";
  /** Range; default: the data's range (linear axes are widened to nice tick values). */
  min?: number;
  max?: number;
  /** Tick values; default: about 5 nice values (linear) or the powers of 10 in range (log). */
  ticks?: readonly number[];
  /** Tick label text; default: `formatNumber`. */
  format?: (v: number) => string;
}

export interface LineChartOptions {
  title?: string;
  /** Size in pixels (default 640 x 400). */
  width?: number;
  height?: number;
  x?: Axis;
  y?: Axis;
  series: readonly Series[];
  /** Draw a circle at every point (default true). */
  markers?: boolean;
  /** Draw the legend (default: when there is more than one series). */
  legend?: boolean;
}

/** Colour-blind-friendly palette (Okabe–Ito). */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"];

/** Text safe inside XML elements and double-quoted attributes. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!)
    // characters XML 1.0 forbids (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/F)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** A coordinate: at most 2 decimals, no trailing zeros, no "-0". */
function n2(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? "0" : String(r);
}

/** A short label for a value: 16384 -> "16k" (k = 1024 for multiples of 1024), 0.25 -> "0.25", 1.5e-5 -> "1.5e-5". */
export function formatNumber(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (Number.isInteger(v) && a >= 1024 && a % 1024 === 0) return a % (1024 * 1024) === 0 ? `${v / 1048576}M` : `${v / 1024}k`;
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
  return String(Number(v.toPrecision(4)));
}

/** About `count` round values (1, 2, 2.5 or 5 times a power of 10) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max))) throw new RangeError(`niceTicks needs finite bounds, got ${min}, ${max}`);
  if (min === max) { const d = Math.abs(min) * 0.1 || 1; min -= d; max += d; }
  if (min > max) [min, max] = [max, min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  const first = Math.floor(min / step + 1e-9) * step;
  for (let v = first; v <= max + step * (1 - 1e-9); v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Where the axis starts and ends, its ticks, and a value-to-fraction map (0 = start, 1 = end). */
interface ResolvedAxis { min: number; max: number; ticks: number[]; frac: (v: number) => number; format: (v: number) => string; label?: string }

function resolveAxis(axis: Axis, values: number[], name: string): ResolvedAxis {
  const log = axis.scale === "log";
  if (log && values.some((v) => !(v > 0))) throw new RangeError(`${name} axis is logarithmic but a value is <= 0`);
  const dataMin = values.length ? Math.min(...values) : 0, dataMax = values.length ? Math.max(...values) : 1;
  let min = axis.min ?? dataMin, max = axis.max ?? dataMax;
  let ticks: number[];
  if (log) {
    if (min === max) { min /= 2; max *= 2; }
    ticks = axis.ticks ? [...axis.ticks] : [];
    if (!axis.ticks) for (let e = Math.ceil(Math.log10(min) - 1e-9); 10 ** e <= max * (1 + 1e-9); e++) ticks.push(10 ** e);
  } else {
    ticks = axis.ticks ? [...axis.ticks] : niceTicks(min, max);
    if (!axis.ticks) {
      if (axis.min === undefined) min = Math.min(min, ticks[0]);
      if (axis.max === undefined) max = Math.max(max, ticks[ticks.length - 1]);
    }
    if (min === max) { min -= 1; max += 1; }
  }
  ticks = ticks.filter((t) => t >= min - 1e-12 * Math.abs(min) && t <= max + 1e-12 * Math.abs(max));
  const f = log ? Math.log10 : (v: number) => v;
  const a = f(min), b = f(max);
  return { min, max, ticks, frac: (v) => (f(v) - a) / (b - a), format: axis.format ?? formatNumber, label: axis.label };
}

/** The chart as an SVG document. */
export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 640, H = o.height ?? 400;
  for (const s of o.series) {
    for (const [x, y] of s.points) if (!Number.isFinite(x) || !Number.isFinite(y)) throw new RangeError(`series "${s.name}" has a point that is not finite: (${x}, ${y})`);
  }
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1]));
  const X = resolveAxis(o.x ?? {}, xs, "x"), Y = resolveAxis(o.y ?? {}, ys, "y");
  const showLegend = o.legend ?? o.series.length > 1;
  const markers = o.markers ?? true;

  // 1. The plot area: room for the title, tick labels, axis labels and the legend.
  const yLabelWidth = Math.max(...Y.ticks.map((t) => Y.format(t).length), 1) * 7;
  const left = 24 + yLabelWidth + (Y.label ? 20 : 0), right = W - 32;
  const top = o.title ? 44 : 20, bottom = H - (X.label ? 56 : 36);
  const px = (v: number) => left + X.frac(v) * (right - left);
  const py = (v: number) => bottom - Y.frac(v) * (bottom - top);

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  if (o.title) out.push(`<text class="title" x="${n2(W / 2)}" y="26" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`);

  // 2. Grid lines, ticks and tick labels.
  out.push(`<g class="x-axis">`);
  for (const t of X.ticks) {
    const x = n2(px(t));
    out.push(`<line x1="${x}" y1="${n2(top)}" x2="${x}" y2="${n2(bottom)}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${x}" y1="${n2(bottom)}" x2="${x}" y2="${n2(bottom + 5)}" stroke="#333333"/>`);
    out.push(`<text class="tick" x="${x}" y="${n2(bottom + 18)}" text-anchor="middle">${escapeXml(X.format(t))}</text>`);
  }
  out.push(`<line x1="${n2(left)}" y1="${n2(bottom)}" x2="${n2(right)}" y2="${n2(bottom)}" stroke="#333333"/>`);
  if (X.label) out.push(`<text class="label" x="${n2((left + right) / 2)}" y="${n2(H - 14)}" text-anchor="middle">${escapeXml(X.label)}</text>`);
  out.push(`</g>`);
  out.push(`<g class="y-axis">`);
  for (const t of Y.ticks) {
    const y = n2(py(t));
    out.push(`<line x1="${n2(left)}" y1="${y}" x2="${n2(right)}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${n2(left - 5)}" y1="${y}" x2="${n2(left)}" y2="${y}" stroke="#333333"/>`);
    out.push(`<text class="tick" x="${n2(left - 8)}" y="${n2(py(t) + 4)}" text-anchor="end">${escapeXml(Y.format(t))}</text>`);
  }
  out.push(`<line x1="${n2(left)}" y1="${n2(top)}" x2="${n2(left)}" y2="${n2(bottom)}" stroke="#333333"/>`);
  if (Y.label) {
    const cx = n2(16), cy = n2((top + bottom) / 2);
    out.push(`<text class="label" x="${cx}" y="${cy}" text-anchor="middle" transform="rotate(-90 ${cx} ${cy})">${escapeXml(Y.label)}</text>`);
  }
  out.push(`</g>`);

  // 3. The series: a polyline and the markers.
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    const pts = s.points.map(([x, y]) => `${n2(px(x))},${n2(py(y))}`).join(" ");
    out.push(`<polyline points="${pts}" fill="none" stroke="${escapeXml(color)}" stroke-width="2"${s.dashed ? ` stroke-dasharray="6 4"` : ""}/>`);
    if (markers) {
      for (const [x, y] of s.points) {
        out.push(`<circle cx="${n2(px(x))}" cy="${n2(py(y))}" r="3.5" fill="${escapeXml(color)}"><title>${escapeXml(`${s.name}: ${X.format(x)}, ${formatNumber(y)}`)}</title></circle>`);
      }
    }
    out.push(`</g>`);
  });

  // 4. The legend, top right inside the plot area.
  if (showLegend && o.series.length > 0) {
    const w = Math.max(...o.series.map((s) => s.name.length)) * 7 + 40, h = o.series.length * 18 + 8;
    const lx = right - w - 8, ly = top + 8;
    out.push(`<g class="legend">`);
    out.push(`<rect x="${n2(lx)}" y="${n2(ly)}" width="${n2(w)}" height="${n2(h)}" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`);
    o.series.forEach((s, i) => {
      const color = s.color ?? PALETTE[i % PALETTE.length], y = ly + 16 + i * 18;
      out.push(`<line x1="${n2(lx + 8)}" y1="${n2(y - 4)}" x2="${n2(lx + 28)}" y2="${n2(y - 4)}" stroke="${escapeXml(color)}" stroke-width="2"${s.dashed ? ` stroke-dasharray="6 4"` : ""}/>`);
      out.push(`<text x="${n2(lx + 34)}" y="${n2(y)}">${escapeXml(s.name)}</text>`);
    });
    out.push(`</g>`);
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
