"""M2M and OAuth JWTs of the machine-token tests, minted with the fixture key
(tests/vectors/clerk/keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.private.pem)."""
import json

import clerk_tokens as T

M2M_JTI = "mt_2xKa9Bgv7NxMRDFyQw8LpZ3cTmU"
OAUTH_JTI = "oat_2xKa9Bgv7NxMRDFyQw8LpZ3cTmU1"
OAUTH_SUB = "user_2vYVtestTESTtestTEST"


def m2m(header=None, **over):
    """typ JWT + cat cl_B7d4PD333AAA, sub mch_…, jti mt_…, scopes "mch_a mch_b"."""
    claims = dict(sub=T.MACHINE, jti=M2M_JTI, scopes="mch_a mch_b",
                  aud=["mch_1xxxxx", "mch_2xxxxx"])
    claims.update(over)
    h = {"typ": "JWT"}
    h.update(header or {})
    return T.mint_m2m(header=h, **claims)


def oauth(header=None, **over):
    """typ at+jwt, sub user_…, client_id, scope "read write", jti oat_…."""
    claims = dict(sub=OAUTH_SUB, client_id="client_2xKa9Bgv", scope="read write", jti=OAUTH_JTI)
    claims.update(over)
    return T.mint_oauth(header=header, **claims)


def payload(token):
    return json.loads(T.b64u_decode(token.split(".")[1]))


def header(token):
    return json.loads(T.b64u_decode(token.split(".")[0]))
