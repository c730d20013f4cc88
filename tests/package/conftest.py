"""The package is built once per test session and shared by its modules."""

import shutil

import pytest

from tests.package import build


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("package")
    yield str(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def deb(workdir):
    return build.build_package(workdir)
