"""S3Store listings in Swift's name order whatever the keys' order: with
``trailing_slash = suffix`` a name 'dir/' is the key
'dir/.swiftsync-trailing-slash', which S3 lists after 'dir/-x'.

A fake ListObjectsV2 (keys in UTF-8 byte order, pages of MaxKeys,
StartAfter, Prefix, Delimiter) against the reference: Swift's listing
rules on the names themselves."""

from hypothesis import given, settings, strategies as st

from swiftsync.stores.s3 import S3Store, TRAILING_SLASH, lowest_name_after


class FakeS3(object):
    def __init__(self, keys):
        self.keys = sorted(keys, key=lambda k: k.encode('utf-8'))
        self.calls = 0

    def list_objects_v2(self, Bucket, Prefix='', StartAfter='',
                        Delimiter=None, MaxKeys=1000,
                        ContinuationToken=None):
        self.calls += 1
        after = ContinuationToken or StartAfter
        rows = [k for k in self.keys if k.startswith(Prefix) and
                k.encode('utf-8') > after.encode('utf-8')]
        out, prefixes, last = [], [], None
        for k in rows:
            if len(out) + len(prefixes) >= MaxKeys:
                break
            rest = k[len(Prefix):]
            if Delimiter and Delimiter in rest:
                p = Prefix + rest[:rest.index(Delimiter) + len(Delimiter)]
                if p not in prefixes:
                    prefixes.append(p)
            else:
                out.append(k)
            last = k
        truncated = bool(rows) and last != rows[-1]
        if truncated and prefixes and last.startswith(prefixes[-1]):
            # S3 goes on after the whole common prefix
            last = prefixes[-1] + '\U0010ffff'
        resp = {'Contents': [{'Key': k, 'Size': 0, 'ETag': '"x"'}
                             for k in out],
                'CommonPrefixes': [{'Prefix': p} for p in prefixes],
                'IsTruncated': truncated}
        if truncated:
            resp['NextContinuationToken'] = last
        return resp


def swift_listing(names, prefix='', marker='', end_marker='',
                  delimiter=None, limit=None, reverse=False):
    """What Swift's container server answers for these object names: the
    names strictly between the bounds (swapped with ``reverse``), those
    with the delimiter after the prefix collapsed into their subdir, a
    subdir that is the lower bound left out (its names were paged)."""
    lo, hi = (end_marker, marker) if reverse else (marker, end_marker)
    out = []
    for n in sorted(names):
        if not n.startswith(prefix) or (lo and n <= lo) or \
                (hi and n >= hi):
            continue
        if delimiter:
            rest = n[len(prefix):]
            if delimiter in rest:
                n = prefix + rest[:rest.index(delimiter) + len(delimiter)]
                if n == lo or (out and out[-1] == n):
                    continue
        out.append(n)
    if reverse:
        out.reverse()
    return out[:limit] if limit else out


def store_of(names, trailing_slash='suffix'):
    probe = S3Store(None, 'b', 'AUTH_a', 'c', layout='native',
                    trailing_slash=trailing_slash)
    client = FakeS3(probe.key(n) for n in names)
    return S3Store(client, 'b', 'AUTH_a', 'c', layout='native',
                   trailing_slash=trailing_slash)


def names_of(entries):
    return [e['subdir'] if isinstance(e, dict) else e.name for e in entries]


TRICKY = ['dir/', 'dir/ a', 'dir/-x', 'dir/.a', 'dir/.swiftsync', 'dir/a',
          'dir/b/', 'dir/b/-c', 'dir/b/c', 'dir-', 'e', 'e/', u'\u00e9/',
          u'\u00e9/!']


def test_a_name_ending_in_slash_comes_before_the_names_it_begins():
    store = store_of(TRICKY)
    assert names_of(store.list()) == sorted(TRICKY)
    # every marker, end_marker and limit, and paging as swiftclient does
    for m in [''] + TRICKY:
        assert names_of(store.list(marker=m)) == swift_listing(
            TRICKY, marker=m), m
        assert names_of(store.list(end_marker=m)) == swift_listing(
            TRICKY, end_marker=m), m
    for limit in range(1, len(TRICKY) + 1):
        paged, marker = [], ''
        while True:
            page = names_of(store.list(marker=marker, limit=limit))
            if not page:
                break
            paged += page
            marker = page[-1]
        assert paged == sorted(TRICKY), limit


def test_the_suffix_bound():
    assert lowest_name_after('dir/-x') == 'dir/'
    assert lowest_name_after('a/b/-c') == 'a/b/'
    assert lowest_name_after('a/-b/-c') == 'a/'  # '-b/-c' < the suffix
    assert lowest_name_after('dir/x') == 'dir/x\x00'
    assert lowest_name_after('dir/' + TRAILING_SLASH) == \
        'dir/' + TRAILING_SLASH + '\x00'


#: path-like names, so that 'a/' and the names it begins ('a/-', 'a/.b')
#: meet often, with segments that sort before the suffix ('-', ' x', '.b')
NAME = st.builds(
    lambda parts, slash: '/'.join(parts) + slash,
    st.lists(st.sampled_from(['a', '-', ' x', '.b', u'\u00e9', '!', 'a.']),
             min_size=1, max_size=3),
    st.sampled_from(['', '/']))


def bound(names):
    """A marker or end_marker: a listed name (where the orders can part),
    or any."""
    return st.one_of(st.just(''), st.sampled_from(sorted(names)), NAME)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), names=st.sets(NAME, min_size=1, max_size=25),
       prefix=st.sampled_from(['', '', 'a', 'a/', '-/', 'a/-']),
       delimiter=st.sampled_from([None, '/']),
       limit=st.one_of(st.none(), st.integers(1, 6)),
       reverse=st.booleans(),
       mode=st.sampled_from(['suffix', 'keep']))
def test_listings_are_swifts(data, names, prefix, delimiter, limit, reverse,
                             mode):
    marker = data.draw(bound(names), 'marker')
    end_marker = data.draw(bound(names), 'end_marker')
    store = store_of(names, mode)
    got = names_of(store.list(prefix=prefix, marker=marker,
                              end_marker=end_marker, delimiter=delimiter,
                              limit=limit, reverse=reverse))
    assert got == swift_listing(names, prefix, marker, end_marker,
                                delimiter, limit, reverse)
