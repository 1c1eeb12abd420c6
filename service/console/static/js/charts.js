// Small inline-SVG charts: horizontal bars (met within total) and a two-series day chart.
import { h, s } from "./dom.js";

export function bars(rows, { id, total = "total", part = "met", name = (r) => r.key, value = null }) {
  const width = 520;
  const rowH = 26;
  const left = 150;
  const max = Math.max(1, ...rows.map((r) => r[total]));
  const svg = s("svg", { id, class: "chart", viewBox: `0 0 ${width} ${Math.max(1, rows.length) * rowH + 6}`, role: "img" });
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    const full = ((width - left - 70) * r[total]) / max;
    const done = part ? ((width - left - 70) * r[part]) / max : full;
    svg.append(
      s("text", { x: left - 6, y: y + 15, "text-anchor": "end", class: "axis" }, name(r)),
      s("rect", { x: left, y, width: Math.max(full, 1), height: rowH - 8, class: "bar-total" }),
      s("rect", { x: left, y, width: done, height: rowH - 8, class: "bar-part" }),
      s("text", { x: left + full + 6, y: y + 15, class: "axis" }, value ? value(r) : `${r[part]}/${r[total]}`),
    );
  });
  return svg;
}

export function days(rows, { id }) {
  const width = 520;
  const height = 160;
  const pad = 28;
  const max = Math.max(1, ...rows.map((r) => r.created));
  const step = rows.length > 1 ? (width - 2 * pad) / (rows.length - 1) : 0;
  const x = (i) => pad + i * step;
  const y = (v) => height - pad - ((height - 2 * pad) * v) / max;
  const path = (key) => rows.map((r, i) => `${i ? "L" : "M"}${x(i)},${y(r[key])}`).join(" ");
  const svg = s("svg", { id, class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img" }, [
    s("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis-line" }),
    s("text", { x: 4, y: y(max) + 4, class: "axis" }, String(max)),
    s("path", { d: path("created"), class: "line-created" }),
    s("path", { d: path("met"), class: "line-met" }),
  ]);
  rows.forEach((r, i) => {
    svg.append(
      s("circle", { cx: x(i), cy: y(r.created), r: 3, class: "dot-created" }),
      s("circle", { cx: x(i), cy: y(r.met), r: 3, class: "dot-met" }),
    );
    if (rows.length <= 10 || i % Math.ceil(rows.length / 10) === 0) {
      svg.append(s("text", { x: x(i), y: height - 8, "text-anchor": "middle", class: "axis" }, r.day.slice(5)));
    }
  });
  return h("div", {}, svg);
}
