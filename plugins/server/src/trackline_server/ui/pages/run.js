// One run: overview, description, params, metrics, tags (editable), datasets, artifacts.
import { useState } from "preact/hooks";
import {
  html, api, useLoader, normalizeRun, fmtTime, fmtDuration, fmtNumber, Message, hashFor, updateParams,
} from "../lib.js";
import { ArtifactBrowser } from "../artifacts.js";
import { RegisteredVersionsSection } from "./models.js";

const NOTE_TAG = "mlflow.note.content";

function Overview({ run }) {
  const rows = [
    ["Run ID", html`<span class="mono">${run.id}</span>`],
    ["Status", html`<span class="status-${run.status}">${run.status}</span>`],
    ["Started", fmtTime(run.start)],
    ["Ended", fmtTime(run.end)],
    ["Duration", fmtDuration(run.start, run.end)],
    ["User", run.user],
    ["Source", run.source],
    ["Git commit", run.tags["mlflow.source.git.commit"]],
    ["Parent run", run.parent ? html`<a href=${hashFor(["runs", run.parent])}>${run.parent}</a>` : null],
    ["Experiment", html`<a href=${hashFor(["experiments", run.experimentId])}>${run.experimentId}</a>`],
    ["Artifact location", html`<span class="mono">${run.artifactUri}</span>`],
    ["Lifecycle", run.lifecycle],
  ].filter(([, v]) => v);
  return html`<section class="card"><h2>Overview</h2><table class="grid kv"><tbody>
    ${rows.map(([k, v]) => html`<tr><td>${k}</td><td>${v}</td></tr>`)}</tbody></table></section>`;
}

function Description({ run, onSaved }) {
  const note = run.tags[NOTE_TAG] || "";
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(note);
  const [error, setError] = useState(null);
  const save = async () => {
    try {
      await api("mlflow/runs/set-tag", { method: "POST", body: { run_id: run.id, key: NOTE_TAG, value: text } });
      setEditing(false);
      setError(null);
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return html`<section class="card"><div class="row"><h2>Description</h2><span class="spacer"></span>
      ${!editing && html`<button onClick=${() => { setText(note); setEditing(true); }}>Edit</button>`}</div>
    ${editing
      ? html`<textarea class="note" aria-label="Description" value=${text} onInput=${(e) => setText(e.target.value)}></textarea>
          <div class="row"><button class="primary" onClick=${save}>Save</button><button onClick=${() => setEditing(false)}>Cancel</button></div>`
      : note ? html`<p style="white-space:pre-wrap">${note}</p>` : html`<p class="muted">No description.</p>`}
    ${error && html`<div class="inline-error" role="alert">${error.message}</div>`}
  </section>`;
}

function KeyValues({ title, items, empty, render = (v) => v, link }) {
  const entries = Object.entries(items).sort(([a], [b]) => a.localeCompare(b));
  const [query, setQuery] = useState("");
  const shown = entries.filter(([k]) => !query || k.toLowerCase().includes(query.toLowerCase()));
  return html`<section class="card"><div class="row"><h2>${title} <span class="muted">(${entries.length})</span></h2><span class="spacer"></span>
      ${entries.length > 8 && html`<input type="search" aria-label="Find ${title.toLowerCase()}" placeholder="Find" value=${query} onInput=${(e) => setQuery(e.target.value)} />`}</div>
    ${entries.length
      ? html`<table class="grid kv"><tbody>${shown.map(([k, v]) => html`<tr><td>${link ? link(k) : k}</td><td class="mono">${render(v, k)}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">${empty}</p>`}
  </section>`;
}

function Tags({ run, onSaved }) {
  const [editing, setEditing] = useState(null); // key being edited
  const [value, setValue] = useState("");
  const [newKey, setNewKey] = useState("");
  const [newValue, setNewValue] = useState("");
  const [error, setError] = useState(null);
  const [showSystem, setShowSystem] = useState(false);
  const call = async (path, body) => {
    try {
      await api(path, { method: "POST", body: { run_id: run.id, ...body } });
      setError(null);
      setEditing(null);
      onSaved();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  const entries = Object.entries(run.tags).filter(([k]) => showSystem || !k.startsWith("mlflow.")).sort(([a], [b]) => a.localeCompare(b));
  const hidden = Object.keys(run.tags).filter((k) => k.startsWith("mlflow.")).length;
  return html`<section class="card tags"><div class="row"><h2>Tags</h2><span class="spacer"></span>
      ${hidden ? html`<label class="row"><input type="checkbox" checked=${showSystem} onChange=${(e) => setShowSystem(e.target.checked)} /> system tags (${hidden})</label>` : null}</div>
    <table class="grid kv"><tbody>
      ${entries.map(([k, v]) => html`<tr data-tag=${k}><td>${k}</td><td>
        ${editing === k
          ? html`<form class="row" onSubmit=${(e) => { e.preventDefault(); call("mlflow/runs/set-tag", { key: k, value }); }}>
              <input aria-label="Value of ${k}" value=${value} onInput=${(e) => setValue(e.target.value)} style="flex:1" />
              <button class="primary" type="submit">Save</button><button type="button" onClick=${() => setEditing(null)}>Cancel</button></form>`
          : html`<span class="row"><span class="mono" style="flex:1">${v}</span>
              <button class="link" aria-label="Edit tag ${k}" onClick=${() => { setEditing(k); setValue(v); }}>Edit</button>
              <button class="link danger" aria-label="Delete tag ${k}" onClick=${() => call("mlflow/runs/delete-tag", { key: k })}>Delete</button></span>`}
      </td></tr>`)}
    </tbody></table>
    <form class="row add-tag" style="margin-top:8px" onSubmit=${async (e) => { e.preventDefault(); if (await call("mlflow/runs/set-tag", { key: newKey.trim(), value: newValue })) { setNewKey(""); setNewValue(""); } }}>
      <input aria-label="New tag key" placeholder="key" value=${newKey} onInput=${(e) => setNewKey(e.target.value)} />
      <input aria-label="New tag value" placeholder="value" value=${newValue} onInput=${(e) => setNewValue(e.target.value)} />
      <button type="submit" disabled=${!newKey.trim()}>Add tag</button>
    </form>
    ${error && html`<div class="inline-error" role="alert">${error.message}</div>`}
  </section>`;
}

function Datasets({ run }) {
  const inputs = run.inputs.dataset_inputs || [];
  return html`<section class="card"><h2>Datasets <span class="muted">(${inputs.length})</span></h2>
    ${inputs.length
      ? html`<table class="grid"><thead><tr><th>Name</th><th>Digest</th><th>Source</th><th>Context</th></tr></thead><tbody>
          ${inputs.map((d) => html`<tr><td>${d.dataset.name}</td><td class="mono">${d.dataset.digest}</td>
            <td title=${d.dataset.source}>${d.dataset.source_type}</td>
            <td>${(d.tags || []).map((t) => `${t.key}=${t.value}`).join(", ")}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">No datasets logged.</p>`}
  </section>`;
}

export function RunPage({ runId, params }) {
  const { data, error, reload } = useLoader(() => api("mlflow/runs/get", { query: { run_id: runId } }), [runId]);
  const experimentId = data?.run?.info?.experiment_id;
  const experiment = useLoader(
    () => (experimentId ? api("mlflow/experiments/get", { query: { experiment_id: experimentId } }) : Promise.resolve(null)),
    [experimentId],
  );
  if (error) {
    const missing = error.status === 404 || error.code === "RESOURCE_DOES_NOT_EXIST";
    return html`<${Message} kind="error">${missing ? `Run ${runId} does not exist (it may have been deleted for good).` : `Could not load run ${runId}: ${error.message}`} <a href="#/experiments">Back to the experiments</a><//>`;
  }
  if (!data) return html`<p class="muted">Loading…</p>`;
  const run = normalizeRun(data.run);
  const chartLink = (key) => html`<a href=${hashFor(["charts"], { runs: run.id, metric: key, exp: run.experimentId })} title="Plot ${key}">${key}</a>`;
  return html`
    <div class="crumbs"><a href="#/experiments">Experiments</a> › <a href=${hashFor(["experiments", run.experimentId])}>${experiment.data?.experiment?.name || `experiment ${run.experimentId}`}</a> ›</div>
    <h1>${run.name}</h1>
    ${run.lifecycle === "deleted" ? html`<${Message} kind="error">This run is deleted.<//>` : null}
    <div class="cards">
      <${Overview} run=${run} />
      <${Description} run=${run} onSaved=${reload} />
      <${KeyValues} title="Parameters" items=${run.params} empty="No parameters." />
      <${KeyValues} title="Metrics" items=${run.metrics} empty="No metrics." render=${(v) => fmtNumber(v)} link=${chartLink} />
      <${Tags} run=${run} onSaved=${reload} />
      <${Datasets} run=${run} />
    </div>
    <${RegisteredVersionsSection} runId=${run.id} />
    <h2>Artifacts</h2>
    <${ArtifactBrowser} runId=${run.id} selected=${params.get("artifact") || ""} onSelect=${(path) => updateParams({ artifact: path })} />
  `;
}
