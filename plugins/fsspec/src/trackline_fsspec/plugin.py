"""trackline hooks of trackline-fsspec: which URI schemes this plugin stores artifacts for.

Only registration lives here; fsspec and each scheme's library are imported when a
repository is first created, and a missing library is an error naming the extra to install.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import ArtifactRepositorySpec, Register

GENERIC = "trackline_fsspec.repository:FsspecArtifactRepository"

# (schemes, factory, description). Plain paths without a scheme resolve to "file" in the core.
REPOSITORIES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("file",), GENERIC, "Local files and NFS mounts (plain paths and file: URIs)."),
    (
        ("s3",),
        "trackline_fsspec.s3:S3ArtifactRepository",
        "Amazon S3 and S3-compatible stores (MLFLOW_S3_ENDPOINT_URL), with multipart "
        "uploads through the server; needs trackline-fsspec[s3].",
    ),
    (("wasbs", "abfss"), GENERIC, "Azure Blob Storage / ADLS Gen2; needs trackline-fsspec[azure]."),
    (("gs",), GENERIC, "Google Cloud Storage; needs trackline-fsspec[gcs]."),
    (("ftp",), GENERIC, "FTP servers (fsspec's built-in FTP file system)."),
    (("sftp",), GENERIC, "SFTP servers over SSH; needs trackline-fsspec[sftp]."),
    (("hdfs",), GENERIC, "HDFS through pyarrow; needs trackline-fsspec[hdfs]."),
)
SCHEMES: tuple[str, ...] = tuple(scheme for schemes, _, _ in REPOSITORIES for scheme in schemes)


@hookimpl
def register_artifact_repositories(register: Register[ArtifactRepositorySpec]) -> None:
    for schemes, factory, description in REPOSITORIES:
        register(ArtifactRepositorySpec(schemes=schemes, factory=factory, description=description))
