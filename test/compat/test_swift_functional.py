"""Swift's own functional suite through a pipeline with every swiftsync
filter, held against the same suite on a bare pipeline in the same run.

Both deployments have two clusters (so autosync has a peer to mirror to);
the bare one runs Swift's stock pipeline (``--filters none``). Any test that
passes bare and does not pass through our filters is a regression of ours;
the failures the bare pipeline itself has must be the explained
deployment-only ones below, so that a change of the dev deployment shows up
here too. The same pair again with Keystone (``--auth keystone``: authtoken
and keystoneauth instead of tempauth), where the suite also runs its
Keystone v3 tests.
"""

import os
import shutil
import tempfile

import pytest

from swiftsync.devcluster import Deployment
from swiftsync.devcluster.confs import available_filters
from test.compat import functional

BASE_PORT = int(os.environ.get('SWIFTSYNC_COMPAT_BASE_PORT', '13600'))
# the child runs' junit files and logs, kept for a look after the run
RESULTS = os.environ.get('SWIFTSYNC_COMPAT_RESULTS',
                         os.path.join('work', 'compat'))

# Failures of the bare dev deployment, not of any filter. Keyed by test id.
_XATTR = ('Swift keeps object metadata in xattrs; ext4 holds at most one '
          'block of them per inode, so the object server answers 503 to '
          'the largest metadata sets the suite writes. Not seen when the '
          'deployment lives on tmpfs (the default below, where /dev/shm '
          'is large enough).')
DEPLOYMENT_ONLY = {
    'test.functional.tests.TestFile::testMetadataNumberLimit': _XATTR,
    'test.functional.tests.TestFile::testMetadataOnPost': _XATTR,
    'test.functional.tests.TestFileUTF8::testMetadataNumberLimit': _XATTR,
    'test.functional.tests.TestFileUTF8::testMetadataOnPost': _XATTR,
}


# ... and of the bare Keystone deployment (Keystone 30, keystonemiddleware 13
# on sqlite, as swiftsync.devcluster.keystone sets them up).
_SERVICE_TOKEN = (
    "TestRBAC sends the user's own token as X-Service-Token too; here "
    "authtoken answers 401 to such a request where the suite expects the "
    "answer without it (204/403): a service token of a user without the "
    "service role. Seen on the bare Keystone pipeline, with no swiftsync "
    "filter; not investigated further (Swift's gate runs devstack's "
    "Keystone).")
DEPLOYMENT_ONLY_KEYSTONE = dict(DEPLOYMENT_ONLY, **{
    'test.functional.test_access_control.TestRBAC::test_rbac':
        _SERVICE_TOKEN,
    'test.functional.test_access_control.TestRBAC::'
    'test_rbac_with_service_prefix': _SERVICE_TOKEN,
})


def _roomy_tmpfs(path='/dev/shm', need=4 << 30):
    """``path`` when it takes unlimited user xattrs and has ``need`` bytes
    free, else None."""
    try:
        st = os.statvfs(path)
        if st.f_bavail * st.f_frsize < need:
            return None
        fd, probe = tempfile.mkstemp(dir=path)
        os.close(fd)
        try:
            for i in range(40):
                os.setxattr(probe, 'user.probe%d' % i, b'x' * 250)
        finally:
            os.unlink(probe)
        return path
    except OSError:
        return None


@pytest.fixture(scope='module')
def sdist():
    return functional.sdist_dir()


@pytest.fixture(scope='module')
def storage_root(tmp_path_factory):
    shm = _roomy_tmpfs()
    if shm is None:
        yield str(tmp_path_factory.mktemp('compat'))
        return
    root = tempfile.mkdtemp(prefix='swiftsync-compat-', dir=shm)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _run(storage_root, sdist, name, **up):
    dep = Deployment(os.path.join(storage_root, name))
    dep.up(clusters=2, replicas=1, **up)
    try:
        return functional.run_suite(
            dep.env, os.path.join(RESULTS, name), sdist)
    finally:
        dep.down()


@pytest.fixture(scope='module')
def bare(storage_root, sdist):
    return _run(storage_root, sdist, 'bare',
                s3='none', filters='none', base_port=BASE_PORT + 500)


@pytest.fixture(scope='module')
def ours(storage_root, sdist):
    return _run(storage_root, sdist, 'ours',
                s3='seaweedfs', filters=','.join(available_filters()),
                base_port=BASE_PORT)


@pytest.fixture(scope='module')
def bare_keystone(storage_root, sdist):
    return _run(storage_root, sdist, 'bare-keystone', s3='none',
                filters='none', auth='keystone', base_port=BASE_PORT + 1000)


@pytest.fixture(scope='module')
def ours_keystone(storage_root, sdist):
    return _run(storage_root, sdist, 'ours-keystone', s3='seaweedfs',
                filters=','.join(available_filters()), auth='keystone',
                base_port=BASE_PORT + 1500)


def _with(outcomes, outcome):
    return {k for k, v in outcomes.items() if v == outcome}


def test_the_suite_ran(bare, ours):
    for outcomes, _ in (bare, ours):
        assert len(outcomes) > 700
        assert len(_with(outcomes, 'passed')) > 500


def test_bare_failures_are_the_explained_deployment_only_ones(bare):
    outcomes, junit = bare
    unexplained = _with(outcomes, 'failed') - set(DEPLOYMENT_ONLY)
    assert not unexplained, functional.failure_text(junit, unexplained)


def test_every_test_passing_bare_passes_through_our_filters(bare, ours):
    regressions = _with(bare[0], 'passed') - _with(ours[0], 'passed')
    assert not regressions, functional.failure_text(ours[1], regressions)


# -- through Keystone -------------------------------------------------------

def test_the_suite_ran_through_keystone(bare_keystone, ours_keystone):
    for outcomes, _ in (bare_keystone, ours_keystone):
        assert len(outcomes) > 700
        assert len(_with(outcomes, 'passed')) > 500


def test_bare_keystone_failures_are_the_explained_ones(bare_keystone):
    outcomes, junit = bare_keystone
    unexplained = _with(outcomes, 'failed') - set(DEPLOYMENT_ONLY_KEYSTONE)
    assert not unexplained, functional.failure_text(junit, unexplained)


def test_every_test_passing_bare_passes_through_keystone_and_our_filters(
        bare_keystone, ours_keystone):
    regressions = _with(bare_keystone[0], 'passed') - \
        _with(ours_keystone[0], 'passed')
    assert not regressions, functional.failure_text(ours_keystone[1],
                                                    regressions)
