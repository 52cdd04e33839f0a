// An experiment's runs: a virtual-scrolled table fed page by page by runs/search, so 10,000+
// runs stay responsive (only the visible rows exist in the DOM; pages load while scrolling).
import { useEffect, useLayoutEffect, useMemo, useRef, useState, useCallback } from "preact/hooks";
import {
  html, api, useLoader, normalizeRun, fmtTime, fmtDuration, fmtNumber, ErrorMessage, Message,
  updateParams, listParam, hashFor,
} from "../lib.js";

const PAGE_SIZE = 500;
// The first screen shows a few dozen rows: a small first page draws them sooner (a page of
// 500 runs with their params, metrics and tags is ~5x the bytes and server time).
const FIRST_PAGE_SIZE = 100;
const ROW_HEIGHT = 32;
const OVERSCAN = 12;

const quote = (key) => "`" + key.replace(/`/g, "") + "`";

const FIXED_COLUMNS = [
  { id: "name", label: "Run name", order: "attributes.run_name", width: 220 },
  { id: "status", label: "Status", order: "attributes.status", width: 100 },
  { id: "start", label: "Started", order: "attributes.start_time", width: 190 },
  { id: "duration", label: "Duration", order: null, width: 110 },
  { id: "user", label: "User", order: "attributes.user_id", width: 120 },
  { id: "source", label: "Source", order: "tags.`mlflow.source.name`", width: 180 },
];

function extraColumn(id) {
  const [kind, ...rest] = id.split(".");
  const key = rest.join(".");
  const entity = { params: "params", metrics: "metrics", tags: "tags" }[kind];
  if (!entity || !key) return null;
  return { id, kind, key, label: key, order: `${entity}.${quote(key)}`, width: 130, numeric: kind === "metrics" };
}

function cellValue(run, column) {
  switch (column.id) {
    case "name": return run.name;
    case "status": return run.status;
    case "start": return run.start;
    case "duration": return run.start ? (run.end || Date.now()) - run.start : null;
    case "user": return run.user;
    case "source": return run.source;
  }
  return run[column.kind]?.[column.key];
}

function cellText(run, column) {
  if (column.id === "start") return fmtTime(run.start);
  if (column.id === "duration") return fmtDuration(run.start, run.end);
  const value = cellValue(run, column);
  return column.numeric ? fmtNumber(value) : value ?? "";
}

/** Parents first, their children right after them (indented), as far as both are loaded. */
function groupNested(runs, collapsed) {
  const loaded = new Set(runs.map((r) => r.id));
  const children = new Map();
  const roots = [];
  for (const run of runs) {
    if (run.parent && loaded.has(run.parent) && run.parent !== run.id) {
      if (!children.has(run.parent)) children.set(run.parent, []);
      children.get(run.parent).push(run);
    } else roots.push(run);
  }
  const out = [];
  const seen = new Set();
  const visit = (run, depth) => {
    if (seen.has(run.id)) return;
    seen.add(run.id);
    const kids = children.get(run.id) || [];
    out.push({ run, depth, childCount: kids.length });
    if (!collapsed.has(run.id)) for (const kid of kids) visit(kid, depth + 1);
  };
  for (const run of roots) visit(run, 0);
  return out;
}

function ColumnChooser({ runs, chosen }) {
  const keys = useMemo(() => {
    const found = { params: new Set(), metrics: new Set(), tags: new Set() };
    for (const run of runs.slice(0, 2000)) {
      for (const k of Object.keys(run.params)) found.params.add(k);
      for (const k of Object.keys(run.metrics)) found.metrics.add(k);
      for (const k of Object.keys(run.tags)) if (!k.startsWith("mlflow.")) found.tags.add(k);
    }
    return found;
  }, [runs]);
  const toggle = (id, on) => updateParams({ cols: on ? [...chosen, id] : chosen.filter((c) => c !== id) });
  const group = (kind, label) => {
    const ids = [...keys[kind]].sort().map((k) => `${kind}.${k}`);
    for (const id of chosen) if (id.startsWith(`${kind}.`) && !ids.includes(id)) ids.push(id);
    return html`<fieldset><legend>${label}</legend>
      ${ids.length ? ids.map((id) => html`<label><input type="checkbox" checked=${chosen.includes(id)} onChange=${(e) => toggle(id, e.target.checked)} /> ${id.slice(kind.length + 1)}</label>`) : html`<span class="muted">none</span>`}
    </fieldset>`;
  };
  return html`<details class="columns">
    <summary>Columns (${chosen.length})</summary>
    <div class="panel">${group("metrics", "Metrics")}${group("params", "Parameters")}${group("tags", "Tags")}</div>
  </details>`;
}

function FilterBox({ applied, error }) {
  const [text, setText] = useState(applied);
  useEffect(() => setText(applied), [applied]);
  return html`<form class="filter" role="search" onSubmit=${(e) => { e.preventDefault(); updateParams({ filter: text.trim() }, { push: true }); }}>
    <div class="row">
      <input type="search" name="filter" aria-label="Filter runs" aria-invalid=${error ? "true" : "false"}
        placeholder="metrics.accuracy > 0.9 and params.model = 'cnn'" value=${text} onInput=${(e) => setText(e.target.value)} style="flex:1" />
      <button type="submit">Search</button>
      ${applied && html`<button type="button" onClick=${() => updateParams({ filter: "" }, { push: true })}>Clear</button>`}
    </div>
    ${error && html`<div class="inline-error filter-error" role="alert">Invalid filter: ${error.message}</div>`}
  </form>`;
}

/** The search the table shows for these URL parameters (filter and server-side order). */
function tableQuery(params) {
  const filter = params.get("filter") || "";
  const sortId = params.get("sort") || "start";
  const desc = params.has("desc") ? params.get("desc") === "1" : sortId === "start";
  const chosen = listParam(params, "cols");
  const sortColumn = FIXED_COLUMNS.find((c) => c.id === sortId)
    || (chosen.includes(sortId) && extraColumn(sortId)) || FIXED_COLUMNS[2];
  const orderBy = sortColumn.order ? `${sortColumn.order} ${desc ? "DESC" : "ASC"}` : null;
  return { filter, orderBy };
}

function searchBody(experimentId, filter, orderBy, token) {
  return {
    experiment_ids: [experimentId], filter: filter || undefined, max_results: token ? PAGE_SIZE : FIRST_PAGE_SIZE,
    order_by: orderBy ? [orderBy] : undefined, page_token: token || undefined,
  };
}

// First pages requested while the experiment itself loads (both requests leave together);
// the table takes its page from here if it is fresh, else asks again.
const early = new Map();

function prefetchFirstPage(experimentId, { filter, orderBy }) {
  const key = JSON.stringify(searchBody(experimentId, filter, orderBy, null));
  if (early.has(key) && Date.now() - early.get(key).at < 5000) return;
  const promise = api("mlflow/runs/search", { method: "POST", body: JSON.parse(key) });
  promise.catch(() => {}); // the table reports errors when it takes the page
  early.set(key, { promise, at: Date.now() });
}

function searchRuns(body) {
  const key = JSON.stringify(body);
  const found = early.get(key);
  early.delete(key);
  if (found && Date.now() - found.at < 5000) return found.promise;
  return api("mlflow/runs/search", { method: "POST", body });
}

function useRunPages(experimentId, filter, orderBy) {
  const [state, setState] = useState({ runs: [], token: null, done: false, loading: true, error: null });
  const generation = useRef(0);
  const fetchPage = useCallback(async (token, gen) => {
    try {
      const page = await searchRuns(searchBody(experimentId, filter, orderBy, token));
      if (gen !== generation.current) return;
      const fresh = (page.runs || []).map(normalizeRun);
      setState((s) => ({
        runs: token ? s.runs.concat(fresh) : fresh, token: page.next_page_token || null,
        done: !page.next_page_token, loading: false, error: null,
      }));
    } catch (error) {
      if (gen !== generation.current) return;
      setState((s) => ({ ...s, runs: token ? s.runs : [], loading: false, done: true, error }));
    }
  }, [experimentId, filter, orderBy]);
  // Layout effects start requests right after the render (an effect waits for a frame).
  useLayoutEffect(() => {
    generation.current += 1;
    setState({ runs: [], token: null, done: false, loading: true, error: null });
    fetchPage(null, generation.current);
  }, [fetchPage]);
  const loadMore = useCallback(() => {
    setState((s) => {
      if (s.loading || s.done || !s.token) return s;
      fetchPage(s.token, generation.current);
      return { ...s, loading: true };
    });
  }, [fetchPage]);
  return { ...state, loadMore };
}

export function RunsPage({ experimentId, params }) {
  const query = tableQuery(params);
  useLayoutEffect(() => prefetchFirstPage(experimentId, query), [experimentId]);
  const experiment = useLoader(() => api("mlflow/experiments/get", { query: { experiment_id: experimentId } }), [experimentId]);
  const exp = experiment.data?.experiment;
  if (experiment.error) {
    const missing = experiment.error.status === 404 || experiment.error.code === "RESOURCE_DOES_NOT_EXIST";
    return html`<${Message} kind="error">${missing ? `Experiment ${experimentId} does not exist.` : `Could not load experiment ${experimentId}: ${experiment.error.message}`} <a href="#/experiments">Back to the experiments</a><//>`;
  }
  if (!exp) return html`<p class="muted">Loading…</p>`;
  if (exp.lifecycle_stage === "deleted") {
    return html`<h1>${exp.name}</h1>
      <${Message} kind="error">Experiment “${exp.name}” (${experimentId}) was deleted.
        <button onClick=${async () => { await api("mlflow/experiments/restore", { method: "POST", body: { experiment_id: experimentId } }); experiment.reload(); }}>Restore it</button>
        <a href="#/experiments">Back to the experiments</a><//>`;
  }
  return html`<${RunsTable} experiment=${exp} params=${params} />`;
}

function RunsTable({ experiment, params }) {
  const sortId = params.get("sort") || "start";
  const desc = params.has("desc") ? params.get("desc") === "1" : sortId === "start";
  const chosen = listParam(params, "cols");
  const selected = listParam(params, "sel");
  const columns = useMemo(() => [...FIXED_COLUMNS, ...chosen.map(extraColumn).filter(Boolean)], [chosen.join(",")]);
  const sortColumn = columns.find((c) => c.id === sortId) || FIXED_COLUMNS[2];
  const { filter, orderBy } = tableQuery(params);
  const { runs, loading, done, error, loadMore } = useRunPages(experiment.experiment_id, filter, orderBy);

  // Duration has no server-side order: sort what is loaded (noted in the header's title).
  const sorted = useMemo(() => {
    if (sortColumn.order) return runs;
    const sign = desc ? -1 : 1;
    return [...runs].sort((a, b) => sign * ((cellValue(a, sortColumn) ?? -Infinity) - (cellValue(b, sortColumn) ?? -Infinity)));
  }, [runs, sortColumn.id, desc]);
  const [collapsed, setCollapsed] = useState(() => new Set());
  const rows = useMemo(() => groupNested(sorted, collapsed), [sorted, collapsed]);

  const box = useRef(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewHeight, setViewHeight] = useState(600);
  const [active, setActive] = useState(0);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const resize = new ResizeObserver(() => setViewHeight(el.clientHeight));
    resize.observe(el);
    return () => resize.disconnect();
  }, []);
  useEffect(() => setActive(0), [filter, orderBy]);
  // Fetch the next page when the visible window nears the end of what is loaded.
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewHeight) / ROW_HEIGHT) + OVERSCAN);
  useEffect(() => {
    if (!done && !loading && last >= rows.length - OVERSCAN * 2) loadMore();
  }, [last, rows.length, done, loading]);

  const toggleSelect = (id) => {
    const next = selected.includes(id) ? selected.filter((x) => x !== id) : [...selected, id];
    updateParams({ sel: next });
  };
  const setSort = (column) => {
    if (column.id === sortColumn.id) updateParams({ sort: column.id, desc: desc ? "0" : "1" });
    else updateParams({ sort: column.id, desc: column.id === "start" ? "1" : "0" });
  };
  const open = (run) => { location.hash = hashFor(["runs", run.id]); };
  const scrollToRow = (index) => {
    const el = box.current;
    if (!el) return;
    const header = el.querySelector("thead")?.offsetHeight || ROW_HEIGHT;
    const top = index * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight - header) el.scrollTop = top + ROW_HEIGHT - el.clientHeight + header;
  };
  const onKeyDown = (e) => {
    if (!rows.length || e.target.tagName === "INPUT" && e.target.type !== "checkbox") return;
    const page = Math.max(1, Math.floor(viewHeight / ROW_HEIGHT) - 2);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -Infinity, End: Infinity, j: 1, k: -1 };
    const row = rows[Math.min(active, rows.length - 1)];
    if (e.key in moves) {
      e.preventDefault();
      const next = Math.max(0, Math.min(rows.length - 1, active + moves[e.key]));
      setActive(next);
      scrollToRow(next);
    } else if (e.key === "Enter") {
      e.preventDefault();
      open(row.run);
    } else if (e.key === " " || e.key === "x") {
      e.preventDefault();
      toggleSelect(row.run.id);
    } else if ((e.key === "ArrowRight" || e.key === "ArrowLeft") && row.childCount) {
      e.preventDefault();
      const next = new Set(collapsed);
      if (e.key === "ArrowLeft") next.add(row.run.id);
      else next.delete(row.run.id);
      setCollapsed(next);
    }
  };
  const toggleGroup = (id) => {
    const next = new Set(collapsed);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setCollapsed(next);
  };

  const visible = rows.slice(first, last);
  const selectedRuns = selected.length;
  const runParam = selected.join(",");
  return html`
    <div class="crumbs"><a href="#/experiments">Experiments</a> ›</div>
    <div class="row"><h1>${experiment.name}</h1><span class="muted mono">ID ${experiment.experiment_id}</span></div>
    <div class="toolbar">
      <${FilterBox} applied=${filter} error=${error} />
      <${ColumnChooser} runs=${runs} chosen=${chosen} />
      <button disabled=${selectedRuns < 1} onClick=${() => { location.hash = hashFor(["compare"], { runs: runParam, exp: experiment.experiment_id }); }}>Compare (${selectedRuns})</button>
      <button disabled=${selectedRuns < 1} onClick=${() => { location.hash = hashFor(["charts"], { runs: runParam, exp: experiment.experiment_id }); }}>Chart</button>
      ${selectedRuns ? html`<button class="link" onClick=${() => updateParams({ sel: "" })}>Clear selection</button>` : null}
    </div>
    <div class="muted runs-status" aria-live="polite">
      ${error ? "No runs shown: fix the filter." : `${runs.length.toLocaleString()} run${runs.length === 1 ? "" : "s"}${done ? "" : "+"} loaded${loading ? ", loading…" : ""}`}
      ${" · ↑/↓ move, Enter opens, Space selects, ←/→ fold nested runs"}
    </div>
    <div class="table-box" ref=${box} tabindex="0" role="grid" aria-label="Runs" aria-rowcount=${rows.length}
      onScroll=${(e) => setScrollTop(e.currentTarget.scrollTop)} onKeyDown=${onKeyDown}>
      <table class="grid runs-table">
        <colgroup><col style="width:34px" />${columns.map((c) => html`<col style="width:${c.width}px" />`)}</colgroup>
        <thead><tr>
          <th class="check"><span class="visually-hidden">Select</span></th>
          ${columns.map((c) => html`<th class="sortable" data-col=${c.id} aria-sort=${c.id === sortColumn.id ? (desc ? "descending" : "ascending") : "none"}
              title=${c.order ? `Sort by ${c.label}` : `Sort the loaded runs by ${c.label}`} onClick=${() => setSort(c)}>
            ${c.label} ${c.id === sortColumn.id ? html`<span class="arrow">${desc ? "▼" : "▲"}</span>` : null}</th>`)}
        </tr></thead>
        <tbody>
          ${first > 0 ? html`<tr style="height:${first * ROW_HEIGHT}px" aria-hidden="true"></tr>` : null}
          ${visible.map(({ run, depth, childCount }, i) => {
            const index = first + i;
            return html`<tr key=${run.id} class=${index === active ? "active" : ""} data-run-id=${run.id} aria-rowindex=${index + 1}
                aria-selected=${selected.includes(run.id) ? "true" : "false"} onClick=${() => setActive(index)} onDblClick=${() => open(run)}>
              <td class="check"><input type="checkbox" tabindex="-1" aria-label="Select ${run.name}" checked=${selected.includes(run.id)} onChange=${() => toggleSelect(run.id)} /></td>
              ${columns.map((c) => c.id === "name"
                ? html`<td title=${run.name}>${Array.from({ length: depth }, () => html`<span class="indent"></span>`)}${childCount
                    ? html`<button class="toggle" tabindex="-1" aria-label=${collapsed.has(run.id) ? "Show nested runs" : "Hide nested runs"} onClick=${(e) => { e.stopPropagation(); toggleGroup(run.id); }}>${collapsed.has(run.id) ? "▸" : "▾"}</button>`
                    : depth ? html`<span class="indent">└</span>` : null}<a href=${hashFor(["runs", run.id])} tabindex="-1">${run.name}</a>${childCount ? html` <span class="muted">(${childCount})</span>` : null}</td>`
                : html`<td class="${c.numeric || c.id === "duration" ? "num" : ""} ${c.id === "status" ? `status-${run.status}` : ""}" title=${cellText(run, c)}>${cellText(run, c)}</td>`)}
            </tr>`;
          })}
          ${last < rows.length ? html`<tr style="height:${(rows.length - last) * ROW_HEIGHT}px" aria-hidden="true"></tr>` : null}
        </tbody>
      </table>
      ${!loading && !error && !runs.length ? html`<${Message}>${filter ? "No run matches this filter." : "No runs in this experiment yet."}<//>` : null}
    </div>
  `;
}
