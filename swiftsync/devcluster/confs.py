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
Config files and rings of a dev deployment, written under the work dir only.

The proxy pipeline is the full example pipeline of the operator guide; each
swiftsync filter appears in it only once it is registered as a
``paste.filter_factory`` entry point of the installed package, so the dev
clusters always run exactly the filters that exist.
"""

import getpass
import os
from importlib import metadata

from swift.common.ring import RingBuilder

from swiftsync.devcluster.layout import REALM

# The example pipeline; names in braces are optional slots.
PIPELINE = (
    'catch_errors gatekeeper healthcheck proxy-logging cache listing_formats '
    '{sync_keys} container_sync bulk tempurl ratelimit {s3api} tempauth '
    '{autosync} staticweb {shunt} copy container-quotas account-quotas slo dlo '
    'versioned_writes symlink proxy-logging proxy-server').split()

SWIFT_FILTERS = {
    'catch_errors': 'catch_errors', 'gatekeeper': 'gatekeeper',
    'healthcheck': 'healthcheck', 'proxy-logging': 'proxy_logging',
    'cache': 'memcache', 'listing_formats': 'listing_formats',
    'container_sync': 'container_sync', 'bulk': 'bulk',
    'tempurl': 'tempurl', 'ratelimit': 'ratelimit', 's3api': 's3api',
    'tempauth': 'tempauth', 'staticweb': 'staticweb', 'copy': 'copy',
    'container-quotas': 'container_quotas',
    'account-quotas': 'account_quotas', 'slo': 'slo', 'dlo': 'dlo',
    'versioned_writes': 'versioned_writes', 'symlink': 'symlink',
}

USERS = (
    # (tempauth key, password, roles)
    ('user_admin_admin', 'admin', '.admin .reseller_admin'),
    ('user_test_tester', 'testing', '.admin'),
    ('user_test2_tester2', 'testing2', '.admin'),
    ('user_s3_s3user', 's3secret', '.admin'),
    # the other users of Swift's functional suite (test/sample.conf): a
    # second owner and a plain user of AUTH_test, and a service user
    ('user_test_tester2', 'testing2', '.admin'),
    ('user_test_tester3', 'testing3', ''),
    ('user_test5_tester5', 'testing5', 'service'),
)


def available_filters():
    """Names of the swiftsync filters registered in the installed package."""
    try:
        eps = metadata.entry_points(group='paste.filter_factory')
    except TypeError:  # pragma: no cover - py < 3.10 API
        eps = metadata.entry_points().get('paste.filter_factory', [])
    return sorted({ep.name for ep in eps
                   if ep.value.startswith('swiftsync.')})


#: what stands for ``tempauth`` in a pipeline with Keystone
KEYSTONE_AUTH = ('authtoken', 'keystoneauth')


def pipeline(filters, s3api=False, keystone=False):
    names = []
    for slot in PIPELINE:
        if slot == 'tempauth' and keystone:
            names.extend(KEYSTONE_AUTH)
        elif slot.startswith('{'):
            name = slot.strip('{}')
            if name == 's3api':
                if s3api:
                    names.append(name)
            elif name in filters:
                names.append(name)
        else:
            names.append(slot)
    return names


def _ini(sections):
    out = []
    for title, items in sections:
        out.append('[%s]' % title)
        out.extend('%s = %s' % (k, v) for k, v in items)
        out.append('')
    return '\n'.join(out)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return path


def _common(cl, log_name):
    return [('swift_dir', cl.etc), ('user', getpass.getuser()),
            ('workers', '0'), ('log_name', log_name),
            # no syslog here: servers run with -v and log to their file
            ('log_udp_host', '127.0.0.1'), ('log_udp_port', '9')]


def write_swift_conf(cl, hash_suffix):
    return write(cl.conf('swift.conf'), _ini([
        ('swift-hash', [('swift_hash_path_prefix', 'dev'),
                        ('swift_hash_path_suffix', hash_suffix)]),
        ('storage-policy:0', [('name', 'gold'), ('default', 'yes')]),
        # a second policy, as most clusters have: containers of both meet
        # (copies, versions, listings across policies)
        ('storage-policy:1', [('name', 'silver')]),
    ]))


def write_rings(cl):
    replicas = len(cl.nodes)
    for kind in ('account', 'container', 'object', 'object-1'):
        builder = RingBuilder(8, replicas, 0)
        for node in cl.nodes:
            builder.add_dev({
                'id': node.index - 1, 'region': 1, 'zone': node.index,
                'ip': node.ip,
                'port': getattr(node, kind.split('-')[0] + '_port'),
                'device': node.device, 'weight': 100, 'meta': ''})
        builder.rebalance()
        builder.get_ring().save(cl.conf('%s.ring.gz' % kind))


#: the dev sharder: small shards, never on its own (``auto_shard``):
#: shard ranges come from ``swift-manage-shard-ranges ... --enable``
SHARD_CONTAINER_THRESHOLD = 200


def sharder_items(cl, node):
    """``[container-sharder]`` of a dev container node: run by
    ``Deployment.shard_once``. Whole DBs go to the other nodes with a local
    ``rsync`` (no rsync daemon): the "module" of a ring device is its
    node's devices dir (the zone of a dev device is its node index)."""
    return [
        ('auto_shard', 'false'),
        ('shard_container_threshold', str(SHARD_CONTAINER_THRESHOLD)),
        ('cleave_batch_size', '16'),
        ('interval', '30'),
        ('internal_client_conf_path', cl.conf('internal-client.conf')),
        ('rsync_module', os.path.join(cl.dir, 'node{zone}')),
        ('recon_cache_path', os.path.join(cl.dir, 'recon')),
        ('log_name', '%s-container-sharder%d' % (cl.name, node.index)),
    ]


def write_storage_confs(cl, container_sync_interval=5):
    paths = {}
    for node in cl.nodes:
        os.makedirs(os.path.join(node.devices, node.device), exist_ok=True)
        for kind in ('account', 'container', 'object'):
            name = '%s-server-%d.conf' % (kind, node.index)
            default = _common(cl, '%s-%s%d' % (cl.name, kind, node.index))
            default += [
                ('bind_ip', node.ip),
                ('bind_port', getattr(node, kind + '_port')),
                ('devices', node.devices), ('mount_check', 'false'),
                ('disable_fallocate', 'true')]
            sections = [
                ('DEFAULT', default),
                ('pipeline:main', [('pipeline', 'healthcheck recon %s-server'
                                    % kind)]),
                ('app:%s-server' % kind, [('use', 'egg:swift#' + kind)]),
                ('filter:healthcheck', [('use', 'egg:swift#healthcheck')]),
                ('filter:recon', [('use', 'egg:swift#recon'),
                                  ('recon_cache_path',
                                   os.path.join(cl.dir, 'recon'))]),
                ('%s-replicator' % kind, []),
                ('%s-auditor' % kind, []),
            ]
            if kind == 'container':
                sections += [
                    ('container-updater', []),
                    ('container-sync', [
                        ('interval', str(container_sync_interval)),
                        ('internal_client_conf_path',
                         cl.conf('internal-client.conf'))]),
                    ('container-sharder', sharder_items(cl, node)),
                ]
                # a whole DB the sharder (a replicator) pushes to another
                # node lands in its device's tmp dir, then is moved in
                os.makedirs(os.path.join(node.devices, node.device, 'tmp'),
                            exist_ok=True)
            if kind == 'object':
                sections += [('object-updater', [])]
            if kind == 'account':
                sections += [('account-reaper', [])]
            paths[(kind, node.index)] = write(cl.conf(name), _ini(sections))
    return paths


def _keystone_section(name, cl, keystone):
    """``authtoken`` (keystonemiddleware) and ``keystoneauth`` for the
    Keystone of :mod:`swiftsync.devcluster.keystone`."""
    from swiftsync.devcluster import keystone as ks
    if name == 'authtoken':
        return ('filter:authtoken', [
            ('paste.filter_factory',
             'keystonemiddleware.auth_token:filter_factory'),
            ('www_authenticate_uri', keystone['url']),
            ('auth_url', keystone['url']), ('auth_type', 'password'),
            ('project_domain_id', 'default'), ('user_domain_id', 'default'),
            ('project_name', 'service'),
            ('username', keystone['service_user']),
            ('password', keystone['service_password']),
            # anonymous requests go on to keystoneauth, which lets through
            # what ACLs, tempurl, staticweb and container-sync allow
            ('delay_auth_decision', 'true'),
            # Swift's memcache client (what Swift's docs set)
            ('cache', 'swift.cache'),
            ('include_service_catalog', 'false'),
            # the one Keystone endpoint bootstrap made
            ('interface', 'public')])
    return ('filter:keystoneauth', [
        ('use', 'egg:swift#keystoneauth'),
        ('operator_roles', ks.OPERATOR_ROLES),
        # reads a project's AUTH_ account without an ACL, writes nothing
        # (not its SERVICE_ one: Keystone's implied roles give every member
        # the reader role too)
        ('AUTH_project_reader_roles', ks.READER_ROLES),
        ('reseller_admin_role', ks.RESELLER_ADMIN_ROLE),
        # a second prefix for the service-token tests of Swift's suite
        ('reseller_prefix', 'AUTH, SERVICE'),
        ('SERVICE_service_roles', ks.SERVICE_ROLES)])


def _filter_section(name, cl, swiftsync_conf, keystone=None):
    if name in KEYSTONE_AUTH:
        return _keystone_section(name, cl, keystone)
    if name == 'proxy-server':
        return ('app:proxy-server', [
            ('use', 'egg:swift#proxy'), ('account_autocreate', 'true'),
            ('allow_account_management', 'true')])
    if name not in SWIFT_FILTERS:
        return ('filter:' + name, [('use', 'egg:swiftsync#' + name),
                                   ('swiftsync_conf', swiftsync_conf)])
    items = [('use', 'egg:swift#' + SWIFT_FILTERS[name])]
    if name == 'cache':
        items.append(('memcache_servers', cl.memcache_servers))
    elif name == 'tempauth':
        items += [(k, ('%s %s' % (pw, roles)).strip())
                  for k, pw, roles in USERS]
        # a second reseller prefix for the service-token tests of Swift's
        # functional suite; AUTH_ stays the first, the default
        items += [('reseller_prefix', 'AUTH, SERVICE'),
                  ('SERVICE_require_group', 'service')]
    elif name == 'versioned_writes':
        items += [('allow_versioned_writes', 'true'),
                  ('allow_object_versioning', 'true')]
    elif name == 'container_sync':
        items.append(('current', '//%s/%s' % (REALM, cl.name)))
    elif name == 's3api':
        items += [('location', 'us-east-1'), ('s3_acl', 'false')]
    return ('filter:' + name, items)


def write_proxy_conf(cl, filters, swiftsync_conf, s3api=False,
                     keystone=None):
    """``keystone``: the env.json part of a deployment's Keystone, to
    authenticate with it instead of tempauth."""
    names = pipeline(filters, s3api=s3api, keystone=keystone is not None)
    default = _common(cl, cl.name + '-proxy') + [
        ('bind_ip', '127.0.0.1'), ('bind_port', cl.proxy_port),
        ('expose_info', 'true')]
    sections = [('DEFAULT', default),
                ('pipeline:main', [('pipeline', ' '.join(names))])]
    seen = set()
    for name in names:
        if name not in seen:
            seen.add(name)
            sections.append(_filter_section(name, cl, swiftsync_conf,
                                            keystone))
    return write(cl.conf('proxy-server.conf'), _ini(sections))


def write_internal_client_conf(cl):
    """The conf Swift's container-sync daemon (and ours) use to talk to Swift.

    It must point at this cluster's memcached, not the default one.
    """
    names = 'catch_errors proxy-logging cache symlink proxy-server'.split()
    sections = [('DEFAULT', _common(cl, cl.name + '-internal-client')),
                ('pipeline:main', [('pipeline', ' '.join(names))])]
    for name in names[:-1]:
        sections.append(_filter_section(name, cl, None))
    sections.append(('app:proxy-server', [
        ('use', 'egg:swift#proxy'), ('account_autocreate', 'true')]))
    return write(cl.conf('internal-client.conf'), _ini(sections))


def write_realms_conf(cl, layouts, realm_key):
    items = [('key', realm_key)]
    items += [('cluster_' + other.name, other.proxy_url + '/v1/')
              for other in layouts]
    return write(cl.conf('container-sync-realms.conf'),
                 _ini([(REALM, items)]))


def write_swiftsync_conf(cl, node, layouts, secrets, s3_targets,
                         state_dir, keystone=None):
    """The operator file of one node of ``cl``: targets, peers, node facts."""
    sections = [('swiftsync', [
        ('swift_dir', cl.etc), ('devices', node.devices),
        ('mount_check', 'false'), ('bind_ip', node.ip),
        ('bind_port', node.container_port), ('state_dir', state_dir),
        ('interval', '2'),
    ] + ([('cluster', cl.name)] if len(layouts) > 1 else []) + [
        ('internal_client_conf_path', cl.conf('internal-client.conf')),
        ('log_name', '%s-swiftsync%d' % (cl.name, node.index)),
    ])]
    for name, s3 in s3_targets:
        sections.append(('target:' + name, [
            ('type', 's3'), ('endpoint', s3['endpoint']),
            ('bucket', s3['bucket']), ('region', s3['region']),
            ('access_key', s3['access_key']),
            ('secret_key', s3['secret_key'])]))
    for other in layouts:
        if other.name == cl.name:
            continue
        if keystone:
            # the other cluster is a region of the one Keystone
            auth = [('auth_url', keystone['url']), ('auth_version', '3'),
                    ('user', 'tester'), ('key', 'testing'),
                    ('project_name', 'test'), ('region_name', other.name)]
        else:
            auth = [('auth_url', other.proxy_url + '/auth/v1.0'),
                    ('user', 'test:tester'), ('key', 'testing')]
        sections.append(('target:' + other.name, [('type', 'swift')] + auth))
    if len(layouts) > 1:
        for other in layouts:
            pair = tuple(sorted((cl.name, other.name)))
            sections.append(('cluster:' + other.name, [
                ('proxy_url', other.proxy_url), ('realm', REALM),
                ('secret', secrets[pair])]))
    return write(os.path.join(cl.etc, 'swiftsync-%d.conf' % node.index),
                 _ini(sections))


def set_cluster_keys(path, cluster, **items):
    """Set keys of the ``[cluster:NAME]`` section of a swiftsync.conf written
    by :func:`write_swiftsync_conf` (e.g. ``consistency='eventual'``); the
    proxy reads it when it (re)starts."""
    with open(path) as f:
        text = f.read()
    head = '[cluster:%s]\n' % cluster
    start = text.index(head) + len(head)
    end = text.find('\n[', start)
    end = len(text) if end < 0 else end + 1
    lines = [ln for ln in text[start:end].splitlines()
             if ln.strip() and ln.split('=')[0].strip() not in items]
    lines += ['%s = %s' % kv for kv in items.items()]
    write(path, text[:start] + '\n'.join(lines) + '\n\n' + text[end:])
