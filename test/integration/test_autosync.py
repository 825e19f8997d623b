"""The autosync filter and ``swiftsync reconcile`` against three real Swift
clusters with Swift's own container-sync daemon running."""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import swiftclient
from swiftclient.exceptions import ClientException

from swift.common.swob import str_to_wsgi

from swiftsync import config, signing
from swiftsync.devcluster import confs
from swiftsync.middleware.autosync import peer_request
from test.integration.deployments import own_deployment
from test.integration.test_devcluster import wait_for

SWIFTSYNC = [sys.executable, '-m', 'swiftsync.cli.main']


dep, env = own_deployment('autosync', 300, clusters=3, replicas=1,
                          s3='none', filters='autosync')


def cl(env, name):
    return next(c for c in env['clusters'] if c['name'] == name)


def swift(env, name, reseller=False):
    c = cl(env, name)
    if reseller:
        return swiftclient.Connection(c['auth_url'], c['reseller_user'],
                                      c['reseller_key'], retries=0)
    return swiftclient.Connection(c['auth_url'], c['user'], c['key'],
                                  retries=0)


def raw(env, name, method, path, headers=None, body=None):
    port = int(cl(env, name)['proxy_url'].rsplit(':', 1)[1])
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, \
            resp.read()
    finally:
        conn.close()


def token(env, name):
    url, tok = swift(env, name).get_auth()
    return tok


def unique(prefix='as'):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def exists(env, name, cont):
    """The container's headers when cluster ``name`` holds it itself (not
    served by forwarding), else None."""
    try:
        h = swift(env, name).head_container(cont)
    except ClientException as e:
        if e.http_status == 404:
            return None
        raise
    return None if 'x-swiftsync-forwarded-to' in h else h


def set_peer(dep, env, name, peer, **items):
    """Set keys of [cluster:peer] in the swiftsync.conf that cluster
    ``name``'s proxy reads, and restart that proxy."""
    path = cl(env, name)['swiftsync_conf']
    confs.set_cluster_keys(path, peer, **items)
    config.load(path)  # still a valid operator file
    dep.procs.stop([name + '-proxy'])
    dep.restart(name + '-proxy')


def pair_secret(env, name, peer):
    return config.load(cl(env, name)['swiftsync_conf']).clusters[peer].secret


# -- namespace --------------------------------------------------------------

def test_container_put_on_one_appears_on_all_with_a_sync_ring(env):
    cont = unique()
    resp = {}
    swift(env, 'c2').put_container(cont, headers={
        'X-Container-Meta-Color': 'blue'}, response_dict=resp)
    assert resp['status'] == 201
    assert resp['headers']['x-container-placement'] == 'c1,c2,c3'
    heads = {n: exists(env, n, cont) for n in ('c1', 'c2', 'c3')}
    assert all(heads.values())
    ring = {'c1': 'c2', 'c2': 'c3', 'c3': 'c1'}
    keys = set()
    for name, h in heads.items():
        assert h['x-container-meta-color'] == 'blue'
        assert h['x-container-placement'] == 'c1,c2,c3'
        assert h['x-container-sync-to'] == '//dev/%s/AUTH_test/%s' % (
            ring[name], cont)
        keys.add(h['x-container-sync-key'])
    (key,) = keys
    assert len(key) >= 43  # 256 random bits


def test_object_written_on_c1_is_read_on_c3_at_once_then_synced(env):
    cont = unique()
    swift(env, 'c1').put_container(cont)
    swift(env, 'c1').put_object(cont, 'hello.txt', b'hello from c1')
    resp = {}
    _, body = swift(env, 'c3').get_object(cont, 'hello.txt',
                                          response_dict=resp)
    assert body == b'hello from c1'
    # at once: served through (from c1 or c2), not yet synced
    assert resp['headers'].get('x-swiftsync-read-through') in ('c1', 'c2')
    head = swift(env, 'c3').head_object(cont, 'hello.txt')
    assert head['content-length'] == '13'

    # Swift's container-sync carries it round the ring c1 -> c2 -> c3
    def synced():
        r = {}
        try:
            _, b = swift(env, 'c3').get_object(cont, 'hello.txt',
                                               response_dict=r)
        except ClientException:
            return False
        return b == b'hello from c1' and \
            'x-swiftsync-read-through' not in r['headers']
    assert wait_for(synced, 60), 'not synced to c3 by container-sync'


def test_names_with_unicode_spaces_and_percent(env):
    cont = unique('café %41 ü')
    swift(env, 'c1').put_container(cont, headers={
        'X-Container-Meta-Note': 'x'})
    for name in ('c2', 'c3'):
        h = exists(env, name, cont)
        assert h and h['x-container-meta-note'] == 'x'
    swift(env, 'c2').put_object(cont, 'ö x%20?.txt', b'odd name')
    resp = {}
    assert swift(env, 'c3').get_object(cont, 'ö x%20?.txt',
                                       response_dict=resp)[1] == b'odd name'
    assert resp['headers'].get('x-swiftsync-read-through')
    status, headers, _ = raw(env, 'c1', 'HEAD', quote('/v1/AUTH_test/' +
                                                       cont),
                             {'X-Auth-Token': token(env, 'c1')})
    assert headers['x-container-sync-to'] == \
        '//dev/c2/AUTH_test/' + quote(cont)
    cont2 = unique('plac é')
    swift(env, 'c1').put_container(cont2, headers={
        'X-Container-Placement': 'c1'})
    swift(env, 'c3').put_object(cont2, 'é', b'fwd')
    assert swift(env, 'c1').get_object(cont2, 'é')[1] == b'fwd'


UTF8_NAMES = ['é', 'ö x%20?.txt', '日本語/ü', 'a+b;c#d=&', '%', '\u00a0nb']


def test_read_through_of_utf8_names(env):
    cont = unique('utf ü')  # a peer PUT to the account path names it
    swift(env, 'c1').put_container(cont)
    assert exists(env, 'c2', cont) and exists(env, 'c3', cont)
    c2 = swift(env, 'c2')
    for name in UTF8_NAMES:
        body = name.encode()
        swift(env, 'c1').put_object(cont, name, body)
        head = c2.head_object(cont, name)
        assert head.get('x-swiftsync-read-through') == 'c1', name
        assert head['content-length'] == str(len(body))
        assert c2.get_object(cont, name)[1] == body
        for ask in (c2.head_object, c2.get_object):
            with pytest.raises(ClientException) as e:
                ask(cont, name + '-missing')
            assert e.value.http_status == 404, name
    # what c2's read-through asks c1: 200 or 404, never 401
    c1 = config.load(cl(env, 'c2')['swiftsync_conf']).clusters['c1']
    for name in UTF8_NAMES:
        for suffix, want in (('', 200), ('-missing', 404)):
            for method in ('HEAD', 'GET'):
                path = str_to_wsgi('/v1/AUTH_test/%s/%s%s' % (
                    cont, name, suffix))
                r = peer_request(c1, 'c2', method, path)
                assert r.status == want, (name, suffix, method, r.status,
                                          r.body)


@pytest.mark.parametrize('fmt', ['json', 'plain', 'xml'])
def test_account_listing_past_the_end_answers_as_swift(env, fmt):
    # X-Swiftsync-Local-Only: the same proxy answering without autosync
    tok = token(env, 'c2')
    for query in ('marker=' + quote('\uffff'), 'prefix=' + unique('none'),
                  'marker=zz&prefix=zz'):
        path = '/v1/AUTH_test?format=%s&%s' % (fmt, query)
        ours = raw(env, 'c2', 'GET', path, {'X-Auth-Token': tok})
        plain = raw(env, 'c2', 'GET', path, {
            'X-Auth-Token': tok, 'X-Swiftsync-Local-Only': '1'})
        assert (ours[0], ours[2]) == (plain[0], plain[2]), query
        assert ours[1]['content-type'] == plain[1]['content-type']
    assert ours[0] == (200 if fmt != 'plain' else 204)
    if fmt == 'json':
        assert ours[2] == b'[]'


def test_swiftclient_full_listing_ends(env):
    prefix = unique('full')
    for i in range(3):
        swift(env, 'c2').put_container('%s-%d' % (prefix, i))
    _, listing = swift(env, 'c1').get_account(prefix=prefix,
                                              full_listing=True)
    assert [c['name'] for c in listing] == [
        '%s-%d' % (prefix, i) for i in range(3)]
    assert swift(env, 'c3').get_account(marker='\uffff',
                                        full_listing=True)[1] == []


def test_local_only_header_turns_read_through_off(env):
    cont = unique()
    swift(env, 'c1').put_container(cont)
    swift(env, 'c1').put_object(cont, 'o', b'on c1')
    with pytest.raises(ClientException) as e:
        swift(env, 'c2').head_object(cont, 'o', headers={
            'X-Swiftsync-Local-Only': 'yes'})
    assert e.value.http_status == 404
    assert swift(env, 'c2').head_object(cont, 'o')['content-length'] == '5'


def test_read_through_miss_is_404(env):
    cont = unique()
    swift(env, 'c1').put_container(cont)
    with pytest.raises(ClientException) as e:
        swift(env, 'c3').get_object(cont, 'nothing')
    assert e.value.http_status == 404


def test_post_mirrors_metadata_and_acls(env):
    cont = unique()
    swift(env, 'c1').put_container(cont)
    swift(env, 'c3').post_container(cont, {
        'X-Container-Meta-Owner': 'ops', 'X-Container-Read': '.r:*'})
    for name in ('c1', 'c2', 'c3'):
        h = exists(env, name, cont)
        assert h['x-container-meta-owner'] == 'ops'
        assert h['x-container-read'] == '.r:*'


def test_account_listing_merges_the_namespace(env):
    prefix = unique('ls')
    swift(env, 'c1').put_container(prefix + '-a', headers={
        'X-Container-Placement': 'c1'})
    swift(env, 'c3').put_container(prefix + '-b', headers={
        'X-Container-Placement': 'c3'})
    swift(env, 'c2').put_container(prefix + '-c')
    for name in ('c1', 'c2', 'c3'):
        _, listing = swift(env, name).get_account(prefix=prefix)
        assert [c['name'] for c in listing] == [
            prefix + '-a', prefix + '-b', prefix + '-c'], name
    _, page = swift(env, 'c2').get_account(prefix=prefix, limit=2,
                                           marker=prefix + '-a')
    assert [c['name'] for c in page] == [prefix + '-b', prefix + '-c']
    status, _, body = raw(env, 'c2', 'GET', '/v1/AUTH_test?prefix=%s'
                          '&reverse=true&format=plain' % prefix,
                          {'X-Auth-Token': token(env, 'c2')})
    assert status == 200
    assert body.decode().split() == [prefix + '-c', prefix + '-b',
                                     prefix + '-a']


@pytest.mark.parametrize('fmt', ['json', 'plain', 'xml'])
def test_account_listing_with_non_ascii_params_merges_the_namespace(env, fmt):
    # containers only on c1 and only on c3: c2 must merge both, bounded
    # by the non-ASCII marker, end_marker and prefix as Swift bounds them
    prefix = unique('ü')
    names = ['%s-%s' % (prefix, s) for s in ('a', 'é', 'ж', '\U0001f600')]
    for i, name in enumerate(names):
        swift(env, 'c1' if i % 2 else 'c3').put_container(
            name, headers={'X-Container-Placement': 'c1' if i % 2 else 'c3'})
    tok = token(env, 'c2')
    for query, want in (
            ({'prefix': prefix}, names),
            ({'prefix': prefix, 'marker': names[1]}, names[2:]),
            ({'prefix': prefix, 'end_marker': names[2]}, names[:2]),
            ({'prefix': prefix, 'marker': names[2], 'reverse': 'true'},
             names[1::-1]),
            ({'prefix': prefix + '-', 'delimiter': 'ж'}, names)):
        q = '&'.join('%s=%s' % (k, quote(v)) for k, v in query.items())
        status, headers, body = raw(
            env, 'c2', 'GET', '/v1/AUTH_test?format=%s&%s' % (fmt, q),
            {'X-Auth-Token': tok})
        assert status == 200, (query, status, body)
        text = body.decode('utf-8')
        if fmt == 'json':
            got = [c.get('name', c.get('subdir')) for c in json.loads(text)]
        elif fmt == 'plain':
            got = text.split('\n')[:-1]
        else:
            got = [e.get('name') or e.findtext('name')
                   for e in ET.fromstring(body)]
        assert got == want, query


def test_invalid_utf8_and_nul_names_are_412_as_in_swift(env):
    tok = token(env, 'c1')
    for path in ('/v1/AUTH_test/%FF', '/v1/AUTH_test/bad%00name',
                 '/v1/AUTH_test/c/%FFobj'):
        for method in ('PUT', 'POST', 'GET', 'DELETE'):
            status, _, body = raw(env, 'c1', method, path,
                                  {'X-Auth-Token': tok})
            assert status == 412, (method, path, status, body)
            assert b'Invalid UTF8 or contains NULL' in body


def test_reseller_account_changes_are_mirrored(env):
    account = 'AUTH_' + unique('acct').replace('-', '')
    admin = swift(env, 'c1', reseller=True)
    url, tok = admin.get_auth()
    base = url.rsplit('/', 1)[0] + '/' + account
    status, headers, _ = raw(env, 'c1', 'PUT', '/v1/' + account, {
        'X-Auth-Token': tok, 'X-Account-Meta-Team': 'blue'})
    assert status == 201 and 'x-swiftsync-pending' not in headers
    for name in ('c1', 'c2', 'c3'):
        tok_n = swift(env, name, reseller=True).get_auth()[1]
        h = swiftclient.head_account(base.replace(
            cl(env, 'c1')['proxy_url'], cl(env, name)['proxy_url']), tok_n)
        assert h['x-account-meta-team'] == 'blue', name
    status, _, _ = raw(env, 'c2', 'POST', '/v1/' + account, {
        'X-Auth-Token': swift(env, 'c2', reseller=True).get_auth()[1],
        'X-Account-Meta-Team': 'green'})
    assert status == 204
    for name in ('c1', 'c3'):
        status, headers, _ = raw(env, name, 'HEAD', '/v1/' + account, {
            'X-Auth-Token': swift(env, name, reseller=True).get_auth()[1]})
        assert headers['x-account-meta-team'] == 'green', name
    # a plain user is refused locally and nothing reaches the peers
    status, _, _ = raw(env, 'c1', 'PUT', '/v1/AUTH_' + unique('x'), {
        'X-Auth-Token': token(env, 'c1')})
    assert status == 403


# -- placement --------------------------------------------------------------

@pytest.mark.parametrize('value,reason', [
    ('c1,c9', "unknown cluster 'c9'"),
    ('-c1,-c2,-c3', 'excludes every cluster'),
    (' , ', 'names no cluster'),
])
def test_bad_placement_is_400(env, value, reason):
    cont = unique()
    status, _, body = raw(env, 'c1', 'PUT', '/v1/AUTH_test/' + cont, {
        'X-Auth-Token': token(env, 'c1'), 'X-Container-Placement': value})
    assert status == 400
    assert reason in body.decode()
    assert not any(exists(env, n, cont) for n in ('c1', 'c2', 'c3'))


def test_placement_picks_clusters_and_others_forward(env):
    cont = unique()
    resp = {}
    swift(env, 'c1').put_container(cont, headers={
        'X-Container-Placement': 'c3,c1'}, response_dict=resp)
    assert resp['headers']['x-container-placement'] == 'c1,c3'
    assert exists(env, 'c1', cont)['x-container-sync-to'].startswith(
        '//dev/c3/')
    assert exists(env, 'c3', cont)['x-container-sync-to'].startswith(
        '//dev/c1/')
    # c2 does not hold it but serves it: forwarded
    status, headers, _ = raw(env, 'c2', 'HEAD', '/v1/AUTH_test/' + cont,
                             {'X-Auth-Token': token(env, 'c2')})
    assert status == 204
    assert headers['x-swiftsync-forwarded-to'] == 'c1'
    # an object PUT through c2 lands on c1, where it is stored
    swift(env, 'c2').put_object(cont, 'via-c2', b'forwarded')
    assert swift(env, 'c1').get_object(cont, 'via-c2')[1] == b'forwarded'
    assert swift(env, 'c2').get_object(cont, 'via-c2')[1] == b'forwarded'
    # a POST through c2 is done by c1, which mirrors it to c3
    swift(env, 'c2').post_container(cont, {'X-Container-Meta-Via': 'c2'})
    assert exists(env, 'c1', cont)['x-container-meta-via'] == 'c2'
    assert exists(env, 'c3', cont)['x-container-meta-via'] == 'c2'
    # exclusion form: the default placement minus c1
    cont2 = unique()
    swift(env, 'c1').put_container(cont2, headers={
        'X-Container-Placement': '-c1'})
    assert [bool(exists(env, n, cont2)) for n in ('c1', 'c2', 'c3')] == \
        [False, True, True]
    status, headers, _ = raw(env, 'c1', 'HEAD', '/v1/AUTH_test/' + cont2,
                             {'X-Auth-Token': token(env, 'c1')})
    assert headers.get('x-swiftsync-forwarded-to') == 'c2'


def test_forwarding_keeps_local_authorization(env):
    cont = unique()
    swift(env, 'c1').put_container(cont, headers={
        'X-Container-Placement': 'c1'})
    swift(env, 'c1').put_object(cont, 'secret', b'owner only')
    # test2 is not allowed in AUTH_test: refused on c2 before forwarding
    c2 = cl(env, 'c2')
    other = swiftclient.Connection(c2['auth_url'], c2['user2'], c2['key2'],
                                   retries=0)
    url, tok = other.get_auth()
    status, _, _ = raw(env, 'c2', 'GET', '/v1/AUTH_test/%s/secret' % cont,
                       {'X-Auth-Token': tok})
    assert status == 403
    status, _, _ = raw(env, 'c2', 'GET', '/v1/AUTH_test/%s/secret' % cont)
    assert status == 401


# -- signed peer requests ---------------------------------------------------

def peer_headers(env, method, path, sender='c1', receiver='c2', now=None,
                 secret=None):
    secret = secret or pair_secret(env, receiver, sender)
    return signing.sign_headers(secret, method, path, sender, receiver,
                                now=now)


def test_signed_peer_request_needs_no_token(env):
    cont = unique()
    path = '/v1/AUTH_test/' + cont
    status, _, _ = raw(env, 'c2', 'PUT', path,
                       peer_headers(env, 'PUT', path))
    assert status == 201
    # applied locally only: never forwarded to c1 or c3
    assert exists(env, 'c2', cont)
    assert not exists(env, 'c1', cont) and not exists(env, 'c3', cont)


@pytest.mark.parametrize('case', ['unsigned', 'forged', 'wrong-secret',
                                  'expired', 'future-skew', 'unknown-peer',
                                  'with-token', 'container-header'])
def test_client_sending_peer_headers_gets_401(env, case):
    cont = unique()
    path = '/v1/AUTH_test/' + cont
    if case == 'unsigned':
        headers = {'X-Swiftsync-Peer': 'c1'}
    elif case == 'container-header':
        headers = {'X-Swiftsync-Peer-Container': cont}
        path = '/v1/AUTH_test'
    elif case == 'forged':
        headers = peer_headers(env, 'PUT', path)
        headers['X-Swiftsync-Peer-Signature'] = 'a' * 64
    elif case == 'wrong-secret':
        headers = peer_headers(env, 'PUT', path, secret='x' * 48)
    elif case == 'expired':
        headers = peer_headers(env, 'PUT', path, now=time.time() - 120)
    elif case == 'future-skew':
        headers = peer_headers(env, 'PUT', path, now=time.time() + 120)
    elif case == 'unknown-peer':
        headers = peer_headers(env, 'PUT', path, secret='x' * 48)
        headers['X-Swiftsync-Peer'] = 'c9'
    else:
        headers = peer_headers(env, 'PUT', path)
        headers['X-Swiftsync-Peer-Signature'] = 'b' * 64
        headers['X-Auth-Token'] = token(env, 'c2')
    status, _, body = raw(env, 'c2', 'PUT', path, headers)
    assert status == 401, body
    assert body.startswith(b'autosync: ')
    assert not exists(env, 'c2', cont)


def test_replayed_peer_request_gets_401(env):
    cont = unique()
    path = '/v1/AUTH_test/' + cont
    headers = peer_headers(env, 'PUT', path)
    assert raw(env, 'c2', 'PUT', path, headers)[0] == 201
    swift(env, 'c2').delete_container(cont)
    status, _, body = raw(env, 'c2', 'PUT', path, headers)
    assert status == 401
    assert b'replayed' in body
    assert not exists(env, 'c2', cont)


# -- delete -----------------------------------------------------------------

def test_delete_not_empty_somewhere_is_409_and_deletes_nothing(env):
    cont = unique()
    swift(env, 'c1').put_container(cont, headers={
        'X-Container-Placement': 'c1,c3'})
    # an object on c3 only (container-sync has not run yet, or runs later)
    swift(env, 'c3').put_object(cont, 'o', b'x')
    with pytest.raises(ClientException) as e:
        swift(env, 'c1').delete_container(cont)
    assert e.value.http_status == 409
    assert 'c3' in e.value.http_response_content.decode()
    assert exists(env, 'c1', cont) and exists(env, 'c3', cont)


def listed(env, name, cont):
    return [o['name'] for o in swift(env, name).get_container(cont)[1]]


def gone_everywhere(env, cont, names=('c1', 'c2', 'c3')):
    return not any(exists(env, n, cont) for n in names)


def test_delete_right_after_deleting_the_objects_works_everywhere(env):
    """What `swift delete CONT` does: every object deleted, then the
    container, before container-sync carried the deletes to the peers."""
    cont = unique()
    swift(env, 'c1').put_container(cont)
    names = ['o%d' % i for i in range(5)] + [u'caf\u00e9 %25 ?x']
    for n in names:
        swift(env, 'c1').put_object(cont, n, b'x')
    # the peers hold them (container-sync ran)
    for peer in ('c2', 'c3'):
        assert wait_for(lambda: sorted(listed(env, peer, cont)) ==
                        sorted(names), timeout=60), peer
    start = time.time()
    for n in names:
        swift(env, 'c1').delete_object(cont, n)
    swift(env, 'c1').delete_container(cont)
    assert gone_everywhere(env, cont)
    print('swift delete to gone everywhere: %.3f s' % (time.time() - start))


def test_delete_keeps_an_object_newer_on_a_peer_than_the_local_delete(env):
    cont = unique()
    swift(env, 'c1').put_container(cont, headers={
        'X-Container-Placement': 'c1,c3'})
    swift(env, 'c1').put_object(cont, 'old', b'x')
    swift(env, 'c1').put_object(cont, 'kept', b'x')
    assert wait_for(lambda: len(listed(env, 'c3', cont)) == 2, timeout=60)
    swift(env, 'c1').delete_object(cont, 'old')
    swift(env, 'c1').delete_object(cont, 'kept')
    # written again on c3 after c1's delete: newer there
    swift(env, 'c3').put_object(cont, 'kept', b'newer on c3')
    with pytest.raises(ClientException) as e:
        swift(env, 'c1').delete_container(cont)
    assert e.value.http_status == 409
    body = e.value.http_response_content.decode()
    assert 'container not empty on cluster c3: 1 object newer' in body, body
    assert exists(env, 'c1', cont) and exists(env, 'c3', cont)
    assert swift(env, 'c3').get_object(cont, 'kept')[1] == b'newer on c3'
    # the delete c1 made did reach c3
    assert 'old' not in listed(env, 'c3', cont)


def test_delete_empty_removes_every_copy(env):
    cont = unique()
    swift(env, 'c3').put_container(cont)
    swift(env, 'c2').delete_container(cont)
    assert not any(exists(env, n, cont) for n in ('c1', 'c2', 'c3'))


# -- faults and consistency -------------------------------------------------

def test_strict_peer_down_put_is_503_and_rolled_back(dep, env):
    cont = unique()
    dep.procs.stop(['c2-proxy'])
    try:
        with pytest.raises(ClientException) as e:
            swift(env, 'c1').put_container(cont)
        assert e.value.http_status == 503
        assert 'cluster c2 failed' in e.value.http_response_content.decode()
        assert not exists(env, 'c1', cont)
        assert not exists(env, 'c3', cont)
    finally:
        dep.restart('c2-proxy')
    assert not exists(env, 'c2', cont)


def test_strict_peer_down_post_and_delete_change_nothing(dep, env):
    cont = unique()
    swift(env, 'c1').put_container(cont, headers={
        'X-Container-Meta-Color': 'red'})
    dep.procs.stop(['c2-proxy'])
    try:
        with pytest.raises(ClientException) as e:
            swift(env, 'c1').post_container(
                cont, {'X-Container-Meta-Color': 'green'})
        assert e.value.http_status == 503
        assert exists(env, 'c1', cont)['x-container-meta-color'] == 'red'
        assert exists(env, 'c3', cont)['x-container-meta-color'] == 'red'
        with pytest.raises(ClientException) as e:
            swift(env, 'c1').delete_container(cont)
        assert e.value.http_status == 503
        assert exists(env, 'c1', cont) and exists(env, 'c3', cont)
        # the listing still answers, naming the cluster it could not ask
        headers, listing = swift(env, 'c1').get_account(prefix=cont)
        assert [c['name'] for c in listing] == [cont]
        assert headers['x-swiftsync-unreachable'] == 'c2'
    finally:
        dep.restart('c2-proxy')


def test_hanging_peer_times_out_with_503(dep, env):
    set_peer(dep, env, 'c1', 'c3', timeout='1.5')
    pid = dep.procs.procs['c3-proxy']['pid']
    cont = unique()
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.time()
        with pytest.raises(ClientException) as e:
            swift(env, 'c1').put_container(cont)
        took = time.time() - started
        assert e.value.http_status == 503
        assert 'cluster c3 failed: timed out' in \
            e.value.http_response_content.decode()
        assert took < 8
    finally:
        os.kill(pid, signal.SIGCONT)
        set_peer(dep, env, 'c1', 'c3', timeout='10')
    assert not exists(env, 'c1', cont)
    assert not exists(env, 'c2', cont)
    # c3 did the PUT once it woke up; the DELETE taking it back was queued
    assert wait_for(lambda: exists(env, 'c3', cont), 10)
    out = reconcile(env, 'c1')
    assert out.returncode == 0, out.stdout + out.stderr
    assert not exists(env, 'c3', cont)


def status(env, name, *extra):
    return subprocess.run(
        SWIFTSYNC + ['status', cl(env, name)['swiftsync_conf'],
                     '--account', 'AUTH_test'] + list(extra),
        capture_output=True, text=True, timeout=120)


def reconcile(env, name, *extra):
    out = subprocess.run(
        SWIFTSYNC + ['reconcile', cl(env, name)['swiftsync_conf'],
                     '--once', '--account', 'AUTH_test'] + list(extra),
        capture_output=True, text=True, timeout=120)
    return out


def test_peer_answering_5xx_is_a_failure(dep, env):
    cont = unique()
    dep.procs.stop(['c2-container1'])  # c2's proxy answers 503
    try:
        with pytest.raises(ClientException) as e:
            swift(env, 'c1').put_container(cont)
        assert e.value.http_status == 503
        assert 'cluster c2 failed: answered 503' in \
            e.value.http_response_content.decode()
    finally:
        dep.restart('c2-container1')
    assert not exists(env, 'c1', cont) and not exists(env, 'c3', cont)


def test_eventual_peer_down_queued_then_reconciled(dep, env):
    set_peer(dep, env, 'c1', 'c2', consistency='eventual')
    cont, meta, gone = unique(), unique(), unique()
    try:
        for c in (meta, gone):
            swift(env, 'c1').put_container(c)
        dep.procs.stop(['c2-proxy'])
        try:
            resp = {}
            swift(env, 'c1').put_container(cont, response_dict=resp)
            assert resp['status'] == 201
            assert resp['headers']['x-swiftsync-pending'] == 'c2'
            assert exists(env, 'c3', cont)
            swift(env, 'c1').post_container(
                meta, {'X-Container-Meta-Mood': 'calm'}, response_dict=resp)
            assert resp['headers']['x-swiftsync-pending'] == 'c2'
            swift(env, 'c1').delete_container(gone, response_dict=resp)
            assert resp['headers']['x-swiftsync-pending'] == 'c2'
            assert not exists(env, 'c1', gone) and \
                not exists(env, 'c3', gone)
            dry = reconcile(env, 'c1', '--dry-run')
            assert dry.returncode == 1
            assert '"depth": 3' in dry.stdout
            # swiftsync status shows the same
            out = status(env, 'c1', '--autosync')
            assert out.returncode == 1, out.stdout + out.stderr
            assert re.match(r'AUTOSYNC \(cluster c1\): queue 3 \(c2: 3\), '
                            r'oldest \d+s; .*; unreachable: c2$',
                            out.stdout.strip()), out.stdout
        finally:
            dep.restart('c2-proxy')
        # the cloud sync table, then autosync: c2 lacks the new container
        out = status(env, 'c1')
        assert out.returncode == 1
        assert out.stdout.startswith('CONTAINER')
        assert 'queue 3 (c2: 3)' in out.stdout
        assert '\n  AUTH_test/%s  c2  missing\n' % cont in out.stdout + '\n'
        out = reconcile(env, 'c1')
        assert out.returncode == 0, out.stdout + out.stderr
        assert '"replayed": 3' in out.stdout
        h1, h2 = exists(env, 'c1', cont), exists(env, 'c2', cont)
        assert h2 is not None
        assert h2['x-container-sync-key'] == h1['x-container-sync-key']
        assert h2['x-container-sync-to'] == '//dev/c3/AUTH_test/' + cont
        assert exists(env, 'c2', meta)['x-container-meta-mood'] == 'calm'
        assert not exists(env, 'c2', gone)
        # the queue is empty now, and nothing differs for these containers
        report = json.loads(status(env, 'c1', '--autosync', '--json').stdout)
        assert report['queue']['depth'] == 0
        assert not [d for d in report['differences']
                    if d['container'] in (cont, meta, gone)]
    finally:
        set_peer(dep, env, 'c1', 'c2', consistency='strict')


def test_reconcile_repairs_a_missing_copy_and_metadata(env):
    cont = unique()
    swift(env, 'c1').put_container(cont, headers={
        'X-Container-Meta-Tier': 'gold'})
    # a copy lost and one changed behind autosync's back (signed requests
    # go to one cluster only)
    path = '/v1/AUTH_test/' + cont
    assert raw(env, 'c3', 'DELETE', path,
               peer_headers(env, 'DELETE', path, 'c1', 'c3'))[0] == 204
    assert raw(env, 'c2', 'POST', path, dict(
        peer_headers(env, 'POST', path, 'c1', 'c2'),
        **{'X-Container-Meta-Tier': 'lead'}))[0] == 204
    out = reconcile(env, 'c1')
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r'"problem": "missing"', out.stdout)
    assert re.search(r'"problem": "differs: x-container-meta-tier"',
                     out.stdout)
    h1, h2, h3 = (exists(env, n, cont) for n in ('c1', 'c2', 'c3'))
    assert h2['x-container-meta-tier'] == h3['x-container-meta-tier'] == \
        'gold'
    assert h3['x-container-sync-key'] == h1['x-container-sync-key']
    assert h3['x-container-placement'] == 'c1,c2,c3'



# -- versioned containers ----------------------------------------------------

def _versions(env, name, cont):
    """(name, version_id, is a delete marker) of every version listed on
    cluster ``name``, as Swift lists them."""
    _, listing = swift(env, name).get_container(cont,
                                                query_string='versions')
    return [(v['name'], v['version_id'],
             v['content_type'].startswith('application/x-deleted'))
            for v in listing]


def test_versioning_enabled_on_a_new_mirrored_container(env):
    cont = unique('ver')
    resp = {}
    swift(env, 'c1').put_container(cont, headers={
        'X-Versions-Enabled': 'true'}, response_dict=resp)
    assert resp['status'] == 201
    for name in ('c1', 'c2', 'c3'):
        h = exists(env, name, cont)
        assert h['x-versions-enabled'] == 'True', name
        # Swift forbids versioning on a container-sync source
        assert 'x-container-sync-to' not in h, name


def test_versioning_enabled_on_a_synced_container_drops_its_sync(env):
    cont = unique('ver')
    c1 = swift(env, 'c1')
    c1.put_container(cont)
    assert exists(env, 'c2', cont)['x-container-sync-to']
    resp = {}
    c1.post_container(cont, {'X-Versions-Enabled': 'true'},
                      response_dict=resp)
    assert resp['status'] == 204
    for name in ('c1', 'c2', 'c3'):
        h = exists(env, name, cont)
        assert h['x-versions-enabled'] == 'True', name
        assert 'x-container-sync-to' not in h, name
    # suspending is mirrored too
    c1.post_container(cont, {'X-Versions-Enabled': 'false'})
    for name in ('c1', 'c2', 'c3'):
        assert exists(env, name, cont)['x-versions-enabled'] == 'False'


def test_owner_sync_and_versioning_is_refused_as_by_swift(env):
    cont = unique('ver')
    c1 = swift(env, 'c1')
    c1.put_container(cont, headers={
        'X-Container-Sync-To': '//dev/c2/AUTH_test/elsewhere',
        'X-Container-Sync-Key': 'k' * 40})
    with pytest.raises(ClientException) as e:
        c1.post_container(cont, {'X-Versions-Enabled': 'true'})
    assert e.value.http_status == 400
    assert b'container syncing' in e.value.http_response_content


def test_versions_written_on_c1_are_listed_and_restored_on_c2(env):
    cont = unique('ver')
    c1, c2 = swift(env, 'c1'), swift(env, 'c2')
    c1.put_container(cont, headers={'X-Versions-Enabled': 'true'})
    ids = []
    for body in (b'one', b'two'):
        resp = {}
        c1.put_object(cont, 'doc', body, content_type='text/x-doc',
                      headers={'X-Object-Meta-Rev': body.decode()},
                      response_dict=resp)
        ids.append(resp['headers']['x-object-version-id'])
    c1.delete_object(cont, 'doc')
    c1.put_object(cont, 'doc', b'three')
    c1.put_object(cont, 'other/ü', b'unicode')
    want = _versions(env, 'c1', cont)
    assert len(want) == 5 and sum(m for _, _, m in want) == 1
    assert _versions(env, 'c2', cont) == []  # nothing synced it yet

    out = reconcile(env, 'c1')
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    carried = [d for d in report['differences']
               if d['container'] == cont and d.get('version_id')]
    assert len(carried) == 2 * 5  # to c2 and c3
    assert all(d['fix'] == 'done' for d in carried), carried
    for name in ('c2', 'c3'):
        assert _versions(env, name, cont) == want, name

    # the peer serves each version, and restores one as Swift does
    h, body = c2.get_object(cont, 'doc', query_string='version-id=' + ids[0])
    assert body == b'one' and h['x-object-meta-rev'] == 'one'
    assert h['content-type'] == 'text/x-doc'
    assert c2.get_object(cont, 'doc')[1] == b'three'
    status, _, _ = raw(env, 'c2', 'PUT', '/v1/AUTH_test/%s/doc?version-id=%s'
                       % (cont, ids[1]), {'X-Auth-Token': token(env, 'c2')})
    assert status == 201
    assert c2.get_object(cont, 'doc')[1] == b'two'

    # a second pass sends nothing again
    again = json.loads(reconcile(env, 'c1').stdout)
    assert not [d for d in again['differences']
                if d['container'] == cont and d.get('version_id')]
