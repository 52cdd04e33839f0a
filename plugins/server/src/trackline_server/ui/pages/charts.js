// Metric charts with uPlot: several runs overlaid, step / wall time / relative time on x,
// smoothing, log scale, and zoom (drag to zoom: the server sends the zoomed range at full
// detail; double-click to reset). The server down-samples (min/max per bucket), so a
// million-point metric arrives as a few thousand points that still show every spike.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import {
  html, api, normalizeRun, toNumber, Message, ErrorMessage, updateParams, listParam, hashFor, PALETTE, cssVar,
} from "../lib.js";

const X_AXES = { step: "Step", wall: "Wall time", relative: "Relative time (s)" };

/** TensorBoard-style exponential moving average, debiased so the start is not pulled to 0. */
export function smooth(values, weight) {
  if (!weight) return values;
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    count += 1;
    return last / (1 - weight ** count);
  });
}

async function loadSeries(runIds, metric, xAxis, range, maxPoints) {
  const data = await api("trackline/metrics/get-history-downsampled", {
    query: { run_ids: runIds, metric_key: metric, x_axis: xAxis, max_points: maxPoints, x_min: range?.[0], x_max: range?.[1] },
  });
  return data.series || [];
}

function seriesXs(series, xAxis) {
  const ts = series.timestamps || [];
  if (xAxis === "step") return (series.steps || []).map(Number);
  if (xAxis === "wall") return ts.map((t) => Number(t) / 1000);
  const origin = Number(series.first_timestamp || ts[0] || 0);
  return ts.map((t) => (Number(t) - origin) / 1000);
}

/** `ready`: the runs' names are known (the series may be fetched before, drawn only then). */
export function MetricChart({ runs, metric, xAxis = "step", smoothing = 0, log = false, range = null, onZoom, height = 380, ready = true }) {
  const box = useRef(null);
  const plot = useRef(null);
  const [state, setState] = useState({ series: null, error: null, loading: true });
  const runIds = runs.map((r) => r.id);
  const key = `${runIds.join(",")}|${metric}|${xAxis}|${range ? range.join(":") : ""}`;

  useLayoutEffect(() => { // the request leaves right after the render, not a frame later
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    // ~2 points per pixel is all a line can show; min/max buckets keep the spikes. The
    // budget follows the window (index.html asks for the same before the page is drawn).
    const maxPoints = window.TRACKLINE_POINT_BUDGET ? window.TRACKLINE_POINT_BUDGET() : 2000;
    loadSeries(runIds, metric, xAxis, range, maxPoints).then(
      (series) => live && setState({ series, error: null, loading: false }),
      (error) => live && setState({ series: null, error, loading: false }),
    );
    return () => { live = false; };
  }, [key]);

  useEffect(() => {
    const el = box.current;
    if (!el || !state.series || !ready) return;
    const names = Object.fromEntries(runs.map((r) => [r.id, r.name]));
    const withData = state.series.filter((s) => (s.values || []).length);
    if (!withData.length) {
      el.replaceChildren();
      return;
    }
    const tables = withData.map((s) => {
      const ys = smooth(s.values.map(toNumber).map((v) => (log && !(v > 0) ? null : v)), smoothing);
      return [seriesXs(s, xAxis), ys];
    });
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const axisColor = cssVar("--fg-muted") || "#666";
    const gridColor = cssVar("--border") || "#ddd";
    const axis = { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } };
    const options = {
      width: el.clientWidth || 800,
      height,
      scales: { x: { time: xAxis === "wall" }, y: log ? { distr: 3 } : {} },
      axes: [{ ...axis, label: X_AXES[xAxis] }, { ...axis, label: metric, size: 70 }],
      series: [
        { label: X_AXES[xAxis] },
        ...withData.map((s, i) => ({
          label: names[s.run_id] || s.run_id,
          stroke: PALETTE[i % PALETTE.length],
          width: 1.5,
          spanGaps: true,
          points: { show: false },
        })),
      ],
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 4 || !onZoom) return;
          let lo = u.posToVal(u.select.left, "x");
          let hi = u.posToVal(u.select.left + u.select.width, "x");
          if (xAxis === "wall") { lo *= 1000; hi *= 1000; }
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          onZoom([lo, hi]);
        }],
      },
    };
    plot.current?.destroy();
    el.replaceChildren();
    const u = new uPlot(options, data, el);
    plot.current = u;
    el._uplot = u; // tests and the benchmark read the chart's state here
    el.dataset.series = withData.map((s) => names[s.run_id] || s.run_id).join("\n");
    el.dataset.drawn = String(Date.now());
    const reset = () => onZoom && onZoom(null);
    u.over.addEventListener("dblclick", reset);
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth || 800, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
      el._uplot = null;
    };
  }, [state.series, smoothing, log, ready]);

  const totals = (state.series || []).filter((s) => s.downsampled);
  const empty = state.series && !state.series.some((s) => (s.values || []).length);
  return html`<div class="chart-wrap">
    <${ErrorMessage} error=${state.error} what="Could not load the metric" />
    ${empty ? html`<${Message}>No values of “${metric}” in the selected run(s)${range ? " in this range" : ""}.<//>` : null}
    <div class="chart" ref=${box} data-metric=${metric} data-loading=${String(state.loading)} aria-label="Chart of ${metric}" role="img"></div>
    ${totals.length ? html`<p class="muted chart-note">Down-sampled for drawing (every bucket keeps its minimum and maximum): ${totals.map((s) => `${Number(s.total_points).toLocaleString()} points → ${s.values.length.toLocaleString()}`).join("; ")}.</p>` : null}
  </div>`;
}

export function ChartsPage({ params }) {
  const runIds = listParam(params, "runs").slice(0, 100);
  const [loaded, setLoaded] = useState({ runs: null, error: null });
  // With the metric in the URL the chart does not wait for runs/get: its series request
  // leaves at once, and the run names (only legend labels) follow when they arrive.
  const pending = useMemo(() => runIds.map((id) => ({ id, name: id })), [runIds.join(",")]);
  useLayoutEffect(() => {
    let live = true;
    Promise.allSettled(runIds.map((id) => api("mlflow/runs/get", { query: { run_id: id } }))).then((results) => {
      if (!live) return;
      const runs = results.filter((r) => r.status === "fulfilled").map((r) => normalizeRun(r.value.run));
      const missing = runIds.filter((_, i) => results[i].status === "rejected");
      setLoaded({ runs, error: missing.length ? new Error(`Run(s) not found: ${missing.join(", ")}`) : null });
    });
    return () => { live = false; };
  }, [runIds.join(",")]);
  const runs = loaded.runs || [];
  const metricKeys = useMemo(() => [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort(), [runs]);
  const chartRuns = loaded.runs || pending;
  const metric = params.get("metric") || metricKeys[0] || "";
  const xAxis = X_AXES[params.get("x")] ? params.get("x") : "step";
  const smoothing = Math.min(0.99, Math.max(0, Number(params.get("smooth") || 0)));
  const log = params.get("log") === "1";
  const range = params.has("xmin") && params.has("xmax") ? [Number(params.get("xmin")), Number(params.get("xmax"))] : null;
  const exp = params.get("exp");

  if (!runIds.length) return html`<h1>Charts</h1><${Message}>No runs chosen. Select runs in an experiment's table and press “Chart”.<//>`;
  return html`
    <div class="crumbs"><a href="#/experiments">Experiments</a> ›${exp ? html` <a href=${hashFor(["experiments", exp], { sel: runIds.join(",") })}>experiment ${exp}</a> ›` : null}</div>
    <h1>Charts <span class="muted">(${runIds.length} run${runIds.length === 1 ? "" : "s"})</span></h1>
    <${ErrorMessage} error=${loaded.error} />
    ${loaded.runs && !metricKeys.length ? html`<${Message}>These runs have no metrics.<//>` : null}
    <div class="chart-controls">
      <label>Metric <select aria-label="Metric" value=${metric} onChange=${(e) => updateParams({ metric: e.target.value, xmin: "", xmax: "" })}>
        ${(metricKeys.includes(metric) || !metric ? metricKeys : [metric, ...metricKeys]).map((k) => html`<option value=${k}>${k}</option>`)}</select></label>
      <label>X axis <select aria-label="X axis" value=${xAxis} onChange=${(e) => updateParams({ x: e.target.value, xmin: "", xmax: "" })}>
        ${Object.entries(X_AXES).map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select></label>
      <label>Smoothing <input type="range" aria-label="Smoothing" min="0" max="0.99" step="0.01" value=${smoothing}
        onInput=${(e) => updateParams({ smooth: Number(e.target.value) ? e.target.value : "" })} /> ${smoothing.toFixed(2)}</label>
      <label class="row"><input type="checkbox" aria-label="Log scale" checked=${log} onChange=${(e) => updateParams({ log: e.target.checked ? "1" : "" })} /> Log scale</label>
      <button disabled=${!range} onClick=${() => updateParams({ xmin: "", xmax: "" })}>Reset zoom</button>
      <span class="muted">Drag on the chart to zoom; double-click to reset.</span>
    </div>
    ${metric && chartRuns.length ? html`<${MetricChart} runs=${chartRuns} ready=${!!loaded.runs} metric=${metric} xAxis=${xAxis} smoothing=${smoothing} log=${log} range=${range}
      onZoom=${(r) => updateParams(r ? { xmin: r[0], xmax: r[1] } : { xmin: "", xmax: "" })} />` : null}
  `;
}
