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

"""The one place a botocore S3 client is built (SigV4, path style by default)."""

import xml.etree.ElementTree as ElementTree

import botocore.config
import botocore.session
from botocore.handlers import _handle_200_error

from swiftsync.stores.s3wire import fast_timestamp, parse_list_page


def _lean_before_parse(operation_model, response_dict,
                       customized_response_dict, **kwargs):
    """In place of botocore's before-parse check of S3's 200 responses
    (an <Error> or a body cut short in a 200 is a 500, to retry), which
    parses every body once more: a 200 ListObjectsV2 page is parsed here
    once, into the response, and botocore's parser is handed an empty
    body. botocore still signs, sends and retries the request, and its
    after-call hooks (URL-decoding of keys) still run on the result."""
    body = response_dict.get('body')
    if operation_model.name != 'ListObjectsV2' or not body or \
            response_dict.get('status_code') != 200:
        return _handle_200_error(operation_model=operation_model,
                                 response_dict=response_dict, **kwargs)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        response_dict['status_code'] = 500
        return
    tag = root.tag.rpartition('}')[2]
    if tag == 'Error':
        response_dict['status_code'] = 500
    elif tag == 'ListBucketResult':
        customized_response_dict.update(parse_list_page(root))
        response_dict['body'] = b''


def make_s3_client(endpoint, access_key, secret_key, region='us-east-1',
                   addressing_style='path', max_connections=32,
                   timeout=10, retries=0, verify=True, sign_payload=None,
                   lean_listing=False):
    """``sign_payload=False``: send streamed bodies as UNSIGNED-PAYLOAD
    (botocore would otherwise read a body to hash it before sending it,
    which a non-seekable stream cannot do); data integrity then rests on
    Content-MD5. ``lean_listing``: list_objects_v2 pages hold only what
    :func:`parse_list_page` keeps, parsed several times faster."""
    session = botocore.session.get_session()
    session.get_component('response_parser_factory').set_parser_defaults(
        timestamp_parser=fast_timestamp)
    s3_config = {'addressing_style': addressing_style}
    if sign_payload is not None:
        s3_config['payload_signing_enabled'] = sign_payload
    config = botocore.config.Config(
        signature_version='s3v4', s3=s3_config,
        max_pool_connections=max_connections, connect_timeout=timeout,
        read_timeout=timeout,
        # no CRC trailers (aws-chunked) on streamed bodies: S3 clones and
        # older servers do not all take them; we send Content-MD5 instead
        request_checksum_calculation='when_required',
        response_checksum_validation='when_required',
        # retries are ours to decide (backoff, checkpoints), not botocore's
        retries={'total_max_attempts': retries + 1, 'mode': 'standard'})
    client = session.create_client(
        's3', endpoint_url=endpoint or None, region_name=region,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        config=config, verify=verify)
    if lean_listing:
        client.meta.events.unregister('before-parse.s3.*', _handle_200_error)
        client.meta.events.register_first('before-parse.s3.*',
                                          _lean_before_parse)
    return client
