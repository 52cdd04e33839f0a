"""Rules of trackline.validation that no store-level test reaches directly."""

import pytest
from trackline.exceptions import TracklineException
from trackline.validation import validate_artifact_location


@pytest.mark.parametrize(
    "location", ["file:///data/exp#", "s3://bucket/x?versionId=1", "/tmp/a\x00b", "x" * 2049]
)
def test_artifact_locations_that_could_be_reparsed_are_refused(location):
    with pytest.raises(TracklineException) as info:
        validate_artifact_location(location)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("location", [None, "/data/exp", "s3://bucket/path", "file:///abs/x"])
def test_ordinary_artifact_locations_pass(location):
    validate_artifact_location(location)
