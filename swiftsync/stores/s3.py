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
An S3 bucket (AWS or any S3-compatible store) as a :class:`RemoteStore`,
through botocore.

Keys (see doc/stores.rst):

* ``hashed`` layout: ``<prefix><hash>/<account>/<container>/<object>``, where
  ``<hash>`` is ``hex(int(md5("<account>/<container>")) % 16**6)`` without
  zero padding: the layout of swift-s3-sync, whose buckets are adopted as
  they are. SLO manifests go to ``<prefix><hash>/.manifests/<account>/
  <container>/<sha256(object)>.swift_slo_manifest`` (one key).
* ``native`` layout: ``<prefix><object>``; manifests under
  ``<prefix>.swiftsync-manifests/``.

An object name ending in ``/`` is the key as it is with ``trailing_slash =
keep`` (AWS, Swift's s3api; what swift-s3-sync writes), or
``<key>.swiftsync-trailing-slash`` with ``trailing_slash = suffix``: S3
clones built on a file tree (SeaweedFS, MinIO) take a key ending in ``/``
for a directory, and answer it with no content and no metadata.

User metadata is ASCII on the wire: a value that is not printable ASCII (or
has leading/trailing blanks, or starts with ``=?``) is sent as an RFC 2047
encoded word ``=?UTF-8?B?...?=``; a name that is not ``[a-z0-9._-]`` is
sent as ``u8--<hex of its UTF-8>``. Both are decoded on read.
"""

import base64
import binascii
import collections
import email.header
import hashlib
import heapq
import json
import re
import xml.etree.ElementTree as ElementTree
from concurrent.futures import Future
from urllib.parse import unquote_plus

import botocore.exceptions

from swiftsync.stores.base import (
    CHUNK_SIZE, GiB, INTERNAL_PREFIX, META_LARGE, MiB, HashingIter,
    IterReader, NotFound, ObjectInfo, PreconditionFailed, RemoteStore,
    SourceChanged, StoreError, close_iter, is_md5, md5_tee, parallel_map,
    split_metadata, unquote_etag, written_info)
from swiftsync.stores.http import read_all
from swiftsync.stores.s3wire import (
    error_of, fast_timestamp, parse_list_page)

PREFIX_SPACE = 16 ** 6
MANIFEST_SUFFIX = '.swift_slo_manifest'
NATIVE_MANIFEST_DIR = '.swiftsync-manifests/'
#: appended to the key of an object whose name ends with '/'
#: (``trailing_slash = suffix``)
TRAILING_SLASH = '.swiftsync-trailing-slash'


def hashed_prefix(account, container):
    """swift-s3-sync's hash prefix of a container: hex, no zero padding."""
    digest = hashlib.md5(('%s/%s' % (account, container)).encode('utf-8'))
    return '%x' % (int(digest.hexdigest(), 16) % PREFIX_SPACE)


def key_base(layout, prefix, account, container):
    """The part of every key of this container before the object name."""
    prefix = prefix or ''
    if layout == 'native':
        return prefix
    return '%s%s/%s/%s/' % (prefix, hashed_prefix(account, container),
                            account, container)


def manifest_key(layout, prefix, account, container, name):
    """Where the SLO manifest of ``name`` is kept."""
    obj_hash = hashlib.sha256(name.encode('utf-8')).hexdigest()
    prefix = prefix or ''
    if layout == 'native':
        return '%s%s%s%s' % (prefix, NATIVE_MANIFEST_DIR, obj_hash,
                             MANIFEST_SUFFIX)
    return '%s%s/.manifests/%s/%s/%s%s' % (
        prefix, hashed_prefix(account, container), account, container,
        obj_hash, MANIFEST_SUFFIX)


# --- metadata on the wire -------------------------------------------------

_PLAIN_NAME = re.compile(r'^[a-z0-9][a-z0-9._-]*$')
_NAME_MARK = 'u8--'
_ENCODED_WORD = re.compile(r'^=\?[^?]+\?[BbQq]\?.*\?=$', re.S)


def encode_meta_name(name):
    name = name.lower()
    if _PLAIN_NAME.match(name) and not name.startswith(_NAME_MARK):
        return name
    return _NAME_MARK + name.encode('utf-8').hex()


def decode_meta_name(name):
    name = name.lower()
    if name.startswith(_NAME_MARK):
        try:
            return bytes.fromhex(name[len(_NAME_MARK):]).decode('utf-8')
        except ValueError:
            pass
    return name


def encode_meta_value(value):
    if (value.isascii() and value.isprintable() and
            value == value.strip() and not value.startswith('=?')):
        return value
    return '=?UTF-8?B?%s?=' % base64.b64encode(
        value.encode('utf-8')).decode('ascii')


def decode_meta_value(value):
    if not _ENCODED_WORD.match(value.strip()):
        return value
    try:
        out = []
        for part, charset in email.header.decode_header(value):
            if isinstance(part, bytes):
                part = part.decode(charset or 'ascii')
            out.append(part)
        return ''.join(out)
    except (ValueError, LookupError, binascii.Error, UnicodeDecodeError):
        return value


def encode_metadata(meta):
    return {encode_meta_name(k): encode_meta_value(v)
            for k, v in meta.items()}


def decode_metadata(meta):
    return {decode_meta_name(k): decode_meta_value(v)
            for k, v in (meta or {}).items()}


# --- errors ---------------------------------------------------------------

def _inner_store_error(exc):
    """A StoreError raised by our own body iterator while botocore was
    sending it (botocore wraps it in HTTPClientError)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, StoreError):
            return exc
        kwargs = getattr(exc, 'kwargs', None) or {}
        exc = kwargs.get('error') or exc.__cause__ or exc.__context__
        seen += 1
    return None


def _dot_segments(name):
    """Whether an object name has a '.' or '..' path segment."""
    return any(seg in ('.', '..') for seg in name.split('/'))


def _status_error(what, status, code='', message=''):
    """The StoreError for an S3 error answer (from botocore or the wire)."""
    msg = ('%s: %s %s' % (what, code, message or '')).strip()
    if status == 404 or code in ('NoSuchKey', 'NotFound', 'NoSuchBucket',
                                 'NoSuchUpload'):
        return NotFound(msg, status or 404)
    if status == 412:
        return PreconditionFailed(msg)
    if code in ('BadDigest', 'InvalidDigest'):
        return SourceChanged(msg)
    retryable = None
    if code in ('SlowDown', 'Throttling', 'RequestTimeout',
                'RequestTimeTooSkewed', 'InternalError'):
        retryable = True
    return StoreError(msg, status, retryable)


def _error(exc, what):
    inner = _inner_store_error(exc)
    if inner is not None:
        return inner
    if isinstance(exc, botocore.exceptions.ClientError):
        resp = exc.response or {}
        err = resp.get('Error', {})
        return _status_error(
            what, resp.get('ResponseMetadata', {}).get('HTTPStatusCode'),
            err.get('Code') or '', err.get('Message') or '')
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        # connection errors, timeouts: no status, retry later. The class
        # name and botocore's message never include credentials.
        return StoreError('%s: %s' % (what, exc), None, True)
    return StoreError('%s: %s: %s' % (what, type(exc).__name__, exc),
                      None, True)


def _wire_error(wire, status, body, what):
    """The StoreError of a wire answer (its body read for the S3 code; a
    HEAD has none)."""
    code, message = wire.error(body)
    return _status_error(what, status, code, message)


def _content_md5(md5_hex):
    """The Content-MD5 header of a body whose md5 is ``md5_hex``."""
    return base64.b64encode(bytes.fromhex(md5_hex)).decode('ascii')


def _body_iter(streaming_body):
    try:
        while True:
            chunk = streaming_body.read(CHUNK_SIZE)
            if not chunk:
                break
            yield chunk
    finally:
        streaming_body.close()


class S3Store(RemoteStore):
    """A key space of one bucket (see the module docstring)."""
    kind = 's3'
    #: S3's MaxKeys
    list_page = 1000
    min_part_size = 5 * MiB
    max_part_size = 5 * GiB
    max_parts = 10000

    def __init__(self, client, bucket, account='', container='',
                 layout='hashed', prefix='', sse=None, sse_kms_key_id=None,
                 storage_class=None, part_concurrency=4, wire=None,
                 make_client=None, trailing_slash='suffix'):
        self._client = client
        #: builds the botocore client on first use when ``client`` is None
        self._make_client = make_client
        #: an :class:`~swiftsync.stores.s3wire.S3Wire` for GET, HEAD and
        #: listing pages, or None to send those through botocore too
        self.wire = wire
        #: parts of one multipart upload sent at once
        self.part_concurrency = part_concurrency
        self.bucket = bucket
        self.account = account
        self.container = container
        self.layout = layout
        self.prefix = prefix or ''
        self.base = key_base(layout, self.prefix, account, container)
        self.sse = sse
        self.sse_kms_key_id = sse_kms_key_id
        self.storage_class = storage_class
        if trailing_slash not in ('suffix', 'keep'):
            raise ValueError('trailing_slash must be suffix or keep, not %r'
                             % (trailing_slash,))
        #: 'suffix': a name ending in '/' is kept under <key>TRAILING_SLASH;
        #: 'keep': it is its key as it is (see the module docstring)
        self.trailing_slash = trailing_slash
        self.max_name_length = max(0, 1024 - len(self.base.encode('utf-8')))

    @property
    def client(self):
        """The botocore client; a Future of one (see stores.open_store)
        is waited for, and ``make_client`` called, on first use."""
        client = self._client
        if client is None:
            client = self._client = self._make_client()
        elif isinstance(client, Future):
            client = self._client = client.result()
        return client

    def __repr__(self):
        return '<S3Store s3://%s/%s>' % (self.bucket, self.base)

    def key(self, name):
        if name.endswith('/') and self.trailing_slash == 'suffix':
            # S3 clones (SeaweedFS, MinIO) take a key ending in '/' for a
            # directory and drop its content: keep such names apart
            return self.base + name + TRAILING_SLASH
        return self.base + name

    def name_fits(self, name):
        return len(self.key(name).encode('utf-8')) <= 1024

    def lowest_name_after(self, key):
        """A bound below the names of the keys after ``key`` (less the
        base)."""
        if self.trailing_slash == 'suffix':
            return lowest_name_after(key)
        return key + '\x00'

    def name_of(self, key):
        name = key[len(self.base):]
        if self.trailing_slash == 'suffix' and \
                name.endswith('/' + TRAILING_SLASH):
            name = name[:-len(TRAILING_SLASH)]
        return name

    def manifest_key(self, name):
        return manifest_key(self.layout, self.prefix, self.account,
                            self.container, name)

    def _write_params(self, content_type, metadata):
        params = {'Bucket': self.bucket, 'Metadata': encode_metadata(metadata)}
        if content_type:
            params['ContentType'] = content_type
        if self.sse:
            params['ServerSideEncryption'] = self.sse
            if self.sse_kms_key_id:
                params['SSEKMSKeyId'] = self.sse_kms_key_id
        if self.storage_class:
            params['StorageClass'] = self.storage_class
        return params

    #: botocore write parameters as the headers of a PUT on the wire
    _PARAM_HEADERS = {
        'ContentType': 'Content-Type',
        'ServerSideEncryption': 'x-amz-server-side-encryption',
        'SSEKMSKeyId': 'x-amz-server-side-encryption-aws-kms-key-id',
        'StorageClass': 'x-amz-storage-class'}

    def _write_headers(self, content_type, metadata):
        """What :meth:`_write_params` sets, as request headers."""
        params = self._write_params(content_type, metadata)
        headers = {'x-amz-meta-' + k: v
                   for k, v in params['Metadata'].items()}
        for param, header in self._PARAM_HEADERS.items():
            if param in params:
                headers[header] = params[param]
        return headers

    def _info(self, name, resp):
        meta = decode_metadata(resp.get('Metadata'))
        user, internal = split_metadata(meta)
        etag = unquote_etag(resp.get('ETag'))
        is_mpu = '-' in etag
        plain_md5 = (not is_mpu and is_md5(etag) and
                     resp.get('ServerSideEncryption') != 'aws:kms')
        lm = resp.get('LastModified')
        extra = {'key': self.key(name), 'internal': internal}
        if resp.get('StorageClass'):
            extra['storage_class'] = resp['StorageClass']
        if resp.get('VersionId'):
            extra['version_id'] = resp['VersionId']
        if internal.get(META_LARGE):
            extra['large'] = internal[META_LARGE]
        return ObjectInfo(
            name=name, size=int(resp.get('ContentLength') or 0), etag=etag,
            last_modified=lm.timestamp() if lm else 0.0,
            content_type=resp.get('ContentType') or '',
            metadata=user,
            content_md5=etag if plain_md5 else internal.get(
                INTERNAL_PREFIX + 'md5'),
            is_large=is_mpu or bool(internal.get(META_LARGE)),
            extra=extra)

    def head(self, name):
        try:
            if self.wire is not None:
                resp = self._wire_call('HEAD', name)[1]
            else:
                resp = self.client.head_object(Bucket=self.bucket,
                                               Key=self.key(name))
        except Exception as e:
            err = _error(e, 'HEAD %s' % self.key(name))
            if isinstance(err, NotFound) or (
                    err.status == 400 and _dot_segments(name)):
                # S3 servers that keep keys as paths (SeaweedFS, MinIO)
                # refuse '.' and '..' segments: they hold no such object
                return None
            raise err from None
        return self._info(name, resp)

    def _wire_call(self, method, name, headers=None):
        """A HEAD or GET of ``name`` on the wire: (status, the response as
        botocore would give it, headers, body); raises StoreError on an
        error status but 304 (whose body is None)."""
        key = self.key(name)
        status, headers, body = self.wire.request(method, self.bucket, key,
                                                  headers=headers)
        if status >= 300:
            if status == 304:
                close_iter(body)
                return status, {'ETag': headers.get('etag')}, headers, None
            raise _wire_error(self.wire, status, body,
                              '%s %s' % (method, key))
        meta = {k[11:]: v for k, v in headers.items()
                if k.startswith('x-amz-meta-')}
        resp = {'Metadata': meta, 'ETag': headers.get('etag'),
                'ContentLength': headers.get('content-length'),
                'ContentType': headers.get('content-type'),
                'ServerSideEncryption': headers.get(
                    'x-amz-server-side-encryption'),
                'StorageClass': headers.get('x-amz-storage-class'),
                'VersionId': headers.get('x-amz-version-id')}
        if headers.get('last-modified'):
            resp['LastModified'] = fast_timestamp(headers['last-modified'])
        if headers.get('content-range'):
            resp['ContentRange'] = headers['content-range']
        return status, resp, headers, body

    _IF = {'if-match': 'IfMatch', 'if-none-match': 'IfNoneMatch',
           'if-modified-since': 'IfModifiedSince',
           'if-unmodified-since': 'IfUnmodifiedSince'}

    def get(self, name, range_header=None, if_headers=None):
        if self.wire is not None:
            return self._wire_get(name, range_header, if_headers)
        params = {'Bucket': self.bucket, 'Key': self.key(name)}
        if range_header:
            params['Range'] = range_header
        for k, v in (if_headers or {}).items():
            params[self._IF[k.lower()]] = v
        try:
            resp = self.client.get_object(**params)
        except botocore.exceptions.ClientError as e:
            status = e.response.get('ResponseMetadata', {}).get(
                'HTTPStatusCode')
            if status == 304:
                info = self._info(name, {'ETag': e.response.get(
                    'ResponseMetadata', {}).get('HTTPHeaders', {}).get(
                        'etag')})
                return info, 304, {}, iter(())
            raise _error(e, 'GET %s' % self.key(name)) from None
        except Exception as e:
            raise _error(e, 'GET %s' % self.key(name)) from None
        info = self._info(name, resp)
        headers = dict(resp['ResponseMetadata'].get('HTTPHeaders', {}))
        if 'ContentRange' in resp:
            total = resp['ContentRange'].rpartition('/')[2]
            if total.isdigit():
                info.size = int(total)
        return (info, resp['ResponseMetadata']['HTTPStatusCode'], headers,
                _body_iter(resp['Body']))

    def _wire_get(self, name, range_header, if_headers):
        headers = dict(if_headers or {})
        if range_header:
            headers['Range'] = range_header
        status, resp, headers, body = self._wire_call('GET', name, headers)
        info = self._info(name, resp)
        if body is None:
            return info, 304, {}, iter(())
        if 'ContentRange' in resp:
            total = resp['ContentRange'].rpartition('/')[2]
            if total.isdigit():
                info.size = int(total)
        return info, status, headers, body

    def put(self, name, body_iter, size, content_type, metadata, etag=None):
        if self.wire is not None:
            return self._wire_put(name, body_iter, size, content_type,
                                  metadata, etag)
        params = self._write_params(content_type, metadata)
        body = HashingIter(body_iter, size, 'PUT %s' % name, expected=etag)
        params.update(Key=self.key(name), Body=IterReader(body, size),
                      ContentLength=size)
        if etag and is_md5(etag):
            params['ContentMD5'] = _content_md5(etag)
        try:
            resp = self.client.put_object(**params)
        except SourceChanged:
            raise
        except Exception as e:
            raise _error(e, 'PUT %s' % self.key(name)) from None
        finally:
            body.close()
        return self._written(name, self.key(name), size, content_type,
                             metadata, unquote_etag(resp.get('ETag')),
                             body.hexdigest())

    def _wire_put(self, name, body_iter, size, content_type, metadata,
                  etag):
        key = self.key(name)
        headers = self._write_headers(content_type, metadata)
        if etag and is_md5(etag):
            headers['Content-MD5'] = _content_md5(etag)
        body = HashingIter(body_iter, size, 'PUT %s' % name, expected=etag)
        try:
            status, rheaders, rbody = self.wire.request(
                'PUT', self.bucket, key, headers=headers, body=body,
                size=size)
        finally:
            body.close()
        if status // 100 != 2:
            raise _wire_error(self.wire, status, rbody, 'PUT %s' % key)
        read_all(rbody)
        return self._written(name, key, size, content_type, metadata,
                             unquote_etag(rheaders.get('etag')),
                             body.hexdigest())

    def _written(self, name, key, size, content_type, metadata, got, md5):
        if self.sse != 'aws:kms' and got and got != md5:
            raise StoreError('PUT %s: stored etag %s is not the md5 sent %s'
                             % (key, got, md5), None, True)
        return written_info(name, size, got or md5, content_type, metadata,
                            md5, key=key)

    def put_large(self, name, parts, size, content_type, metadata,
                  manifest=None, concurrency=None):
        key = self.key(name)
        if concurrency is None:
            concurrency = self.part_concurrency
        params = self._write_params(content_type, metadata)
        params['Key'] = key
        try:
            upload_id = self.client.create_multipart_upload(
                **params)['UploadId']
        except Exception as e:
            raise _error(e, 'POST %s?uploads' % key) from None
        parts = list(parts)   # PartData are cheap: bodies open lazily
        # the whole-content md5 needs the parts in order: one at a time
        total = hashlib.md5() if concurrency <= 1 else None
        try:
            done = parallel_map(
                lambda part: self._upload_part(name, key, upload_id, part,
                                               total),
                parts, concurrency)
            written = sum(p.size for p in parts)
            if written != size:
                raise SourceChanged('%s: read %d bytes of %d' % (
                    name, written, size))
            try:
                resp = self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id,
                    MultipartUpload={'Parts': done})
            except Exception as e:
                raise _error(e, 'POST %s?uploadId' % key) from None
        except BaseException:
            self.abort(key, upload_id)
            raise
        if manifest is not None:
            self._put_manifest(name, manifest)
        return written_info(name, size, unquote_etag(resp.get('ETag')),
                            content_type, metadata,
                            total.hexdigest() if total else None,
                            is_large=True, key=key, parts=len(done))

    def _upload_part(self, name, key, upload_id, part, total=None):
        body = HashingIter(part.chunks, part.size,
                           '%s part %d' % (name, part.number),
                           expected=part.md5)
        reader = _PartReader(body, part.size, total) if total else \
            IterReader(body, part.size)
        kwargs = dict(Bucket=self.bucket, Key=key, UploadId=upload_id,
                      PartNumber=part.number, Body=reader,
                      ContentLength=part.size)
        if part.md5:
            kwargs['ContentMD5'] = _content_md5(part.md5)
        try:
            resp = self.client.upload_part(**kwargs)
        except Exception as e:
            raise _error(e, 'PUT %s part %d' % (key, part.number)) from None
        finally:
            body.close()
        got = unquote_etag(resp.get('ETag'))
        md5 = body.hexdigest()
        if part.md5 and md5 != part.md5:
            raise SourceChanged('%s part %d: md5 %s, expected %s' % (
                name, part.number, md5, part.md5))
        if self.sse != 'aws:kms' and got != md5:
            raise StoreError('%s part %d: stored etag %s is not the md5 '
                             'sent %s' % (key, part.number, got, md5),
                             None, True)
        return {'PartNumber': part.number, 'ETag': got or md5}

    def abort(self, key, upload_id):
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception:
            pass

    def list_uploads(self, initiated=False):
        """Open multipart uploads under this store's key base:
        a list of (key, upload_id), or of (key, upload_id, initiated)
        when ``initiated`` (a UNIX time, None when S3 does not say)."""
        out = []
        kwargs = {'Bucket': self.bucket, 'Prefix': self.base}
        while True:
            try:
                resp = self.client.list_multipart_uploads(**kwargs)
            except Exception as e:
                raise _error(e, 'GET ?uploads') from None
            for u in resp.get('Uploads', []):
                item = (u['Key'], u['UploadId'])
                if initiated:
                    when = u.get('Initiated')
                    item += (when.timestamp() if when else None,)
                out.append(item)
            if not resp.get('IsTruncated'):
                return out
            kwargs['KeyMarker'] = resp.get('NextKeyMarker')
            kwargs['UploadIdMarker'] = resp.get('NextUploadIdMarker')

    def abort_uploads(self, name=None, select=None):
        """Abort open multipart uploads (of ``name``, or all under this
        store's key base, or those for which ``select(object name,
        initiated)`` is true); returns how many."""
        n = 0
        for key, upload_id, when in self.list_uploads(initiated=True):
            if name is not None and key != self.key(name):
                continue
            if select is not None and not select(self.name_of(key), when):
                continue
            self.abort(key, upload_id)
            n += 1
        return n

    def _put_manifest(self, name, manifest):
        data = json.dumps(manifest).encode('utf-8')
        params = self._write_params('application/json', {})
        params.update(Key=self.manifest_key(name), Body=data,
                      ContentLength=len(data))
        try:
            self.client.put_object(**params)
        except Exception as e:
            raise _error(e, 'PUT manifest of %s' % name) from None

    def get_manifest(self, name):
        """The SLO manifest kept beside ``name`` (a list), or None."""
        try:
            resp = self.client.get_object(Bucket=self.bucket,
                                          Key=self.manifest_key(name))
            return json.loads(resp['Body'].read())
        except Exception as e:
            err = _error(e, 'GET manifest of %s' % name)
            if isinstance(err, NotFound):
                return None
            raise err from None

    def post(self, name, content_type, metadata):
        key = self.key(name)
        params = self._write_params(content_type, metadata)
        params.update(Key=key, MetadataDirective='REPLACE',
                      CopySource={'Bucket': self.bucket, 'Key': key})
        try:
            self.client.copy_object(**params)
        except Exception as e:
            raise _error(e, 'COPY %s' % key) from None

    def delete(self, name):
        info = self.head(name)
        if info is None:
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))
            if info.internal.get(META_LARGE) == 'slo':
                self.client.delete_object(Bucket=self.bucket,
                                          Key=self.manifest_key(name))
        except Exception as e:
            raise _error(e, 'DELETE %s' % self.key(name)) from None
        return True

    def list(self, prefix='', marker='', end_marker='', delimiter=None,
             limit=None, reverse=False):
        if reverse:
            # S3 lists forward only: walk the range forward keeping its
            # last ``limit`` entries (memory bounded by the page). The walk
            # starts at the prefix, not at StartAfter=end_marker: SeaweedFS
            # skips the keys below a "directory" given as StartAfter.
            tail = collections.deque(
                self._list(prefix, end_marker, marker, delimiter, None,
                           seek=False), maxlen=limit or None)
            tail.reverse()
            return iter(tail)
        return self._list(prefix, marker, end_marker, delimiter, limit)

    def _list(self, prefix, marker, end_marker, delimiter, limit, seek=True):
        """Swift's forward listing of the names in (marker, end_marker);
        ``seek``: start S3's listing at the marker (StartAfter)."""
        entries = self._list_keys(prefix, marker if seek else '',
                                  end_marker, delimiter, limit)
        if self.trailing_slash == 'suffix':
            entries = in_name_order(entries)
        else:
            entries = (e for _, e in entries)
        n = 0
        for e in entries:
            name = _name(e)
            if end_marker and name >= end_marker:
                return  # names come in order: none after is wanted
            if isinstance(e, dict):
                if not self._subdir_in_range(name, marker, end_marker,
                                             seek):
                    continue
            elif marker and name <= marker:
                # StartAfter is the marker itself, so that no name after
                # it is missed: a name 'dir/' (key 'dir/' + TRAILING_SLASH)
                # that is the marker, or sorts before it, comes too
                continue
            yield e
            n += 1
            if limit is not None and n >= limit:
                return

    def _subdir_in_range(self, subdir, marker, end_marker, seek):
        """Does Swift list ``subdir`` between the bounds? Only if some
        name below it lies strictly between them (and it is not the
        marker: paging by the last entry). S3 gives a common prefix for
        any key after StartAfter, whatever the end; where a bound falls
        inside the subdir one more listing of it decides."""
        if marker and (subdir == marker or (
                subdir < marker and not marker.startswith(subdir))):
            return False
        if not (marker.startswith(subdir) or end_marker.startswith(subdir)):
            return True  # every name below it lies between the bounds
        for _ in self._list(subdir, marker, end_marker, None, 1, seek):
            return True
        return False

    def _list_keys(self, prefix, marker, end_marker, delimiter, limit):
        """(key less the base, entry) of every object and common prefix
        after ``marker``, in key order, a page of the bucket at a time, as
        the caller reads on."""
        kwargs = {'Bucket': self.bucket, 'Prefix': self.base + prefix}
        if marker:
            kwargs['StartAfter'] = self.base + marker
        if delimiter:
            kwargs['Delimiter'] = delimiter
        # the first page a little over the limit: a few keys may be
        # dropped as at or before the marker
        kwargs['MaxKeys'] = 1000 if limit is None else min(1000, limit + 2)
        skip = self.base + NATIVE_MANIFEST_DIR if self.layout == 'native' \
            else None
        cut = len(self.base)
        while True:
            try:
                resp = self._list_page(kwargs) if self.wire is not None \
                    else self.client.list_objects_v2(**kwargs)
            except Exception as e:
                raise _error(e, 'LIST %s' % self.base) from None
            rows = []
            for row in resp.get('Contents', []):
                if skip and row['Key'].startswith(skip):
                    continue
                etag = unquote_etag(row.get('ETag'))
                rows.append((row['Key'][cut:], ObjectInfo(
                    name=self.name_of(row['Key']), size=row.get('Size', 0),
                    etag=etag, last_modified=row['LastModified'].timestamp()
                    if row.get('LastModified') else 0.0,
                    is_large='-' in etag,
                    content_md5=etag if is_md5(etag) else None,
                    extra={'key': row['Key'], 'listing': True,
                           'storage_class': row.get('StorageClass')})))
            for row in resp.get('CommonPrefixes', []):
                if skip and row['Prefix'].startswith(skip):
                    continue
                rows.append((row['Prefix'][cut:],
                             {'subdir': row['Prefix'][cut:]}))
            # S3 gives objects and common prefixes apart, each in order
            rows.sort(key=lambda r: r[0])
            for r in rows:
                yield r
            if not resp.get('IsTruncated'):
                return
            if end_marker and rows and self.lowest_name_after(
                    rows[-1][0]) >= end_marker:
                return  # a next page could only hold names past the end
            kwargs['MaxKeys'] = 1000
            kwargs['ContinuationToken'] = resp['NextContinuationToken']

    #: list_objects_v2 arguments as ListObjectsV2 query parameters
    _LIST_QUERY = {'Prefix': 'prefix', 'StartAfter': 'start-after',
                   'Delimiter': 'delimiter', 'MaxKeys': 'max-keys',
                   'ContinuationToken': 'continuation-token'}

    def _list_page(self, kwargs):
        """One ListObjectsV2 page on the wire, as botocore's
        list_objects_v2 (with its lean parser) returns it."""
        query = {'list-type': '2', 'encoding-type': 'url'}
        for arg, param in self._LIST_QUERY.items():
            if arg in kwargs:
                query[param] = str(kwargs[arg])
        status, _, body = self.wire.request('GET', self.bucket, query=query)
        if status != 200:
            raise _wire_error(self.wire, status, body, 'LIST %s' % self.base)
        data = read_all(body)
        try:
            root = ElementTree.fromstring(data)
        except ElementTree.ParseError:
            raise StoreError('LIST %s: a page cut short' % self.base, 200,
                             True) from None
        if root.tag.rpartition('}')[2] != 'ListBucketResult':
            # an <Error> in a 200: S3 failed after it started answering
            raise _status_error('LIST %s' % self.base, 500,
                                *error_of(data))
        page = parse_list_page(root)
        # encoding-type=url: keys are sent URL-encoded (XML 1.0 cannot
        # carry every character a key may hold), as botocore asks too
        for row in page.get('Contents', ()):
            row['Key'] = unquote_plus(row['Key'])
        for row in page.get('CommonPrefixes', ()):
            row['Prefix'] = unquote_plus(row['Prefix'])
        return page

    def close(self):
        pass


def _name(entry):
    return entry['subdir'] if isinstance(entry, dict) else entry.name


def in_name_order(rows, suffix=TRAILING_SLASH):
    """The entries of ``(key, entry)`` rows in key order, in name order
    (Swift's), for ``trailing_slash = suffix``.

    The two orders differ only where a name ``p/`` is kept as the key
    ``p/`` + suffix: S3 lists it after the names ``p/x`` whose ``x`` sorts
    before the suffix (``p/-x``, ``p/ a``, ``p/.a``), Swift before them.
    So an entry is held back while a key still to come could carry a lower
    name; only such names are held (a container rarely has many).
    """
    held, seq = [], 0
    for key, entry in rows:
        heapq.heappush(held, (_name(entry), seq, entry))
        seq += 1
        floor = lowest_name_after(key, suffix)
        while held and held[0][0] < floor:
            yield heapq.heappop(held)[2]
    while held:
        yield heapq.heappop(held)[2]


def lowest_name_after(key, suffix=TRAILING_SLASH):
    """A bound below every name an entry whose key sorts after ``key``
    can have: ``p/`` for the shortest ``p/`` that begins ``key`` with the
    rest sorting before the suffix (the key ``p/`` + suffix is still to
    come), else just above ``key`` (a name is never lower than its key,
    and holds no NUL)."""
    i = key.find('/')
    while i != -1:
        if key[i + 1:] < suffix:
            return key[:i + 1]
        i = key.find('/', i + 1)
    return key + '\x00'


class _PartReader(IterReader):
    """IterReader that also feeds the whole-object md5."""

    def __init__(self, chunks, size, total_md5):
        super().__init__(md5_tee(chunks, total_md5), size)
