// Compare runs: a side-by-side table (differences highlighted), parallel coordinates over the
// numeric columns, and a scatter plot of any two columns. Plots are plain SVG: a handful of
// runs needs no chart library.
import { useEffect, useMemo, useState } from "preact/hooks";
import {
  html, api, normalizeRun, fmtNumber, fmtTime, fmtDuration, Message, ErrorMessage, updateParams, listParam, hashFor, PALETTE,
} from "../lib.js";

function columnsOf(runs) {
  const keys = (kind) => [...new Set(runs.flatMap((r) => Object.keys(r[kind])))].sort();
  return {
    params: keys("params"),
    metrics: keys("metrics"),
    tags: keys("tags").filter((k) => !k.startsWith("mlflow.")),
  };
}

function valueOf(run, id) {
  const [kind, ...rest] = id.split(".");
  const value = run[kind]?.[rest.join(".")];
  if (value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

const same = (values) => values.every((v) => v === values[0]);

function DiffTable({ runs, columns, onlyDiff }) {
  const section = (title, kind, render) => {
    const rows = columns[kind].map((key) => {
      const values = runs.map((r) => r[kind][key]);
      const texts = values.map((v) => (v === undefined ? "—" : render(v)));
      return { key, texts, differs: !same(values.map((v) => (v === undefined ? "\u0000" : String(v)))) };
    }).filter((r) => !onlyDiff || r.differs);
    if (!rows.length) return null;
    return html`<tr><th colspan=${runs.length + 1}>${title}</th></tr>
      ${rows.map((r) => html`<tr class=${r.differs ? "diff" : ""} data-key="${kind}.${r.key}"><td>${r.key}</td>${r.texts.map((t) => html`<td class="mono">${t}</td>`)}</tr>`)}`;
  };
  return html`<div style="overflow:auto"><table class="grid compare-table" aria-label="Run comparison">
    <thead><tr><th>Run</th>${runs.map((r) => html`<th><a href=${hashFor(["runs", r.id])}>${r.name}</a></th>`)}</tr></thead>
    <tbody>
      <tr><td>Started</td>${runs.map((r) => html`<td>${fmtTime(r.start)}</td>`)}</tr>
      <tr><td>Duration</td>${runs.map((r) => html`<td>${fmtDuration(r.start, r.end)}</td>`)}</tr>
      <tr><td>Status</td>${runs.map((r) => html`<td class="status-${r.status}">${r.status}</td>`)}</tr>
      ${section("Parameters", "params", (v) => v)}
      ${section("Metrics", "metrics", fmtNumber)}
      ${section("Tags", "tags", (v) => v)}
    </tbody></table></div>`;
}

function scaleFor(values, lo, hi, padding = 0) {
  const finite = values.filter((v) => v !== null);
  let min = Math.min(...finite);
  let max = Math.max(...finite);
  if (!finite.length) { min = 0; max = 1; }
  if (min === max) { min -= 1; max += 1; }
  const pad = (max - min) * padding; // keeps points off the axes
  min -= pad;
  max += pad;
  return { min, max, at: (v) => lo + ((v - min) / (max - min)) * (hi - lo) };
}

function ParallelCoordinates({ runs, columns }) {
  // Columns where every run agrees carry no information: leave them out when others remain.
  const varying = columns.filter((id) => new Set(runs.map((r) => valueOf(r, id))).size > 1);
  const axes = (varying.length >= 2 ? varying : columns).slice(0, 12);
  if (axes.length < 2) return html`<p class="muted">Parallel coordinates need at least two numeric columns.</p>`;
  const margin = 80;
  const width = Math.max(560, axes.length * 160);
  const height = 320;
  const top = 30;
  const bottom = height - 30;
  const gap = (width - 2 * margin) / (axes.length - 1);
  const scales = axes.map((id) => scaleFor(runs.map((r) => valueOf(r, id)), bottom, top));
  return html`<div style="overflow:auto"><svg class="parallel" width=${width} height=${height} role="img" aria-label="Parallel coordinates">
    ${axes.map((id, i) => html`<g class="axis" transform="translate(${margin + i * gap},0)">
      <line y1=${top} y2=${bottom} />
      <text y=${top - 10} text-anchor="middle">${id}</text>
      <text y=${top + 4} x="4">${fmtNumber(scales[i].max)}</text>
      <text y=${bottom} x="4">${fmtNumber(scales[i].min)}</text></g>`)}
    ${runs.map((r, ri) => {
      // A missing value breaks the line (a new "M") rather than inventing one.
      let pen = "M";
      const d = axes.map((id, i) => {
        const v = valueOf(r, id);
        if (v === null) { pen = "M"; return ""; }
        const step = `${pen}${margin + i * gap},${scales[i].at(v)}`;
        pen = "L";
        return step;
      }).join(" ");
      return html`<path class="run-line" d=${d} fill="none" stroke=${PALETTE[ri % PALETTE.length]} stroke-width="2"><title>${r.name}</title></path>`;
    })}
  </svg></div>
  <div class="row legend">${runs.map((r, i) => html`<span><span style="color:${PALETTE[i % PALETTE.length]}">━━</span> ${r.name}</span>`)}</div>`;
}

function Scatter({ runs, x, y }) {
  const width = 520;
  const height = 360;
  const pad = 50;
  const points = runs.map((r, i) => ({ run: r, i, x: valueOf(r, x), y: valueOf(r, y) })).filter((p) => p.x !== null && p.y !== null);
  const sx = scaleFor(points.map((p) => p.x), pad, width - 20, 0.08);
  const sy = scaleFor(points.map((p) => p.y), height - pad, 20, 0.08);
  return html`<svg class="scatter" width=${width} height=${height} role="img" aria-label="Scatter of ${y} against ${x}">
    <g class="axis"><line x1=${pad} x2=${width - 20} y1=${height - pad} y2=${height - pad} /><line x1=${pad} x2=${pad} y1="20" y2=${height - pad} /></g>
    <text x=${(width + pad) / 2} y=${height - 12} text-anchor="middle">${x}</text>
    <text transform="translate(14,${height / 2}) rotate(-90)" text-anchor="middle">${y}</text>
    <text x=${pad} y=${height - pad + 16}>${fmtNumber(sx.min)}</text>
    <text x=${width - 20} y=${height - pad + 16} text-anchor="end">${fmtNumber(sx.max)}</text>
    <text x=${pad - 4} y=${height - pad} text-anchor="end">${fmtNumber(sy.min)}</text>
    <text x=${pad - 4} y="26" text-anchor="end">${fmtNumber(sy.max)}</text>
    ${points.map((p) => html`<circle class="point" cx=${sx.at(p.x)} cy=${sy.at(p.y)} r="6" fill=${PALETTE[p.i % PALETTE.length]}><title>${p.run.name}: ${fmtNumber(p.x)}, ${fmtNumber(p.y)}</title></circle>`)}
    ${!points.length ? html`<text x=${width / 2} y=${height / 2} text-anchor="middle">No run has both values.</text>` : null}
  </svg>`;
}

export function ComparePage({ params }) {
  const runIds = listParam(params, "runs");
  const [state, setState] = useState({ runs: null, error: null });
  useEffect(() => {
    let live = true;
    Promise.allSettled(runIds.map((id) => api("mlflow/runs/get", { query: { run_id: id } }))).then((results) => {
      if (!live) return;
      const runs = results.filter((r) => r.status === "fulfilled").map((r) => normalizeRun(r.value.run));
      const missing = runIds.filter((_, i) => results[i].status === "rejected");
      setState({ runs, error: missing.length ? new Error(`Run(s) not found: ${missing.join(", ")}`) : null });
    });
    return () => { live = false; };
  }, [runIds.join(",")]);
  const runs = state.runs || [];
  const columns = useMemo(() => columnsOf(runs), [runs]);
  const numeric = useMemo(() => [...columns.params.map((k) => `params.${k}`), ...columns.metrics.map((k) => `metrics.${k}`)]
    .filter((id) => runs.some((r) => valueOf(r, id) !== null)), [runs]);
  const onlyDiff = params.get("diff") === "1";
  const x = params.get("x") || numeric[0] || "";
  const y = params.get("y") || numeric[1] || numeric[0] || "";
  const exp = params.get("exp");
  if (!runIds.length) return html`<h1>Compare runs</h1><${Message}>No runs chosen. Select runs in an experiment's table and press “Compare”.<//>`;
  return html`
    <div class="crumbs"><a href="#/experiments">Experiments</a> ›${exp ? html` <a href=${hashFor(["experiments", exp], { sel: runIds.join(",") })}>experiment ${exp}</a> ›` : null}</div>
    <h1>Compare ${runIds.length} runs</h1>
    <${ErrorMessage} error=${state.error} />
    ${!state.runs ? html`<p class="muted">Loading…</p>` : html`
      <div class="row"><label class="row"><input type="checkbox" checked=${onlyDiff} onChange=${(e) => updateParams({ diff: e.target.checked ? "1" : "" })} /> Only differences</label>
        <span class="spacer"></span><a href=${hashFor(["charts"], { runs: runIds.join(","), exp })}>Chart these runs</a></div>
      <${DiffTable} runs=${runs} columns=${columns} onlyDiff=${onlyDiff} />
      <h2>Parallel coordinates</h2>
      <${ParallelCoordinates} runs=${runs} columns=${numeric} />
      <h2>Scatter</h2>
      <div class="row">
        <label>X <select aria-label="Scatter X" value=${x} onChange=${(e) => updateParams({ x: e.target.value })}>${numeric.map((id) => html`<option value=${id}>${id}</option>`)}</select></label>
        <label>Y <select aria-label="Scatter Y" value=${y} onChange=${(e) => updateParams({ y: e.target.value })}>${numeric.map((id) => html`<option value=${id}>${id}</option>`)}</select></label>
      </div>
      ${numeric.length ? html`<${Scatter} runs=${runs} x=${x} y=${y} />` : html`<p class="muted">No numeric columns to plot.</p>`}
    `}
  `;
}
