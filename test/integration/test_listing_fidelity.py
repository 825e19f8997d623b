"""The shunt's merged listing of an archived container is Swift's listing
(issue 13): the same names split between the local container and S3,
against one bare Swift container holding them all, for random listing
parameters in every format.

S3 here is Swift's s3api (byte order, as AWS); SeaweedFS lists in file
tree order (test_trailing_slash.py), which Swift's order cannot be made of
across pages.
"""

import xml.etree.ElementTree as ET

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings, strategies as st

from swiftsync import config

from test.integration.clients import swift
from test.integration.test_shunt import archived_container, put_remote

#: names where Swift's order, UTF-8 and S3 keys part ways: a name ending in
#: '/' (a suffixed key on S3), siblings sorting below its suffix, non-ASCII
#: (2, 3 and 4 UTF-8 bytes, combining), characters URLs and XML escape
NAMES = ['dir/', 'dir/ a', 'dir/-x', 'dir/.a', 'dir/a', 'dir/b/', 'dir/b/-c',
         'dir-', 'a b', 'a+b', 'a%2Fb', 'q?x=1', 'h#1', '<&>"\'',
         u'caf\u00e9', u'cafe\u0301', u'\u4e2d\u6587/\u6587', u'\U0001f600',
         u'\u00e9/', u'\u00e9/!', 'z', 'zz/']
LOCAL = set(NAMES[0::3]) | {'z'}
REMOTE = set(NAMES) - LOCAL | {'z'}     # 'z' on both: local wins


@pytest.fixture(scope='module')
def containers(env):
    c1 = env['clusters'][0]
    conn = swift(c1)
    conf = config.load(c1['swiftsync_conf'])
    merged, store = archived_container(conn, conf, c1['account'], 's3api')
    for n in LOCAL:
        conn.put_object(merged, n, b'x')
    for n in REMOTE:
        put_remote(store, n, b'x')
    reference = merged + '-bare'
    conn.put_container(reference)
    for n in NAMES:
        conn.put_object(reference, n, b'x')
    url, token = conn.get_auth()
    return url, token, merged, reference


def listing(url, token, cont, params, fmt):
    q = dict(params)
    if fmt:
        q['format'] = fmt
    r = requests.get('%s/%s' % (url, cont), params=q,
                     headers={'X-Auth-Token': token}, timeout=30)
    if r.status_code == 204:
        return r.status_code, []
    assert r.status_code == 200, (r.status_code, r.text)
    if fmt == 'json':
        return r.status_code, [
            (e['subdir'],) if 'subdir' in e else
            (e['name'], e['bytes'], e['hash']) for e in r.json()]
    if fmt == 'xml':
        doc = ET.fromstring(r.content)
        return r.status_code, [
            (e.get('name'),) if e.tag == 'subdir' else
            (e.find('name').text, e.find('bytes').text, e.find('hash').text)
            for e in doc]
    return r.status_code, r.content.decode('utf-8').splitlines()


BOUND = st.one_of(st.just(''), st.sampled_from(NAMES),
                  st.sampled_from(['dir', 'dir/.', 'e', u'\u4e2d', 'a']))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(['', '', 'dir/', 'dir', u'\u00e9', 'a', 'zz']),
       marker=BOUND, end_marker=BOUND,
       delimiter=st.sampled_from(['', '/']),
       limit=st.sampled_from([None, 1, 2, 5]),
       reverse=st.booleans(),
       fmt=st.sampled_from(['json', 'xml', None]))
# a bound inside a subdir S3 gives as a common prefix: Swift lists the
# subdir only if one of its names lies between the bounds
@example(prefix='', marker='', end_marker=u'\u00e9/!', delimiter='/',
         limit=None, reverse=True, fmt='json')
@example(prefix='', marker='', end_marker='dir/b/-c', delimiter='/',
         limit=None, reverse=True, fmt='json')
@example(prefix='', marker='dir/a', end_marker='dir/b/-c', delimiter='/',
         limit=None, reverse=False, fmt='json')
@example(prefix='', marker='dir/', end_marker='dir/ a', delimiter='/',
         limit=None, reverse=False, fmt='json')
@example(prefix='dir/', marker='dir/b/-c', end_marker='', delimiter='/',
         limit=None, reverse=False, fmt='json')
@example(prefix='', marker=u'\u4e2d', end_marker='dir/.', delimiter='/',
         limit=2, reverse=True, fmt='xml')
def test_merged_listing_is_swifts(containers, prefix, marker, end_marker,
                                  delimiter, limit, reverse, fmt):
    url, token, merged, reference = containers
    params = {k: v for k, v in (
        ('prefix', prefix), ('marker', marker), ('end_marker', end_marker),
        ('delimiter', delimiter), ('limit', limit),
        ('reverse', 'true' if reverse else '')) if v}
    want = listing(url, token, reference, params, fmt)
    got = listing(url, token, merged, params, fmt)
    assert got == want, params


def test_paging_the_merged_listing_is_swifts(containers):
    url, token, merged, reference = containers
    for reverse in (False, True):
        for delimiter in ('', '/'):
            for limit in (1, 3):
                pages = {}
                for cont in (merged, reference):
                    seen, marker = [], ''
                    while True:
                        params = {'limit': limit, 'marker': marker}
                        if delimiter:
                            params['delimiter'] = delimiter
                        if reverse:
                            params['reverse'] = 'true'
                        _, page = listing(url, token, cont, params, 'json')
                        seen += page
                        if len(page) < limit:
                            break
                        marker = page[-1][0]
                    pages[cont] = seen
                assert pages[merged] == pages[reference], (
                    reverse, delimiter, limit)

