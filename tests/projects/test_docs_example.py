"""The Slurm backend of docs/projects.md, run as written, through the plugin hook.

There is no Slurm cluster here, so ``sbatch``, ``sacct`` and ``scancel`` are stand-ins on
``PATH`` that run the job on this machine (in the background, as a scheduler would) and report
its state. Everything else is real: the documentation's code, the plugin registration, the
project's command continuing the run through the tracking store.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path

import pytest
from trackline.plugins.manager import get_plugin_manager
from trackline.projects import run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "projects.md"

SBATCH = r"""#!{python}
import os, shlex, subprocess, sys
jobs = os.environ["FAKE_SLURM_DIR"]
args = sys.argv[1:]
options = dict(a.split("=", 1) for a in args if a.startswith("--") and "=" in a)
command = args[args.index("--wrap") + 1]
env = dict(os.environ)
for pair in options["--export"].split(",")[1:]:  # "ALL,K=V,..."
    key, value = pair.split("=", 1)
    env[key] = value
job_id = str(len(os.listdir(jobs)) + 1000)
state = os.path.join(jobs, job_id)
with open(state, "w") as handle:
    handle.write("RUNNING")
script = (
    f"bash -c {shlex.quote(command)} >{state}.out 2>&1; "
    f"if [ $? -eq 0 ]; then echo COMPLETED > {state}; else echo FAILED > {state}; fi"
)
process = subprocess.Popen(["bash", "-c", script], cwd=options["--chdir"], env=env,
                           start_new_session=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
with open(state + ".pid", "w") as handle:
    handle.write(str(process.pid))
print(job_id + ";fakecluster")
"""

SACCT = r"""#!{python}
import os, sys
print(open(os.path.join(os.environ["FAKE_SLURM_DIR"], sys.argv[sys.argv.index("-j") + 1])).read())
"""

SCANCEL = r"""#!{python}
import os, signal, sys, time
state = os.path.join(os.environ["FAKE_SLURM_DIR"], sys.argv[1])
group = int(open(state + ".pid").read())
os.killpg(group, signal.SIGTERM)
for _ in range(200):  # the job's wrapper must not write its own state after ours
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        break
    time.sleep(0.05)
open(state, "w").write("CANCELLED by 0")
"""


def _code_block(marker: str) -> str:
    text = DOCS.read_text()
    match = re.search(r"```python\n(" + re.escape(marker) + r".*?)```", text, re.S)
    assert match, f"docs/projects.md has no python block starting with {marker!r}"
    return match.group(1)


@pytest.fixture
def slurm(tmp_path, monkeypatch):
    """The documented plugin package, importable and registered; stand-in Slurm commands."""
    package = tmp_path / "pkgs" / "trackline_slurm"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "backend.py").write_text(_code_block("# trackline_slurm/backend.py"))
    (package / "plugin.py").write_text(_code_block("# trackline_slurm/plugin.py"))
    bin_dir = tmp_path / "fake-slurm-bin"
    bin_dir.mkdir()
    for name, source in (("sbatch", SBATCH), ("sacct", SACCT), ("scancel", SCANCEL)):
        path = bin_dir / name
        path.write_text(textwrap.dedent(source).replace("{python}", sys.executable))
        path.chmod(0o755)
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    monkeypatch.setenv("FAKE_SLURM_DIR", str(jobs))
    # The job's "python" must be one with trackline: this interpreter, first on PATH.
    path = os.pathsep.join([str(bin_dir), os.path.dirname(sys.executable), os.environ["PATH"]])
    monkeypatch.setenv("PATH", path)
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    import trackline_slurm.backend
    import trackline_slurm.plugin

    trackline_slurm.backend.SlurmRun.poll_seconds = 0.1
    manager = get_plugin_manager()
    manager.register(trackline_slurm.plugin, name="test-docs-slurm")
    yield trackline_slurm.backend
    manager.unregister(name="test-docs-slurm")
    for name in [m for m in sys.modules if m.startswith("trackline_slurm")]:
        del sys.modules[name]


def test_documented_slurm_backend_runs_a_project(tracking, typed_project, slurm):
    submitted = run(
        str(typed_project),
        parameters={"label": "on slurm"},
        backend="slurm",
        backend_config={"partition": "gpu"},
    )
    assert isinstance(submitted, slurm.SlurmRun)
    assert submitted.job_id == "1000"
    assert submitted.get_status() == "FINISHED"
    result = tracking.get_run(submitted.run_id)
    assert result.info.status == "FINISHED"
    assert result.data.metrics == {"called": 1.0}  # the job continued the documented run
    assert result.data.tags["mlflow.project.backend"] == "slurm"
    assert result.data.params["label"] == "'on slurm'"


def test_documented_slurm_backend_failure_and_cancel(tracking, typed_project, slurm):
    with pytest.raises(Exception, match="failed"):
        run(str(typed_project), entry_point="fail", backend="slurm")
    job = run(str(typed_project), entry_point="sleep", backend="slurm", synchronous=False)
    assert job.get_status() == "RUNNING"
    job.cancel()
    assert job.get_status() == "KILLED"
    assert tracking.get_run(job.run_id).info.status == "KILLED"
