// The experiments list: search, create, rename, delete (and restore when showing deleted ones).
import { useState } from "preact/hooks";
import { html, api, useLoader, fmtTime, ErrorMessage, Message, updateParams } from "../lib.js";

async function loadAll(viewType) {
  const experiments = [];
  let token;
  do {
    const page = await api("mlflow/experiments/search", {
      query: { max_results: 1000, view_type: viewType, page_token: token, order_by: "last_update_time DESC" },
    });
    experiments.push(...(page.experiments || []));
    token = page.next_page_token;
  } while (token && experiments.length < 50000);
  return experiments;
}

function Row({ experiment, deletedView, onChanged }) {
  const [mode, setMode] = useState(null); // null | "rename" | "delete"
  const [name, setName] = useState(experiment.name);
  const [error, setError] = useState(null);
  const id = experiment.experiment_id;
  const act = async (path, body) => {
    try {
      await api(path, { method: "POST", body });
      setMode(null);
      setError(null);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <tr>
      <td>
        ${mode === "rename"
          ? html`<form class="row" onSubmit=${(e) => { e.preventDefault(); act("mlflow/experiments/update", { experiment_id: id, new_name: name }); }}>
              <input aria-label="New name" value=${name} onInput=${(e) => setName(e.target.value)} autofocus />
              <button class="primary" type="submit">Save</button>
              <button type="button" onClick=${() => { setMode(null); setName(experiment.name); setError(null); }}>Cancel</button>
            </form>`
          : deletedView ? experiment.name : html`<a href="#/experiments/${encodeURIComponent(id)}">${experiment.name}</a>`}
        ${error && html`<div class="inline-error" role="alert">${error.message}</div>`}
      </td>
      <td class="mono">${id}</td>
      <td>${fmtTime(experiment.creation_time)}</td>
      <td>${fmtTime(experiment.last_update_time)}</td>
      <td>
        ${deletedView
          ? html`<button onClick=${() => act("mlflow/experiments/restore", { experiment_id: id })}>Restore</button>`
          : mode === "delete"
            ? html`<span class="row">Delete “${experiment.name}”?
                <button class="danger" onClick=${() => act("mlflow/experiments/delete", { experiment_id: id })}>Delete</button>
                <button onClick=${() => setMode(null)}>Cancel</button></span>`
            : html`<span class="row">
                <button onClick=${() => setMode("rename")} aria-label="Rename ${experiment.name}">Rename</button>
                <button class="danger" onClick=${() => setMode("delete")} aria-label="Delete ${experiment.name}">Delete</button></span>`}
      </td>
    </tr>`;
}

export function ExperimentsPage({ params }) {
  const deletedView = params.get("view") === "deleted";
  const query = params.get("q") || "";
  const { data, error, loading, reload } = useLoader(() => loadAll(deletedView ? "DELETED_ONLY" : "ACTIVE_ONLY"), [deletedView]);
  const [newName, setNewName] = useState("");
  const [createError, setCreateError] = useState(null);

  const create = async (e) => {
    e.preventDefault();
    try {
      const { experiment_id } = await api("mlflow/experiments/create", { method: "POST", body: { name: newName.trim() } });
      setNewName("");
      setCreateError(null);
      location.hash = `#/experiments/${encodeURIComponent(experiment_id)}`;
    } catch (err) {
      setCreateError(err);
    }
  };
  const shown = (data || []).filter((x) => !query || x.name.toLowerCase().includes(query.toLowerCase()));
  return html`
    <h1>Experiments</h1>
    <div class="toolbar">
      <form class="row" onSubmit=${create}>
        <input aria-label="New experiment name" placeholder="New experiment name" value=${newName} onInput=${(e) => setNewName(e.target.value)} />
        <button class="primary" type="submit" disabled=${!newName.trim()}>Create</button>
      </form>
      <span class="spacer"></span>
      <input type="search" aria-label="Find experiments" placeholder="Find by name" value=${query} onInput=${(e) => updateParams({ q: e.target.value })} />
      <label class="row"><input type="checkbox" checked=${deletedView} onChange=${(e) => updateParams({ view: e.target.checked ? "deleted" : "" })} /> Deleted</label>
    </div>
    ${createError && html`<div class="inline-error" role="alert">Could not create the experiment: ${createError.message}</div>`}
    <${ErrorMessage} error=${error} what="Could not list experiments" />
    ${loading && !data ? html`<p class="muted">Loading…</p>` : null}
    ${data && !shown.length ? html`<${Message}>${deletedView ? "No deleted experiments." : query ? "No experiment matches." : "No experiments yet: create one above, or log a run."}<//>` : null}
    ${shown.length ? html`
      <table class="grid" aria-label="Experiments">
        <thead><tr><th>Name</th><th>ID</th><th>Created</th><th>Last update</th><th></th></tr></thead>
        <tbody>${shown.map((x) => html`<${Row} key=${x.experiment_id} experiment=${x} deletedView=${deletedView} onChanged=${reload} />`)}</tbody>
      </table>` : null}
  `;
}
