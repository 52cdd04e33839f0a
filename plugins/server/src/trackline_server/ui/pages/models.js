// The model registry's place in the navigation; its pages come with the registry.
import { html, Message } from "../lib.js";

export function ModelsPage() {
  return html`<h1>Models</h1>
    <${Message}>The model registry pages are not part of this UI yet. Registered models and their
    versions are available through the REST API and the Python client.<//>`;
}
