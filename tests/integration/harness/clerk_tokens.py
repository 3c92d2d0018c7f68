"""Token minting for the integration suite.

Two layers:
  * mint()/mint_v2()/mint_m2m()/mint_oauth(): ordinary tokens through PyJWT,
    with overrides for any header field or claim (DROP removes one);
  * raw_token(): a manual compact-JWS builder (own base64url, own signing)
    so that malformed tokens can be made: raw JSON text with duplicate keys,
    floats, NUL escapes, invalid UTF-8, odd segments, foreign algorithms.

Keys are the vendored public test fixtures in tests/vectors/clerk/keys.
"""
import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
VECTORS = REPO / "tests" / "vectors" / "clerk"
KEYDIR = VECTORS / "keys"

INS_KID = "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD"
ISSUER = "https://clerk.inspired.puma-74.lcl.dev"
PK_TEST = "pk_test_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA"
AZP = "https://app.example.com"
USER = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"
SESSION = "sess_2GbDB4enNdCa5vS1zpC3Xzg9tK9"
MACHINE = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"

CAT_SESSION = "cl_B7d4PD111AAA"
CAT_TEMPLATE = "cl_B7d4PD222AAA"
CAT_M2M = "cl_B7d4PD333AAA"
CAT_IGNORE = "cl_I7d4PD111III"


class _Drop:
    def __repr__(self):
        return "DROP"


DROP = _Drop()   # override value that removes the field


def _load_private(name):
    return serialization.load_pem_private_key((KEYDIR / name).read_bytes(), password=None)


PRIVATE = {
    "ins": _load_private(INS_KID + ".private.pem"),
    "a": _load_private("integration-a.private.pem"),
    "b": _load_private("integration-b.private.pem"),
}
KIDS = {"ins": INS_KID, "a": "integration-a", "b": "integration-b"}
PUBLIC_PEM = {
    "ins": KEYDIR / (INS_KID + ".public.pem"),
    "a": KEYDIR / "integration-a.public.pem",
    "b": KEYDIR / "integration-b.public.pem",
    "other": KEYDIR / "some-other.public.pem",
}

# Keys generated once per test run, for foreign algorithms and edge JWKS.
_generated = {}


def generated_key(name):
    """RSA/EC/Ed25519 private keys made on first use ("rsa1024", "rsa_e3", "gen1", ...)."""
    if name not in _generated:
        if name == "rsa1024":
            k = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        elif name == "rsa_e3":
            k = rsa.generate_private_key(public_exponent=3, key_size=2048)
        elif name == "ec":
            k = ec.generate_private_key(ec.SECP256R1())
        elif name == "ed25519":
            k = ed25519.Ed25519PrivateKey.generate()
        else:
            k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _generated[name] = k
    return _generated[name]


def private_key(key):
    if isinstance(key, str):
        return PRIVATE[key] if key in PRIVATE else generated_key(key)
    return key


def now():
    return int(time.time())


# ---------------------------------------------------------------- encoding

def b64u(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def compact_json(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _as_bytes(part):
    """dict/list/str/number -> compact JSON bytes; bytes stay raw bytes."""
    if isinstance(part, bytes):
        return part
    if isinstance(part, RawJSON):
        return part.text.encode("utf-8")
    return compact_json(part).encode("utf-8")


class RawJSON:
    """JSON text used verbatim (duplicate keys, floats, escapes...)."""

    def __init__(self, text):
        self.text = text


def _clean(d):
    return {k: v for k, v in d.items() if v is not DROP}


# ---------------------------------------------------------------- signing

_RSA_HASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def sign(signing_input, key="ins", alg="RS256"):
    """Signature bytes over signing_input for alg with key (name or object)."""
    if isinstance(signing_input, str):
        signing_input = signing_input.encode("ascii")
    if alg.startswith("HS"):
        secret = key if isinstance(key, bytes) else key.encode()
        return hmac.new(secret, signing_input, getattr(hashlib, "sha" + alg[2:])).digest()
    k = private_key(key)
    if alg.startswith("RS"):
        return k.sign(signing_input, padding.PKCS1v15(), _RSA_HASH[alg[2:]]())
    if alg.startswith("PS"):
        h = _RSA_HASH[alg[2:]]()
        return k.sign(signing_input, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    if alg == "ES256":
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        der = k.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "EdDSA":
        return k.sign(signing_input)
    raise ValueError("cannot sign with " + alg)


def raw_token(header, payload, key="ins", alg=None, sig=None):
    """Build header.payload.signature by hand.

    header/payload: dict (compact JSON), RawJSON (verbatim text) or bytes
    (verbatim bytes).  sig: None -> sign with key/alg (alg defaults to the
    header's, else RS256); bytes -> base64url of them; str -> used verbatim.
    """
    h = b64u(_as_bytes(header))
    p = b64u(_as_bytes(payload))
    if sig is None:
        if alg is None:
            alg = header.get("alg") if isinstance(header, dict) and isinstance(header.get("alg"), str) else "RS256"
            if alg not in ("RS256", "RS384", "RS512", "PS256", "ES256", "EdDSA") and not alg.startswith("HS"):
                alg = "RS256"
        sig = sign(h + "." + p, key, alg)
    if isinstance(sig, bytes):
        sig = b64u(sig)
    return h + "." + p + "." + sig


def split(token):
    return token.split(".")


def resign(header_b64, payload_b64, key="ins", alg="RS256"):
    """Sign already-encoded segments (to test encodings of a signed input)."""
    return header_b64 + "." + payload_b64 + "." + b64u(sign(header_b64 + "." + payload_b64, key, alg))


# ---------------------------------------------------------------- claims

def session_claims(**over):
    t = now()
    c = {
        "azp": AZP,
        "exp": t + 120,
        "iat": t,
        "iss": ISSUER,
        "nbf": t - 10,
        "sid": SESSION,
        "sub": USER,
    }
    c.update(over)
    return _clean(c)


def v2_claims(**over):
    """A v2 session token with the docs' org example unless overridden."""
    c = session_claims(
        v=2,
        fea="o:dashboard,o:teams",
        pla="u:free",
        o={"id": "org_1", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"},
    )
    c.update(over)
    return _clean(c)


def v1_org_claims(**over):
    c = session_claims(
        org_id="org_1",
        org_slug="acme",
        org_role="org:admin",
        org_permissions=["org:teams:read", "org:teams:manage"],
    )
    c.update(over)
    return _clean(c)


def m2m_claims(**over):
    t = now()
    c = {
        "aud": ["mch_1xxxxx", "mch_2xxxxx"],
        "exp": t + 120,
        "iat": t,
        "iss": ISSUER,
        "jti": "mt_2xKa9Bgv7NxMRDFyQw8LpZ3cTmU",
        "nbf": t - 10,
        "scopes": "mch_1xxxxx mch_2xxxxx",
        "sub": MACHINE,
    }
    c.update(over)
    return _clean(c)


def oauth_claims(**over):
    t = now()
    c = {
        "client_id": "client_2xKa9Bgv",
        "exp": t + 120,
        "iat": t,
        "iss": ISSUER,
        "jti": "oat_2xKa9Bgv7NxMRDFyQw8LpZ3cTmU1",
        "nbf": t - 10,
        "scope": "read:foo write:bar",
        "sub": "user_2vYVtestTESTtestTEST",
    }
    c.update(over)
    return _clean(c)


# ---------------------------------------------------------------- minting

def mint(claims=None, key="ins", alg="RS256", header=None, kid=None, **claim_over):
    """A signed token through PyJWT.  claims default to session_claims();
    claim_over are applied on top (DROP removes).  header overrides the JOSE
    header (typ/kid/cat...; DROP or None removes typ)."""
    payload = dict(claims) if claims is not None else session_claims()
    payload.update(claim_over)
    payload = _clean(payload)
    hdr = {"kid": kid if kid is not None else KIDS.get(key, key if isinstance(key, str) else None)}
    if header:
        hdr.update(header)
    if hdr.get("typ", "JWT") is DROP:
        hdr["typ"] = None
    hdr = {k: v for k, v in hdr.items() if v is not DROP and not (k == "kid" and v is None)}
    return jwt.encode(payload, private_key(key), algorithm=alg, headers=hdr)


def mint_v2(key="ins", header=None, **over):
    return mint(v2_claims(**over), key=key, header=header)


def mint_m2m(key="ins", header=None, **over):
    h = {"cat": CAT_M2M}
    if header:
        h.update(header)
    return mint(m2m_claims(**over), key=key, header=h)


def mint_oauth(key="ins", header=None, **over):
    h = {"typ": "at+jwt"}
    if header:
        h.update(header)
    return mint(oauth_claims(**over), key=key, header=h)


def raw_session(header_over=None, payload=None, key="ins", alg=None, sig=None):
    """raw_token with a default RS256 header; header_over may replace it."""
    hdr = {"alg": "RS256", "kid": INS_KID, "typ": "JWT"}
    if isinstance(header_over, dict):
        hdr.update(header_over)
        hdr = _clean(hdr)
    elif header_over is not None:
        hdr = header_over
    return raw_token(hdr, payload if payload is not None else session_claims(), key=key, alg=alg, sig=sig)


def signature_of(token):
    return token.rsplit(".", 1)[-1]


def public_jwk(key, kid=None, **extra):
    """JWK of the public part of an RSA/EC key (name or object)."""
    k = private_key(key).public_key()
    if isinstance(k, rsa.RSAPublicKey):
        n = k.public_numbers()
        j = {
            "kty": "RSA",
            "n": b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
            "e": b64u(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big")),
        }
    elif isinstance(k, ec.EllipticCurvePublicKey):
        n = k.public_numbers()
        j = {"kty": "EC", "crv": "P-256", "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}
    else:
        raise ValueError("unsupported key")
    if kid is not None:
        j["kid"] = kid
    j.update(extra)
    return _clean(j)


def public_pem(key):
    return private_key(key).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_der(key):
    return private_key(key).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def pem_body(path):
    """The base64 body of a PEM file on one line (the dashboard form)."""
    lines = Path(path).read_text().strip().splitlines()
    return "".join(l for l in lines if not l.startswith("-----"))
