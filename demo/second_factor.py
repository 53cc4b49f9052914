"""The demo's second factor: every account enrolled with a TOTP secret derived from its
username, so that the secrets printed by seed_demo are the same on every machine."""

import hashlib
from base64 import b32encode

from core.channels import Channel
from sites.second_factor import second_factor_install


def demo_totp_key(username: str) -> bytes:
    """20 bytes (the RFC 6238 key length for SHA-1) from the username. Published: demo only."""
    return hashlib.sha256(f"reconnect-demo-totp:{username}".encode()).digest()[:20]


def demo_totp_secret(username: str) -> str:
    """The key in base32, as an authenticator app asks for it when typed."""
    return b32encode(demo_totp_key(username)).decode()


def seed_second_factors(users: dict, log) -> None:
    for username, user in users.items():
        second_factor_install(user=user, key=demo_totp_key(username), channel=Channel.COMMAND)
    log(f"Second factor: {len(users)} accounts enrolled with known TOTP secrets.")
