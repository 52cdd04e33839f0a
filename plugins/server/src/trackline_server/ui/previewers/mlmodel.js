// Built-in previewer: an MLmodel file. A summary of its top-level facts (flavors, run, time,
// signature) above the file itself; the YAML is read line by line, without a YAML library.
const unquote = (v) => (v || "").replace(/^'(.*)'$/, "$1");

function topLevel(text) {
  const sections = {};
  let current = null;
  for (const line of text.split("\n")) {
    const top = line.match(/^([A-Za-z_][\w.-]*):\s*(.*)$/);
    if (top) {
      current = top[1];
      sections[current] = { value: top[2], children: [] };
    } else if (current) {
      const child = line.match(/^ {2}([A-Za-z_][\w.-]*):/);
      if (child) sections[current].children.push(child[1]);
    }
  }
  return sections;
}

export default async function render(element, artifact) {
  const text = await artifact.fetchText();
  const info = topLevel(text);
  const facts = [
    ["Flavors", (info.flavors?.children || []).join(", ") || "none"],
    ["Run", info.run_id?.value],
    ["Model ID", info.model_id?.value],
    ["Created", unquote(info.utc_time_created?.value)],
    ["Signature", info.signature ? `${info.signature.children.join(", ")}` : "none"],
    ["Input example", info.saved_input_example_info ? "yes" : "no"],
    ["Size", info.model_size_bytes?.value ? `${info.model_size_bytes.value} bytes` : undefined],
  ].filter(([, v]) => v);
  const table = document.createElement("table");
  table.className = "grid kv mlmodel-summary";
  for (const [k, v] of facts) {
    const row = table.insertRow();
    row.insertCell().textContent = k;
    row.insertCell().textContent = v;
  }
  const pre = document.createElement("pre");
  pre.textContent = text;
  pre.style.marginTop = "8px";
  element.replaceChildren(table, pre);
}
