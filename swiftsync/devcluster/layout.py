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
Where everything of a dev deployment lives: ports and directories.

Ports are a pure function of ``--base-port`` so that several deployments
(parallel test runs, benchmarks) can coexist on one machine::

    base + 20*(k-1)        proxy of cluster k (k = 1..9)
      + 1                  its memcached
      + 2 + 3*(n-1) .. +4  account/container/object server of node n,
                           which binds 127.0.0.n (n = 1..5)
    base + 190 .. 194      SeaweedFS: s3, master, volume, filer, admin
    base + 200 .. 203      SeaweedFS gRPC: s3, master, volume, filer
    base + 10194           SeaweedFS admin gRPC (its port + 10000, fixed)
    base + 210 ..          the s3api Swift cluster (same shape as a cluster)
    base + 230             Keystone (``--auth keystone``)
"""

import os
from dataclasses import dataclass, field

CLUSTER_STRIDE = 20
MAX_CLUSTERS = 9
MAX_REPLICAS = 5
SEAWEED_OFFSET = 190
S3API_OFFSET = 210
KEYSTONE_OFFSET = 230
DEFAULT_BASE_PORT = 8600
REALM = 'dev'


@dataclass
class Node:
    index: int          # 1-based
    ip: str
    account_port: int
    container_port: int
    object_port: int
    devices: str        # the devices dir; the one device is 'sdb<index>'

    @property
    def device(self):
        return 'sdb%d' % self.index


@dataclass
class ClusterLayout:
    name: str
    dir: str
    proxy_port: int
    memcached_port: int
    nodes: list = field(default_factory=list)

    @property
    def etc(self):
        return os.path.join(self.dir, 'etc')

    @property
    def proxy_url(self):
        return 'http://127.0.0.1:%d' % self.proxy_port

    @property
    def memcache_servers(self):
        return '127.0.0.1:%d' % self.memcached_port

    def conf(self, name):
        return os.path.join(self.etc, name)

    def ports(self):
        yield ('127.0.0.1', self.proxy_port, self.name + ' proxy')
        yield ('127.0.0.1', self.memcached_port, self.name + ' memcached')
        for n in self.nodes:
            yield (n.ip, n.account_port, '%s node%d account' % (
                self.name, n.index))
            yield (n.ip, n.container_port, '%s node%d container' % (
                self.name, n.index))
            yield (n.ip, n.object_port, '%s node%d object' % (
                self.name, n.index))


@dataclass
class SeaweedLayout:
    dir: str
    s3_port: int
    master_port: int
    volume_port: int
    filer_port: int
    admin_port: int
    grpc_ports: tuple

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.s3_port

    def ports(self):
        names = ('s3', 'master', 'volume', 'filer', 'admin')
        ports = (self.s3_port, self.master_port, self.volume_port,
                 self.filer_port, self.admin_port)
        for name, port in zip(names, ports):
            yield ('127.0.0.1', port, 'seaweedfs ' + name)
        for port in self.grpc_ports + (self.admin_port + 10000,):
            yield ('127.0.0.1', port, 'seaweedfs grpc')


def cluster_layout(workdir, name, base, replicas):
    cdir = os.path.join(workdir, name)
    layout = ClusterLayout(name=name, dir=cdir, proxy_port=base,
                           memcached_port=base + 1)
    for n in range(1, replicas + 1):
        layout.nodes.append(Node(
            index=n, ip='127.0.0.%d' % n,
            account_port=base + 2 + 3 * (n - 1),
            container_port=base + 3 + 3 * (n - 1),
            object_port=base + 4 + 3 * (n - 1),
            devices=os.path.join(cdir, 'node%d' % n)))
    return layout


def plan(workdir, clusters, replicas, base_port, s3_kinds):
    """Return (cluster layouts, seaweed layout or None, s3api layout or None)."""
    if not 1 <= clusters <= MAX_CLUSTERS:
        raise ValueError('--clusters must be 1..%d' % MAX_CLUSTERS)
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ValueError('--replicas must be 1..%d' % MAX_REPLICAS)
    if not 1024 <= base_port <= 65535 - 10300:
        raise ValueError('--base-port must be 1024..%d' % (65535 - 10300))
    layouts = [cluster_layout(workdir, 'c%d' % k,
                              base_port + CLUSTER_STRIDE * (k - 1), replicas)
               for k in range(1, clusters + 1)]
    seaweed = s3api = None
    if 'seaweedfs' in s3_kinds:
        b = base_port + SEAWEED_OFFSET
        seaweed = SeaweedLayout(
            dir=os.path.join(workdir, 'seaweedfs'), s3_port=b,
            master_port=b + 1, volume_port=b + 2, filer_port=b + 3,
            admin_port=b + 4,
            grpc_ports=(b + 10, b + 11, b + 12, b + 13))
    if 's3api' in s3_kinds:
        s3api = cluster_layout(workdir, 's3api',
                               base_port + S3API_OFFSET, 1)
    return layouts, seaweed, s3api
