"""trackline hooks of trackline-fsspec: which URI schemes this plugin stores artifacts for.

Only registration lives here; fsspec is imported when a repository is first created.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import ArtifactRepositorySpec, Register

# Plain paths without a scheme resolve to "file" in the core. Remote schemes (s3, gs,
# wasbs/abfss, ftp, sftp, hdfs) go here once their URI mapping and tests exist; the
# repository itself is generic over fsspec file systems.
SCHEMES: tuple[str, ...] = ("file",)


@hookimpl
def register_artifact_repositories(register: Register[ArtifactRepositorySpec]) -> None:
    register(
        ArtifactRepositorySpec(
            schemes=SCHEMES,
            factory="trackline_fsspec.repository:FsspecArtifactRepository",
            description="Local files (plain paths and file: URIs) through fsspec.",
        )
    )
