// Built-in previewer: images. The bytes are loaded into a blob of the right image type, so an
// SVG is drawn by <img> (which never runs its scripts) rather than opened as a document.
const TYPES = { svg: "image/svg+xml", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", bmp: "image/bmp", ico: "image/x-icon" };

export default async function render(element, artifact) {
  const blob = await artifact.fetchBlob();
  const ext = artifact.name.split(".").pop().toLowerCase();
  const typed = new Blob([blob], { type: TYPES[ext] || blob.type });
  const img = document.createElement("img");
  img.alt = artifact.path;
  img.src = URL.createObjectURL(typed);
  await new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new Error("The browser could not decode this image."));
  });
  const caption = document.createElement("p");
  caption.className = "muted";
  caption.textContent = `${img.naturalWidth} × ${img.naturalHeight} px`;
  element.replaceChildren(img, caption);
}
