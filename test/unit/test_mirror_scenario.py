import pytest

from swiftsync import config
from swiftsync.mirror.scenario import (
    ScenarioError, Side, parse_scenario, resolve, target_from_env)


def test_sides_and_prefixes():
    src, dst = parse_scenario('s3://bucket/some/prefix->swift://cont')
    assert src == Side('s3', '', 'bucket', 'some/prefix/')
    assert dst == Side('swift', '', 'cont', '')
    src, dst = parse_scenario('swift://dc1@photos -> swift://dc2@photos/bk')
    assert (src.profile, dst.profile, dst.prefix) == ('dc1', 'dc2', 'bk/')
    assert str(dst) == 'swift://dc2@photos/bk'


@pytest.mark.parametrize('bad, reason', [
    ('s3://b', 'a scenario is SRC->DST'),
    ('s3://b->', 'a scenario is SRC->DST'),
    ('s3://a->s3://b->s3://c', 'a scenario is SRC->DST'),
    ('ftp://b->s3://c', "unknown scheme 'ftp'"),
    ('bucket->s3://c', 'expected s3://bucket'),
    ('s3://->swift://c', 'missing bucket name'),
    ('s3://b->swift://', 'missing container name'),
    ('s3://@b->swift://c', 'empty profile name'),
    ('s3://b/x->s3://b/x/y', 'overlap'),
    ('s3://b->s3://b/y', 'overlap'),
])
def test_malformed_scenarios(bad, reason):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(bad)
    assert reason in str(e.value)


def test_credentials_from_the_environment():
    s3 = target_from_env('s3', {'AWS_ACCESS_KEY_ID': 'AK',
                                'AWS_SECRET_ACCESS_KEY': 'SK',
                                'AWS_ENDPOINT_URL': 'http://127.0.0.1:1'})
    assert (s3.access_key, s3.endpoint) == ('AK', 'http://127.0.0.1:1')
    sw = target_from_env('swift', {'ST_AUTH': 'http://x/auth/v1.0',
                                   'ST_USER': 'a:b', 'ST_KEY': 'k'})
    assert (sw.auth_version, sw.user) == (1, 'a:b')
    ks = target_from_env('swift', {'OS_AUTH_URL': 'http://x/v3',
                                   'OS_USERNAME': 'u', 'OS_PASSWORD': 'p',
                                   'OS_PROJECT_NAME': 'proj'})
    assert (ks.auth_version, ks.project_name) == (3, 'proj')
    with pytest.raises(ScenarioError) as e:
        target_from_env('s3', {})
    assert 'AWS_ACCESS_KEY_ID' in str(e.value)
    with pytest.raises(ScenarioError) as e:
        target_from_env('swift', {'ST_AUTH': 'http://x'})
    assert 'ST_USER' in str(e.value)


def test_profiles_come_from_config_targets():
    conf = config.loads('''
[target:dc1]
type = swift
auth_url = http://127.0.0.1:8600/auth/v1.0
user = test:tester
key = testing
[target:aws]
type = s3
bucket = ignored
access_key = AK
secret_key = SKSKSKSK
''', path='mirror.conf')
    src, dst = parse_scenario('swift://dc1@c->s3://aws@real-bucket/p')
    assert resolve(src, conf).user == 'test:tester'
    s3 = resolve(dst, conf)
    assert (s3.bucket, s3.layout) == ('real-bucket', 'native')
    with pytest.raises(ScenarioError) as e:
        resolve(parse_side_profile('nope'), conf)
    assert "no [target:nope]" in str(e.value)
    with pytest.raises(ScenarioError) as e:
        resolve(parse_scenario('s3://dc1@b->swift://c')[0], conf)
    assert "profile 'dc1' is a swift target" in str(e.value)
    with pytest.raises(ScenarioError) as e:
        resolve(src, None)
    assert 'needs --config' in str(e.value)


def parse_side_profile(name):
    return parse_scenario('swift://%s@c->s3://b' % name)[0]


def test_prefix_is_a_directory():
    src, dst = parse_scenario('s3://b/photos->s3://b/photos2')
    assert (src.prefix, dst.prefix) == ('photos/', 'photos2/')
    assert str(src) == 's3://b/photos'
