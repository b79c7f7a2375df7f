#!/usr/bin/env python3
"""Writes the seed corpus in fuzz/corpus/<target>/ and prints the constants of src/fuzzing.rs.

Deterministic: every key is derived from a fixed seed, so nothing secret is committed and a
rerun gives the same keys (ES256 and PS256 signatures are randomized, so those token files
change; their signing inputs, which is all src/fuzzing.rs lists, do not).

    python3 fuzz/gen_corpus.py            # rewrite the corpus, print the Rust constants
    python3 fuzz/gen_corpus.py --check    # only print the constants

Needs the `cryptography` package. After a change here, paste the printed `TRUSTED_JWKS` and
`SIGNED` into src/fuzzing.rs and run `cargo test --all-features --test fuzz_corpus`.
"""

import base64
import hashlib
import json
import os
import random
import shutil
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# Must match src/fuzzing.rs.
NOW = 1_700_000_000
COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Fuzz"
CLIENT_ID = "fuzz-client"
CLAIMS_ISSUER = "https://issuer.example"
CLAIMS_AUDIENCE = "https://api.example"


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value):
    return json.dumps(value, separators=(",", ":"))


# ---- keys ----------------------------------------------------------------------------------

# RFC 8037 §A.2: the Ed25519 key of the crate's doc examples.
ED = ed25519.Ed25519PrivateKey.from_private_bytes(
    unb64("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
)
# P-256 from a fixed scalar.
EC = ec.derive_private_key(
    int.from_bytes(hashlib.sha256(b"tokengate fuzzing: ES256 key").digest(), "big")
    % 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    ec.SECP256R1(),
)


def _is_probable_prime(n, rng):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng, bits):
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _is_probable_prime(candidate, rng) and (candidate - 1) % 65537 != 0:
            return candidate


def _rsa_from_seed(seed, bits=2048):
    rng = random.Random(seed)
    e = 65537
    p = _prime(rng, bits // 2)
    q = _prime(rng, bits // 2)
    while q == p:
        q = _prime(rng, bits // 2)
    n = p * q
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, n)
    )
    return numbers.private_key()


RSA = _rsa_from_seed("tokengate fuzzing: RSA key")


def int_b64(value, length=None):
    length = length or (value.bit_length() + 7) // 8
    return b64(value.to_bytes(length, "big"))


def ed_jwk(kid="ed"):
    from cryptography.hazmat.primitives import serialization

    raw = ED.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(raw)}


def ec_jwk(kid="ec"):
    numbers = EC.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "x": int_b64(numbers.x, 32),
        "y": int_b64(numbers.y, 32),
    }


def rsa_jwk(kid="rsa"):
    numbers = RSA.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": int_b64(numbers.n), "e": int_b64(numbers.e)}


TRUSTED = {"keys": [ed_jwk(), ec_jwk(), rsa_jwk()]}

# ---- tokens --------------------------------------------------------------------------------

SIGNED = []  # signing inputs signed with a trusted key


def sign(alg, signing_input):
    data = signing_input.encode()
    if alg == "EdDSA":
        return ED.sign(data)
    if alg == "ES256":
        r, s = decode_dss_signature(EC.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    hash_ = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[alg[2:]]
    if alg.startswith("RS"):
        return RSA.sign(data, padding.PKCS1v15(), hash_)
    return RSA.sign(
        data, padding.PSS(mgf=padding.MGF1(hash_), salt_length=hash_.digest_size), hash_
    )


def token(header, claims, alg=None):
    signing_input = b64(compact_json(header)) + "." + b64(compact_json(claims))
    alg = alg or header["alg"]
    SIGNED.append(signing_input)
    return signing_input + "." + b64(sign(alg, signing_input))


def access_claims(**extra):
    claims = {
        "sub": "8f2c1e4a-0000-4000-8000-00000000a11c",
        "iss": COGNITO_ISSUER,
        "client_id": CLIENT_ID,
        "token_use": "access",
        "scope": "openid api/read api/write",
        "auth_time": NOW - 120,
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "jti": "6f0c5c2e-0000-4000-8000-000000000001",
        "username": "alice",
        "cognito:groups": ["admins"],
    }
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def authorize_seeds():
    ed = {"alg": "EdDSA", "kid": "ed"}
    seeds = {
        "eddsa_valid": token(ed, access_claims()),
        "es256_valid": token({"alg": "ES256", "kid": "ec", "typ": "JWT"}, access_claims()),
        "rs256_valid": token({"alg": "RS256", "kid": "rsa"}, access_claims()),
        "ps256_valid": token({"alg": "PS256", "kid": "rsa"}, access_claims()),
        "rs512_at_jwt": token({"alg": "RS512", "kid": "rsa", "typ": "at+jwt"}, access_claims()),
        "eddsa_no_kid": token({"alg": "EdDSA"}, access_claims()),
        "eddsa_custom_tenant": token(ed, access_claims(tenant="acme", scp=["a", "b"])),
        "eddsa_expired": token(ed, access_claims(exp=NOW - 3600, iat=NOW - 7200)),
        "eddsa_not_yet_valid": token(ed, access_claims(nbf=NOW + 600)),
        "eddsa_id_token": token(ed, access_claims(token_use="id", aud=CLIENT_ID)),
        "eddsa_other_client": token(ed, access_claims(client_id="someone-else")),
        "eddsa_bad_scope": token(ed, access_claims(scope='api/read "quoted"')),
        "eddsa_dup_claim": None,
        "eddsa_unknown_kid": token({"alg": "EdDSA", "kid": "nope"}, access_claims()),
        "eddsa_typ_dpop": token({"alg": "EdDSA", "kid": "ed", "typ": "dpop+jwt"}, access_claims()),
        "eddsa_array_payload": None,
    }
    # A payload with `iss` twice: the signature is good, the claims are not.
    dup = b64(compact_json(ed)) + "." + b64(
        '{"iss":"%s","iss":"https://evil.example","exp":%d}' % (COGNITO_ISSUER, NOW + 3600)
    )
    SIGNED.append(dup)
    seeds["eddsa_dup_claim"] = dup + "." + b64(sign("EdDSA", dup))
    arr = b64(compact_json(ed)) + "." + b64('["not","an","object"]')
    SIGNED.append(arr)
    seeds["eddsa_array_payload"] = arr + "." + b64(sign("EdDSA", arr))

    valid = seeds["eddsa_valid"]
    head, payload, signature = valid.split(".")
    seeds["alg_none"] = b64('{"alg":"none"}') + "." + payload + "."
    seeds["alg_none_signature_kept"] = b64('{"alg":"nOnE","kid":"ed"}') + "." + payload + "." + signature
    seeds["eddsa_signature_flipped"] = head + "." + payload + "." + signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    seeds["es256_header_eddsa_signature"] = b64('{"alg":"ES256","kid":"ec"}') + "." + payload + "." + signature
    seeds["crit"] = b64('{"alg":"EdDSA","kid":"ed","crit":["exp"]}') + "." + payload + "." + signature
    seeds["nested_cty"] = b64('{"alg":"EdDSA","kid":"ed","cty":"JWT"}') + "." + payload + "." + signature
    seeds["b64_false"] = b64('{"alg":"EdDSA","kid":"ed","b64":false}') + "." + payload + "." + signature
    seeds["padded_segments"] = head + "==." + payload + "." + signature
    seeds["four_segments"] = valid + ".x"
    seeds["not_a_token"] = "not-a-token"
    # HS256 "signed" with the RSA key's public JWK as the secret: the classic key confusion.
    import hmac

    hs_input = b64('{"alg":"HS256","kid":"rsa"}') + "." + payload
    secret = compact_json(rsa_jwk()).encode()
    seeds["hs256_key_confusion"] = hs_input + "." + b64(
        hmac.new(secret, hs_input.encode(), hashlib.sha256).digest()
    )
    return {name: value.encode() for name, value in seeds.items()}


# ---- the other targets ---------------------------------------------------------------------


def header_seeds(valid_token):
    seeds = {
        "bearer": "Bearer " + valid_token,
        "bearer_lowercase_padding": "bearer abc.def-_~+/ghi==",
        "bearer_extra_spaces": "Bearer    abc",
        "basic": "Basic dXNlcjpwYXNz",
        "bearer_two_words": "Bearer a b",
        "bearer_only": "Bearer",
        "bearer_quote": 'Bearer tok"en',
        "two_authorization": "authorization: Bearer a\nauthorization: Bearer b",
        "custom_header": "x-access-token: abc.def.ghi",
        "cookie": "cookie: theme=dark; access_token=xyz",
        "cookie_quoted": 'cookie: access_token="abc.def"',
        "cookie_and_bearer": "Authorization: Bearer a\ncookie: access_token=b",
        "cookie_twice": "cookie: access_token=a\ncookie: access_token=a",
        "custom_header_bad": "x-access-token: a b",
        "basic_then_bearer": "Basic x\nBearer y",
        "other_scheme_only": "Token",
    }
    out = {name: value.encode() for name, value in seeds.items()}
    out["obs_text"] = b"Bearer \xe9t\xe9"
    out["tab"] = b"Bearer\tabc"
    return out


def jwks_seeds():
    def doc(*keys):
        return compact_json({"keys": list(keys)})

    rsa_with_alg = dict(rsa_jwk("cognito-1"), alg="RS256", use="sig")
    seeds = {
        "trusted": compact_json(TRUSTED),
        "rfc8037_okp": doc(dict(ed_jwk("k1"))),
        "ec_with_alg": doc(dict(ec_jwk("ec-1"), alg="ES256", use="sig", key_ops=["verify"])),
        "cognito_shaped": doc(rsa_with_alg, dict(rsa_jwk("cognito-2"), alg="RS256", use="sig")),
        "ps256_rsa": doc(dict(rsa_jwk("ps"), alg="PS256")),
        "symmetric": doc({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
        "private_material": doc(dict(ed_jwk("priv"), d="nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")),
        "encryption_key": doc(dict(rsa_jwk("enc"), use="enc"), ed_jwk("sig")),
        "x25519": doc({"kty": "OKP", "crv": "X25519", "kid": "x", "x": ed_jwk()["x"]}),
        "short_rsa": doc({"kty": "RSA", "kid": "short", "n": "AQAB" * 43, "e": "AQAB"}),
        "ec_wrong_length": doc(dict(ec_jwk("bad"), x=ec_jwk()["x"][:-2])),
        "ec_alg_mismatch": doc(dict(ec_jwk("m"), alg="ES384")),
        "duplicate_kid": doc(ed_jwk("same"), dict(ec_jwk("same"))),
        "not_object": "[" + compact_json(ed_jwk()) + "]",
        "keys_not_array": '{"keys":{"kty":"OKP"}}',
        "empty": '{"keys":[]}',
        "too_many": doc(*[ed_jwk("k%d" % i) for i in range(101)]),
        "escaped": '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k\\u0031","x":"%s"}]}' % ed_jwk()["x"],
    }
    return {name: value.encode() for name, value in seeds.items()}


def discovery_seeds():
    cognito = COGNITO_ISSUER
    seeds = {
        "cognito": {
            "authorization_endpoint": "https://fuzz.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
            "id_token_signing_alg_values_supported": ["RS256"],
            "issuer": cognito,
            "jwks_uri": cognito + "/.well-known/jwks.json",
            "response_types_supported": ["code", "token"],
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "subject_types_supported": ["public"],
            "token_endpoint": "https://fuzz.auth.eu-west-1.amazoncognito.com/oauth2/token",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "userinfo_endpoint": "https://fuzz.auth.eu-west-1.amazoncognito.com/oauth2/userInfo",
        },
        "generic": {"issuer": "https://issuer.example", "jwks_uri": "https://issuer.example/jwks"},
        "local_http": {
            "issuer": "http://127.0.0.1:9000/pool",
            "jwks_uri": "http://127.0.0.1:9000/pool/.well-known/jwks.json",
        },
        "https_issuer_http_keys": {"issuer": "https://issuer.example", "jwks_uri": "http://issuer.example/jwks"},
        "no_jwks_uri": {"issuer": "https://issuer.example"},
        "trailing_slash": {"issuer": "https://issuer.example/", "jwks_uri": "https://issuer.example/jwks"},
        "relative_jwks_uri": {"issuer": "https://issuer.example", "jwks_uri": "/jwks"},
        "jwks_uri_not_string": {"issuer": "https://issuer.example", "jwks_uri": 42},
        "null_issuer": {"issuer": None, "jwks_uri": "https://issuer.example/jwks"},
        "file_scheme": {"issuer": "https://issuer.example", "jwks_uri": "file:///etc/passwd"},
    }
    out = {name: compact_json(value).encode() for name, value in seeds.items()}
    out["escaped_slashes"] = b'{"issuer":"https:\\/\\/issuer.example","jwks_uri":"https:\\/\\/issuer.example\\/k"}'
    out["duplicate_issuer"] = b'{"issuer":"https://evil.example","issuer":"https://issuer.example","jwks_uri":"https://issuer.example/k"}'
    out["array"] = b'["https://issuer.example","https://issuer.example/jwks"]'
    out["whitespace_then_object"] = b' \n\t{"issuer":"https://issuer.example","jwks_uri":"HTTPS://ISSUER.EXAMPLE/k"}'
    return out


def claims_seeds():
    base = {"iss": CLAIMS_ISSUER, "aud": CLAIMS_AUDIENCE, "exp": NOW + 3600, "iat": NOW - 10}
    seeds = {
        "generic_valid": dict(base, scope="read write"),
        "generic_scp_array": dict(base, scp=["read", "write", "read"]),
        "generic_scp_string": dict(base, scp="read  write"),
        "generic_scope_and_scp": dict(base, scope="read", scp=["write"]),
        "generic_groups": dict(base, groups=["admins", "users"], sub="alice"),
        "generic_bad_scope": dict(base, scope='read "quoted"'),
        "generic_bad_scp_element": dict(base, scp=["read write"]),
        "generic_aud_array": dict(base, aud=["https://other.example", CLAIMS_AUDIENCE]),
        "generic_wrong_issuer": dict(base, iss=CLAIMS_ISSUER + "/"),
        "generic_expired": dict(base, exp=NOW - 31),
        "generic_in_leeway": dict(base, exp=NOW - 29, nbf=NOW + 29),
        "generic_iat_future": dict(base, iat=NOW + 3600),
        "generic_fractional_dates": dict(base, exp=NOW + 0.5, nbf=NOW - 0.25),
        "cognito_access": {
            "iss": CLAIMS_ISSUER, "exp": NOW + 3600, "iat": NOW, "token_use": "access",
            "client_id": CLIENT_ID, "scope": "api/read", "cognito:groups": ["g"],
            "username": "alice",
        },
        "cognito_id": {
            "iss": CLAIMS_ISSUER, "exp": NOW + 3600, "iat": NOW, "token_use": "id",
            "aud": CLIENT_ID, "sub": "alice", "cognito:username": "alice",
        },
        "rfc9068": {
            "iss": CLAIMS_ISSUER, "exp": NOW + 3600, "iat": NOW, "aud": CLAIMS_AUDIENCE,
            "sub": "alice", "client_id": CLIENT_ID, "jti": "j1", "scope": "read",
        },
    }
    out = {name: compact_json(value).encode() for name, value in seeds.items()}
    out["duplicate_member"] = b'{"iss":"https://issuer.example","iss":"https://issuer.example","exp":1700003600}'
    out["negative_exp"] = b'{"iss":"https://issuer.example","aud":"https://api.example","exp":-1}'
    out["huge_exp"] = b'{"iss":"https://issuer.example","aud":"https://api.example","exp":1e300}'
    out["string_exp"] = b'{"iss":"https://issuer.example","aud":"https://api.example","exp":"1700003600"}'
    out["escapes"] = b'{"iss":"https:\\/\\/issuer.example","aud":["https:\\/\\/api.example"],"exp":1700003600,"scope":"r\\u0065ad"}'
    out["array_form"] = b'["https://issuer.example",null,null,1700003600]'
    out["scope_string_only"] = b"api/read  api/write api/read"
    out["null_members"] = b'{"iss":"https://issuer.example","aud":null,"exp":1700003600,"scp":null,"groups":null}'
    # Profiles and claim paths: what the Keycloak-shaped `configured` authorizer of the target
    # reads (azp `web`, acr 1 or 2, realm, client and namespaced roles, permissions).
    kc = dict(base, sub="u1", azp="web", acr="1")
    more = {
        "unread_groups_string_under_cognito": dict(
            base, token_use="access", client_id=CLIENT_ID, groups="admins", **{"cognito:groups": ["a"]}
        ),
        "keycloak_nested_roles": dict(
            kc, typ="Bearer", scope="openid profile", preferred_username="alice",
            realm_access={"roles": ["staff"]},
            resource_access={"api": {"roles": ["writer"]}, "other": {"roles": 5}},
        ),
        "keycloak_id_token_typ": dict(kc, typ="ID"),
        "auth0_permissions_and_url_roles": dict(
            kc, acr=2, permissions=["read:orders"], scope="openid",
            **{"https://example.com/roles": "admin staff"},
        ),
        "generic_nonce_marker": dict(base, nonce="n-0S6_WzA2Mj"),
        "generic_token_use_id": dict(base, token_use="id"),
        "required_claim_array": dict(kc, acr=["0", "1"]),
        "required_claim_object": dict(kc, acr={"v": "1"}),
        "wrong_azp": dict(kc, azp="cli"),
    }
    out.update({name: compact_json(value).encode() for name, value in more.items()})
    # Found by fuzzing: invalid UTF-8 inside a claim nobody reads (refused by the authorizer,
    # RFC 7519 §7.2, but once read as valid by the target's oracle).
    out["regression-invalid-utf8-in-unread-claim"] = b'{"iss":"https://issuer.example","exp":1700003600,"aud":"https://api.example","note":"\xff\xfe"}'
    out["keycloak_duplicate_nested_roles"] = b'{"iss":"https://issuer.example","exp":1700003600,"iat":1699999990,"azp":"web","acr":"2","realm_access":{"roles":[],"roles":["admin"]}}'
    out["huge_number_in_unread_member"] = b'{"iss":"https://issuer.example","exp":1700003600,"aud":"https://api.example","big":1e400}'
    out["huge_number_in_read_path"] = b'{"iss":"https://issuer.example","exp":1700003600,"iat":1699999990,"azp":"web","acr":"1","realm_access":{"x":1e400,"roles":["r"]}}'
    return out


def mock_seeds():
    web = "client_id=demo-web&client_secret=demo-web-secret"
    web_redirect = "redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback"
    spa_redirect = "redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback"
    device = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
    exchange = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
    subject = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V4dGVybmFsLmV4YW1wbGUifQ.c2ln"
    seeds = {
        "client_credentials": "grant_type=client_credentials&client_id=demo-backend&client_secret=demo-backend-secret&scope=api%2Fread",
        "client_credentials_all_scopes": "grant_type=client_credentials&client_id=demo-backend&client_secret=demo-backend-secret",
        "client_credentials_bad_secret": "grant_type=client_credentials&client_id=demo-backend&client_secret=nope",
        "client_credentials_bad_scope": "grant_type=client_credentials&client_id=demo-backend&client_secret=demo-backend-secret&scope=openid",
        "code": f"grant_type=authorization_code&code=fuzz-code-web&{web_redirect}&{web}",
        "code_basic_auth_header": f"grant_type=authorization_code&code=fuzz-code-web&{web_redirect}",
        "code_wrong_redirect": f"grant_type=authorization_code&code=fuzz-code-web&{spa_redirect}&{web}",
        "code_pkce": f"grant_type=authorization_code&code=fuzz-code-spa&{spa_redirect}&client_id=demo-spa&code_verifier=fuzz-verifier-0123456789-0123456789-0123456789",
        "code_pkce_wrong_verifier": f"grant_type=authorization_code&code=fuzz-code-spa&{spa_redirect}&client_id=demo-spa&code_verifier=wrong-verifier-0123456789-0123456789-012345",
        "code_unknown": f"grant_type=authorization_code&code=nope&{web_redirect}&{web}",
        "refresh": f"grant_type=refresh_token&refresh_token=fuzz-refresh-web&{web}",
        "refresh_narrower_scope": f"grant_type=refresh_token&refresh_token=fuzz-refresh-web&scope=openid&{web}",
        "refresh_other_client": "grant_type=refresh_token&refresh_token=fuzz-refresh-web&client_id=demo-spa",
        "device_approved": f"{device}&device_code=fuzz-device-approved&client_id=demo-device",
        "device_pending": f"{device}&device_code=fuzz-device-pending&client_id=demo-device",
        "token_exchange": f"{exchange}&client_id=demo-exchange&client_secret=demo-exchange-secret&subject_token={subject}&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token",
        "token_exchange_actor": f"{exchange}&client_id=demo-exchange&client_secret=demo-exchange-secret&subject_token={subject}&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&actor_token=x&actor_token_type=y",
        "implicit": "grant_type=implicit&client_id=demo-spa",
        "password": "grant_type=password&username=alice&password=alice-password&client_id=demo-spa",
        "unknown_grant": "grant_type=urn%3Aexample%3Anope&client_id=demo-spa",
        "repeated_parameter": "grant_type=client_credentials&grant_type=client_credentials&client_id=demo-backend",
        "bad_escape": "grant_type=client%2&client_id=demo-backend",
        "plus_and_utf8": "grant_type=client_credentials&client_id=demo+backend&scope=%C3%A9",
        "empty": "",
    }
    # The second request of each input authenticates with HTTP Basic, the client chosen by
    # the body's length modulo 4 (src/fuzzing.rs): 0 is demo-web.
    basic = seeds["code_basic_auth_header"]
    seeds["code_basic_auth_header"] = basic + "&" + "x" * (-(len(basic) + 1) % 4)
    out = {name: value.encode() for name, value in seeds.items()}
    out["not_utf8"] = b"grant_type=client_credentials&client_id=\xff\xfe"
    return out


DIFFERENTIAL_ISSUER = "https://issuer.example/differential"
DIFFERENTIAL_AUDIENCE = "https://api.example"


def differential_seeds():
    """Seeds of the `differential` target: a selector byte (the algorithm; high bit: a header
    follows, up to a NUL byte), then the payload. The harness signs them itself."""
    base = {
        "iss": DIFFERENTIAL_ISSUER,
        "aud": DIFFERENTIAL_AUDIENCE,
        "exp": 4102444800,
        "iat": 1700000000,
        "sub": "user-1",
        "scope": "read write",
    }

    def payload(**changes):
        claims = dict(base)
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return compact_json(claims).encode()

    seeds = {}
    names = ["rs256", "rs384", "rs512", "ps256", "ps384", "ps512", "es256", "eddsa"]
    for i, name in enumerate(names):
        seeds[name + "_valid"] = bytes([i]) + payload()
    seeds["aud_array"] = bytes([0]) + payload(aud=[DIFFERENTIAL_AUDIENCE, "other"])
    seeds["exp_float"] = bytes([0]) + payload(exp=4102444800.5)
    seeds["nbf_past"] = bytes([6]) + payload(nbf=1700000000)
    seeds["nbf_future"] = bytes([6]) + payload(nbf=4102444000)
    seeds["exp_year_9999"] = bytes([7]) + payload(exp=253402300799)
    seeds["exp_year_10000"] = bytes([7]) + payload(exp=253402300800)
    seeds["exp_past"] = bytes([0]) + payload(exp=1700000000)
    seeds["no_aud"] = bytes([0]) + payload(aud=None)
    seeds["iss_array"] = bytes([0]) + payload(iss=[DIFFERENTIAL_ISSUER])
    seeds["scp_array"] = bytes([0]) + payload(scope=None, scp=["read", "write"])
    seeds["bad_scope"] = bytes([0]) + payload(scope='read "write"')
    seeds["iat_future"] = bytes([0]) + payload(iat=4102444000)
    seeds["duplicate_scope"] = bytes([0]) + payload()[:-1] + b',"scope":"admin"}'
    seeds["duplicate_exp"] = bytes([0]) + payload()[:-1] + b',"exp":1}'
    seeds["nested_claims"] = bytes([0]) + payload(
        groups=["a", "b"], custom={"x": [1, 2, {"y": None}]}
    )
    headers = [
        ("typ_jwt", 0, {"alg": "RS256", "kid": "rsa", "typ": "JWT"}),
        ("typ_at_jwt", 0, {"alg": "RS256", "kid": "rsa", "typ": "at+jwt"}),
        ("typ_other", 0, {"alg": "RS256", "kid": "rsa", "typ": "foo"}),
        ("no_kid_es256", 6, {"alg": "ES256"}),
        ("x5t", 0, {"alg": "RS256", "kid": "rsa", "x5t": "dGh1bWI"}),
        ("jku", 0, {"alg": "RS256", "kid": "rsa", "jku": "https://evil.example/jwks"}),
        (
            "jwk",
            6,
            {"alg": "ES256", "kid": "ec", "jwk": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}},
        ),
        ("x5c", 0, {"alg": "RS256", "kid": "rsa", "x5c": ["MIIB"]}),
        ("crit", 0, {"alg": "RS256", "kid": "rsa", "crit": ["exp"]}),
        ("b64_false", 0, {"alg": "RS256", "kid": "rsa", "b64": False}),
        ("cty_jwt", 0, {"alg": "RS256", "kid": "rsa", "cty": "JWT"}),
        ("alg_mismatch", 0, {"alg": "PS256", "kid": "rsa"}),
        ("unknown_member", 7, {"alg": "EdDSA", "kid": "ed", "zip": "DEF"}),
    ]
    for name, select, header in headers:
        seeds["header_" + name] = bytes([0x80 | select]) + compact_json(header).encode() + b"\x00" + payload()
    return seeds


def write(target, seeds):
    directory = os.path.join(CORPUS, target)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def main():
    authorize = authorize_seeds()
    if "--check" not in sys.argv:
        write("authorize", authorize)
        write("authorization_header", header_seeds(authorize["eddsa_valid"].decode()))
        write("jwks", jwks_seeds())
        write("discovery", discovery_seeds())
        write("claims", claims_seeds())
        write("mock_token", mock_seeds())
        write("differential", differential_seeds())
    print("pub const TRUSTED_JWKS: &str = r#\"%s\"#;" % compact_json(TRUSTED))
    print("const SIGNED: [&str; %d] = [" % len(SIGNED))
    for signing_input in SIGNED:
        print('    "%s",' % hashlib.sha256(signing_input.encode()).hexdigest())
    print("];")


if __name__ == "__main__":
    main()
