"""Integration tests run against a real dev deployment (``swiftsync dev``).

One deployment is brought up per test session: two Swift clusters, SeaweedFS
and a Swift s3api server. A server that fails to start fails the run; nothing
is skipped. ``SWIFTSYNC_TEST_BASE_PORT`` moves every port, so that parallel
runs on one machine do not collide.
"""

import os

import pytest

from swiftsync.devcluster import Deployment
from swiftsync.devcluster.confs import available_filters

BASE_PORT = int(os.environ.get('SWIFTSYNC_TEST_BASE_PORT', '9600'))


@pytest.fixture(scope='session')
def base_port():
    return BASE_PORT


@pytest.fixture(scope='session')
def deployment(tmp_path_factory):
    dep = Deployment(str(tmp_path_factory.mktemp('dev')))
    # Independent clusters: autosync (one namespace) has its own deployment
    # in test_autosync.py.
    filters = [f for f in available_filters() if f != 'autosync']
    dep.up(clusters=2, replicas=1, s3='seaweedfs,s3api', base_port=BASE_PORT,
           filters=','.join(filters) or 'none')
    yield dep
    dep.down()


@pytest.fixture(scope='session')
def env(deployment):
    return deployment.env


@pytest.fixture(scope='module')
def c1(env):
    """The first cluster of the module's deployment (the session's, or one
    of test/integration/deployments.py)."""
    return env['clusters'][0]


@pytest.fixture(scope='module')
def c2(env):
    return env['clusters'][1]
