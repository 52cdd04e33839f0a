// Shared pieces of the UI: the htm template tag, the REST client, URL state and formatting.
import { h } from "preact";
import { useEffect, useLayoutEffect, useState } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);
export const PREFIX = window.TRACKLINE_PREFIX || "";

export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

function toQuery(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) q.append(key, String(v));
  }
  return q.toString();
}

/** Call a REST endpoint below /ajax-api/2.0/ (e.g. "mlflow/runs/get"); errors become ApiError. */
export async function api(path, { method = "GET", query, body } = {}) {
  let url = `${PREFIX}/ajax-api/2.0/${path}`;
  if (query) url += `?${toQuery(query)}`;
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  // A request index.html started before the modules loaded (same method, URL and body).
  const earlyKey = `${method} ${url}${init.body !== undefined ? ` ${init.body}` : ""}`;
  const early = window.TRACKLINE_EARLY?.[earlyKey];
  if (early) delete window.TRACKLINE_EARLY[earlyKey];
  let resp;
  try {
    resp = await (early || fetch(url, init));
  } catch (err) {
    throw new ApiError(`The server did not answer (${err.message}).`, "NETWORK", 0);
  }
  const text = await resp.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { message: text };
  }
  if (!resp.ok) {
    throw new ApiError(data.message || `${resp.status} ${resp.statusText}`, data.error_code, resp.status);
  }
  return data;
}

export function artifactUrl(runId, path) {
  return `${PREFIX}/get-artifact?${toQuery({ run_id: runId, path })}`;
}

/** A run as the pages use it: maps instead of key/value lists. */
export function normalizeRun(run) {
  const info = run.info || {};
  const data = run.data || {};
  const byKey = (items, pick) => Object.fromEntries((items || []).map((i) => [i.key, pick(i)]));
  const tags = byKey(data.tags, (t) => t.value ?? "");
  return {
    id: info.run_id,
    name: info.run_name || tags["mlflow.runName"] || info.run_id,
    status: info.status,
    start: info.start_time ? Number(info.start_time) : null,
    end: info.end_time ? Number(info.end_time) : null,
    user: info.user_id || tags["mlflow.user"] || "",
    source: tags["mlflow.source.name"] || "",
    experimentId: info.experiment_id,
    lifecycle: info.lifecycle_stage,
    artifactUri: info.artifact_uri,
    parent: tags["mlflow.parentRunId"] || null,
    params: byKey(data.params, (p) => p.value ?? ""),
    metrics: byKey(data.metrics, (m) => toNumber(m.value)),
    metricTimes: byKey(data.metrics, (m) => ({ step: Number(m.step || 0), timestamp: Number(m.timestamp || 0) })),
    tags,
    inputs: run.inputs || {},
    raw: run,
  };
}

export function toNumber(value) {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return Number(value);
}

// -- URL state: "#/<page>/<id>?k=v" so that every view is a link ------------------------------

export function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/experiments";
  const [path, query = ""] = hash.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

export function hashFor(parts, params = {}) {
  const path = "/" + parts.map((p) => encodeURIComponent(p)).join("/");
  const query = toQuery(params);
  return `#${path}${query ? `?${query}` : ""}`;
}

const ROUTE_EVENT = "trackline:route";

/** Change some query parameters of the current view without adding a history entry. */
export function updateParams(updates, { push = false } = {}) {
  const { parts, params } = parseHash();
  const merged = Object.fromEntries(params.entries());
  for (const [key, value] of Object.entries(updates)) {
    if (value === undefined || value === null || value === "" || value === false) delete merged[key];
    else merged[key] = Array.isArray(value) ? value.join(",") : String(value);
  }
  const hash = hashFor(parts, merged);
  if (push) history.pushState(null, "", hash);
  else history.replaceState(null, "", hash);
  window.dispatchEvent(new Event(ROUTE_EVENT));
}

export function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const update = () => setRoute(parseHash());
    window.addEventListener("hashchange", update);
    window.addEventListener("popstate", update);
    window.addEventListener(ROUTE_EVENT, update);
    return () => {
      window.removeEventListener("hashchange", update);
      window.removeEventListener("popstate", update);
      window.removeEventListener(ROUTE_EVENT, update);
    };
  }, []);
  return route;
}

export function listParam(params, key) {
  return (params.get(key) || "").split(",").filter(Boolean);
}

// -- formatting (the user's locale) -----------------------------------------------------------

export function fmtTime(ms) {
  if (!ms) return "";
  return new Date(Number(ms)).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function fmtDuration(start, end) {
  if (!start) return "";
  const ms = (end || Date.now()) - start;
  if (ms < 0) return "";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 });

export function fmtNumber(value) {
  if (value === undefined || value === null || value === "") return "";
  const n = toNumber(value);
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "∞" : "-∞";
  if (n !== 0 && (Math.abs(n) >= 1e9 || Math.abs(n) < 1e-4)) return n.toExponential(4);
  return numberFormat.format(n);
}

export function fmtBytes(size) {
  if (size === undefined || size === null) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let n = Number(size);
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

/** A colour per series, readable on light and dark backgrounds. */
export const PALETTE = ["#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6", "#f97316", "#64748b", "#84cc16"];

export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Run an async loader when deps change; returns {data, error, loading, reload}.
 * (A layout effect: the request leaves right after the render, not a frame later.) */
export function useLoader(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useLayoutEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function Message({ kind = "info", children }) {
  return html`<div class="message ${kind}" role=${kind === "error" ? "alert" : "status"}>${children}</div>`;
}

export function ErrorMessage({ error, what }) {
  if (!error) return null;
  return html`<${Message} kind="error">${what ? `${what}: ` : ""}${error.message || String(error)}<//>`;
}
