// Built-in previewer: CSV and TSV as a table (RFC 4180 quoting), first rows only.
const MAX_ROWS = 1000;

export function parseDelimited(text, delimiter) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === delimiter) { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
      if (rows.length > MAX_ROWS) return rows;
    } else field += c;
  }
  if (field !== "" || row.length) { row.push(field); rows.push(row); }
  return rows;
}

export default async function render(element, artifact) {
  const text = await artifact.fetchText();
  const delimiter = artifact.name.toLowerCase().endsWith(".tsv") ? "\t" : ",";
  const rows = parseDelimited(text, delimiter);
  const table = document.createElement("table");
  table.className = "grid preview-table";
  const [header = [], ...body] = rows;
  const thead = table.createTHead().insertRow();
  for (const name of header) {
    const th = document.createElement("th");
    th.textContent = name;
    thead.appendChild(th);
  }
  const tbody = table.createTBody();
  for (const cells of body.slice(0, MAX_ROWS)) {
    const tr = tbody.insertRow();
    for (const cell of cells) {
      const td = tr.insertCell();
      td.textContent = cell;
      if (cell !== "" && !Number.isNaN(Number(cell))) td.className = "num";
    }
  }
  const note = document.createElement("p");
  note.className = "muted";
  note.textContent = body.length > MAX_ROWS ? `First ${MAX_ROWS} rows shown.` : `${body.length} rows, ${header.length} columns.`;
  element.replaceChildren(note, table);
}
