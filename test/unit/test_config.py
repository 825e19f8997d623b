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

import dataclasses
import errno
import os
import pickle
import re
import textwrap

import pytest

from swiftsync import config
from swiftsync.config import (
    SCHEMA, ConfigError, Key, S3Target, SwiftTarget, UnknownNameError, load,
    loads, parse_bool, parse_duration, parse_size)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DOC = os.path.join(REPO, 'doc', 'config.rst')
SAMPLE = os.path.join(REPO, 'etc', 'swiftsync.conf-sample')

S3_SECRET = 's3-SECRET-value-0xdeadbeef'
SWIFT_KEY = 'swift-KEY-value-0xfeedface'
PEER_SECRET = 'peer-SECRET-value-0123456789'
SECRETS = (S3_SECRET, SWIFT_KEY, PEER_SECRET)

BASE = textwrap.dedent('''\
    [swiftsync]
    cluster = east

    [target:s3]
    type = s3
    endpoint = http://127.0.0.1:8333
    bucket = archive
    access_key = AKIAEXAMPLE
    secret_key = %s

    [target:west]
    type = swift
    auth_url = http://127.0.0.1:8600/auth/v1.0
    user = test:tester
    key = %s

    [mapping:logs]
    account = AUTH_test
    container = logs
    target = s3

    [cluster:east]
    proxy_url = http://127.0.0.1:8500
    secret = %s

    [cluster:west]
    proxy_url = http://127.0.0.1:8600
    secret = %s
    ''') % (S3_SECRET, SWIFT_KEY, PEER_SECRET, PEER_SECRET)


def conf(**sections):
    """BASE with keys replaced, added or (value None) removed, per section:
    conf(**{'target:s3': {'bucket': None, 'region': 'eu'}})."""
    out, current = [], None
    pending = {}
    for line in BASE.splitlines() + ['']:
        m = re.match(r'^\[(.+)\]$', line)
        if m or line == '':
            for k, v in pending.items():
                if v is not None:
                    out.append('%s = %s' % (k, v))
            pending = {}
        if m:
            current = m.group(1)
            pending = dict(sections.pop(current, {}))
        elif '=' in line:
            key = line.split('=')[0].strip()
            if key in pending:
                value = pending.pop(key)
                if value is not None:
                    out.append('%s = %s' % (key, value))
                continue
        out.append(line)
    for name, items in sections.items():  # new sections
        out.append('[%s]' % name)
        out.extend('%s = %s' % kv for kv in items.items())
    return '\n'.join(out) + '\n'


def error(text, path='<string>'):
    with pytest.raises(ConfigError) as e:
        loads(text, path)
    msg = str(e.value)
    for secret in SECRETS:
        assert secret not in msg
    return e.value


def assert_error(err, section, key, reason_part):
    assert (err.section, err.key) == (section, key), str(err)
    assert reason_part in err.reason, str(err)


# -- positive ---------------------------------------------------------------

def test_empty_file_gives_defaults():
    cfg = loads('')
    g = cfg.globals
    assert g.swift_dir == '/etc/swift'
    assert g.devices == '/srv/node'
    assert g.mount_check is True
    assert (g.bind_ip, g.bind_port) == ('0.0.0.0', 6201)
    assert g.state_dir == '/var/lib/swiftsync'
    assert (g.interval, g.concurrency, g.remote_timeout) == (30, 16, 10)
    assert g.cluster is None and g.internal_client_conf_path is None
    assert g.realms_conf == '/etc/swift/container-sync-realms.conf'
    assert g.key_grace_period == 3600
    assert (g.log_name, g.log_level) == ('swiftsync', 'INFO')
    assert (cfg.targets, cfg.mappings, cfg.clusters) == ({}, {}, {})
    assert cfg.my_cluster() is None and cfg.peers() == []


def test_base_config_types_and_defaults():
    cfg = loads(BASE, '/etc/swift/swiftsync.conf')
    assert cfg.path == '/etc/swift/swiftsync.conf'
    s3 = cfg.targets['s3']
    assert isinstance(s3, S3Target) and s3.type == 's3'
    assert (s3.name, s3.bucket, s3.access_key, s3.secret_key) == (
        's3', 'archive', 'AKIAEXAMPLE', S3_SECRET)
    assert s3.endpoint == 'http://127.0.0.1:8333'
    assert (s3.region, s3.addressing_style, s3.sse) == (
        'us-east-1', 'path', None)
    assert (s3.layout, s3.prefix, s3.timeout, s3.retries) == (
        'hashed', '', 10.0, 3)
    assert s3.segment_size == 100 * 1024 * 1024
    assert (s3.max_connections, s3.verify_ssl) == (32, True)
    sw = cfg.targets['west']
    assert isinstance(sw, SwiftTarget) and sw.type == 'swift'
    assert (sw.auth_url, sw.user, sw.key, sw.auth_version) == (
        'http://127.0.0.1:8600/auth/v1.0', 'test:tester', SWIFT_KEY, 1)
    assert sw.account is None and sw.storage_url is None
    m = cfg.mappings['logs']
    assert (m.account, m.container, m.target, m.mode) == (
        'AUTH_test', 'logs', 's3', 'sync')
    assert (m.after, m.propagate_delete, m.merge, m.restore) == (
        0, True, False, False)
    assert m.exclude is None and m.metadata is None
    east = cfg.clusters['east']
    assert (east.proxy_url, east.secret, east.sync_name) == (
        'http://127.0.0.1:8500', PEER_SECRET, 'east')
    assert (east.consistency, east.timeout, east.placement_default) == (
        'strict', 10.0, True)


def test_all_keys_set():
    cfg = loads(conf(**{
        'swiftsync': {'swift_dir': '/opt/swift', 'mount_check': 'off',
                      'bind_port': '6011', 'interval': '1.5m',
                      'concurrency': '4', 'remote_timeout': '2.5',
                      'internal_client_conf_path': '/opt/ic.conf',
                      'key_grace_period': '1d', 'log_level': 'debug',
                      'log_facility': 'LOG_LOCAL3',
                      'log_statsd_host': 'stats', 'log_statsd_port': '9125',
                      'log_statsd_default_sample_rate': '0.5'},
        'target:s3': {'layout': 'native', 'prefix': 'backups/',
                      'timeout': '30s', 'retries': '0',
                      'segment_size': '1Gi', 'region': 'eu-west-1',
                      'addressing_style': 'virtual', 'sse': 'aws:kms',
                      'sse_kms_key_id': 'alias/x',
                      'storage_class': 'STANDARD_IA',
                      'max_connections': '8', 'verify_ssl': 'no'},
        'target:west': {'auth_url': 'https://k/v3', 'auth_version': 'v3',
                        'project_name': 'p', 'user_domain_name': 'd',
                        'storage_url': 'https://w/v1/AUTH_x/',
                        'account': 'AUTH_x', 'container_suffix': '-east'},
        'mapping:logs': {'mode': 'archive', 'after': '7d', 'merge': 'yes',
                         'restore': 'Y', 'exclude': r'\.tmp$',
                         'metadata': 'Color, X-Object-Meta-Owner,,',
                         'remote_container': 'logs-archive',
                         'expire_after': '30d'},
        'cluster:west': {'realm': 'corp', 'sync_name': 'w2',
                         'consistency': 'eventual', 'timeout': '1m',
                         'placement_default': 'false'},
    }))
    g = cfg.globals
    assert g.realms_conf == '/opt/swift/container-sync-realms.conf'
    assert (g.mount_check, g.bind_port, g.interval) == (False, 6011, 90.0)
    assert (g.concurrency, g.remote_timeout, g.key_grace_period) == (
        4, 2.5, 86400.0)
    assert (g.log_level, g.log_facility) == ('DEBUG', 'LOG_LOCAL3')
    assert g.log_statsd_default_sample_rate == 0.5
    s3 = cfg.target('s3')
    assert (s3.layout, s3.prefix, s3.timeout, s3.retries) == (
        'native', 'backups/', 30.0, 0)
    assert s3.segment_size == 1024 ** 3
    assert (s3.sse, s3.sse_kms_key_id, s3.verify_ssl) == (
        'aws:kms', 'alias/x', False)
    sw = cfg.target('west')
    assert (sw.auth_version, sw.project_name, sw.project_domain_name,
            sw.user_domain_name) == (3, 'p', 'Default', 'd')
    assert sw.storage_url == 'https://w/v1/AUTH_x'
    assert (sw.account, sw.container_suffix) == ('AUTH_x', '-east')
    m = cfg.mappings['logs']
    assert (m.mode, m.after, m.propagate_delete) == (
        'archive', 7 * 86400.0, False)
    assert (m.merge, m.restore, m.expire_after) == (True, True, 30 * 86400.)
    assert m.metadata == ('color', 'owner')
    assert m.copies_metadata('X-Object-Meta-COLOR')
    assert not m.copies_metadata('size')
    assert m.excludes('a.tmp') and not m.excludes('a.tmp.gz')
    assert m.remote_container == 'logs-archive'
    west = cfg.cluster('west')
    assert (west.realm, west.sync_name, west.consistency) == (
        'corp', 'w2', 'eventual')
    assert (west.timeout, west.placement_default) == (60.0, False)


def test_empty_value_means_default():
    cfg = loads(conf(**{'target:s3': {'region': ''},
                        'swiftsync': {'interval': ''}}))
    assert cfg.targets['s3'].region == 'us-east-1'
    assert cfg.globals.interval == 30.0


@pytest.mark.parametrize('endpoint,expected', [
    (None, 'keep'),                                   # AWS itself
    ('https://s3.eu-west-1.amazonaws.com', 'keep'),
    ('https://S3.AmazonAWS.com', 'keep'),
    ('http://127.0.0.1:8333', 'suffix'),              # SeaweedFS, MinIO...
    ('https://amazonaws.com.example.net', 'suffix'),
    ('https://notamazonaws.com', 'suffix'),
])
def test_trailing_slash_default_depends_on_endpoint(endpoint, expected):
    cfg = loads(conf(**{'target:s3': {'endpoint': endpoint}}))
    assert cfg.target('s3').trailing_slash == expected


@pytest.mark.parametrize('endpoint', [None, 'http://127.0.0.1:8333'])
@pytest.mark.parametrize('value', ['keep', 'suffix'])
def test_trailing_slash_set_wins(endpoint, value):
    cfg = loads(conf(**{'target:s3': {'endpoint': endpoint,
                                      'trailing_slash': value}}))
    assert cfg.target('s3').trailing_slash == value


def test_bad_trailing_slash():
    err = error(conf(**{'target:s3': {'trailing_slash': 'strip'}}))
    assert_error(err, 'target:s3', 'trailing_slash',
                 "must be one of: suffix, keep; got 'strip'")
    assert err.path == '<string>'
    err = error(conf(**{'target:west': {'trailing_slash': 'keep'}}))
    assert_error(err, 'target:west', 'trailing_slash',
                 'it is a key of type = s3')


def test_propagate_delete_default_depends_on_mode():
    def pd(**keys):
        return loads(conf(**{'mapping:logs': keys})).mappings[
            'logs'].propagate_delete
    assert pd() is True
    assert pd(mode='archive') is False
    assert pd(mode='archive', propagate_delete='true') is True
    assert pd(mode='sync', propagate_delete='false') is False


@pytest.mark.parametrize('value,expected', [
    ('1', 1), ('1.0', 1), ('v1.0', 1), ('V1', 1), ('3', 3), ('v3', 3)])
def test_auth_version_spellings(value, expected):
    cfg = loads(conf(**{'target:west': {'auth_version': value,
                                        'project_name': 'p'}}))
    assert cfg.targets['west'].auth_version == expected


def test_sse_spellings():
    for value, expected in (('none', None), ('AES256', 'AES256'),
                            ('aes256', 'AES256'), ('aws:kms', 'aws:kms')):
        cfg = loads(conf(**{'target:s3': {'sse': value}}))
        assert cfg.targets['s3'].sse == expected


def test_url_normalisation():
    cfg = loads(conf(**{'target:s3': {'endpoint': 'https://s3.example/'},
                        'cluster:east': {'proxy_url': 'http://[::1]:8080/'}}))
    assert cfg.targets['s3'].endpoint == 'https://s3.example'
    assert cfg.clusters['east'].proxy_url == 'http://[::1]:8080'


def test_mappings_for_own_container_first():
    cfg = loads(conf(**{'mapping:all': {
        'account': 'AUTH_test', 'container': '*', 'target': 'west'}}))
    assert [m.name for m in cfg.mappings_for('AUTH_test', 'logs')] == [
        'logs', 'all']
    assert [m.name for m in cfg.mappings_for('AUTH_test', 'other')] == [
        'all']
    assert cfg.mappings_for('AUTH_other', 'logs') == []


def test_my_cluster_and_peers():
    cfg = loads(BASE)
    assert cfg.my_cluster() is cfg.clusters['east']
    assert cfg.peers() == [cfg.clusters['west']]


def test_unknown_target_lookup_is_a_lookup_error():
    cfg = loads(BASE)
    with pytest.raises(LookupError) as e:
        cfg.target('wset')
    assert not isinstance(e.value, KeyError)
    assert isinstance(e.value, (ConfigError, UnknownNameError))
    assert str(e.value) == ("<string>: [target:wset] not defined "
                            "(did you mean 'west'?)")
    with pytest.raises(LookupError):
        cfg.cluster('north')


def test_config_is_frozen():
    cfg = loads(BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.targets['s3'].bucket = 'other'
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.globals = None


def test_repr_shows_no_secret():
    cfg = loads(BASE)
    for text in (repr(cfg), str(cfg), repr(cfg.targets), repr(cfg.clusters)):
        for secret in SECRETS:
            assert secret not in text
    assert 'AKIAEXAMPLE' in repr(cfg)  # an id, not a secret


def test_log_conf_feeds_get_logger():
    from swift.common.utils import get_logger
    cfg = loads(conf(swiftsync={'log_name': 'ss-test',
                                'log_statsd_host': 'localhost'}))
    lc = cfg.globals.log_conf()
    assert lc['log_name'] == 'ss-test'
    assert lc['log_statsd_host'] == 'localhost'
    assert all(isinstance(v, str) for v in lc.values())
    assert 'log_statsd_host' not in loads('').globals.log_conf()
    logger = get_logger(lc, log_route='swiftsync-test-config')
    assert logger.server == 'ss-test'


def test_load_from_file(tmp_path):
    p = tmp_path / 'swiftsync.conf'
    p.write_text(BASE)
    cfg = load(str(p))
    assert cfg.path == str(p) and 's3' in cfg.targets


def test_config_error_format_and_pickle():
    e = ConfigError('/p', 'target:s3', 'bucket', 'is required')
    assert str(e) == '/p: [target:s3] bucket: is required'
    assert isinstance(e, ValueError)
    assert str(ConfigError('/p', 'x', None, 'bad')) == '/p: [x] bad'
    assert str(ConfigError('/p', None, None, 'bad')) == '/p: bad'
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.path, e2.section, e2.key, e2.reason) == (
        '/p', 'target:s3', 'bucket', 'is required')


def test_devcluster_style_config_loads():
    # what swiftsync.devcluster writes, plus the section of the cluster
    # itself, which `cluster =` must name
    cfg = loads(textwrap.dedent('''\
        [swiftsync]
        swift_dir = /tmp/dev/c1/etc
        devices = /tmp/dev/c1/srv/1
        mount_check = false
        bind_ip = 127.0.0.1
        bind_port = 9611
        state_dir = /tmp/dev/state
        interval = 2
        cluster = c1
        internal_client_conf_path = /tmp/dev/c1/etc/internal-client.conf
        log_name = c1-swiftsync1
        [target:seaweedfs]
        type = s3
        endpoint = http://127.0.0.1:9633
        bucket = swiftsync
        region = us-east-1
        access_key = SSABCDEF
        secret_key = x
        [target:c2]
        type = swift
        auth_url = http://127.0.0.1:9700/auth/v1.0
        user = test:tester
        key = testing
        [cluster:c1]
        proxy_url = http://127.0.0.1:9600
        realm = SWIFTSYNC
        secret = 0123456789abcdef0123456789abcdef
        [cluster:c2]
        proxy_url = http://127.0.0.1:9700
        realm = SWIFTSYNC
        secret = 0123456789abcdef0123456789abcdef
        '''))
    assert cfg.my_cluster().name == 'c1'
    assert [c.name for c in cfg.peers()] == ['c2']


# -- value parsers ----------------------------------------------------------

@pytest.mark.parametrize('value,seconds', [
    ('90', 90), ('90s', 90), ('30m', 1800), ('2h', 7200), ('7d', 604800),
    ('1.5h', 5400), ('0', 0), (' 10 ', 10), ('.5s', 0.5), (12, 12.0)])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds
    assert isinstance(parse_duration(value), float)


@pytest.mark.parametrize('value', [
    '', 'abc', '-5', '-5s', '5x', '5 m', '1e3', 'inf', 'nan', '5ms', '1.',
    '2H', -1, None, True])
def test_parse_duration_refuses(value):
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize('value,expected', [
    ('true', True), ('False', False), ('YES', True), ('no', False),
    ('on', True), ('off', False), ('1', True), ('0', False), ('t', True),
    ('f', False), ('y', True), ('n', False), (True, True), (False, False)])
def test_parse_bool(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize('value', ['', 'maybe', '2', 'truee', None, 1])
def test_parse_bool_refuses(value):
    with pytest.raises(ValueError):
        parse_bool(value)


@pytest.mark.parametrize('value,expected', [
    ('1048576', 1048576), ('5Mi', 5 * 2 ** 20), ('5M', 5000000),
    ('100MiB', 100 * 2 ** 20), ('1Gi', 2 ** 30), ('2K', 2000),
    ('3ki', 3072)])
def test_parse_size(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize('value', ['', '1.5Gi', 'lots', '-1', '5T', '5Mx'])
def test_parse_size_refuses(value):
    with pytest.raises(ValueError):
        parse_size(value)


# -- errors: one test per case ----------------------------------------------

def test_unknown_key_with_suggestion():
    err = error(conf(**{'target:s3': {'bukcet': 'x'}}))
    assert_error(err, 'target:s3', 'bukcet', "unknown key (did you mean "
                 "'bucket'?)")
    assert str(err) == ("<string>: [target:s3] bukcet: unknown key "
                        "(did you mean 'bucket'?)")


def test_unknown_key_without_close_match():
    err = error(conf(swiftsync={'frobnicate': '1'}))
    assert_error(err, 'swiftsync', 'frobnicate', 'unknown key')
    assert 'did you mean' not in err.reason


def test_unknown_key_of_the_other_target_type():
    err = error(conf(**{'target:west': {'bucket': 'b'}}))
    assert_error(err, 'target:west', 'bucket', 'type = s3')


def test_unknown_key_value_not_echoed():
    err = error(conf(**{'cluster:east': {'secrte': 'TOPSECRET-typo'}}))
    assert_error(err, 'cluster:east', 'secrte', "did you mean 'secret'?")
    assert 'TOPSECRET' not in str(err)


def test_keys_are_case_sensitive():
    err = error(conf(**{'target:s3': {'Region': 'eu'}}))
    assert_error(err, 'target:s3', 'Region', "did you mean 'region'?")


def test_unknown_section():
    err = error(BASE + '[proxy-server]\n')
    assert_error(err, 'proxy-server', None, 'unknown section')


def test_unknown_section_with_suggestion():
    err = error(BASE + '[targte:x]\ntype = s3\n')
    assert_error(err, 'targte:x', None, 'did you mean [target:x]?')


def test_unknown_section_without_name():
    err = error(BASE + '[cluster]\n')
    assert_error(err, 'cluster', None, 'did you mean [cluster:NAME]?')


def test_section_with_empty_name():
    err = error(BASE + '[target:]\ntype = s3\n')
    assert_error(err, 'target:', None, 'empty name')


def test_section_with_invalid_name():
    err = error(BASE + '[target:my store]\ntype = s3\n')
    assert_error(err, 'target:my store', None, 'invalid name')


def test_default_section_refused():
    err = error('[DEFAULT]\nswift_dir = /etc/swift\n' + BASE)
    assert_error(err, 'DEFAULT', None, 'put global settings in [swiftsync]')


def test_missing_target_type():
    err = error(conf(**{'target:s3': {'type': None}}))
    assert_error(err, 'target:s3', 'type', 'is required')


@pytest.mark.parametrize('section,key', [
    ('target:s3', 'bucket'), ('target:s3', 'access_key'),
    ('target:s3', 'secret_key'), ('target:west', 'auth_url'),
    ('target:west', 'user'), ('target:west', 'key'),
    ('mapping:logs', 'account'), ('mapping:logs', 'container'),
    ('mapping:logs', 'target'), ('cluster:east', 'proxy_url'),
    ('cluster:east', 'secret')])
def test_missing_required_key(section, key):
    err = error(conf(**{section: {key: None}}))
    assert_error(err, section, key, 'is required')
    assert str(err) == '<string>: [%s] %s: is required' % (section, key)


def test_required_key_with_empty_value():
    err = error(conf(**{'target:s3': {'bucket': ''}}))
    assert_error(err, 'target:s3', 'bucket', 'is required')


def test_project_name_required_for_keystone():
    err = error(conf(**{'target:west': {'auth_version': '3'}}))
    assert_error(err, 'target:west', 'project_name', 'auth_version = 3')


@pytest.mark.parametrize('section,key,value,reason', [
    ('target:s3', 'endpoint', 's3.example.com', 'http:// or https://'),
    ('target:s3', 'endpoint', 'ftp://s3.example.com', 'http:// or https://'),
    ('target:s3', 'endpoint', 'http://s3.example.com/bucket', 'without a'),
    ('target:s3', 'endpoint', 'http://', 'no host'),
    ('target:west', 'auth_url', 'http://host:port/auth', 'bad host or port'),
    ('target:west', 'auth_url', 'http://ho st/auth', 'spaces'),
    ('target:west', 'storage_url', 'http://h/v1/AUTH_x?x=1', 'query'),
    ('cluster:east', 'proxy_url', 'http://[::1:8080', 'bad host or port'),
])
def test_malformed_url(section, key, value, reason):
    err = error(conf(**{section: {key: value}}))
    assert_error(err, section, key, reason)
    assert repr(value) in err.reason


@pytest.mark.parametrize('url', [
    'https://AK:PASSWORD-in-url@s3.example.com',
    'https://AK:PASSWORD-in-url@s3.example.com:bad',
    'https://AK:PASSWORD in url@s3.example.com'])
def test_url_with_credentials_not_echoed(url):
    err = error(conf(**{'target:s3': {'endpoint': url}}))
    assert_error(err, 'target:s3', 'endpoint', 'credentials')
    assert 'PASSWORD' not in str(err)


def test_non_numeric_duration():
    err = error(conf(swiftsync={'interval': 'often'}))
    assert_error(err, 'swiftsync', 'interval', 'not a duration')
    assert "'often'" in err.reason


def test_negative_duration():
    err = error(conf(**{'mapping:logs': {'after': '-1d'}}))
    assert_error(err, 'mapping:logs', 'after', 'not a duration')


def test_zero_timeout():
    err = error(conf(**{'cluster:west': {'timeout': '0'}}))
    assert_error(err, 'cluster:west', 'timeout', 'more than 0')


def test_non_integer_int():
    err = error(conf(swiftsync={'concurrency': '4.5'}))
    assert_error(err, 'swiftsync', 'concurrency', 'not an integer')


def test_int_below_minimum():
    err = error(conf(swiftsync={'concurrency': '0'}))
    assert_error(err, 'swiftsync', 'concurrency', 'must be >= 1')


def test_negative_retries():
    err = error(conf(**{'target:s3': {'retries': '-1'}}))
    assert_error(err, 'target:s3', 'retries', 'must be >= 0')


def test_port_out_of_range():
    err = error(conf(swiftsync={'bind_port': '70000'}))
    assert_error(err, 'swiftsync', 'bind_port', 'must be <= 65535')


def test_bad_float():
    err = error(conf(swiftsync={'log_statsd_default_sample_rate': '2'}))
    assert_error(err, 'swiftsync', 'log_statsd_default_sample_rate',
                 'must be > 0 and <= 1')


def test_bad_bool():
    err = error(conf(**{'target:s3': {'verify_ssl': 'maybe'}}))
    assert_error(err, 'target:s3', 'verify_ssl', 'not a boolean')
    assert "'maybe'" in err.reason


def test_bad_enum_lists_allowed_values():
    err = error(conf(**{'mapping:logs': {'mode': 'mirror'}}))
    assert_error(err, 'mapping:logs', 'mode',
                 "must be one of: sync, archive; got 'mirror'")


def test_bad_target_type_lists_allowed_values():
    err = error(conf(**{'target:s3': {'type': 'gcs'}}))
    assert_error(err, 'target:s3', 'type', 'must be one of: s3, swift')


def test_bad_log_facility():
    err = error(conf(swiftsync={'log_facility': 'LOCAL0'}))
    assert_error(err, 'swiftsync', 'log_facility', 'not a syslog facility')


def test_bad_log_level():
    err = error(conf(swiftsync={'log_level': 'LOUD'}))
    assert_error(err, 'swiftsync', 'log_level', 'DEBUG, INFO')


def test_segment_size_below_minimum():
    err = error(conf(**{'target:s3': {'segment_size': '5M'}}))
    assert_error(err, 'target:s3', 'segment_size', 'at least 5 MiB')


def test_segment_size_above_maximum():
    err = error(conf(**{'target:s3': {'segment_size': '6Gi'}}))
    assert_error(err, 'target:s3', 'segment_size', 'at most 5 GiB')


def test_segment_size_not_a_size():
    err = error(conf(**{'target:west': {'segment_size': 'big'}}))
    assert_error(err, 'target:west', 'segment_size', 'not a size')


def test_relative_path():
    err = error(conf(swiftsync={'state_dir': 'var/lib/swiftsync'}))
    assert_error(err, 'swiftsync', 'state_dir', 'absolute path')


def test_value_on_several_lines():
    err = error(conf(**{'target:s3': {'bucket': 'a\n  b'}}))
    assert_error(err, 'target:s3', 'bucket', 'on one line')


def test_sse_kms_key_without_kms():
    err = error(conf(**{'target:s3': {'sse_kms_key_id': 'alias/k'}}))
    assert_error(err, 'target:s3', 'sse_kms_key_id', 'sse = aws:kms')


def test_invalid_exclude_regex():
    err = error(conf(**{'mapping:logs': {'exclude': '[unclosed'}}))
    assert_error(err, 'mapping:logs', 'exclude',
                 'invalid regular expression: unterminated character set')


def test_container_pattern_refused():
    err = error(conf(**{'mapping:logs': {'container': 'logs*'}}))
    assert_error(err, 'mapping:logs', 'container', 'patterns are not')


def test_account_with_slash():
    err = error(conf(**{'mapping:logs': {'account': 'AUTH_a/c'}}))
    assert_error(err, 'mapping:logs', 'account', "without '/'")


def test_unknown_target_in_mapping():
    err = error(conf(**{'mapping:logs': {'target': 'wset'}}))
    assert_error(err, 'mapping:logs', 'target', "unknown target 'wset'")
    assert "did you mean 'west'?" in err.reason


def test_duplicate_section():
    err = error(BASE + '[target:s3]\ntype = s3\n')
    assert_error(err, 'target:s3', None, 'duplicate section')
    assert 'line' in err.reason


def test_duplicate_key():
    err = error(BASE.replace('bucket = archive',
                             'bucket = archive\nbucket = other'))
    assert_error(err, 'target:s3', 'bucket', 'duplicate key')


def test_duplicate_secret_key_not_echoed():
    err = error(BASE.replace('secret_key = %s' % S3_SECRET,
                             'secret_key = %s\nsecret_key = %s'
                             % (S3_SECRET, S3_SECRET)))
    assert_error(err, 'target:s3', 'secret_key', 'duplicate key')


def test_section_names_differing_by_case():
    err = error(BASE + '[target:S3]\ntype = s3\n')
    assert_error(err, 'target:S3', None, 'differs only by case from '
                 '[target:s3]')


def test_cluster_not_defined():
    err = error(conf(swiftsync={'cluster': 'north'}))
    assert_error(err, 'swiftsync', 'cluster', 'no [cluster:north] section')


def test_mapping_defined_twice():
    err = error(conf(**{'mapping:again': {
        'account': 'AUTH_test', 'container': 'logs', 'target': 'west'}}))
    assert_error(err, 'mapping:again', 'container',
                 'AUTH_test/logs is already mapped by [mapping:logs]')


def test_short_secret_not_echoed():
    err = error(conf(**{'cluster:west': {'secret': 'short-SECRET'}}))
    assert_error(err, 'cluster:west', 'secret', 'at least 16 characters')
    assert 'short-SECRET' not in str(err)


def test_bad_value_of_a_secret_key_not_echoed():
    # Whatever the parser of a secret key, a bad value is not shown: a bool
    # parser here, for the key name "secret" and for a Key marked secret.
    loader = config._Loader('<string>')
    for name, spec in (('secret', Key(parse_bool)),
                       ('token', Key(parse_bool, secret=True))):
        with pytest.raises(ConfigError) as e:
            loader.parse_items('x', {name: 'NOT-A-BOOL-SECRET'},
                               {name: spec})
        assert 'not a boolean' in e.value.reason
        assert 'NOT-A-BOOL-SECRET' not in str(e.value)


def test_setting_before_any_section_not_echoed():
    err = error('secret_key = LEAKED-SECRET-1\n' + BASE)
    assert err.section is None and 'line 1' in err.reason
    assert 'LEAKED-SECRET-1' not in str(err)


def test_line_that_is_not_ini_not_echoed():
    err = error(BASE.replace('secret_key = ', 'secret_key '))
    assert err.section is None and 'neither "key = value"' in err.reason
    assert 'line 9' in err.reason


def test_missing_file(tmp_path):
    path = str(tmp_path / 'nope.conf')
    with pytest.raises(ConfigError) as e:
        load(path)
    assert str(e.value) == '%s: cannot read: No such file or directory' % (
        path)


def test_unreadable_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'swiftsync.conf')

    def denied(*a, **kw):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    monkeypatch.setattr(config, 'open', denied, raising=False)
    with pytest.raises(ConfigError) as e:
        load(path)
    assert (e.value.path, e.value.section) == (path, None)
    assert e.value.reason == 'cannot read: Permission denied'


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError) as e:
        load(str(tmp_path))
    assert e.value.reason.startswith('cannot read:')


def test_file_not_utf8(tmp_path):
    p = tmp_path / 'swiftsync.conf'
    p.write_bytes(b'[swiftsync]\nlog_name = \xff\xfe\n')
    with pytest.raises(ConfigError) as e:
        load(str(p))
    assert e.value.reason == 'cannot read: not UTF-8 text'


# -- schema, doc and sample stay in step --------------------------------------

CLASSES = {'swiftsync': config.GlobalConfig, 'target:s3': S3Target,
           'target:swift': SwiftTarget, 'mapping': config.Mapping,
           'cluster': config.Cluster}


@pytest.mark.parametrize('kind', sorted(SCHEMA))
def test_schema_matches_dataclass(kind):
    fields = {f.name: f for f in dataclasses.fields(CLASSES[kind])}
    fields.pop('name', None)
    assert set(fields) == set(SCHEMA[kind]) - {'type'}
    for key, f in fields.items():
        spec = SCHEMA[kind][key]
        if spec.required:
            assert f.default is dataclasses.MISSING, key
        else:
            assert f.default == spec.default, key
        assert f.repr is not (spec.secret or key in config.SECRET_KEYS), key
        assert spec.help, key


def test_every_secret_key_is_marked_secret():
    for kind, keys in SCHEMA.items():
        for key, spec in keys.items():
            assert spec.secret == (key in config.SECRET_KEYS), (kind, key)


def test_doc_describes_every_key():
    with open(DOC) as f:
        doc = f.read()
    missing = [(kind, key) for kind, keys in SCHEMA.items() for key in keys
               if '``%s``' % key not in doc]
    assert not missing


def test_doc_example_loads():
    with open(DOC) as f:
        doc = f.read()
    example = doc.split('A complete example')[1].split('::\n', 1)[1]
    example = textwrap.dedent(example.split('\nFor programs')[0])
    cfg = loads(example)
    assert cfg.my_cluster().name == 'east'
    assert cfg.mappings_for('AUTH_ops', 'logs')[0].mode == 'archive'


def _sample_keys():
    """(section kind, key, value) of every key line of the sample,
    commented out or not."""
    kind = None
    with open(SAMPLE) as f:
        for line in f:
            m = re.match(r'^#?\s*\[([a-z]+)(?::[^\]]*)?\]\s*$', line)
            if m:
                kind = m.group(1)
                continue
            m = re.match(r'^#?\s*([a-z_]+)\s*=\s*(.*?)\s*$', line)
            if m:
                yield kind, m.group(1), m.group(2)


def test_sample_shows_every_key():
    shown = set((kind, key) for kind, key, _ in _sample_keys())
    missing = [(kind, key) for kind, keys in SCHEMA.items() for key in keys
               if (kind.split(':')[0], key) not in shown]
    assert not missing


def test_sample_values_are_valid():
    targets = dict(SCHEMA['target:s3'], **SCHEMA['target:swift'])
    schemas = {'swiftsync': SCHEMA['swiftsync'], 'target': targets,
               'mapping': SCHEMA['mapping'], 'cluster': SCHEMA['cluster']}
    for kind, key, value in _sample_keys():
        assert key in schemas[kind], (kind, key)
        if value:
            schemas[kind][key].parser(value)


def test_sample_loads():
    cfg = load(SAMPLE)
    assert cfg.globals == config.GlobalConfig()
