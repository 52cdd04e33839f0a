// Entry point: the top bar and a hash router. Each page is a module under pages/.
import { render } from "preact";
import { html, useRoute, Message } from "./lib.js";
import { ExperimentsPage } from "./pages/experiments.js";
import { RunsPage } from "./pages/runs.js";
import { RunPage } from "./pages/run.js";
import { ComparePage } from "./pages/compare.js";
import { ChartsPage } from "./pages/charts.js";
import { ModelsPage, ModelPage, VersionPage } from "./pages/models.js";

const NAV = [
  ["experiments", "Experiments"],
  ["models", "Models"],
];

function Page({ route }) {
  const [page, id] = route.parts;
  const params = route.params;
  switch (page) {
    case "experiments":
      return id ? html`<${RunsPage} experimentId=${id} params=${params} />` : html`<${ExperimentsPage} params=${params} />`;
    case "runs":
      return html`<${RunPage} runId=${id} params=${params} />`;
    case "compare":
      return html`<${ComparePage} params=${params} />`;
    case "charts":
      return html`<${ChartsPage} params=${params} />`;
    case "models":
      // #/models, #/models/<name>, #/models/<name>/versions/<version>
      if (!id) return html`<${ModelsPage} params=${params} />`;
      if (route.parts[2] === "versions" && route.parts[3]) return html`<${VersionPage} name=${id} version=${route.parts[3]} />`;
      return html`<${ModelPage} name=${id} />`;
    default:
      return html`<${Message} kind="error">No page at “${location.hash}”. <a href="#/experiments">Go to the experiments</a>.<//>`;
  }
}

function App() {
  const route = useRoute();
  const section = route.parts[0] === "models" ? "models" : "experiments";
  return html`
    <header class="top">
      <a class="brand" href="#/experiments">trackline</a>
      <nav aria-label="Main">
        ${NAV.map(([key, label]) => html`<a href="#/${key}" class=${section === key ? "active" : ""} aria-current=${section === key ? "page" : undefined}>${label}</a>`)}
      </nav>
    </header>
    <main><${Page} route=${route} key=${route.parts.join("/")} /></main>
  `;
}

const root = document.getElementById("app");
root.replaceChildren(); // drop the "Loading" placeholder
render(html`<${App} />`, root);
