// Built-in previewer: HTML in a sandboxed frame. Without allow-same-origin the page runs in an
// opaque origin: its scripts (plots often need them) cannot read the UI, its cookies or its API.
export default async function render(element, artifact) {
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.title = artifact.path;
  frame.srcdoc = await artifact.fetchText();
  element.replaceChildren(frame);
}
