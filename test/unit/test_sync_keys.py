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

"""The sync_keys filter against a tiny fake Swift (unit tests)."""

import logging
import time

import pytest
from swift.common import registry
from swift.common.container_sync_realms import ContainerSyncRealms
from swift.common.swob import Request, Response, str_to_wsgi

from swiftsync import config
from swiftsync.middleware import sync_keys
from swiftsync.synckeys import (
    current_realm, parse_sync_to, realm_knows, realm_sync_to, url_sync_to)

REALM_KEY = 'realm-secret-1'
REALM_KEY2 = 'realm-secret-2'
OLD, NEW = 'old-key-' + 'a' * 20, 'new-key-' + 'b' * 20
OBJ = '/v1/AUTH_test/cont/obj%20name'


class FakeSwift(object):
    """Answers HEAD of one container from ``self.container`` (headers),
    records every other request and answers it 2xx."""

    def __init__(self):
        self.container = None
        self.calls = []

    def __call__(self, env, start_response):
        req = Request(env)
        self.calls.append((req.method, req.path, dict(req.headers)))
        if req.method == 'HEAD' and req.path.count('/') == 3:
            if self.container is None:
                resp = Response(status=404)
            else:
                resp = Response(status=204, headers=self.container)
        else:
            resp = Response(status=201 if req.method == 'PUT' else 204)
        return resp(env, start_response)

    def last(self):
        return self.calls[-1]


@pytest.fixture
def swift_dir(tmp_path):
    (tmp_path / 'container-sync-realms.conf').write_text(
        '[realm1]\nkey = %s\nkey2 = %s\ncluster_c1 = http://a/v1/\n'
        'cluster_c2 = http://b/v1/\n' % (REALM_KEY, REALM_KEY2))
    (tmp_path / 'swiftsync.conf').write_text(
        '[swiftsync]\nswift_dir = %s\nkey_grace_period = 10m\n' % tmp_path)
    return tmp_path


def make(swift_dir, logger=None, **conf):
    fake = FakeSwift()
    conf.setdefault('swiftsync_conf', str(swift_dir / 'swiftsync.conf'))
    app = sync_keys.filter_factory({}, **conf)(fake)
    if logger:
        app.logger = logger
    return app, fake


def call(app, path, method, headers=None):
    req = Request.blank(path, environ={'REQUEST_METHOD': method},
                        headers=headers or {})
    return req.get_response(app)


# -- generated keys --------------------------------------------------------

@pytest.mark.parametrize('method', ['PUT', 'POST'])
def test_sync_to_without_key_gets_a_256_bit_urlsafe_key(swift_dir, method):
    app, fake = make(swift_dir)
    fake.container = {} if method == 'POST' else None
    resp = call(app, '/v1/AUTH_test/cont', method,
                {'X-Container-Sync-To': '//realm1/c2/AUTH_test/cont'})
    assert resp.status_int in (201, 204)
    sent = fake.last()[2]
    key = sent['X-Container-Sync-Key']
    assert len(key) == 43  # token_urlsafe(32): 256 bits
    assert set(key) <= set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu'
                           'vwxyz0123456789-_')
    assert key not in resp.body.decode() + str(resp.headers)
    # a new key is not a rotation
    assert not any(k.startswith('X-Container-Sysmeta') for k in sent)


def test_two_generated_keys_differ(swift_dir):
    keys = set()
    for _ in range(2):
        app, fake = make(swift_dir)
        call(app, '/v1/AUTH_test/cont', 'PUT',
             {'X-Container-Sync-To': '//realm1/c2/AUTH_test/cont'})
        keys.add(fake.last()[2]['X-Container-Sync-Key'])
    assert len(keys) == 2


def test_container_with_a_key_keeps_it(swift_dir):
    app, fake = make(swift_dir)
    fake.container = {'X-Container-Sync-Key': OLD}
    call(app, '/v1/AUTH_test/cont', 'POST',
         {'X-Container-Sync-To': '//realm1/c2/AUTH_test/other'})
    assert 'X-Container-Sync-Key' not in fake.last()[2]


def test_client_key_is_used_as_given(swift_dir):
    app, fake = make(swift_dir)
    call(app, '/v1/AUTH_test/cont', 'PUT',
         {'X-Container-Sync-To': '//realm1/c2/AUTH_test/cont',
          'X-Container-Sync-Key': NEW})
    assert fake.last()[2]['X-Container-Sync-Key'] == NEW


def test_other_requests_pass_untouched(swift_dir):
    app, fake = make(swift_dir)
    for path, method in (('/v1/AUTH_test/cont', 'POST'),
                         ('/v1/AUTH_test/cont', 'GET'),
                         ('/v1/AUTH_test', 'POST'),
                         ('/info', 'GET'),
                         ('/v1/AUTH_test/cont/o', 'PUT')):
        fake.calls = []
        call(app, path, method, {'X-Object-Meta-A': 'b'})
        assert [c[:2] for c in fake.calls] == [(method, path)]


def test_removing_sync_to_generates_nothing(swift_dir):
    app, fake = make(swift_dir)
    fake.container = {}
    call(app, '/v1/AUTH_test/cont', 'POST', {'X-Container-Sync-To': ''})
    assert 'X-Container-Sync-Key' not in fake.last()[2]


# -- key policy ------------------------------------------------------------

def test_short_client_key_is_refused_with_a_reason(swift_dir):
    app, fake = make(swift_dir, min_key_length='32')
    resp = call(app, '/v1/AUTH_test/cont', 'POST',
                {'X-Container-Sync-Key': 'short-secret'})
    assert resp.status_int == 400
    assert resp.body == (b'X-Container-Sync-Key is too short: this cluster '
                         b'requires at least 32 characters.\n')
    assert fake.calls == []


def test_long_enough_key_and_removal_pass_the_policy(swift_dir):
    app, fake = make(swift_dir, min_key_length='32')
    fake.container = {}
    assert call(app, '/v1/AUTH_test/cont', 'POST',
                {'X-Container-Sync-Key': 'k' * 32}).status_int == 204
    assert call(app, '/v1/AUTH_test/cont', 'POST',
                {'X-Container-Sync-Key': ''}).status_int == 204
    # a generated key always passes
    assert call(app, '/v1/AUTH_test/cont', 'POST',
                {'X-Container-Sync-To': '//realm1/c2/a/c'}).status_int == 204


def test_policy_is_off_by_default(swift_dir):
    app, fake = make(swift_dir)
    fake.container = {}
    assert call(app, '/v1/AUTH_test/cont', 'POST',
                {'X-Container-Sync-Key': 'x'}).status_int == 204


@pytest.mark.parametrize('value', ['-1', 'ten', '1.5'])
def test_bad_min_key_length_stops_the_proxy(swift_dir, value):
    with pytest.raises(ValueError) as e:
        make(swift_dir, min_key_length=value)
    assert 'min_key_length' in str(e.value)


# -- settings and /info ----------------------------------------------------

def test_grace_period_comes_from_the_operator_file(swift_dir):
    app, _ = make(swift_dir)
    assert app.key_grace_period == 600
    app, _ = make(swift_dir, key_grace_period='5s')
    assert app.key_grace_period == 5


def test_default_grace_period_is_one_hour(tmp_path):
    (tmp_path / 'swiftsync.conf').write_text('[swiftsync]\n')
    app, _ = make(tmp_path)
    assert app.key_grace_period == 3600


def test_bad_operator_file_stops_the_proxy(tmp_path):
    (tmp_path / 'swiftsync.conf').write_text('[swiftsync]\n'
                                             'key_grace_period = soon\n')
    with pytest.raises(config.ConfigError) as e:
        make(tmp_path)
    assert 'key_grace_period' in str(e.value)


def test_info_has_facts_but_no_secret(swift_dir):
    registry._swift_info.pop('sync_keys', None)
    make(swift_dir, min_key_length='20')
    info = registry.get_swift_info()['sync_keys']
    assert info == {'key_grace_period': 600.0, 'min_key_length': 20,
                    'generated_key_bits': 256}


# -- rotation: remembering the previous key --------------------------------

def test_changing_the_key_keeps_the_previous_one_in_sysmeta(swift_dir):
    app, fake = make(swift_dir)
    fake.container = {'X-Container-Sync-Key': OLD}
    before = time.time()
    resp = call(app, '/v1/AUTH_test/cont', 'POST',
                {'X-Container-Sync-Key': NEW})
    sent = fake.last()[2]
    assert sent['X-Container-Sync-Key'] == NEW
    assert sent['X-Container-Sysmeta-Swiftsync-Prev-Sync-Key'] == OLD
    changed = float(sent['X-Container-Sysmeta-Swiftsync-Key-Changed'])
    assert before - 1 <= changed <= time.time() + 1
    assert OLD not in resp.body.decode() + str(resp.headers)


def test_setting_the_same_key_is_no_rotation(swift_dir):
    app, fake = make(swift_dir)
    fake.container = {'X-Container-Sync-Key': OLD}
    call(app, '/v1/AUTH_test/cont', 'POST', {'X-Container-Sync-Key': OLD})
    assert not any(k.startswith('X-Container-Sysmeta')
                   for k in fake.last()[2])


def test_a_non_ascii_key_is_kept_as_it_was_set(swift_dir):
    """Headers carry keys as WSGI strings (UTF-8 bytes as latin-1),
    container info as native strings: the previous key is stored back in
    its header form, and the same key set again is no rotation."""
    old = str_to_wsgi('vieille-cl\u00e9-\U0009eb96' + 'a' * 20)
    new = str_to_wsgi('nouvelle-cl\u00e9-\u2603' + 'b' * 20)
    app, fake = make(swift_dir)
    fake.container = {'X-Container-Sync-Key': old}
    resp = call(app, '/v1/AUTH_test/cont', 'POST',
                {'X-Container-Sync-Key': new})
    assert resp.status_int == 204
    assert fake.last()[2]['X-Container-Sysmeta-Swiftsync-Prev-Sync-Key'] \
        == old
    call(app, '/v1/AUTH_test/cont', 'POST', {'X-Container-Sync-Key': old})
    assert not any(k.startswith('X-Container-Sysmeta')
                   for k in fake.last()[2])


def test_removing_the_key_forgets_the_previous_one(swift_dir):
    app, fake = make(swift_dir)
    fake.container = {
        'X-Container-Sync-Key': NEW,
        'X-Container-Sysmeta-Swiftsync-Prev-Sync-Key': OLD,
        'X-Container-Sysmeta-Swiftsync-Key-Changed': str(time.time())}
    call(app, '/v1/AUTH_test/cont', 'POST',
         {'X-Remove-Container-Sync-Key': 'x'})
    sent = fake.last()[2]
    assert sent['X-Container-Sysmeta-Swiftsync-Prev-Sync-Key'] == ''
    assert sent['X-Container-Sysmeta-Swiftsync-Key-Changed'] == ''


# -- rotation: inbound container-sync requests -----------------------------

def realms(swift_dir):
    return ContainerSyncRealms(str(swift_dir / 'container-sync-realms.conf'),
                               logging.getLogger('test'))


def signed(swift_dir, user_key, realm_key=REALM_KEY, method='PUT',
           timestamp='1700000000.00000', path=OBJ, nonce='n0nce'):
    sig = realms(swift_dir).get_sig(method, path, timestamp, nonce,
                                    realm_key, user_key)
    return {'X-Container-Sync-Auth': 'realm1 %s %s' % (nonce, sig),
            'X-Backend-Inbound-X-Timestamp': timestamp}


def rotated(fake, seconds_ago):
    fake.container = {
        'X-Container-Sync-Key': NEW,
        'X-Container-Sysmeta-Swiftsync-Prev-Sync-Key': OLD,
        'X-Container-Sysmeta-Swiftsync-Key-Changed':
            '%.5f' % (time.time() - seconds_ago)}


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def logger():
    log = logging.getLogger('test-sync-keys')
    log.setLevel(logging.DEBUG)
    handler = Recorder()
    log.addHandler(handler)
    yield log, handler.lines
    log.removeHandler(handler)


@pytest.mark.parametrize('method', ['PUT', 'DELETE', 'HEAD'])
def test_previous_key_is_resigned_with_the_current_one(swift_dir, method,
                                                       logger):
    log, lines = logger
    app, fake = make(swift_dir, logger=log)
    rotated(fake, 30)
    headers = signed(swift_dir, OLD, method=method)
    call(app, OBJ, method, headers)
    sent = fake.last()[2]
    assert fake.last()[:2] == (method, OBJ)
    assert sent['X-Container-Sync-Auth'] == signed(
        swift_dir, NEW, method=method)['X-Container-Sync-Auth']
    text = ' '.join(lines)
    assert 'previous sync key accepted' in text
    assert OLD not in text and NEW not in text


def test_second_realm_key_is_honoured(swift_dir):
    app, fake = make(swift_dir)
    rotated(fake, 30)
    call(app, OBJ, 'PUT', signed(swift_dir, OLD, realm_key=REALM_KEY2))
    assert fake.last()[2]['X-Container-Sync-Auth'] == signed(
        swift_dir, NEW, realm_key=REALM_KEY2)['X-Container-Sync-Auth']


def test_plain_x_timestamp_is_signed_too(swift_dir):
    app, fake = make(swift_dir)
    rotated(fake, 30)
    headers = signed(swift_dir, OLD)
    headers['X-Timestamp'] = headers.pop('X-Backend-Inbound-X-Timestamp')
    call(app, OBJ, 'PUT', headers)
    assert fake.last()[2]['X-Container-Sync-Auth'] == signed(
        swift_dir, NEW)['X-Container-Sync-Auth']


def test_current_key_is_left_alone(swift_dir):
    app, fake = make(swift_dir)
    rotated(fake, 30)
    headers = signed(swift_dir, NEW)
    call(app, OBJ, 'PUT', headers)
    assert fake.last()[2]['X-Container-Sync-Auth'] == \
        headers['X-Container-Sync-Auth']


def test_previous_key_after_the_grace_period_is_left_to_fail(swift_dir,
                                                             logger):
    log, lines = logger
    app, fake = make(swift_dir, logger=log, key_grace_period='60')
    rotated(fake, 61)
    headers = signed(swift_dir, OLD)
    call(app, OBJ, 'PUT', headers)
    assert fake.last()[2]['X-Container-Sync-Auth'] == \
        headers['X-Container-Sync-Auth']
    assert any('previous sync key refused' in line for line in lines)
    assert not any(OLD in line or NEW in line for line in lines)


@pytest.mark.parametrize('headers', [
    {'X-Container-Sync-Auth': 'realm1 nonce'},
    {'X-Container-Sync-Auth': 'nosuchrealm n0nce abc'},
    {'X-Container-Sync-Auth': 'realm1 n0nce 0123456789abcdef'},
])
def test_bad_or_wrong_signatures_are_left_to_container_sync(swift_dir,
                                                            headers):
    app, fake = make(swift_dir)
    rotated(fake, 30)
    call(app, OBJ, 'PUT', dict(headers))
    assert fake.last()[2]['X-Container-Sync-Auth'] == \
        headers['X-Container-Sync-Auth']


def test_signature_for_another_path_is_not_resigned(swift_dir):
    app, fake = make(swift_dir)
    rotated(fake, 30)
    headers = signed(swift_dir, OLD, path='/v1/AUTH_test/cont/other')
    call(app, OBJ, 'PUT', headers)
    assert fake.last()[2]['X-Container-Sync-Auth'] == \
        headers['X-Container-Sync-Auth']


def test_no_previous_key_no_change(swift_dir):
    app, fake = make(swift_dir)
    fake.container = {'X-Container-Sync-Key': NEW}
    headers = signed(swift_dir, OLD)
    call(app, OBJ, 'PUT', headers)
    assert fake.last()[2]['X-Container-Sync-Auth'] == \
        headers['X-Container-Sync-Auth']


@pytest.mark.parametrize('age,expected', [(30, NEW), (4000, OLD)])
def test_legacy_sync_key_header(swift_dir, age, expected):
    app, fake = make(swift_dir)
    rotated(fake, age)
    call(app, OBJ, 'PUT', {'X-Container-Sync-Key': OLD,
                           'X-Timestamp': '1700000000.00000'})
    assert fake.last()[2]['X-Container-Sync-Key'] == expected


# -- shared helpers --------------------------------------------------------

def test_sync_to_forms():
    assert realm_sync_to('DEV', 'C2', 'AUTH_test', 'a b') == \
        '//DEV/C2/AUTH_test/a%20b'
    assert url_sync_to('http://h:1/v1/AUTH_t/', 'a b') == \
        'http://h:1/v1/AUTH_t/a%20b'
    assert parse_sync_to('//DEV/C2/AUTH_test/a%20b') == {
        'form': 'realm', 'realm': 'DEV', 'cluster': 'C2',
        'account': 'AUTH_test', 'container': 'a b'}
    assert parse_sync_to('http://h:1/v1/AUTH_t/c') == {
        'form': 'url', 'base': 'http://h:1/v1', 'account': 'AUTH_t',
        'container': 'c'}
    for bad in ('//DEV/C2/AUTH_test', 'ftp://h/v1/a/c', 'http://h/v1/a'):
        with pytest.raises(ValueError):
            parse_sync_to(bad)


def test_realm_facts_from_info():
    info = {'container_sync': {'realms': {'DEV': {'clusters': {
        'C1': {}, 'C2': {'current': True}}}}}}
    assert current_realm(info) == ('DEV', 'C2')
    assert current_realm({}) is None
    assert realm_knows(info, 'dev', 'c1')
    assert not realm_knows(info, 'dev', 'c3')
    assert not realm_knows(info, 'other', 'c1')


# -- swiftsync keys: credentials and container specs -------------------------

def test_credentials_from_env_as_swiftclient_reads_them():
    from swiftsync.cli.credentials import from_env
    assert from_env({'ST_AUTH': 'http://a/auth/v1.0', 'ST_USER': 'u',
                     'ST_KEY': 'k'}) == {
        'auth': 'http://a/auth/v1.0', 'user': 'u', 'key': 'k',
        'auth_version': '1.0'}
    assert from_env({'OS_AUTH_URL': 'http://ks/v3', 'OS_USERNAME': 'u',
                     'OS_PASSWORD': 'p', 'OS_TENANT_NAME': 't',
                     'OS_USER_DOMAIN_NAME': 'Default'}) == {
        'auth': 'http://ks/v3', 'user': 'u', 'key': 'p', 'auth_version': '3',
        'project_name': 't', 'user_domain_name': 'Default'}
    assert from_env({}) == {}


def test_flags_win_over_profile(tmp_path):
    import argparse
    from swiftsync.cli.credentials import load_profiles, resolve
    path = tmp_path / 'p.conf'
    path.write_text('[profile:east]\nauth = http://e/auth/v1.0\nuser = a:b\n'
                    'key = k1\n')
    profiles = load_profiles(str(path))
    args = argparse.Namespace(src_auth=None, src_user=None, src_key='k2')
    creds = resolve(args, 'src', 'east', profiles, 'source', environ={})
    assert (creds['auth'], creds['user'], creds['key']) == (
        'http://e/auth/v1.0', 'a:b', 'k2')


@pytest.mark.parametrize('text,error', [
    ('[east]\nauth = x\n', 'expected [profile:NAME]'),
    ('[profile:e]\npassword = x\n', 'password: unknown key'),
])
def test_bad_profiles_file(tmp_path, text, error):
    from swiftsync.cli.credentials import CredentialsError, load_profiles
    path = tmp_path / 'p.conf'
    path.write_text(text)
    with pytest.raises(CredentialsError) as e:
        load_profiles(str(path))
    assert error in str(e.value)


def test_container_specs():
    from swiftsync.cli.credentials import CredentialsError
    from swiftsync.cli.keys import split_spec
    profiles = {'east': {}}
    assert split_spec('east:photos', profiles) == ('east', 'photos')
    assert split_spec('photos', profiles) == (None, 'photos')
    assert split_spec(':a:b', profiles) == (None, 'a:b')
    with pytest.raises(CredentialsError) as e:
        split_spec('west:photos', profiles)
    assert "unknown profile 'west'" in str(e.value)


# -- swiftsync keys audit: the verdict on one container ----------------------

INFO = {'container_sync': {'realms': {'DEV': {'clusters': {
    'C1': {'current': True}, 'C2': {}}}}}}


class FakePeer(object):
    url = 'http://c2/v1/AUTH_test'

    class conn(object):
        token = 'tok'


class FakePeers(object):
    def __init__(self, peer):
        self.peer = peer

    def find(self, target):
        return self.peer


@pytest.mark.parametrize('sync_to,key,dest,peer,expected', [
    ('//DEV/C2/AUTH_test/c', 'k', {'x-container-sync-key': 'k'}, True,
     ('ok', 'ok')),
    ('//DEV/C2/AUTH_test/c', 'k', {'x-container-sync-key': 'j'}, True,
     ('problem', 'key-mismatch')),
    ('//DEV/C2/AUTH_test/c', 'k', {}, True,
     ('problem', 'destination-no-key')),
    ('//DEV/C2/AUTH_test/c', 'k', 404, True,
     ('problem', 'destination-missing')),
    ('//DEV/C2/AUTH_test/c', 'k', 403, True,
     ('unchecked', 'no-access')),
    ('//DEV/C2/AUTH_test/c', 'k', None, False,
     ('unchecked', 'no-credentials')),
    ('//DEV/C2/AUTH_test/c', None, None, True, ('problem', 'no-key')),
    ('//OTHER/C2/AUTH_test/c', 'k', None, True,
     ('problem', 'unknown-realm')),
    ('//dev/c9/AUTH_test/c', 'k', None, True,
     ('problem', 'unknown-cluster')),
    ('ftp://x/c', 'k', None, True, ('problem', 'bad-sync-to')),
])
def test_audit_verdicts(monkeypatch, sync_to, key, dest, peer, expected):
    import swiftclient
    from swiftsync.cli import keys

    def head_container(url, token, container):
        assert (url, token, container) == ('http://c2/v1/AUTH_test', 'tok',
                                           'c')
        if isinstance(dest, int):
            raise swiftclient.ClientException('no', http_status=dest)
        return dest

    monkeypatch.setattr(keys.swiftclient, 'head_container', head_container)
    headers = {'x-container-sync-to': sync_to}
    if key:
        headers['x-container-sync-key'] = key
    status, code, reason = keys._audit_one(
        'c', headers, INFO, FakePeers(FakePeer() if peer else None))
    assert (status, code) == expected
    assert 'k' not in reason.split() and 'j' not in reason.split()


def test_stale_cached_info_is_refreshed_once(swift_dir):
    from swift.proxy.controllers.base import get_container_info

    class StaleFirst(FakeSwift):
        heads = 0

        def __call__(self, env, start_response):
            if env['REQUEST_METHOD'] == 'HEAD':
                self.heads += 1
                if self.heads <= 2:  # cached across the key change
                    self.container = {'X-Container-Sync-Key': OLD}
                else:
                    rotated(self, 30)
            return super().__call__(env, start_response)

    fake = StaleFirst()
    app = sync_keys.filter_factory(
        {}, swiftsync_conf=str(swift_dir / 'swiftsync.conf'))(fake)
    req = Request.blank(OBJ, environ={'REQUEST_METHOD': 'PUT'},
                        headers=signed(swift_dir, NEW))
    req.get_response(app)
    assert fake.heads == 3  # the account, then the container twice
    # what container_sync reads next is the fresh info
    assert get_container_info(req.environ, fake)['sync_key'] == NEW
    assert fake.last()[2]['X-Container-Sync-Auth'] == signed(
        swift_dir, NEW)['X-Container-Sync-Auth']


def test_wrong_key_costs_one_refresh_only(swift_dir):
    app, fake = make(swift_dir)
    rotated(fake, 30)
    call(app, OBJ, 'PUT', signed(swift_dir, 'nope'))
    assert [c[:2] for c in fake.calls] == [
        ('HEAD', '/v1/AUTH_test'), ('HEAD', '/v1/AUTH_test/cont'),
        ('HEAD', '/v1/AUTH_test/cont'), ('PUT', OBJ)]
