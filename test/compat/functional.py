"""Run Swift's own functional test suite against a dev deployment.

The suite is the ``test/functional`` tree of the swift sdist of the installed
version (pip has no wheel with tests in it), downloaded once and cached under
``work/``. It runs in a child pytest, from the sdist's directory so that its
``test`` package is Swift's and not ours, configured by a
``SWIFT_TEST_CONFIG_FILE`` naming the deployment's first cluster and the
tempauth users ``swiftsync.devcluster.confs.USERS`` provides for it, or the
Keystone users of ``swiftsync.devcluster.keystone``.
"""

import glob
import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from importlib.metadata import version

CACHE = os.environ.get('SWIFTSYNC_SDIST_CACHE',
                       os.path.join('work', 'swift-sdist'))

# The files the fidelity issue names, and the two that only run with their
# filters (staticweb, domain_remap: their tests skip themselves when the
# filter is not in the pipeline, which is reported, not counted).
SUITE = ('tests.py', 'test_object.py', 'test_container.py',
         'test_account.py', 'test_slo.py', 'test_dlo.py', 'test_symlink.py',
         'test_tempurl.py', 'test_versioned_writes.py',
         'test_object_versioning.py', 'test_protocol.py',
         'test_access_control.py', 'test_staticweb.py',
         'test_domain_remap.py')

CONF = """\
[func_test]
auth_uri = {auth_url}
account = test
username = tester
password = testing
account2 = test2
username2 = tester2
password2 = testing2
username3 = tester3
password3 = testing3
account5 = test5
username5 = tester5
password5 = testing5
service_prefix = SERVICE
collate = C
insecure = no
storage_domain =

[unit_test]
fake_syslog = False
"""

# The same through Keystone (swiftsync.devcluster.keystone makes these
# users, as devstack does for Swift's own Keystone gate): a fourth user in a
# non-default domain for the v3 tests, a sixth with the reseller admin role.
KEYSTONE_CONF = """\
[func_test]
auth_version = 3
auth_uri = {auth_url}/
account = test
username = tester
password = testing
account2 = test2
username2 = tester2
password2 = testing2
username3 = tester3
password3 = testing3
account4 = test4
username4 = tester4
password4 = testing4
domain4 = test-domain
account5 = test5
username5 = tester5
password5 = testing5
service_prefix = SERVICE
account6 = test
username6 = tester6
password6 = testing6
collate = C
insecure = no
storage_domain =

[unit_test]
fake_syslog = False
"""


def sdist_dir(cache=CACHE):
    """The extracted sdist of the installed swift, fetched if missing."""
    v = version('swift')
    root = os.path.abspath(os.path.join(cache, 'swift-%s' % v))
    if os.path.isdir(os.path.join(root, 'test', 'functional')):
        return root
    os.makedirs(cache, exist_ok=True)
    tarballs = glob.glob(os.path.join(cache, 'swift-%s.tar.gz' % v))
    if not tarballs:
        subprocess.run(
            [sys.executable, '-m', 'pip', 'download', '-q', '--no-deps',
             '--no-binary', ':all:', 'swift==%s' % v, '-d', cache],
            check=True)
        tarballs = glob.glob(os.path.join(cache, 'swift-%s.tar.gz' % v))
    with tarfile.open(tarballs[0]) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith('swift-%s/test/' % v)]
        tar.extractall(cache, members=members, filter='data')
    return root


def run_suite(env, workdir, sdist, files=SUITE, timeout=1800):
    """Run ``files`` against cluster c1 of ``env``; returns
    ``{test id: 'passed' | 'failed' | 'skipped'}`` and the junit path."""
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, 'func_test.conf')
    with open(conf, 'w') as f:
        # Keystone: the suite takes the catalog's first object-store
        # endpoint, c1's (the first region made)
        template = KEYSTONE_CONF if env.get('keystone') else CONF
        f.write(template.format(auth_url=env['clusters'][0]['auth_url']))
    junit = os.path.join(workdir, 'junit.xml')
    child_env = dict(os.environ, SWIFT_TEST_CONFIG_FILE=conf)
    child_env.pop('PYTHONPATH', None)
    if os.path.exists(junit):
        os.unlink(junit)
    log_path = os.path.join(workdir, 'pytest.log')
    with open(log_path, 'w') as log:
        subprocess.run(
            [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
             '--junitxml', junit] +
            [os.path.join('test', 'functional', f) for f in files],
            cwd=sdist, env=child_env, stdout=log, stderr=subprocess.STDOUT,
            timeout=timeout)
    if not os.path.exists(junit):
        with open(log_path) as f:
            raise RuntimeError('the functional suite did not run:\n' +
                               f.read()[-3000:])
    return parse_junit(junit), junit


def test_id(case):
    """``test.functional.<module>.<Class>::<test>`` of a junit testcase,
    whatever directory pytest took for its root (the sdist's, or a
    project's above it, which prefixes the class names with its path)."""
    classname = case.get('classname') or ''
    cut = classname.find('test.functional.')
    return '%s::%s' % (classname[cut:] if cut >= 0 else classname,
                       case.get('name'))


def parse_junit(path):
    outcomes = {}
    for case in ET.parse(path).getroot().iter('testcase'):
        name = test_id(case)
        if case.find('failure') is not None or \
                case.find('error') is not None:
            outcomes[name] = 'failed'
        elif case.find('skipped') is not None:
            outcomes[name] = 'skipped'
        else:
            outcomes[name] = 'passed'
    return outcomes


def failure_text(junit, names):
    """The first lines of each named failure, for an assertion message."""
    texts = []
    for case in ET.parse(junit).getroot().iter('testcase'):
        name = test_id(case)
        if name in names:
            node = case.find('failure')
            if node is None:
                node = case.find('error')
            msg = (node.get('message') or '')[:300] if node is not None \
                else ''
            texts.append('%s: %s' % (name, msg))
    return '\n'.join(texts)
