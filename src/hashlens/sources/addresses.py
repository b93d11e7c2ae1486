"""Mainnet addresses and output scripts, both ways: base58check (P2PKH, P2SH) and bech32 /
bech32m segwit addresses (P2WPKH, P2WSH, P2TR and other witness versions).

Written from the BIPs: base58check is Bitcoin Core's ``EncodeBase58Check`` (version byte,
payload, the first four bytes of SHA-256d as a checksum); segwit addresses are BIP 173
(bech32, witness version 0) and BIP 350 (bech32m, versions 1 to 16), with the checks of
BIP 173's decoder (one case, checksum, 8 to 90 characters, witness program of 2 to 40 bytes,
20 or 32 for version 0, and 32 for version 1 taproot outputs).

An output script with no address (OP_RETURN, a bare public key, a multisig) maps to None:
pool payout rules name addresses, and those scripts have none.
"""

from __future__ import annotations

import hashlib

from hashlens.errors import HashlensError

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(B58_ALPHABET)}
P2PKH_VERSION = 0x00
P2SH_VERSION = 0x05
HRP = "bc"

BECH32_ALPHABET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(BECH32_ALPHABET)}
BECH32_CONST = 1  # BIP 173
BECH32M_CONST = 0x2BC830A3  # BIP 350
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)

OP_0, OP_1, OP_16 = 0x00, 0x51, 0x60
OP_DUP, OP_HASH160, OP_EQUAL, OP_EQUALVERIFY, OP_CHECKSIG = 0x76, 0xA9, 0x87, 0x88, 0xAC


def sha256d(data: bytes) -> bytes:
    """SHA-256 of SHA-256: Bitcoin's hash for txids, block hashes and base58 checksums."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


# -- base58check ----------------------------------------------------------------------------------
def b58check_encode(version: int, payload: bytes) -> str:
    """``version || payload || checksum`` in base58, one '1' for each leading zero byte."""
    data = bytes([version]) + payload
    data += sha256d(data)[:4]
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(B58_ALPHABET[r])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58check_decode(text: str) -> tuple[int, bytes]:
    """(version, payload) of a base58check string; refuses a bad character or checksum."""
    n = 0
    for c in text:
        if c not in _B58_INDEX:
            raise HashlensError(f"address {text!r}: {c!r} is not a base58 character")
        n = n * 58 + _B58_INDEX[c]
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    data = b"\0" * (len(text) - len(text.lstrip("1"))) + body
    if len(data) < 5 or sha256d(data[:-4])[:4] != data[-4:]:
        raise HashlensError(f"address {text!r}: the base58check checksum does not match")
    return data[0], data[1:-4]


# -- bech32 / bech32m (BIP 173, BIP 350) -------------------------------------------------------------
def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= _GEN[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int] | None:
    acc, bits, out = 0, 0, []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            return None
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def segwit_encode(version: int, program: bytes, hrp: str = HRP) -> str:
    """The segwit address of a witness program: bech32 for version 0, bech32m for 1 to 16."""
    data = [version, *(_convert_bits(program, 8, 5, True) or [])]
    const = BECH32_CONST if version == 0 else BECH32M_CONST
    poly = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ const
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_ALPHABET[d] for d in data + checksum)


def segwit_decode(address: str, hrp: str = HRP) -> tuple[int, bytes]:
    """(witness version, program) of a segwit address, with BIP 173/350's checks."""
    bad = HashlensError(f"address {address!r}: not a valid {hrp} segwit address (BIP 173/350)")
    if address.lower() != address and address.upper() != address:
        raise bad
    addr = address.lower()
    pos = addr.rfind("1")
    if pos < 1 or pos + 7 > len(addr) or len(addr) > 90 or addr[:pos] != hrp:
        raise bad
    try:
        data = [_BECH32_INDEX[c] for c in addr[pos + 1 :]]
    except KeyError:
        raise bad from None
    const = _polymod([*_hrp_expand(hrp), *data])
    version = data[0]
    if const != (BECH32_CONST if version == 0 else BECH32M_CONST):
        raise bad
    program = _convert_bits(data[1:-6], 5, 8, False)
    if program is None or not 2 <= len(program) <= 40 or version > 16:
        raise bad
    if version == 0 and len(program) not in (20, 32):
        raise bad
    return version, bytes(program)


# -- scripts ⇄ addresses ---------------------------------------------------------------------------
def script_to_address(script: bytes) -> str | None:
    """The mainnet address an output script pays, or None (no standard address).

    P2PKH ``OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG``, P2SH ``OP_HASH160 <20>
    OP_EQUAL``, witness programs ``OP_n <2..40 bytes>`` (P2WPKH, P2WSH, P2TR, …).
    """
    n = len(script)
    if n == 25 and script[0] == OP_DUP and script[1] == OP_HASH160 and script[2] == 20 and script[23:] == b"\x88\xac":
        return b58check_encode(P2PKH_VERSION, script[3:23])
    if n == 23 and script[0] == OP_HASH160 and script[1] == 20 and script[22] == OP_EQUAL:
        return b58check_encode(P2SH_VERSION, script[2:22])
    if 4 <= n <= 42 and (script[0] == OP_0 or OP_1 <= script[0] <= OP_16) and script[1] == n - 2:
        version = 0 if script[0] == OP_0 else script[0] - OP_1 + 1
        if version == 0 and n - 2 not in (20, 32):
            return None
        return segwit_encode(version, script[2:])
    return None


def address_to_script(address: str) -> bytes:
    """The output script that pays a mainnet address (the inverse of :func:`script_to_address`)."""
    if address[:3].lower() == HRP + "1":
        version, program = segwit_decode(address)
        return bytes([OP_0 if version == 0 else OP_1 + version - 1, len(program)]) + program
    version, payload = b58check_decode(address)
    if len(payload) != 20:
        raise HashlensError(f"address {address!r}: a base58 address holds 20 bytes, not {len(payload)}")
    if version == P2PKH_VERSION:
        return bytes([OP_DUP, OP_HASH160, 20]) + payload + bytes([OP_EQUALVERIFY, OP_CHECKSIG])
    if version == P2SH_VERSION:
        return bytes([OP_HASH160, 20]) + payload + bytes([OP_EQUAL])
    raise HashlensError(f"address {address!r}: version byte {version} is not mainnet P2PKH (0) or P2SH (5)")
