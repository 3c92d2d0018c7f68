#!/usr/bin/env python3
"""Write the named seeds of tests/fuzz/corpus/ from the vendored test data.

Run from the repository root: python3 tests/fuzz/make_corpus.py
Needs python3-cryptography (to mint a few tokens with the public fixture key).
"""
import base64, json, os

V = 'tests/vectors/clerk/'
W = 'tests/vectors/wycheproof/'
OUT = 'tests/fuzz/corpus/'


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def put(target, name, data):
    os.makedirs(OUT + target, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    open(os.path.join(OUT, target, name), 'wb').write(data)


def mint(header, payload):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    key = serialization.load_pem_private_key(
        open(V + 'keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.private.pem', 'rb').read(), None)
    h = b64u(json.dumps(header, separators=(',', ':')).encode())
    p = b64u(json.dumps(payload, separators=(',', ':')).encode())
    sig = key.sign((h + '.' + p).encode(), padding.PKCS1v15(), hashes.SHA256())
    return h + '.' + p + '.' + b64u(sig)


# Only the named seeds below are (re)written: inputs that `make fuzz-merge`
# kept, and seeds written by hand, stay.

# ---- fuzz_jws: real tokens (verify at the fixture clock), minted ones, broken shapes
fx = json.load(open(V + 'fixture_tokens.json'))
seen = set()
for t in fx['tokens']:
    if t['token'] not in seen:
        seen.add(t['token'])
        put('fuzz_jws', t['name'].replace('/', '_'), t['token'])
KID = 'ins_2GIoQhbUpy0hX7B2cVkuTMinXoD'
base = {'sub': 'user_1', 'sid': 'sess_1', 'iat': 1666648250, 'nbf': 1666648240, 'exp': 1666648310,
        'azp': 'https://accounts.inspired.puma-74.lcl.dev', 'iss': 'https://clerk.inspired.puma-74.lcl.dev'}
put('fuzz_jws', 'minted_v2_org', mint(
    {'alg': 'RS256', 'typ': 'JWT', 'kid': KID, 'cat': 'cl_B7d4PD111AAA'},
    dict(base, v=2, aud='api://one', sts='pending', fea='o:teams,u:beta', pla='u:free',
         o={'id': 'org_1', 'slg': 'acme', 'rol': 'admin', 'per': 'read,manage', 'fpm': '3,1'},
         meta={'tier': 'gold'}, act={'sub': 'user_admin'})))
put('fuzz_jws', 'minted_v1_org', mint(
    {'alg': 'RS256', 'typ': 'JWT', 'kid': KID},
    dict(base, org_id='org_9', org_role='org:admin', org_permissions=['org:a:read'])))
put('fuzz_jws', 'minted_m2m', mint(
    {'alg': 'RS256', 'typ': 'JWT', 'kid': KID, 'cat': 'cl_B7d4PD333AAA'},
    {'sub': 'mch_1', 'exp': 1666648310, 'iat': 1666648250, 'jti': 'mt_1', 'aud': ['mch_2', 'api://one'],
     'scopes': 'mch_2 mch_3'}))
put('fuzz_jws', 'minted_template', mint(
    {'alg': 'RS256', 'kid': KID, 'cat': 'cl_B7d4PD222AAA'}, base))
put('fuzz_jws', 'alg_none', b64u(b'{"alg":"none"}') + '.' + b64u(json.dumps(base).encode()) + '.')
put('fuzz_jws', 'jwe_shape', b64u(b'{"alg":"RSA-OAEP","enc":"A256GCM"}') + '.AAAA.AAAA.AAAA.AAAA')
put('fuzz_jws', 'crit', b64u(b'{"alg":"RS256","crit":["exp"]}') + '.' + b64u(b'{}') + '.AAAA')

# ---- fuzz_jwks
for f in ['jwks.json', 'jwks_all.json', 'jwks_integration_mismatched.json', 'jwks_integration_a.json']:
    put('fuzz_jwks', f, open(V + f).read())
jwk = json.load(open(V + 'keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.public.jwk.json'))
n = jwk['n']
put('fuzz_jwks', 'mixed', json.dumps({'keys': [
    {'kty': 'EC', 'crv': 'P-256', 'x': 'AA', 'y': 'AA', 'kid': 'ec'},
    {'kty': 'RSA', 'n': n, 'e': 'AQAB', 'kid': 'good', 'use': 'sig', 'alg': 'RS256', 'key_ops': ['verify']},
    {'kty': 'RSA', 'n': n, 'e': 'Aw', 'kid': 'e3'},
    {'kty': 'RSA', 'n': n, 'e': 'AQAB', 'kid': 'dup'}, {'kty': 'RSA', 'n': n, 'e': 'AQAB', 'kid': 'dup'},
    {'kty': 'RSA', 'n': n, 'e': 'AQAB', 'use': 'enc'}, {'kty': 'oct', 'k': 'AAAA'},
    {'kty': 'RSA', 'n': n, 'e': 'AQAB', 'd': 'AQAB'}, 42]}))
for f in ['json_web_key_test.json']:
    for i, g in enumerate(json.load(open(W + f))['testGroups']):
        if 'public' in g:
            put('fuzz_jwks', 'wycheproof_jwk_%d' % i, json.dumps(g['public']))
put('fuzz_jwks', 'empty', '{"keys":[]}')

# ---- fuzz_pem
for f in sorted(os.listdir(V + 'keys')):
    if f.endswith('.public.pem'):
        put('fuzz_pem', f, open(V + 'keys/' + f).read())
pem = open(V + 'keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.public.pem').read()
put('fuzz_pem', 'bare_body', ''.join(l for l in pem.splitlines() if not l.startswith('-----')))
from cryptography.hazmat.primitives import serialization
pub = serialization.load_pem_public_key(pem.encode())
put('fuzz_pem', 'pkcs1', pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))
put('fuzz_pem', 'e3_wycheproof', json.load(open(W + 'rsa_signature_2048_sha256_test.json'))['testGroups'][1]['publicKeyPem'])
put('fuzz_pem', 'ec', json.load(open(W + 'ecdsa_secp256r1_sha256_p1363_test.json'))['testGroups'][0]['publicKeyPem'])

# ---- fuzz_require: first byte = kind (clerk_require_kind_t), then the arguments
kinds = ['clerk-user', 'clerk-org', 'clerk-org-role', 'clerk-org-permission', 'clerk-feature', 'clerk-plan',
         'clerk-machine', 'clerk-scope', 'clerk-token-type', 'clerk-claim']
lines = {0: 'user_1 "user 2"', 1: 'org_1 acme', 2: 'admin org:member', 3: 'org:teams:read manage',
         4: 'teams o:teams user:beta organization:x', 5: 'u:free pro', 6: 'mch_1', 7: 'read:foo mch_2',
         8: 'session_token m2m_token oauth_token api_key', 9: 'meta.tier gold 5 true'}
for k, line in lines.items():
    put('fuzz_require', kinds[k], bytes([k]) + line.encode())
put('fuzz_require', 'clerk-claim-quoted', bytes([9]) + b'name "Ada Lovelace" \'x y\'')

# ---- fuzz_publishable_key
for i, k in enumerate(json.load(open(V + 'publishable_keys.json'))['keys']):
    put('fuzz_publishable_key', '%02d_%s' % (i, 'valid' if k['valid'] else 'invalid'), k['key'])

# ---- fuzz_claims
vec = json.load(open(V + 'v2_claims_vectors.json'))
for i, v in enumerate(vec['vectors']):
    if i % 3 == 0 or v['expected'].get('throws'):
        put('fuzz_claims', 'v2_vector_%02d' % i, json.dumps(dict(v['claims'], **vec['base_claims_added'])))
for t in fx['tokens'][:1] + [t for t in fx['tokens'] if 'OAuth' in t['name']][:1]:
    put('fuzz_claims', 'fixture_' + t['name'].replace('/', '_'), json.dumps(t['payload']))
put('fuzz_claims', 'm2m', '{"sub":"mch_1","exp":1,"jti":"mt_1","aud":["mch_2"],"scopes":"mch_2 mch_3","email":5}')

# ---- fuzz_carrier: first byte odd = Authorization, even = Cookie (bit 1: un-suffixed name)
tok = fx['tokens'][0]['token']
put('fuzz_carrier', 'bearer', b'\x01Bearer ' + tok.encode())
put('fuzz_carrier', 'bare', b'\x01' + tok.encode())
put('fuzz_carrier', 'basic', b'\x01Basic dXNlcjpwYXNz')
put('fuzz_carrier', 'cookie', b'\x02__client_uat=1; __session=' + tok.encode() + b'; theme=dark')
put('fuzz_carrier', 'cookie_suffixed', b'\x00__session_vWCgMp3A="' + tok.encode() + b'", __session=x')
put('fuzz_carrier', 'cookie_twice', b'\x02__session=a; __session=b')

# ---- fuzz_bapi: Backend API verification answers (clerk/javascript api/resources/JSON.ts shapes)
put('fuzz_bapi', 'm2m', json.dumps({'object': 'machine_to_machine_token', 'id': 'mt_id1', 'subject': 'mch_2xhF',
    'scopes': ['mch_a', 'mch_b'], 'claims': {'team': 'billing', 'aud': ['api://one']}, 'revoked': False,
    'revocation_reason': None, 'expired': False, 'expiration': 1700000600000, 'created_at': 1699999000000}))
put('fuzz_bapi', 'oauth', json.dumps({'object': 'clerk_idp_oauth_access_token', 'id': 'oat_id1', 'client_id': 'c1',
    'type': 'oauth:access_token', 'subject': 'user_9', 'scopes': ['read', 'write'], 'aud': 'api://one',
    'revoked': False, 'expired': False, 'expiration': 1700000600000}))
put('fuzz_bapi', 'api_key_org', json.dumps({'object': 'api_key', 'id': 'ak_id1', 'type': 'api_key', 'name': 'ci',
    'subject': 'org_1', 'scopes': ['deploy'], 'claims': None, 'revoked': False, 'expired': False, 'expiration': None}))
put('fuzz_bapi', 'revoked', '{"id":"mt_1","subject":"mch_1","revoked":true,"revocation_reason":"rotated"}')

# ---- fuzz_handshake: first byte % 5 = query string, __client_uat/opaque, handshake JWT, directives,
#      host + directives through the cookie filter
put('fuzz_handshake', 'query', b'\x00a=1&__clerk_handshake=eyJhbGciOiJSUzI1NiJ9.e30.AAAA&b=%41%2&__clerk_handshake_nonce=n1&redirect_url=https%3a%2f%2fx')
put('fuzz_handshake', 'uat', b'\x011767225600')
put('fuzz_handshake', 'opaque', b'\x01mt_8XOIucKvqHVr5tYP123456789abcdefghij')
tokhs = mint({'alg': 'RS256', 'typ': 'JWT', 'kid': KID, 'cat': 'cl_B7d4PD111AAA'},
             {'handshake': ['__session=' + fx['tokens'][0]['token'] + '; Path=/', '__client_uat=1666648250; Path=/',
                            '__clerk_db_jwt=x; Path=/']})
put('fuzz_handshake', 'handshake_jwt', b'\x02' + tokhs.encode())
put('fuzz_handshake', 'directives', b'\x03__session=abc; Path=/\n__client_uat=1; Path=/\n__session_x=def\r\n; Path=/')
put('fuzz_handshake', 'filter', b'\x04www.example.com:8443\n__session=abc; Path=/; Domain=.example.com\n'
    b'__client_uat=1; Domain=example.co\nadmin=1\n__clerk_x=1; Domain=com\n__session_t4uUWLLE=d; domain = EXAMPLE.com ;')
put('fuzz_handshake', 'filter_ip', b'\x04[::1]:443\n__session_t4uUWLLE=x; Domain=::1\n__refresh_t4uUWLLE=y; Domain=1\n'
    b'=v\n__Session=z\n__client_uat=0; Domain\n__clerk_db_jwt=q; Domain=0.0.1')
# ---- fuzz_seal: first byte even = a value read from the store (a version byte, nonce, body, tag);
#      odd = a round trip: bits 1.. the purpose, then name length, bit/cut pick (2 bytes), name, value
put('fuzz_seal', 'read_shortest', b'\x00\x01' + bytes(range(12)) + bytes(8) + bytes(16))
put('fuzz_seal', 'read_body', b'\x00\x01' + bytes(range(12)) + b'{"active":true}'.ljust(60, b' ') + bytes(16))
put('fuzz_seal', 'read_version_2', b'\x00\x02' + bytes(40))
put('fuzz_seal', 'read_empty', b'\x00')
jwks_url = b'https://clerk.inspired.puma-74.lcl.dev/.well-known/jwks.json'
put('fuzz_seal', 'keyset', b'\x01' + bytes([len(jwks_url)]) + b'\x07\x01' + jwks_url + open(V + 'jwks.json', 'rb').read())
put('fuzz_seal', 'lease', b'\x03' + bytes([len(jwks_url)]) + b'\x00\x00' + jwks_url + b'pid=4242 until=1700000030')
put('fuzz_seal', 'verdict', b'\x05\x20\xff\x00' + bytes(range(32)) + b'{"object":"api_key","subject":"org_1","scopes":["deploy"]}')
put('fuzz_seal', 'budget', b'\x07\x05\x10\x10fleet' + (12345).to_bytes(8, 'big'))
put('fuzz_seal', 'm2m', b'\x09\x05\x00\x02mch_1mt_8XOIucKvqHVr5tYP123456789abcdefghij')
put('fuzz_seal', 'empty', b'\x01\x00\x00\x00')
print('ok')

# ---- fuzz_m2m_answer: first byte bit 0 = status 200 (else 201 with bit 2, or 500), bit 1 = must reach mch_a;
#      then Clerk's answer to POST /m2m_tokens (M2MTokenJSON with its token)
m2m_jwt = mint({'alg': 'RS256', 'kid': 'ins_2GIoQhbUpy0hX7B2cVkuTMinXoD', 'typ': 'JWT'},
               {'iss': 'https://clerk.example.com', 'sub': 'mch_2xhF', 'aud': ['mch_a'], 'scopes': 'mch_a mch_b',
                'jti': 'mt_2xhFid', 'iat': 1699999900, 'nbf': 1699999900, 'exp': 1700003600})
m2m_answer = {'object': 'machine_to_machine_token', 'id': 'mt_2xhFid', 'token': m2m_jwt, 'subject': 'mch_2xhF',
              'scopes': ['mch_a', 'mch_b'], 'claims': None, 'revoked': False, 'revocation_reason': None,
              'expired': False, 'expiration': 1700003600000, 'created_at': 1699999900000,
              'updated_at': 1699999900000}
put('fuzz_m2m_answer', 'created', b'\x03' + json.dumps(m2m_answer).encode())
put('fuzz_m2m_answer', 'created_201', b'\x04' + json.dumps(m2m_answer).encode())
put('fuzz_m2m_answer', 'out_of_scope', b'\x03' + json.dumps(dict(m2m_answer, token=mint(
    {'alg': 'RS256', 'typ': 'JWT'}, {'sub': 'mch_2xhF', 'scopes': 'mch_b', 'exp': 1700003600}))).encode())
put('fuzz_m2m_answer', 'revoked', b'\x01' + json.dumps(dict(m2m_answer, revoked=True)).encode())
put('fuzz_m2m_answer', 'error', b'\x00{"errors":[{"code":"authentication_invalid"}]}')
