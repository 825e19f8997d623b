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

"""S3 reads without botocore's client: requests signed with AWS Signature
Version 4 and sent over :mod:`swiftsync.stores.http`.

botocore spends about 1 ms of CPU on every request (event hooks, the user
agent string, endpoint rules, serializing and parsing from its models):
more than all the rest of copying a 4 KiB object, and its client takes
0.2 s to build. A GET, a HEAD or a listing page needs none of that, so
:class:`~swiftsync.stores.s3.S3Store` sends those here when the target
names its endpoint and keys, and single PUTs; multipart uploads, copies
and deletes stay with botocore's client.

Every header a request is given is signed, with the host, ``x-amz-date``
and ``x-amz-content-sha256``. A request without a body signs the hash of
the empty string; a body (a single PUT) is streamed as ``UNSIGNED-PAYLOAD``,
as botocore sends our streams too (hashing it first would mean reading it
twice): its integrity rests on ``Content-MD5``.
"""

import datetime
import email.utils
import hashlib
import hmac
import xml.etree.ElementTree as ElementTree
from urllib.parse import quote, urlsplit

from swiftsync.stores.base import close_iter
from swiftsync.stores.http import Pools, http_request

EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()
UNSIGNED = 'UNSIGNED-PAYLOAD'
_DEFAULT_PORTS = {'http': 80, 'https': 443}
#: bytes of an error response read for its code and message
ERROR_BODY_LIMIT = 64 * 1024


def _hmac(key, text):
    return hmac.new(key, text.encode('utf-8'), hashlib.sha256).digest()


def uri_encode(text, safe='-_.~'):
    """SigV4's URI encoding: every byte but the unreserved ones."""
    return quote(text.encode('utf-8'), safe=safe)


def canonical_query(query):
    return '&'.join('%s=%s' % (uri_encode(k), uri_encode(v))
                    for k, v in sorted(query.items()))


def error_of(body):
    """(code, message) of an S3 ``<Error>`` document; ('', '') if none."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return '', ''
    if root.tag.rpartition('}')[2] != 'Error':
        return '', ''
    fields = {node.tag.rpartition('}')[2]: node.text or '' for node in root}
    return fields.get('Code', ''), fields.get('Message', '')


def fast_timestamp(value):
    """botocore's timestamp parser, minus dateutil for ISO 8601.

    Every key of a listing carries a LastModified; dateutil spends about
    65 us on each, 80% of the CPU of a 1,000-key page. The RFC 1123 dates
    of GET and HEAD responses go to the email package; anything else to
    botocore's parser.
    """
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            from botocore.utils import parse_timestamp
            return parse_timestamp(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


#: ListObjectsV2 fields a lean page keeps, and how their text is read
_PAGE_FIELDS = {'Name': str, 'Prefix': str, 'Delimiter': str, 'MaxKeys': int,
                'EncodingType': str, 'KeyCount': int, 'StartAfter': str,
                'IsTruncated': lambda text: text == 'true',
                'ContinuationToken': str, 'NextContinuationToken': str}
_ROW_FIELDS = {'Key': str, 'ETag': str, 'Size': int, 'StorageClass': str,
               'LastModified': fast_timestamp}


def parse_list_page(root):
    """A ListObjectsV2 page (the root element) as botocore would parse it,
    less the fields S3Store does not read (a key's Owner, checksums,
    restore status).

    botocore's model-driven parser takes five times the CPU of
    ElementTree and this loop (153 against 31 ms for a page of 1,000 keys
    on a busy 2-core machine); a run with nothing to do is mostly listing.
    """
    parsed, contents, prefixes = {}, [], []
    for node in root:
        tag = node.tag.rpartition('}')[2]
        if tag == 'Contents':
            row = {}
            for field in node:
                name = field.tag.rpartition('}')[2]
                read = _ROW_FIELDS.get(name)
                if read is not None:
                    row[name] = read(field.text or '')
            contents.append(row)
        elif tag == 'CommonPrefixes':
            for field in node:
                if field.tag.rpartition('}')[2] == 'Prefix':
                    prefixes.append({'Prefix': field.text or ''})
        elif tag in _PAGE_FIELDS:
            parsed[tag] = _PAGE_FIELDS[tag](node.text or '')
    if contents:
        parsed['Contents'] = contents
    if prefixes:
        parsed['CommonPrefixes'] = prefixes
    return parsed


class S3Wire(object):
    """Signed requests to one S3 endpoint, on keep-alive connections;
    safe to share between threads and green threads."""

    def __init__(self, endpoint, access_key, secret_key, region='us-east-1',
                 addressing_style='path', timeout=10.0, verify=True,
                 max_connections=32):
        parts = urlsplit(endpoint)
        self.scheme = parts.scheme
        self.netloc = parts.netloc
        port = parts.port
        # the Host header http.client sends: no port when it is the default
        self.host = parts.hostname if port in (
            None, _DEFAULT_PORTS.get(parts.scheme)) else parts.netloc
        self.base_path = parts.path.rstrip('/')
        self.virtual = addressing_style == 'virtual'
        self.region = region or 'us-east-1'
        self.access_key = access_key
        self._secret = secret_key
        self.pools = Pools(timeout, max_connections, verify)
        self._key_date, self._key = None, None

    def __repr__(self):
        return '<S3Wire %s://%s>' % (self.scheme, self.netloc)

    def _signing_key(self, date):
        if self._key_date != date:
            key = _hmac(('AWS4' + self._secret).encode('utf-8'), date)
            for part in (self.region, 's3', 'aws4_request'):
                key = _hmac(key, part)
            self._key_date, self._key = date, key
        return self._key

    def signed_headers(self, method, host, path, query, headers=None,
                       payload=EMPTY_SHA256, now=None):
        """The SigV4 headers of a request (``path`` as sent) that also
        sends ``headers``, all of them signed."""
        now = now or datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime('%Y%m%dT%H%M%SZ')
        date = amz_date[:8]
        scope = '%s/%s/s3/aws4_request' % (date, self.region)
        signing = {'host': host, 'x-amz-content-sha256': payload,
                   'x-amz-date': amz_date}
        for k, v in (headers or {}).items():
            signing[k.lower()] = ' '.join(str(v).split())
        names = sorted(signing)
        signed = ';'.join(names)
        canonical = '\n'.join((
            method, path, canonical_query(query),
            ''.join('%s:%s\n' % (k, signing[k]) for k in names),
            signed, payload))
        to_sign = '\n'.join((
            'AWS4-HMAC-SHA256', amz_date, scope,
            hashlib.sha256(canonical.encode('utf-8')).hexdigest()))
        signature = hmac.new(self._signing_key(date), to_sign.encode('utf-8'),
                             hashlib.sha256).hexdigest()
        return {
            'x-amz-date': amz_date,
            'x-amz-content-sha256': payload,
            'Authorization': (
                'AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, '
                'Signature=%s' % (self.access_key, scope, signed,
                                  signature)),
        }

    def request(self, method, bucket, key=None, query=None, headers=None,
                body=None, size=None):
        """One request for ``bucket`` (and ``key``); ``body``: an iterator
        of ``size`` bytes in all.

        :returns: (status, headers with lower-case names, body iterator);
                  the caller reads or closes the body
        :raises StoreError: when the endpoint cannot be reached (or what
                            ``body`` raises)
        """
        query = query or {}
        if self.virtual:
            prefix, path = bucket + '.', self.base_path
        else:
            prefix, path = '', self.base_path + '/' + uri_encode(bucket)
        if key is not None:
            path += '/' + uri_encode(key, safe='-_.~/')
        elif self.virtual:
            path += '/'
        hdrs = dict(headers or {})
        hdrs.update(self.signed_headers(
            method, prefix + self.host, path, query, headers,
            EMPTY_SHA256 if body is None else UNSIGNED))
        if query:
            path += '?' + canonical_query(query)
        pool = self.pools.get('%s://%s%s' % (self.scheme, prefix,
                                             self.netloc))
        return http_request(pool, method, path, hdrs, body, size)

    def error(self, body):
        """(code, message) of an error response's body, from its first
        ERROR_BODY_LIMIT bytes: an S3 error document is small, a proxy's
        error page in front of S3 may not be, and its status must still
        be the error reported. The body is closed."""
        data, size = [], 0
        try:
            for chunk in body:
                data.append(chunk)
                size += len(chunk)
                if size >= ERROR_BODY_LIMIT:
                    break
        finally:
            close_iter(body)
        return error_of(b''.join(data))

    def close(self):
        self.pools.close()
