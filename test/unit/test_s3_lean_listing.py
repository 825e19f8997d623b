"""The lean ListObjectsV2 parser gives what botocore's parser gives."""

import xml.etree.ElementTree as ElementTree

import botocore.session
from botocore.parsers import RestXMLParser

from swiftsync.stores import botoclient

PAGE = b'''<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Name>bucket</Name><Prefix>p/</Prefix><StartAfter>p/a</StartAfter>
<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>
<IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>
<Contents><Key>p/a%20b&amp;c&lt;d&gt;%C3%A9</Key>
<LastModified>2026-11-21T21:58:34.120Z</LastModified>
<ETag>&#34;c1bb4f81d892b2d57947682aeb252456&#34;</ETag>
<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>
<Size>64</Size><Owner><ID>x</ID><DisplayName>y</DisplayName></Owner>
<StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>p/mpu</Key><LastModified>2026-11-21T21:58:35Z</LastModified>
<ETag>"0123-2"</ETag><Size>0</Size></Contents>
<CommonPrefixes><Prefix>p/dir/</Prefix></CommonPrefixes>
<CommonPrefixes><Prefix>p/e/</Prefix></CommonPrefixes>
<KeyCount>4</KeyCount><ContinuationToken>t1</ContinuationToken>
<NextContinuationToken>t2</NextContinuationToken>
</ListBucketResult>'''

UNREAD = ('Owner', 'ChecksumAlgorithm')


S3 = botocore.session.get_session().get_service_model('s3')


def botocore_parse(body):
    shape = S3.operation_model('ListObjectsV2').output_shape
    parser = RestXMLParser(timestamp_parser=botoclient.fast_timestamp)
    return parser.parse({'body': body, 'headers': {}, 'status_code': 200},
                        shape)


def test_lean_page_is_botocores_less_unread_fields():
    want = botocore_parse(PAGE)
    want.pop('ResponseMetadata', None)
    for row in want['Contents']:
        for name in UNREAD:
            row.pop(name, None)
    got = botoclient.parse_list_page(ElementTree.fromstring(PAGE))
    assert got == want
    assert got['Contents'][0]['Key'] == 'p/a%20b&c<d>%C3%A9'
    assert got['Contents'][0]['Size'] == 64
    assert got['IsTruncated'] is True


def before_parse(name, status, body):
    response = {'status_code': status, 'body': body, 'headers': {}}
    custom = {}
    botoclient._lean_before_parse(
        operation_model=S3.operation_model(name), response_dict=response,
        customized_response_dict=custom)
    return response, custom


def test_a_page_is_parsed_once_and_botocore_gets_an_empty_body():
    response, custom = before_parse('ListObjectsV2', 200, PAGE)
    assert response['body'] == b'' and response['status_code'] == 200
    assert custom['KeyCount'] == 4 and len(custom['Contents']) == 2


def test_an_error_or_a_cut_body_in_a_200_is_a_500_to_retry():
    error = b'<Error><Code>InternalError</Code></Error>'
    for body in (error, PAGE[:300]):
        response, custom = before_parse('ListObjectsV2', 200, body)
        assert response['status_code'] == 500 and custom == {}
        assert response['body'] == body   # for botocore's error parser


def test_other_responses_are_botocores():
    for name, status, body in (('ListObjectsV2', 404, b'<Error/>'),
                               ('ListObjectsV2', 200, b''),
                               ('ListParts', 200, PAGE)):
        response, custom = before_parse(name, status, body)
        assert response['body'] == body and custom == {}
    response, _ = before_parse('ListParts', 200, b'<Error></Error>')
    assert response['status_code'] == 500   # botocore's own check
