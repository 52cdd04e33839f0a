"""Test configuration for trackline-memory."""

import pytest

# The kit's tests live in an installed module, which pytest does not rewrite by default:
# registering it makes a failing ``assert`` show the values it compared.
pytest.register_assert_rewrite("trackline.testing")
