// The model registry: the models list, one model, one version, and the run page's
// "Registered versions" section. Only the public registry REST API is used.
import { useState } from "preact/hooks";
import { html, api, useLoader, fmtTime, Message, ErrorMessage, hashFor, updateParams, PREFIX } from "../lib.js";

const STAGES = ["None", "Staging", "Production", "Archived"];
const PAGE_SIZE = 25;

/** A string literal of the registry's filter grammar (quotes chosen so that the value fits). */
function quote(value) {
  return value.includes("'") ? `"${value}"` : `'${value}'`;
}

function isMissing(error) {
  return error && (error.status === 404 || error.code === "RESOURCE_DOES_NOT_EXIST");
}

const modelHash = (name) => hashFor(["models", name]);
const versionHash = (name, version) => hashFor(["models", name, "versions", String(version)]);

function versionDownloadUrl(name, version, path) {
  const q = new URLSearchParams({ name, version: String(version), path });
  return `${PREFIX}/ajax-api/2.0/mlflow/model-versions/get-artifact?${q}`;
}

/** Run `call` and report failure inline; returns whether it worked. */
function useAction(onDone) {
  const [error, setError] = useState(null);
  const run = async (call) => {
    try {
      await call();
      setError(null);
      if (onDone) onDone();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  return [run, error, setError];
}

function InlineError({ error }) {
  return error ? html`<div class="inline-error" role="alert">${error.message}</div>` : null;
}

function AliasChips({ aliases }) {
  return (aliases || []).map((a) => html`<span class="chip" data-alias=${a}>@${a}</span> `);
}

// -- pieces shared by the model and version pages -------------------------------------------

function DescriptionCard({ text, save }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(text || "");
  const [act, error] = useAction();
  return html`<section class="card description"><div class="row"><h2>Description</h2><span class="spacer"></span>
      ${!editing && html`<button onClick=${() => { setDraft(text || ""); setEditing(true); }}>Edit</button>`}</div>
    ${editing
      ? html`<textarea class="note" aria-label="Description" value=${draft} onInput=${(e) => setDraft(e.target.value)}></textarea>
          <div class="row"><button class="primary" onClick=${async () => { if (await act(() => save(draft))) setEditing(false); }}>Save</button>
            <button onClick=${() => setEditing(false)}>Cancel</button></div>`
      : text ? html`<p class="description-text" style="white-space:pre-wrap">${text}</p>` : html`<p class="muted">No description.</p>`}
    <${InlineError} error=${error} />
  </section>`;
}

function TagsCard({ tags, setTag, deleteTag }) {
  const [editing, setEditing] = useState(null);
  const [value, setValue] = useState("");
  const [newKey, setNewKey] = useState("");
  const [newValue, setNewValue] = useState("");
  const [act, error] = useAction(() => setEditing(null));
  const entries = (tags || []).map((t) => [t.key, t.value ?? ""]).sort(([a], [b]) => a.localeCompare(b));
  return html`<section class="card tags"><h2>Tags <span class="muted">(${entries.length})</span></h2>
    ${entries.length ? html`<table class="grid kv"><tbody>
      ${entries.map(([k, v]) => html`<tr data-tag=${k}><td>${k}</td><td>
        ${editing === k
          ? html`<form class="row" onSubmit=${(e) => { e.preventDefault(); act(() => setTag(k, value)); }}>
              <input aria-label="Value of ${k}" value=${value} onInput=${(e) => setValue(e.target.value)} style="flex:1" />
              <button class="primary" type="submit">Save</button><button type="button" onClick=${() => setEditing(null)}>Cancel</button></form>`
          : html`<span class="row"><span class="mono" style="flex:1">${v}</span>
              <button class="link" aria-label="Edit tag ${k}" onClick=${() => { setEditing(k); setValue(v); }}>Edit</button>
              <button class="link danger" aria-label="Delete tag ${k}" onClick=${() => act(() => deleteTag(k))}>Delete</button></span>`}
      </td></tr>`)}</tbody></table>` : html`<p class="muted">No tags.</p>`}
    <form class="row add-tag" style="margin-top:8px" onSubmit=${async (e) => {
      e.preventDefault();
      if (await act(() => setTag(newKey.trim(), newValue))) { setNewKey(""); setNewValue(""); }
    }}>
      <input aria-label="New tag key" placeholder="key" value=${newKey} onInput=${(e) => setNewKey(e.target.value)} />
      <input aria-label="New tag value" placeholder="value" value=${newValue} onInput=${(e) => setNewValue(e.target.value)} />
      <button type="submit" disabled=${!newKey.trim()}>Add tag</button>
    </form>
    <${InlineError} error=${error} />
  </section>`;
}

/** Aliases of a model: each one points at a version; set (moves it) or delete. */
function AliasesCard({ name, aliases, defaultVersion, onChanged }) {
  const [alias, setAlias] = useState("");
  const [version, setVersion] = useState(defaultVersion ? String(defaultVersion) : "");
  const [act, error] = useAction(onChanged);
  const sorted = [...(aliases || [])].sort((a, b) => a.alias.localeCompare(b.alias));
  return html`<section class="card aliases"><h2>Aliases <span class="muted">(${sorted.length})</span></h2>
    ${sorted.length ? html`<table class="grid kv"><tbody>
      ${sorted.map((a) => html`<tr data-alias=${a.alias}><td>@${a.alias}</td><td><span class="row">
        <a href=${versionHash(name, a.version)} style="flex:1">Version ${a.version}</a>
        <button class="link danger" aria-label="Delete alias ${a.alias}" onClick=${() => act(() => api("mlflow/registered-models/alias", { method: "DELETE", body: { name, alias: a.alias } }))}>Delete</button>
      </span></td></tr>`)}</tbody></table>` : html`<p class="muted">No aliases.</p>`}
    <form class="row" style="margin-top:8px" onSubmit=${async (e) => {
      e.preventDefault();
      if (await act(() => api("mlflow/registered-models/alias", { method: "POST", body: { name, alias: alias.trim(), version: version.trim() } }))) setAlias("");
    }}>
      <input aria-label="Alias" placeholder="alias, e.g. champion" value=${alias} onInput=${(e) => setAlias(e.target.value)} />
      <input aria-label="Alias version" placeholder="version" size="6" value=${version} onInput=${(e) => setVersion(e.target.value)} />
      <button type="submit" disabled=${!alias.trim() || !version.trim()}>Set alias</button>
    </form>
    <${InlineError} error=${error} />
  </section>`;
}

function VersionsTable({ versions, showModel = false }) {
  return html`<table class="grid versions" aria-label="Model versions">
    <thead><tr>${showModel ? html`<th>Model</th>` : null}<th>Version</th><th>Created</th><th>Stage</th><th>Aliases</th><th>Source run</th><th>Source</th></tr></thead>
    <tbody>${versions.map((v) => html`<tr data-version=${v.version}>
      ${showModel ? html`<td><a href=${modelHash(v.name)}>${v.name}</a></td>` : null}
      <td><a href=${versionHash(v.name, v.version)}>Version ${v.version}</a></td>
      <td>${fmtTime(v.creation_timestamp)}</td>
      <td>${v.current_stage || "None"}</td>
      <td><${AliasChips} aliases=${v.aliases} /></td>
      <td>${v.run_id ? html`<a class="run-link mono" href=${hashFor(["runs", v.run_id])}>${v.run_id}</a>` : html`<span class="muted">none</span>`}</td>
      <td class="mono" title=${v.source}><${SourceLink} version=${v} /></td>
    </tr>`)}</tbody></table>`;
}

/**
 * The version's files: a link into the run's artifact browser when the source is inside its
 * run's artifacts (`<artifact root>/<path>`), else the source URI as text. A source is a model
 * folder and the browser previews files, so the link opens the folder's MLmodel.
 */
function SourceLink({ version, artifactUri }) {
  const source = version.source || "";
  if (version.run_id && artifactUri && source.startsWith(artifactUri.replace(/\/$/, "") + "/")) {
    const path = source.slice(artifactUri.replace(/\/$/, "").length + 1);
    return html`<a class="source-link" href=${hashFor(["runs", version.run_id], { artifact: `${path}/MLmodel` })}>${source}</a>`;
  }
  const runsUri = /^runs:\/([^/]+)\/(.+)$/.exec(source);
  if (runsUri) return html`<a class="source-link" href=${hashFor(["runs", runsUri[1]], { artifact: `${runsUri[2].replace(/\/$/, "")}/MLmodel` })}>${source}</a>`;
  return source;
}

// -- #/models -------------------------------------------------------------------------------

function CreateModel() {
  const [name, setName] = useState("");
  const [act, error] = useAction();
  const create = (e) => {
    e.preventDefault();
    act(async () => {
      const { registered_model } = await api("mlflow/registered-models/create", { method: "POST", body: { name: name.trim() } });
      location.hash = modelHash(registered_model.name);
    });
  };
  return html`<form class="row" onSubmit=${create}>
      <input aria-label="New model name" placeholder="New model name" value=${name} onInput=${(e) => setName(e.target.value)} />
      <button class="primary" type="submit" disabled=${!name.trim()}>Create model</button>
    </form>
    ${error && html`<div class="inline-error" role="alert">Could not create the model: ${error.message}</div>`}`;
}

export function ModelsPage({ params }) {
  const filter = params.get("filter") || "";
  const [draft, setDraft] = useState(filter);
  // Tokens of the pages before the current one: "previous" pops, "next" pushes.
  const [tokens, setTokens] = useState([]);
  const token = params.get("page") || "";
  const { data, error, loading } = useLoader(
    () => api("mlflow/registered-models/search", {
      query: { filter, max_results: PAGE_SIZE, page_token: token, order_by: "name ASC" },
    }),
    [filter, token],
  );
  const models = data?.registered_models || [];
  const badFilter = error && !isMissing(error) && error.status === 400;
  return html`
    <h1>Models</h1>
    <div class="toolbar">
      <${CreateModel} />
      <span class="spacer"></span>
      <form class="filter" onSubmit=${(e) => { e.preventDefault(); setTokens([]); updateParams({ filter: draft.trim(), page: "" }); }}>
        <input type="search" aria-label="Filter models" placeholder="name LIKE '%fraud%'  or  tags.team = 'risk'" value=${draft} onInput=${(e) => setDraft(e.target.value)} />
      </form>
    </div>
    ${badFilter ? html`<div class="inline-error filter-error" role="alert">${error.message}</div>` : html`<${ErrorMessage} error=${error} what="Could not list the models" />`}
    ${loading && !data ? html`<p class="muted">Loading…</p>` : null}
    ${data && !models.length ? html`<${Message}>${filter ? "No model matches the filter." : "No registered models yet: create one above, or register a logged model."}<//>` : null}
    ${models.length ? html`
      <table class="grid models" aria-label="Registered models">
        <thead><tr><th>Name</th><th>Latest version</th><th>Aliases</th><th>Last modified</th><th>Description</th></tr></thead>
        <tbody>${models.map((m) => {
          const latest = Math.max(0, ...(m.latest_versions || []).map((v) => Number(v.version)));
          return html`<tr data-model=${m.name}>
            <td><a href=${modelHash(m.name)}>${m.name}</a></td>
            <td>${latest ? html`<a href=${versionHash(m.name, latest)}>Version ${latest}</a>` : html`<span class="muted">none</span>`}</td>
            <td>${(m.aliases || []).map((a) => html`<a class="chip" href=${versionHash(m.name, a.version)}>@${a.alias}: v${a.version}</a> `)}</td>
            <td>${fmtTime(m.last_updated_timestamp)}</td>
            <td class="muted">${(m.description || "").slice(0, 120)}</td>
          </tr>`;
        })}</tbody>
      </table>` : null}
    <div class="row pager">
      <button disabled=${!token} onClick=${() => { const rest = tokens.slice(0, -1); updateParams({ page: tokens[tokens.length - 1] || "" }); setTokens(rest); }}>Previous</button>
      <button disabled=${!data?.next_page_token} onClick=${() => { setTokens([...tokens, token]); updateParams({ page: data.next_page_token }); }}>Next</button>
    </div>
  `;
}

// -- #/models/<name> --------------------------------------------------------------------------

async function loadAllVersions(filter) {
  const versions = [];
  let token;
  do {
    const page = await api("mlflow/model-versions/search", { query: { filter, max_results: 1000, page_token: token } });
    versions.push(...(page.model_versions || []));
    token = page.next_page_token;
  } while (token && versions.length < 100000);
  return versions;
}

function DeleteModel({ name }) {
  const [confirming, setConfirming] = useState(false);
  const [act, error] = useAction(() => { location.hash = "#/models"; });
  return html`<div class="row delete-model">
    ${confirming
      ? html`<span>Delete “${name}” and all its versions?</span>
          <button class="danger" onClick=${() => act(() => api("mlflow/registered-models/delete", { method: "DELETE", body: { name } }))}>Delete for good</button>
          <button onClick=${() => setConfirming(false)}>Cancel</button>`
      : html`<button class="danger" onClick=${() => setConfirming(true)}>Delete model</button>`}
    <${InlineError} error=${error} />
  </div>`;
}

function RenameModel({ name }) {
  const [editing, setEditing] = useState(false);
  const [newName, setNewName] = useState(name);
  const [act, error] = useAction();
  const rename = (e) => {
    e.preventDefault();
    act(async () => {
      const { registered_model } = await api("mlflow/registered-models/rename", { method: "POST", body: { name, new_name: newName.trim() } });
      location.hash = modelHash(registered_model.name);
    });
  };
  return html`<div class="row rename-model">
    ${editing
      ? html`<form class="row" onSubmit=${rename}>
          <input aria-label="New model name" value=${newName} onInput=${(e) => setNewName(e.target.value)} />
          <button class="primary" type="submit" disabled=${!newName.trim() || newName.trim() === name}>Rename</button>
          <button type="button" onClick=${() => setEditing(false)}>Cancel</button></form>`
      : html`<button onClick=${() => setEditing(true)}>Rename</button>`}
    <${InlineError} error=${error} />
  </div>`;
}

export function ModelPage({ name }) {
  const model = useLoader(() => api("mlflow/registered-models/get", { query: { name } }), [name]);
  const versions = useLoader(() => loadAllVersions(`name = ${quote(name)}`), [name]);
  const reload = () => { model.reload(); versions.reload(); };
  if (model.error) {
    return html`<${Message} kind="error">${isMissing(model.error) ? `Registered model “${name}” does not exist.` : `Could not load model “${name}”: ${model.error.message}`} <a href="#/models">Back to the models</a><//>`;
  }
  if (!model.data) return html`<p class="muted">Loading…</p>`;
  const m = model.data.registered_model;
  const list = [...(versions.data || [])].sort((a, b) => Number(b.version) - Number(a.version));
  const call = (path, body, method = "POST") => api(path, { method, body: { name, ...body } }).then(reload);
  return html`
    <div class="crumbs"><a href="#/models">Models</a> ›</div>
    <div class="row"><h1>${m.name}</h1><span class="spacer"></span><${RenameModel} name=${name} /><${DeleteModel} name=${name} /></div>
    <p class="muted">Created ${fmtTime(m.creation_timestamp)} · last modified ${fmtTime(m.last_updated_timestamp)}</p>
    <div class="cards">
      <${DescriptionCard} text=${m.description} save=${(description) => call("mlflow/registered-models/update", { description }, "PATCH")} />
      <${TagsCard} tags=${m.tags} setTag=${(key, value) => call("mlflow/registered-models/set-tag", { key, value })}
        deleteTag=${(key) => call("mlflow/registered-models/delete-tag", { key }, "DELETE")} />
      <${AliasesCard} name=${name} aliases=${m.aliases} defaultVersion=${list[0]?.version} onChanged=${reload} />
    </div>
    <h2>Versions <span class="muted">(${list.length})</span></h2>
    <${ErrorMessage} error=${versions.error} what="Could not list the versions" />
    ${list.length ? html`<${VersionsTable} versions=${list} />` : versions.data ? html`<p class="muted">No versions yet.</p>` : null}
  `;
}

// -- #/models/<name>/versions/<version> ----------------------------------------------------

function StageCard({ version, onChanged }) {
  const [stage, setStage] = useState(version.current_stage || "None");
  const [archive, setArchive] = useState(false);
  const [act, error] = useAction(onChanged);
  const canArchive = stage === "Staging" || stage === "Production";
  const transition = () => act(() => api("mlflow/model-versions/transition-stage", {
    method: "POST",
    body: { name: version.name, version: String(version.version), stage, archive_existing_versions: canArchive && archive },
  }));
  return html`<section class="card stage"><h2>Stage</h2>
    <p>Current stage: <strong class="current-stage">${version.current_stage || "None"}</strong> <span class="muted">(stages are deprecated in favour of aliases)</span></p>
    <div class="row">
      <select aria-label="New stage" value=${stage} onChange=${(e) => setStage(e.target.value)}>${STAGES.map((s) => html`<option value=${s}>${s}</option>`)}</select>
      <label class="row"><input type="checkbox" checked=${archive && canArchive} disabled=${!canArchive} onChange=${(e) => setArchive(e.target.checked)} /> archive the versions now in ${canArchive ? stage : "that stage"}</label>
      <button onClick=${transition} disabled=${stage === (version.current_stage || "None")}>Transition</button>
    </div>
    <${InlineError} error=${error} />
  </section>`;
}

function DownloadCard({ version }) {
  const [path, setPath] = useState("MLmodel");
  return html`<section class="card download"><h2>Download</h2>
    <p>A file of this version, by its path inside the version's files:</p>
    <div class="row">
      <input aria-label="File path" value=${path} onInput=${(e) => setPath(e.target.value)} />
      <a class="download-link" href=${versionDownloadUrl(version.name, version.version, path)} download>Download</a>
    </div>
  </section>`;
}

function DeleteVersion({ name, version }) {
  const [confirming, setConfirming] = useState(false);
  const [act, error] = useAction(() => { location.hash = modelHash(name); });
  return html`<div class="row delete-version">
    ${confirming
      ? html`<span>Delete version ${version} of “${name}” (its aliases go with it)?</span>
          <button class="danger" onClick=${() => act(() => api("mlflow/model-versions/delete", { method: "DELETE", body: { name, version: String(version) } }))}>Delete for good</button>
          <button onClick=${() => setConfirming(false)}>Cancel</button>`
      : html`<button class="danger" onClick=${() => setConfirming(true)}>Delete version</button>`}
    <${InlineError} error=${error} />
  </div>`;
}

export function VersionPage({ name, version }) {
  const loaded = useLoader(() => api("mlflow/model-versions/get", { query: { name, version } }), [name, version]);
  const runId = loaded.data?.model_version?.run_id;
  const run = useLoader(() => (runId ? api("mlflow/runs/get", { query: { run_id: runId } }).catch(() => null) : Promise.resolve(null)), [runId]);
  const model = useLoader(() => api("mlflow/registered-models/get", { query: { name } }).catch(() => null), [name]);
  if (loaded.error) {
    const text = isMissing(loaded.error) ? `Version ${version} of model “${name}” does not exist.` : `Could not load version ${version} of “${name}”: ${loaded.error.message}`;
    return html`<${Message} kind="error">${text} <a href=${modelHash(name)}>Back to the model</a> · <a href="#/models">All models</a><//>`;
  }
  if (!loaded.data) return html`<p class="muted">Loading…</p>`;
  const v = loaded.data.model_version;
  const reload = () => { loaded.reload(); model.reload(); };
  const call = (path, body, method = "POST") => api(path, { method, body: { name, version: String(v.version), ...body } }).then(reload);
  const runInfo = run.data?.run?.info;
  const rows = [
    ["Version", v.version],
    ["Status", html`<span class="status">${v.status}</span>${v.status_message ? ` (${v.status_message})` : ""}`],
    ["Stage", v.current_stage || "None"],
    ["Aliases", v.aliases?.length ? html`<${AliasChips} aliases=${v.aliases} />` : null],
    ["Created", fmtTime(v.creation_timestamp)],
    ["Last modified", fmtTime(v.last_updated_timestamp)],
    ["Source run", v.run_id ? html`<a class="run-link mono" href=${hashFor(["runs", v.run_id])}>${runInfo?.run_name || v.run_id}</a>` : null],
    ["Source", html`<span class="mono"><${SourceLink} version=${v} artifactUri=${runInfo?.artifact_uri} /></span>`],
    ["Logged model", v.model_id ? html`<span class="mono">${v.model_id}</span>` : null],
    ["User", v.user_id],
  ].filter(([, value]) => value);
  return html`
    <div class="crumbs"><a href="#/models">Models</a> › <a href=${modelHash(name)}>${name}</a> ›</div>
    <div class="row"><h1>${name} · version ${v.version}</h1><span class="spacer"></span><${DeleteVersion} name=${name} version=${v.version} /></div>
    <div class="cards">
      <section class="card"><h2>Overview</h2><table class="grid kv overview"><tbody>
        ${rows.map(([k, value]) => html`<tr><td>${k}</td><td>${value}</td></tr>`)}</tbody></table></section>
      <${DescriptionCard} text=${v.description} save=${(description) => call("mlflow/model-versions/update", { description }, "PATCH")} />
      <${StageCard} version=${v} onChanged=${reload} key=${v.current_stage} />
      <${TagsCard} tags=${v.tags} setTag=${(key, value) => call("mlflow/model-versions/set-tag", { key, value })}
        deleteTag=${(key) => call("mlflow/model-versions/delete-tag", { key }, "DELETE")} />
      <${AliasesCard} name=${name} aliases=${(model.data?.registered_model?.aliases || [])} defaultVersion=${v.version} onChanged=${reload} />
      <${DownloadCard} version=${v} />
    </div>
  `;
}

// -- the run page's section -----------------------------------------------------------------

export function RegisteredVersionsSection({ runId }) {
  const { data, error } = useLoader(() => loadAllVersions(`run_id = ${quote(runId)}`), [runId]);
  if (error) return html`<${ErrorMessage} error=${error} what="Could not list the registered versions" />`;
  if (!data || !data.length) return null;
  return html`<section class="registered-versions"><h2>Registered model versions <span class="muted">(${data.length})</span></h2>
    <${VersionsTable} versions=${data} showModel=${true} /></section>`;
}
