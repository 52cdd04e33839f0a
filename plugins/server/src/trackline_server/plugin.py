"""Hook implementations of trackline-server.

Imported every time trackline collects its plugins, so it stays free: click options are
declared in ``trackline_server.cli``, and Starlette and uvicorn are imported only when the
command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trackline.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    import click
    from trackline.plugins.types import ArtifactPreviewerSpec, Register


@hookimpl
def register_commands(cli: click.Group) -> None:
    from trackline_server.cli import server, ui

    cli.add_command(server)
    cli.add_command(ui)


# The UI's own previewers go through the same hook a third-party plugin uses: that proves the
# extension point carries everything a previewer needs.
_BUILTIN_PREVIEWERS = "trackline_server:ui/previewers"


@hookimpl
def register_artifact_previewers(register: Register[ArtifactPreviewerSpec]) -> None:
    from trackline.plugins.types import ArtifactPreviewerSpec

    def builtin(name: str, **fields: Any) -> ArtifactPreviewerSpec:
        return ArtifactPreviewerSpec(
            name=name, module=f"{name}.js", static_dir=_BUILTIN_PREVIEWERS, **fields
        )

    register(
        builtin(
            "image",
            extensions=(".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".svg", ".ico"),
            mime_types=("image/*",),
            max_size=50 * 1024 * 1024,
            description="Images, SVG drawn as an image (no scripts).",
        )
    )
    register(
        builtin(
            "table",
            extensions=(".csv", ".tsv"),
            mime_types=("text/csv", "text/tab-separated-values"),
            description="CSV and TSV files as a table (first 1,000 rows).",
        )
    )
    register(
        builtin(
            "json",
            extensions=(".json", ".yaml", ".yml"),
            mime_types=("application/json", "application/yaml"),
            description="JSON, pretty-printed; YAML with its structure highlighted.",
        )
    )
    register(
        builtin(
            "mlmodel",
            extensions=("mlmodel",),
            priority=10,
            description="MLmodel files: flavors, signature and metadata.",
        )
    )
    register(
        builtin(
            "html",
            extensions=(".html", ".htm"),
            mime_types=("text/html",),
            description="HTML in a sandboxed frame (scripts run in an opaque origin).",
        )
    )
    register(
        builtin(
            "text",
            extensions=TEXT_EXTENSIONS,
            mime_types=("text/*",),
            priority=-10,
            max_size=2 * 1024 * 1024,
            description="Plain text, logs and source code.",
        )
    )


TEXT_EXTENSIONS = (
    ".txt", ".log", ".md", ".rst", ".py", ".ipynb", ".sh", ".cfg", ".ini", ".toml", ".conf",
    ".sql", ".r", ".js", ".ts", ".css", ".xml", ".pbtxt", ".properties", ".env", ".diff",
    "requirements.txt", "conda.yaml", "python_env.yaml", "dockerfile", "license", "readme",
)  # fmt: skip
