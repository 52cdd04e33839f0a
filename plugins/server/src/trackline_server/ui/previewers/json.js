// Built-in previewer: JSON pretty-printed (invalid JSON shown as text with the parse error);
// YAML shown as text with keys and comments highlighted.
function highlightYaml(text) {
  const frag = document.createDocumentFragment();
  for (const line of text.split("\n")) {
    const comment = line.match(/^(\s*)(#.*)$/);
    const key = line.match(/^(\s*-?\s*)([^:#\s][^:#]*?):(\s|$)(.*)$/);
    if (comment) {
      frag.append(comment[1]);
      const span = document.createElement("span");
      span.className = "muted";
      span.textContent = comment[2];
      frag.append(span);
    } else if (key) {
      frag.append(key[1]);
      const strong = document.createElement("strong");
      strong.textContent = key[2];
      frag.append(strong, `:${key[3]}${key[4]}`);
    } else frag.append(line);
    frag.append("\n");
  }
  return frag;
}

export default async function render(element, artifact) {
  const text = await artifact.fetchText();
  const pre = document.createElement("pre");
  if (/\.ya?ml$/i.test(artifact.name)) {
    pre.append(highlightYaml(text));
    element.replaceChildren(pre);
    return;
  }
  try {
    pre.textContent = JSON.stringify(JSON.parse(text), null, 2);
    element.replaceChildren(pre);
  } catch (err) {
    pre.textContent = text;
    const note = document.createElement("p");
    note.className = "inline-error";
    note.textContent = `Not valid JSON (${err.message}); shown as text.`;
    element.replaceChildren(note, pre);
  }
}
