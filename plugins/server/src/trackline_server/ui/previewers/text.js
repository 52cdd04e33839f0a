// Built-in previewer: plain text, logs and source code, shown as they are.
export default async function render(element, artifact) {
  const pre = document.createElement("pre");
  pre.className = "preview-text";
  pre.textContent = await artifact.fetchText();
  element.replaceChildren(pre);
}
