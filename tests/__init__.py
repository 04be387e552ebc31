import pytest

# Shared test code that asserts gets pytest's detailed failure messages too.
pytest.register_assert_rewrite("tests.fixtures")
