# Copyright (c) 2026 swiftsync authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
# implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
One real Keystone for a dev deployment (``swiftsync dev up --auth
keystone``): pip ``keystone`` on sqlite, set up with ``keystone-manage``
(db_sync, fernet and credential keys, bootstrap) and served on 127.0.0.1 by
:func:`serve`, a threaded WSGI server in a process of its own.

Every cluster of the deployment uses it, as the regions of one Keystone
(the usual multi-site layout): a token is good on every cluster, and a
project is the account ``AUTH_<project id>`` everywhere. The catalog has an
``object-store`` endpoint per cluster, its region named after the cluster.

The projects, users and roles are those of Swift's own Keystone functional
setup (devstack's, see ``test/sample.conf``), so that Swift's functional
suite runs against it as it is, plus a ``reader`` and a service user for
the proxies' ``authtoken``:

=========  =========  =============  ===============  =====================
user       password   project        domain           role
=========  =========  =============  ===============  =====================
tester     testing    test           Default          admin (an operator)
tester2    testing2   test2          Default          admin
tester3    testing3   test           Default          anotherrole (none)
tester4    testing4   test4          test-domain      admin
tester5    testing5   test5          Default          service
tester6    testing6   test           Default          ResellerAdmin
reader     reading    test           Default          reader
swift      (secret)   service        Default          admin, service
=========  =========  =============  ===============  =====================
"""

import os
import secrets
import subprocess
import sys
import time

from swiftsync.devcluster.procs import DevError, port_open


def _requests():
    # not at import: swiftd (this package) starts Swift's servers, which
    # must import no urllib3 before eventlet patches ssl (RecursionError
    # in every TLS context botocore makes afterwards)
    import requests
    return requests

#: (user, password, project, domain, role) of the test users
USERS = (
    ('tester', 'testing', 'test', 'Default', 'admin'),
    ('tester2', 'testing2', 'test2', 'Default', 'admin'),
    ('tester3', 'testing3', 'test', 'Default', 'anotherrole'),
    ('tester4', 'testing4', 'test4', 'test-domain', 'admin'),
    ('tester5', 'testing5', 'test5', 'Default', 'service'),
    ('tester6', 'testing6', 'test', 'Default', 'ResellerAdmin'),
    ('reader', 'reading', 'test', 'Default', 'reader'),
)
#: the roles bootstrap does not make
EXTRA_ROLES = ('service', 'ResellerAdmin', 'anotherrole')
#: keystoneauth's settings that go with these roles
OPERATOR_ROLES = 'admin, member'
READER_ROLES = 'reader'
RESELLER_ADMIN_ROLE = 'ResellerAdmin'
SERVICE_ROLES = 'service'

CONF = """\
[DEFAULT]
log_file = {dir}/keystone.log
[database]
connection = sqlite:///{dir}/keystone.db
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = {dir}/fernet-keys
[fernet_receipts]
key_repository = {dir}/fernet-keys
[credential]
key_repository = {dir}/credential-keys
[cache]
enabled = false
"""


def _manage():
    here = os.path.join(os.path.dirname(sys.executable), 'keystone-manage')
    if not os.access(here, os.X_OK):
        raise DevError('keystone-manage not found next to %s (pip install '
                       'keystone)' % sys.executable)
    return here


class Keystone(object):
    """The Keystone of a deployment: its files under ``dir``, its URL."""

    def __init__(self, dir, port):
        self.dir = dir
        self.port = port
        self.url = 'http://127.0.0.1:%d/v3' % port
        self.conf = os.path.join(dir, 'keystone.conf')
        self.admin_password = None
        self.service_password = None
        #: {user name: {'id', 'password', 'project', 'project_id', 'domain',
        #: 'role'}} once provisioned
        self.users = {}

    # -- set up ----------------------------------------------------------
    def setup(self):
        """Write the conf and make the database and keys (before start)."""
        for sub in ('fernet-keys', 'credential-keys'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(self.conf, 'w') as f:
            f.write(CONF.format(dir=self.dir))
        self.admin_password = secrets.token_urlsafe(16)
        self.service_password = secrets.token_urlsafe(16)
        user = ['--keystone-user', str(os.getuid()),
                '--keystone-group', str(os.getgid())]
        steps = [['db_sync'], ['fernet_setup'] + user,
                 ['credential_setup'] + user,
                 ['bootstrap', '--bootstrap-password', self.admin_password,
                  '--bootstrap-region-id', 'RegionOne',
                  '--bootstrap-public-url', self.url]]
        for step in steps:
            proc = subprocess.run(
                [_manage(), '--config-file', self.conf] + step,
                capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                raise DevError('keystone-manage %s failed: %s' % (
                    step[0], (proc.stderr or proc.stdout)[-2000:]))

    def command(self):
        return [sys.executable, '-m', 'swiftsync.devcluster.keystone',
                self.conf, str(self.port)]

    def wait(self, timeout=60):
        deadline = time.time() + timeout
        requests = _requests()
        while True:
            if port_open('127.0.0.1', self.port):
                try:
                    if requests.get(self.url, timeout=5).ok:
                        return
                except requests.RequestException:
                    pass
            if time.time() > deadline:
                raise DevError('keystone did not answer on %s' % self.url)
            time.sleep(0.2)

    # -- the API ---------------------------------------------------------
    def token(self, user, password, project, domain='Default'):
        """(token, body of the token) of a user scoped to a project."""
        body = {'auth': {'identity': {'methods': ['password'], 'password': {
            'user': {'name': user, 'password': password,
                     'domain': {'name': domain}}}},
            'scope': {'project': {'name': project,
                                  'domain': {'name': domain}}}}}
        r = _requests().post(self.url + '/auth/tokens', json=body,
                             timeout=30)
        if r.status_code != 201:
            raise DevError('keystone: token of %s failed: %d %s'
                           % (user, r.status_code, r.text[:300]))
        return r.headers['X-Subject-Token'], r.json()['token']

    def get_user(self, name):
        return self.users[name]

    def _admin(self):
        return self.token('admin', self.admin_password, 'admin')[0]

    def _call(self, token, method, path, body=None, ok=(200, 201, 204)):
        r = _requests().request(method, self.url + path, json=body,
                                headers={'X-Auth-Token': token},
                                timeout=30)
        if r.status_code not in ok:
            raise DevError('keystone: %s %s: %d %s' % (
                method, path, r.status_code, r.text[:300]))
        return r.json() if r.content else {}

    def provision(self, clusters):
        """Projects, users, roles and the object-store endpoints of
        ``clusters`` ([(name, proxy_url)]); returns the env.json part."""
        admin = self._admin()
        call = lambda *a, **k: self._call(admin, *a, **k)  # noqa: E731
        roles = {r['name']: r['id'] for r in call('GET', '/roles')['roles']}
        for name in EXTRA_ROLES:
            if name not in roles:
                roles[name] = call('POST', '/roles', {'role': {
                    'name': name}})['role']['id']
        domains = {'Default': 'default'}
        projects, users = {}, {}

        def project(name, domain):
            if (name, domain) not in projects:
                projects[(name, domain)] = call('POST', '/projects', {
                    'project': {'name': name,
                                'domain_id': domains[domain]}})[
                    'project']['id']
            return projects[(name, domain)]

        domains['test-domain'] = call('POST', '/domains', {'domain': {
            'name': 'test-domain'}})['domain']['id']
        everyone = USERS + (('swift', self.service_password, 'service',
                             'Default', 'admin'),)
        for user, password, proj, domain, role in everyone:
            pid = project(proj, domain)
            uid = call('POST', '/users', {'user': {
                'name': user, 'password': password,
                'domain_id': domains[domain],
                'default_project_id': pid}})['user']['id']
            users[user] = {'id': uid, 'password': password,
                           'project': proj, 'project_id': pid,
                           'domain': domain, 'role': role}
            call('PUT', '/projects/%s/users/%s/roles/%s' % (
                pid, uid, roles[role]))
        # the service user validates tokens, and its token is a service
        # token (keystoneauth's service_roles)
        call('PUT', '/projects/%s/users/%s/roles/%s' % (
            users['swift']['project_id'], users['swift']['id'],
            roles['service']))
        service = call('POST', '/services', {'service': {
            'name': 'swift', 'type': 'object-store'}})['service']['id']
        for name, proxy_url in clusters:
            call('POST', '/regions', {'region': {'id': name}})
            call('POST', '/endpoints', {'endpoint': {
                'service_id': service, 'interface': 'public',
                'region_id': name,
                'url': proxy_url + '/v1/AUTH_$(project_id)s'}})
        self.users = users
        return {
            'url': self.url, 'admin_password': self.admin_password,
            'service_user': 'swift',
            'service_password': self.service_password,
            'users': {u: v for u, v in users.items() if u != 'swift'},
        }


def serve(conf, port):
    """Keystone's public API on 127.0.0.1:port, a thread per request."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import (
        WSGIRequestHandler, WSGIServer, make_server)
    # oslo.config reads sys.argv: give it nothing of ours
    sys.argv[1:] = []
    os.environ['OS_KEYSTONE_CONFIG_FILES'] = conf
    from keystone.server import wsgi
    app = wsgi.initialize_public_application()

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    make_server('127.0.0.1', port, app, server_class=Server,
                handler_class=Quiet).serve_forever()


if __name__ == '__main__':
    serve(sys.argv[1], int(sys.argv[2]))
