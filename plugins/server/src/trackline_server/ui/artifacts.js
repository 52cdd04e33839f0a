// The artifact browser and the previewer loader.
//
// Previewers are ES modules registered by plugins (register_artifact_previewers); the server
// lists them at /ajax-api/2.0/trackline/ui/previewers. The best match for a file is imported on
// demand and its default export called as render(element, artifact).
import { useEffect, useRef, useState } from "preact/hooks";
import { html, api, artifactUrl, fmtBytes, Message } from "./lib.js";

let previewerList = null;

export function loadPreviewers() {
  previewerList ??= api("trackline/ui/previewers").then((d) => d.previewers || []);
  return previewerList;
}

const MIME_BY_EXTENSION = {
  txt: "text/plain", csv: "text/csv", tsv: "text/tab-separated-values", json: "application/json",
  html: "text/html", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif",
  svg: "image/svg+xml", wav: "audio/wav", mp3: "audio/mpeg", mp4: "video/mp4",
};

/** The previewer for a file: highest priority, then the longest matching extension. */
export function pickPreviewer(previewers, path) {
  const name = path.split("/").pop().toLowerCase();
  const mime = MIME_BY_EXTENSION[name.includes(".") ? name.split(".").pop() : ""] || "";
  let best = null;
  let bestScore = null;
  for (const p of previewers) {
    let match = 0;
    for (const ext of p.extensions || []) if (name.endsWith(ext)) match = Math.max(match, ext.length + 1);
    if (!match && mime) {
      for (const m of p.mime_types || []) {
        if (m === mime || (m.endsWith("/*") && mime.startsWith(m.slice(0, -1)))) match = 1;
      }
    }
    if (!match) continue;
    const score = [p.priority || 0, match];
    if (!bestScore || score[0] > bestScore[0] || (score[0] === bestScore[0] && score[1] > bestScore[1])) {
      best = p;
      bestScore = score;
    }
  }
  return best;
}

async function looksLikeText(url) {
  const resp = await fetch(url, { headers: { Range: "bytes=0-4095" } });
  if (!resp.ok) return false;
  const bytes = new Uint8Array(await resp.arrayBuffer()).subarray(0, 4096);
  return !bytes.includes(0);
}

function artifactObject(runId, file) {
  const url = artifactUrl(runId, file.path);
  const get = async () => {
    const resp = await fetch(url);
    if (!resp.ok) {
      let message = `${resp.status} ${resp.statusText}`;
      try { message = (await resp.json()).message || message; } catch { /* not JSON */ }
      throw new Error(`Could not read ${file.path}: ${message}`);
    }
    return resp;
  };
  return {
    runId, path: file.path, name: file.path.split("/").pop(), size: Number(file.file_size || 0), url, downloadUrl: url,
    fetchText: async () => (await get()).text(),
    fetchBlob: async () => (await get()).blob(),
    fetchJSON: async () => (await get()).json(),
  };
}

function Preview({ runId, file }) {
  const body = useRef(null);
  const [state, setState] = useState({ status: "loading" });
  useEffect(() => {
    let live = true;
    const el = body.current;
    el.replaceChildren();
    setState({ status: "loading" });
    (async () => {
      const previewers = await loadPreviewers();
      const size = Number(file.file_size || 0);
      let chosen = pickPreviewer(previewers, file.path);
      if (!chosen) {
        const text = previewers.find((p) => p.name === "text");
        if (text && size <= text.max_size && (await looksLikeText(artifactUrl(runId, file.path)))) chosen = text;
      }
      if (!live) return;
      if (!chosen) return setState({ status: "none" });
      if (size > chosen.max_size) return setState({ status: "too-large", previewer: chosen });
      const module = await import(chosen.module_url);
      const render = module.default || module.render;
      if (typeof render !== "function") throw new Error(`The previewer “${chosen.name}” exports no render function.`);
      if (!live) return;
      await render(el, artifactObject(runId, file));
      if (live) setState({ status: "done", previewer: chosen });
    })().catch((error) => live && setState({ status: "error", error }));
    return () => {
      live = false;
      el.replaceChildren();
    };
  }, [runId, file.path]);
  const url = artifactUrl(runId, file.path);
  return html`<div class="preview" data-status=${state.status} data-previewer=${state.previewer?.name || ""}>
    <div class="row" style="margin-bottom:8px"><strong class="mono" style="overflow-wrap:anywhere">${file.path}</strong>
      <span class="muted">${fmtBytes(file.file_size || 0)}</span><span class="spacer"></span>
      ${state.previewer ? html`<span class="muted">${state.previewer.name} preview</span>` : null}
      <a href=${url} download=${file.path.split("/").pop()}><button tabindex="-1">Download</button></a></div>
    ${state.status === "loading" ? html`<p class="muted">Loading preview…</p>` : null}
    ${state.status === "none" ? html`<${Message}>No preview for this file type. Use Download.<//>` : null}
    ${state.status === "too-large" ? html`<${Message}>This file is too large to preview (${fmtBytes(file.file_size)}; the ${state.previewer.name} previewer shows up to ${fmtBytes(state.previewer.max_size)}). Use Download.<//>` : null}
    ${state.status === "error" ? html`<${Message} kind="error">Preview failed: ${state.error.message}<//>` : null}
    <div class="preview-body" ref=${body}></div>
  </div>`;
}

function Directory({ runId, path, depth, selected, onSelect, files, expanded, toggle }) {
  const entries = files[path];
  if (entries === undefined) return html`<p class="muted">Loading…</p>`;
  if (entries instanceof Error) return html`<div class="inline-error" role="alert">${entries.message}</div>`;
  if (!entries.length) return depth ? html`<p class="muted">(empty)</p>` : html`<p class="muted">No artifacts.</p>`;
  return html`<ul role=${depth ? "group" : "tree"}>${entries.map((f) => {
    const name = f.path.split("/").pop();
    const open = expanded.has(f.path);
    return html`<li role="treeitem" aria-expanded=${f.is_dir ? String(open) : undefined}>
      <button class="node ${selected === f.path ? "selected" : ""}" data-path=${f.path}
        onClick=${() => (f.is_dir ? toggle(f.path) : onSelect(f.path))}>${f.is_dir ? (open ? "▾ " : "▸ ") : html`<span class="file-dot">•</span> `}${name}</button>
      ${f.is_dir && open ? html`<${Directory} runId=${runId} path=${f.path} depth=${depth + 1} selected=${selected} onSelect=${onSelect} files=${files} expanded=${expanded} toggle=${toggle} />` : null}
    </li>`;
  })}</ul>`;
}

export function ArtifactBrowser({ runId, selected, onSelect }) {
  const [files, setFiles] = useState({});
  // Open the folders that lead to a selected file named by the URL.
  const [expanded, setExpanded] = useState(() => {
    const parts = selected.split("/").slice(0, -1);
    return new Set(parts.map((_, i) => parts.slice(0, i + 1).join("/")));
  });
  const load = async (path) => {
    try {
      const data = await api("mlflow/artifacts/list", { query: { run_id: runId, path: path || undefined } });
      const entries = (data.files || []).sort((a, b) => (b.is_dir - a.is_dir) || a.path.localeCompare(b.path));
      setFiles((f) => ({ ...f, [path]: entries }));
    } catch (error) {
      setFiles((f) => ({ ...f, [path]: error }));
    }
  };
  useEffect(() => {
    load("");
    for (const dir of expanded) load(dir);
  }, [runId]);
  // A selection from the URL (a link, Back) opens the folders leading to it.
  useEffect(() => {
    const parts = selected.split("/").slice(0, -1);
    const missing = parts.map((_, i) => parts.slice(0, i + 1).join("/")).filter((dir) => !expanded.has(dir));
    if (!missing.length) return;
    setExpanded(new Set([...expanded, ...missing]));
    for (const dir of missing) if (files[dir] === undefined) load(dir);
  }, [selected]);
  const toggle = (path) => {
    const next = new Set(expanded);
    if (next.has(path)) next.delete(path);
    else {
      next.add(path);
      if (files[path] === undefined) load(path);
    }
    setExpanded(next);
  };
  const parent = selected.split("/").slice(0, -1).join("/");
  const file = selected ? (Array.isArray(files[parent]) ? files[parent].find((f) => f.path === selected) : undefined) : null;
  return html`<div class="artifacts">
    <nav class="tree" aria-label="Artifacts"><${Directory} runId=${runId} path="" depth=${0} selected=${selected} onSelect=${onSelect} files=${files} expanded=${expanded} toggle=${toggle} /></nav>
    ${!selected ? html`<div class="preview muted">Select a file to preview it.</div>`
      : file ? html`<${Preview} key=${selected} runId=${runId} file=${file} />`
      : Array.isArray(files[parent]) || files[parent] instanceof Error ? html`<div class="preview"><${Message} kind="error">No artifact “${selected}” in this run.<//></div>`
      : html`<div class="preview muted">Loading…</div>`}
  </div>`;
}
