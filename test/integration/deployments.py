"""A dev deployment a test module runs for itself (its own clusters and
ports), as module fixtures: ``dep, env = own_deployment(...)`` at module
level; ``c1``/``c2`` then come from the conftest."""

import os

import pytest

from swiftsync.devcluster import Deployment

BASE_PORT = int(os.environ.get('SWIFTSYNC_TEST_BASE_PORT', '9600'))


def own_deployment(name, port_offset, container_sync=True, **up):
    """Module-scoped fixtures ``dep`` and ``env``: ``Deployment.up(**up)``
    on ``SWIFTSYNC_TEST_BASE_PORT + port_offset``, Swift's container-sync
    running on every node unless ``container_sync`` is False, stopped
    after the module."""

    @pytest.fixture(scope='module')
    def dep(tmp_path_factory):
        d = Deployment(str(tmp_path_factory.mktemp(name)))
        d.up(base_port=BASE_PORT + port_offset, **up)
        try:
            if container_sync:
                d.start_swift_daemon('container-sync')
            yield d
        finally:
            d.down()

    @pytest.fixture(scope='module')
    def env(dep):
        return dep.env

    return dep, env
