"""Schema v1 (docs/ledger-events.md) as an EVM chain: ABI-encoded logs in blocks whose
hashes are keccak-256 of their RLP headers, written here independently of gridtop's
Swift encoder (pycryptodome's Keccak, a hand-written RLP and ABI)."""
from __future__ import annotations

import json

from Crypto.Hash import keccak


def keccak256(b: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=b).digest()


TOPIC_REGISTERED = keccak256(b"AssetRegistered(bytes32,bytes32,uint8,uint32,string)")
TOPIC_READING = keccak256(b"MeterReading(bytes32,uint64,uint32,uint64,uint64)")
assert TOPIC_REGISTERED.hex() == "d2adfd2ce1b41ca1a96e13fe9c952cd0bea7bd595f08bc56c2e5a2b71148e8b7"
assert TOPIC_READING.hex() == "965ed4b4030440543f1d34f3ae4a2ea7b7e65954789641167d4e4cf4a1883a21"

CONTRACT = "0x" + keccak256(b"gridtop physical validation metering contract")[-20:].hex()
ZERO32 = b"\x00" * 32
EMPTY_UNCLES = keccak256(bytes([0xC0]))
EMPTY_TRIE = keccak256(bytes([0x80]))


def asset_id(code: str) -> bytes:
    """By convention keccak-256 of the asset's code."""
    return keccak256(code.encode())


def word(n: int) -> bytes:
    return int(n).to_bytes(32, "big")


def rlp(item) -> bytes:
    if isinstance(item, int):
        item = b"" if item == 0 else item.to_bytes((item.bit_length() + 7) // 8, "big")
    if isinstance(item, (bytes, bytearray)):
        b = bytes(item)
        if len(b) == 1 and b[0] < 0x80:
            return b
        return _len(len(b), 0x80) + b
    payload = b"".join(rlp(x) for x in item)
    return _len(len(payload), 0xC0) + payload


def _len(n: int, off: int) -> bytes:
    if n < 56:
        return bytes([off + n])
    nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([off + 55 + len(nb)]) + nb


def registered(asset: bytes, parent: bytes, stage: int, rated_kw: int, name: str) -> tuple[list[bytes], bytes]:
    s = name.encode()
    padded = s + b"\x00" * ((32 - len(s) % 32) % 32)
    data = word(stage) + word(rated_kw) + word(0x60) + word(len(s)) + padded
    return [TOPIC_REGISTERED, asset, parent], data


_READING_HEX = "0x" + TOPIC_READING.hex()


def reading(asset: bytes, interval_start: int, seconds: int, import_wh: int, export_wh: int) -> tuple[list[str], str]:
    """(topics, data) as 0x-hex text (the hot path: a run has a few hundred thousand readings)."""
    return ([_READING_HEX, "0x" + asset.hex(), "0x%064x" % interval_start],
            "0x%064x%064x%064x" % (seconds, import_wh, export_wh))


class Chain:
    """Blocks with grid logs, served by rpcserver. Block 0 is an empty genesis."""

    def __init__(self, chain_id: int = 31337, genesis_time: int = 1_451_606_000):
        self.chain_id = chain_id
        self.headers: list[dict] = []
        self.hashes: list[bytes] = []
        self.logs: list[list[str]] = []  # per block: JSON text of each log
        self.by_hash: dict[str, int] = {}
        self.miner = keccak256(b"validator-0")[-20:]
        self._append(genesis_time, [])

    def add_block(self, timestamp: int, events: list[tuple[list[bytes], bytes]]) -> int:
        return self._append(timestamp, events)

    def _append(self, timestamp: int, events) -> int:
        number = len(self.headers)
        parent = self.hashes[-1] if self.hashes else ZERO32
        fields = [parent, EMPTY_UNCLES, self.miner, ZERO32, EMPTY_TRIE, EMPTY_TRIE, b"\x00" * 256,
                  1, number, 30_000_000, 21_000 * len(events), timestamp, b"", ZERO32, b"\x00" * 8]
        h = keccak256(rlp(fields))
        hx = "0x" + h.hex()
        tx = "0x" + keccak256(b"tx" + h).hex()
        header = {
            "number": hex(number), "hash": hx, "parentHash": "0x" + parent.hex(),
            "sha3Uncles": "0x" + EMPTY_UNCLES.hex(), "miner": "0x" + self.miner.hex(),
            "stateRoot": "0x" + ZERO32.hex(), "transactionsRoot": "0x" + EMPTY_TRIE.hex(),
            "receiptsRoot": "0x" + EMPTY_TRIE.hex(), "logsBloom": "0x" + "00" * 256, "difficulty": "0x1",
            "totalDifficulty": hex(number + 1), "gasLimit": hex(30_000_000), "gasUsed": hex(21_000 * len(events)),
            "timestamp": hex(timestamp), "extraData": "0x", "mixHash": "0x" + ZERO32.hex(), "nonce": "0x" + "00" * 8,
            "size": "0x220", "uncles": [], "transactions": [tx] if events else [],
        }
        logs = []
        tail = '","blockNumber":"%s","blockHash":"%s","transactionHash":"%s","transactionIndex":"0x0","logIndex":"' % (hex(number), hx, tx)
        for i, (topics, data) in enumerate(events):
            if isinstance(data, bytes):
                topics, data = ["0x" + t.hex() for t in topics], "0x" + data.hex()
            logs.append('{"address":"%s","topics":["%s"],"data":"%s%s%s","removed":false}'
                        % (CONTRACT, '","'.join(topics), data, tail, hex(i)))
        self.headers.append(header)
        self.hashes.append(h)
        self.logs.append(logs)
        self.by_hash[hx] = number
        return number

    @property
    def head(self) -> int:
        return len(self.headers) - 1
