#!/usr/bin/env python3
"""Interoperability check against PyJWT, a mainstream JWT library in another language.

For each of RS256, ES256, EdDSA and HS256 it starts the example server (`target/debug/examples/api`,
built beforehand) with a key made here by Python's `cryptography` package, then:

1. logs in as alice and verifies the access token with PyJWT using only the server's JWKS
   (for HS256, which has no public key, with the shared secret);
2. mints a token with PyJWT and the same key and checks that the server accepts it on `GET /me`;
3. checks that the server refuses a PyJWT token signed with a different key, and one with
   `alg: none`.

Usage: scripts/interop.py [path/to/api-binary]   (exit status 0 when every check passed)
"""

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import jwt  # PyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ISSUER = "https://interop.tokengate.test"
AUDIENCE = "interop-api"
BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/examples/api")

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok   {name}")
    else:
        failed += 1
        print(f"  FAIL {name} {detail}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw


def pem_private(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def start_server(env_extra, workdir):
    port = free_port()
    env = dict(os.environ)
    env.pop("JWT_SECRET", None)
    env.pop("JWT_KEY_FILE", None)
    env.pop("REDIS_URL", None)
    env.update(
        {
            "BIND": f"127.0.0.1:{port}",
            "JWT_ISSUER": ISSUER,
            "JWT_AUDIENCE": AUDIENCE,
            "DATABASE_URL": "sqlite::memory:",
            "RUST_LOG": "warn",
        }
    )
    env.update(env_extra)
    proc = subprocess.Popen([BINARY], env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            if request("GET", base + "/health")[0] == 200:
                return proc, base
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not answer /health within 60 s")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_case(alg, workdir):
    print(f"== {alg}")
    if alg == "HS256":
        secret = secrets.token_urlsafe(48)
        env = {"JWT_SECRET": secret}
        sign_key, wrong_key = secret, secrets.token_urlsafe(48)
    else:
        make = {
            "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
            "EdDSA": lambda: ed25519.Ed25519PrivateKey.generate(),
        }[alg]
        private, other = make(), make()
        path = os.path.join(workdir, f"{alg}.pem")
        with open(path, "wb") as f:
            f.write(pem_private(private))
        env = {"JWT_KEY_FILE": path}
        sign_key, wrong_key = private, other

    proc, base = start_server(env, workdir)
    try:
        status, body = request("POST", base + "/auth/login", {"username": "alice", "password": "alice-dev-password"})
        check("login as alice", status == 200 and body.get("token_type") == "Bearer", f"{status} {body}")
        token = body["access_token"]
        header = jwt.get_unverified_header(token)
        check("header alg/typ", header.get("alg") == alg and header.get("typ") == "at+jwt", str(header))

        # 1. The server's token verifies in PyJWT.
        if alg == "HS256":
            verify_key = sign_key
        else:
            status, jwks = request("GET", base + "/.well-known/jwks.json")
            check("jwks served", status == 200 and len(jwks["keys"]) >= 1, str(jwks))
            match = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
            check("jwks has the token's kid", len(match) == 1)
            for k in jwks["keys"]:
                check("jwks has no private members", not ({"d", "p", "q", "dp", "dq", "qi", "k"} & set(k)))
            verify_key = jwt.PyJWK.from_dict(match[0]).key
        try:
            claims = jwt.decode(token, verify_key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
            check("PyJWT verifies the server's token", claims.get("sub") and "admin" in claims.get("roles", []), str(claims))
        except jwt.PyJWTError as e:
            check("PyJWT verifies the server's token", False, repr(e))

        # 2. A PyJWT token with the same key is accepted.
        now = int(time.time())
        me_status, me = request("GET", base + "/me", token=token)
        sub = me.get("sub") if isinstance(me, dict) else None
        check("server accepts its own token", me_status == 200 and sub, f"{me_status} {me}")
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub or "alice",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "roles": ["admin"],
        }
        headers = {"typ": "at+jwt"}
        if alg != "HS256":
            headers["kid"] = header["kid"]
        foreign = jwt.encode(payload, sign_key, algorithm=alg, headers=headers)
        status, body = request("GET", base + "/me", token=foreign)
        check("server accepts PyJWT token", status == 200 and body.get("sub") == payload["sub"], f"{status} {body}")
        status, _ = request("GET", base + "/admin/stats", token=foreign)
        check("PyJWT token passes the admin guard", status == 200, str(status))

        # 3. Refusals.
        forged = jwt.encode(payload, wrong_key, algorithm=alg, headers=headers)
        status, body = request("GET", base + "/me", token=forged)
        check("server refuses a token signed with another key", status == 401 and body.get("error") == "invalid_token", f"{status} {body}")
        unsigned = (
            base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "at+jwt"}).encode()).rstrip(b"=").decode()
            + "."
            + base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
            + "."
        )
        status, body = request("GET", base + "/me", token=unsigned)
        check("server refuses alg none", status == 401 and body.get("error") == "invalid_token", f"{status} {body}")
    finally:
        stop(proc)


def main():
    with tempfile.TemporaryDirectory() as workdir:
        for alg in ["RS256", "ES256", "EdDSA", "HS256"]:
            try:
                run_case(alg, workdir)
            except Exception as e:  # a crash is a failed check, reported, not a traceback
                check(f"{alg} case ran", False, repr(e))
    print(f"interop: {passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
