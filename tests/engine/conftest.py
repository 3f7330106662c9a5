import pytest

from enginelib import make_config


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path)
