#!/usr/bin/env python3
"""A real EVM (py-evm through eth-tester) served like a geth node, for gridtop's end-to-end tests.

Test tooling, never part of the product. It serves the Ethereum JSON-RPC methods gridtop's
LedgerClient uses, over HTTP (POST, single and batch requests, keep-alive) and over WebSocket
with geth's `eth_subscription` notifications for `newHeads` and `logs` (address and topics
filters, `removed: true` logs on a reorg). Headers are py-evm's own (Prague fork): every field
that goes into the block hash is served, so a client can verify `keccak(rlp(header)) == hash`.

The schema v1 metering contract (docs/ledger-events.md) is assembled here from opcodes, with
no compiler: see `metering_runtime()`.

Control channel: one JSON object per line on stdin, one JSON answer per line on stdout
(`{"ok": …}` or `{"error": "…"}`). Logs go to stderr. The first stdout line is
`{"ready": {"ws": URL, "http": URL, "chainId": N, "accounts": [...]}}`.

Commands (`{"cmd": NAME, ...}`):
- `deploy {sender}`: deploys the metering contract from account index `sender`; mines a block.
- `mine {blocks: [[event, ...], ...], contract?, sender?, notify?}`: one block per inner list,
  one transaction per event, events as
  `{"type": "register", "asset", "parent", "stage", "ratedKw", "name"}`,
  `{"type": "reading", "asset", "interval", "seconds", "importWh", "exportWh"}`,
  `{"type": "transfer", "from", "to", "interval", "wh", "price"}` (bytes32 as 0x-hex).
  Each event may carry its own `contract`/`sender`. Consecutive readings and transfers of one
  sender to one contract go in one `batch()` transaction; `"single": true` sends one alone
  through the ABI function (`reading(...)`/`transfer(...)`). Mined blocks are announced at once
  (`newHeads` and `logs`) unless `notify` is false.
- `snapshot`: the current head as a snapshot id.
- `reorg {snapshot, blocks}`: reverts to the snapshot and mines `blocks` as a new branch, all
  before any client can see the shorter chain; then notifies like geth: every log of the
  dropped blocks again with `removed: true`, oldest first, then each new block's head and logs.
  The dropped blocks stay retrievable by hash (`eth_getBlockByHash`, `eth_getLogs` by hash).
  With `afterRangeQueries: N` the reorg is armed instead, and happens right after the node
  has answered N more `eth_getLogs` over a block range (a reorg under a backfill or an audit).
- `head`: number and hash of the head.
- `rpc {method, params}`: one JSON-RPC call answered as over HTTP (for the test's own checks).
- `stats`: request counts per method.
"""

import asyncio
import json
import os
import sys
import time

from eth_abi import encode as abi_encode
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import keccak, to_checksum_address

# ---------------------------------------------------------------------------------------------
# The metering contract, assembled from opcodes.

TOPIC_REGISTERED = keccak(text="AssetRegistered(bytes32,bytes32,uint8,uint32,string)")
TOPIC_READING = keccak(text="MeterReading(bytes32,uint64,uint32,uint64,uint64)")
TOPIC_TRANSFER = keccak(text="EnergyTransfer(bytes32,bytes32,uint64,uint64,uint64)")

SIG_REGISTER = "register(bytes32,bytes32,uint8,uint32,string)"
SIG_READING = "reading(bytes32,uint64,uint32,uint64,uint64)"
SIG_TRANSFER = "transfer(bytes32,bytes32,uint64,uint64,uint64)"
# Packed batch (the gas-saving form a metering head-end uses): after the selector, records of six
# words [kind (1 reading, 2 transfer), topic1, topic2, data0, data1, data2], one log each.
SIG_BATCH = "batch()"

OP = {
    "STOP": 0x00, "ADD": 0x01, "SUB": 0x03, "LT": 0x10, "EQ": 0x14, "ISZERO": 0x15, "JUMP": 0x56, "DUP2": 0x81, "SHR": 0x1C, "CALLDATALOAD": 0x35,
    "CALLDATASIZE": 0x36, "CALLDATACOPY": 0x37, "CODECOPY": 0x39, "POP": 0x50, "MSTORE": 0x52,
    "JUMPI": 0x57, "JUMPDEST": 0x5B, "DUP1": 0x80, "DUP3": 0x82, "DUP4": 0x83, "SWAP1": 0x90,
    "LOG3": 0xA3, "RETURN": 0xF3, "REVERT": 0xFD,
}


def assemble(program):
    """Assembles a list of opcodes, ('PUSH', bytes), ('PUSHL', label) and ('LABEL', name)."""
    # Labels are 2-byte PUSHes: sizes are known before addresses.
    out, labels, fixups = bytearray(), {}, []
    for item in program:
        if isinstance(item, str):
            out.append(OP[item])
        elif item[0] == "LABEL":
            labels[item[1]] = len(out)
            out.append(OP["JUMPDEST"])
        elif item[0] == "PUSHL":
            out.append(0x61)  # PUSH2
            fixups.append((len(out), item[1]))
            out += b"\0\0"
        else:
            data = item[1]
            assert 1 <= len(data) <= 32
            out.append(0x5F + len(data))
            out += data
    for at, name in fixups:
        out[at:at + 2] = labels[name].to_bytes(2, "big")
    return bytes(out)


def push(n, size=None):
    if isinstance(n, bytes):
        return ("PUSH", n)
    size = size or max(1, (n.bit_length() + 7) // 8)
    return ("PUSH", n.to_bytes(size, "big"))


def selector(sig):
    return keccak(text=sig)[:4]


def metering_runtime():
    """register/reading/transfer(...) emit AssetRegistered/MeterReading/EnergyTransfer (schema v1).

    The indexed arguments are the first two calldata words; the log data is the rest of the
    arguments as they are (for `register`: stage, ratedKw, then the string re-based to 0x60).
    """
    fixed = [  # reading and transfer: topics = (topic0, word0, word1), data = words 2..4
        push(0x60), push(0x44), push(0), "CALLDATACOPY",
        push(0x24), "CALLDATALOAD", push(0x04), "CALLDATALOAD",
    ]
    return assemble([
        push(0), "CALLDATALOAD", push(0xE0), "SHR",
        "DUP1", push(selector(SIG_READING)), "EQ", ("PUSHL", "reading"), "JUMPI",
        "DUP1", push(selector(SIG_TRANSFER)), "EQ", ("PUSHL", "transfer"), "JUMPI",
        "DUP1", push(selector(SIG_REGISTER)), "EQ", ("PUSHL", "register"), "JUMPI",
        "DUP1", push(selector(SIG_BATCH)), "EQ", ("PUSHL", "batch"), "JUMPI",
        push(0), "DUP1", "REVERT",
        ("LABEL", "batch"), push(4),                                       # [off]
        ("LABEL", "loop"),
        "CALLDATASIZE", "DUP2", "LT", "ISZERO", ("PUSHL", "end"), "JUMPI",  # off < calldatasize
        push(0x60), "DUP2", push(0x60), "ADD", push(0), "CALLDATACOPY",    # mem[0..0x60] = data words
        "DUP1", push(0x40), "ADD", "CALLDATALOAD",                         # [off, t2]
        "DUP2", push(0x20), "ADD", "CALLDATALOAD",                         # [off, t2, t1]
        "DUP3", "CALLDATALOAD",                                            # [off, t2, t1, kind]
        "DUP1", push(1), "EQ", ("PUSHL", "isReading"), "JUMPI",
        "POP", push(TOPIC_TRANSFER), ("PUSHL", "emit"), "JUMP",
        ("LABEL", "isReading"), "POP", push(TOPIC_READING),
        ("LABEL", "emit"), push(0x60), push(0), "LOG3",                    # [off]
        push(0xC0), "ADD", ("PUSHL", "loop"), "JUMP",
        ("LABEL", "end"), "STOP",
        ("LABEL", "reading"), *fixed, push(TOPIC_READING), push(0x60), push(0), "LOG3", "STOP",
        ("LABEL", "transfer"), *fixed, push(TOPIC_TRANSFER), push(0x60), push(0), "LOG3", "STOP",
        ("LABEL", "register"),
        push(0x44), "CALLDATALOAD", push(0), "MSTORE",        # stage
        push(0x64), "CALLDATALOAD", push(0x20), "MSTORE",     # ratedKw
        push(0x60), push(0x40), "MSTORE",                     # string offset in the data
        push(0x84), "CALLDATALOAD", push(4), "ADD",           # src = 4 + offset
        "DUP1", "CALLDATASIZE", "SUB",                        # [src, n]
        "DUP1", "DUP3", push(0x60), "CALLDATACOPY",           # mem[0x60..] = length, bytes
        push(0x60), "ADD", "SWAP1", "POP",                    # [size]
        push(0x24), "CALLDATALOAD", push(0x04), "CALLDATALOAD", push(TOPIC_REGISTERED),
        "DUP4", push(0), "LOG3", "STOP",
    ])


def initcode(runtime):
    n = len(runtime)
    head = assemble([push(n, 2), "DUP1", push(12), push(0), "CODECOPY", push(0), "RETURN"])
    assert len(head) == 12
    return head + runtime


def b32(x):
    b = bytes.fromhex(x[2:] if x.startswith("0x") else x)
    assert len(b) == 32, x
    return b


def b20(x):
    b = bytes.fromhex(x[2:] if x.startswith("0x") else x)
    assert len(b) == 20, x
    return b


def batch_record(ev):
    t = ev["type"]
    if t == "reading":
        words = [1, b32(ev["asset"]), ev["interval"], ev["seconds"], ev["importWh"], ev["exportWh"]]
    elif t == "transfer":
        words = [2, b32(ev["from"]), b32(ev["to"]), ev["interval"], ev["wh"], ev.get("price", 0)]
    else:
        raise ValueError(f"{t} is not batched")
    return b"".join(w if isinstance(w, bytes) else int(w).to_bytes(32, "big") for w in words)


def calldata(ev):
    t = ev["type"]
    if t == "register":
        args = abi_encode(["bytes32", "bytes32", "uint8", "uint32", "string"],
                          [b32(ev["asset"]), b32(ev["parent"]), ev["stage"], ev["ratedKw"], ev["name"]])
        return selector(SIG_REGISTER) + args
    if t == "reading":
        args = abi_encode(["bytes32", "uint64", "uint32", "uint64", "uint64"],
                          [b32(ev["asset"]), ev["interval"], ev["seconds"], ev["importWh"], ev["exportWh"]])
        return selector(SIG_READING) + args
    if t == "transfer":
        args = abi_encode(["bytes32", "bytes32", "uint64", "uint64", "uint64"],
                          [b32(ev["from"]), b32(ev["to"]), ev["interval"], ev["wh"], ev.get("price", 0)])
        return selector(SIG_TRANSFER) + args
    raise ValueError(f"unknown event type {t!r}")


# ---------------------------------------------------------------------------------------------
# JSON shapes (geth's).

def qty(n):
    return hex(n)


def data_hex(b):
    return "0x" + bytes(b).hex()


def header_json(block):
    h = block.header
    out = {
        "number": qty(h.block_number),
        "hash": data_hex(h.hash),
        "parentHash": data_hex(h.parent_hash),
        "sha3Uncles": data_hex(h.uncles_hash),
        "miner": to_checksum_address(h.coinbase).lower(),
        "stateRoot": data_hex(h.state_root),
        "transactionsRoot": data_hex(h.transaction_root),
        "receiptsRoot": data_hex(h.receipt_root),
        "logsBloom": data_hex(h.bloom.to_bytes(256, "big")),
        "difficulty": qty(h.difficulty),
        "gasLimit": qty(h.gas_limit),
        "gasUsed": qty(h.gas_used),
        "timestamp": qty(h.timestamp),
        "extraData": data_hex(h.extra_data),
        "mixHash": data_hex(h.mix_hash),
        "nonce": data_hex(h.nonce),
    }
    for attr, key, kind in (("base_fee_per_gas", "baseFeePerGas", "q"), ("withdrawals_root", "withdrawalsRoot", "d"),
                            ("blob_gas_used", "blobGasUsed", "q"), ("excess_blob_gas", "excessBlobGas", "q"),
                            ("parent_beacon_block_root", "parentBeaconBlockRoot", "d"),
                            ("requests_hash", "requestsHash", "d")):
        if hasattr(h, attr):
            v = getattr(h, attr)
            out[key] = qty(v) if kind == "q" else data_hex(v)
    return out


class Node:
    def __init__(self):
        self.backend = PyEVMBackend()
        self.tester = EthereumTester(backend=self.backend, auto_mine_transactions=False)
        self.accounts = self.tester.get_accounts()
        self.chain_id = self.backend.chain.chain_id
        # Every block ever mined, canonical or not: hash -> (header json, tx hashes, logs).
        self.blocks = {}
        self.subscribers = []  # WebSocket sessions
        self.stats = {}
        self.contracts = []
        self.snapshots = {}
        self.range_queries = 0
        self.armed = None  # {"after": N, "args": {...}}: a reorg after the N-th range eth_getLogs
        genesis = self.backend.chain.get_canonical_block_by_number(0)
        self.record(genesis)

    # -- chain access -------------------------------------------------------------------------

    @property
    def chain(self):
        return self.backend.chain

    def head_number(self):
        return self.chain.get_canonical_head().block_number

    def canonical_hash(self, n):
        try:
            return self.chain.chaindb.get_canonical_block_hash(n)
        except Exception:
            return None

    def record(self, block):
        h = block.hash
        if h in self.blocks:
            return self.blocks[h]
        receipts = block.get_receipts(self.chain.chaindb)
        logs, index = [], 0
        txs = [data_hex(tx.hash) for tx in block.transactions]
        for ti, (tx, rc) in enumerate(zip(block.transactions, receipts)):
            for lg in rc.logs:
                logs.append({
                    "address": to_checksum_address(lg.address).lower(),
                    "topics": [data_hex(t.to_bytes(32, "big")) for t in lg.topics],
                    "data": data_hex(lg.data),
                    "blockNumber": qty(block.number),
                    "blockHash": data_hex(h),
                    "transactionHash": data_hex(tx.hash),
                    "transactionIndex": qty(ti),
                    "logIndex": qty(index),
                    "removed": False,
                })
                index += 1
        entry = {"header": header_json(block), "txs": txs, "logs": logs, "number": block.number}
        self.blocks[h] = entry
        return entry

    def block_json(self, entry, full):
        j = dict(entry["header"])
        j["transactions"] = list(entry["txs"])
        j["uncles"] = []
        j["withdrawals"] = []
        j["totalDifficulty"] = "0x0"
        j["size"] = qty(1000)
        return j

    def mine(self, blocks, contract=None, sender=None):
        mined = []
        for events in blocks:
            # Consecutive readings and transfers for the same contract from the same sender go
            # in one batch transaction (py-evm re-hashes the block's tries per transaction);
            # registrations are one transaction each. Log order is event order.
            txs = []
            for ev in events:
                c = ev.get("contract", contract) or (self.contracts[0] if self.contracts else None)
                frm = b20(self.accounts[ev.get("sender", sender or 0)])
                if ev["type"] == "register" or ev.get("single"):
                    txs.append((c, frm, calldata(ev)))
                elif txs and txs[-1][3:] == ("batch",) and txs[-1][0] == c and txs[-1][1] == frm and len(txs[-1][2]) < 200 * 192:
                    txs[-1] = (c, frm, txs[-1][2] + batch_record(ev), "batch")
                else:
                    txs.append((c, frm, selector(SIG_BATCH) + batch_record(ev), "batch"))
            nonces = {}
            for c, frm, data, *_ in txs:
                # Applied to the pending block at once, so later ones need the next nonce.
                if frm not in nonces:
                    nonces[frm] = self.backend.get_nonce(frm)
                self.backend.send_transaction({
                    "from": frm, "to": b20(c), "gas": 5_000_000, "value": 0, "data": data, "nonce": nonces[frm],
                })
                nonces[frm] += 1
            (bh,) = self.tester.mine_blocks(1)
            block = self.chain.get_block_by_hash(b32(bh))
            mined.append(self.record(block))
        return mined

    def deploy(self, sender):
        txh = self.tester.send_transaction({
            "from": self.accounts[sender], "gas": 500_000, "value": 0,
            "data": data_hex(initcode(metering_runtime())),
        })
        (bh,) = self.tester.mine_blocks(1)
        rc = self.tester.get_transaction_receipt(txh)
        addr = rc["contract_address"].lower()
        self.contracts.append(addr)
        entry = self.record(self.chain.get_block_by_hash(b32(bh)))
        return addr, entry

    # -- JSON-RPC -----------------------------------------------------------------------------

    def resolve_number(self, tag):
        head = self.head_number()
        if tag in ("latest", "safe", "finalized", "pending", None):
            return head
        if tag == "earliest":
            return 0
        return int(tag, 16)

    def logs_matching(self, entries, flt):
        addrs = flt.get("address")
        if isinstance(addrs, str):
            addrs = [addrs]
        addrs = {a.lower() for a in addrs} if addrs else None
        topics = flt.get("topics") or []
        out = []
        for e in entries:
            for lg in e["logs"]:
                if addrs is not None and lg["address"] not in addrs:
                    continue
                ok = True
                for i, want in enumerate(topics):
                    if want is None:
                        continue
                    alts = [want] if isinstance(want, str) else want
                    if not alts:
                        continue
                    if i >= len(lg["topics"]) or lg["topics"][i].lower() not in {a.lower() for a in alts}:
                        ok = False
                        break
                if ok:
                    out.append(lg)
        return out

    def call(self, method, params):
        self.stats[method] = self.stats.get(method, 0) + 1
        if method == "eth_chainId":
            return qty(self.chain_id)
        if method == "net_version":
            return str(self.chain_id)
        if method == "web3_clientVersion":
            return "py-evm/eth-tester (gridtop test node)"
        if method == "eth_blockNumber":
            return qty(self.head_number())
        if method == "net_peerCount":
            return qty(3)
        if method == "net_listening":
            return True
        if method == "eth_syncing":
            return False
        if method == "eth_getBlockByNumber":
            n = self.resolve_number(params[0])
            h = self.canonical_hash(n)
            if h is None or n > self.head_number():
                return None
            entry = self.blocks.get(h) or self.record(self.chain.get_block_by_hash(h))
            return self.block_json(entry, bool(params[1]) if len(params) > 1 else False)
        if method == "eth_getBlockByHash":
            entry = self.blocks.get(b32(params[0]))
            return None if entry is None else self.block_json(entry, bool(params[1]) if len(params) > 1 else False)
        if method == "eth_getBlockTransactionCountByNumber":
            n = self.resolve_number(params[0])
            h = self.canonical_hash(n)
            return None if h is None else qty(len(self.blocks[h]["txs"]))
        if method == "eth_getLogs":
            flt = params[0] if params else {}
            if "blockHash" in flt:
                entry = self.blocks.get(b32(flt["blockHash"]))
                if entry is None:
                    raise RPCError(-32000, "unknown block")
                return self.logs_matching([entry], flt)
            lo = self.resolve_number(flt.get("fromBlock", "latest"))
            hi = min(self.resolve_number(flt.get("toBlock", "latest")), self.head_number())
            entries = [self.blocks[self.canonical_hash(n)] for n in range(lo, hi + 1)]
            out = self.logs_matching(entries, flt)
            self.range_queries += 1
            if self.armed and self.range_queries >= self.armed["after"]:
                # A reorg right after this answer is computed (it goes out on the old chain).
                armed, self.armed = self.armed, None
                asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.run_reorg(**armed["args"])))
            return out
        raise RPCError(-32601, f"the method {method} does not exist/is not available")

    async def run_reorg(self, snapshot, blocks, contract=None, sender=None):
        base = self.snapshots[snapshot]
        old_head = self.head_number()
        dropped = [self.blocks[self.canonical_hash(n)] for n in range(base + 1, old_head + 1)]
        self.tester.revert_to_snapshot(snapshot)
        mined = self.mine(blocks, contract, sender)
        if self.head_number() <= old_head:
            raise ValueError(f"the new branch (head {self.head_number()}) is not longer than the old one ({old_head})")
        log(f"reorg: dropped {len(dropped)} blocks above #{base}, new head #{self.head_number()}")
        await self.announce(dropped, mined)
        return dropped, mined

    # -- notifications ------------------------------------------------------------------------

    async def announce(self, removed_entries, new_entries):
        """geth's order on a reorg: the dropped logs (removed: true, oldest first), then the new heads and logs."""
        for sess in list(self.subscribers):
            try:
                for e in removed_entries:
                    for lg in e["logs"]:
                        await sess.notify_log(dict(lg, removed=True))
                for e in new_entries:
                    await sess.notify_head(e["header"])
                    for lg in e["logs"]:
                        await sess.notify_log(lg)
            except Exception as exc:  # a closed socket
                log(f"notify failed: {exc}")


class RPCError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def log(text):
    print(f"evm-node: {text}", file=sys.stderr, flush=True)


def answer(node, req):
    if not isinstance(req, dict) or "method" not in req:
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
    rid = req.get("id")
    try:
        return {"jsonrpc": "2.0", "id": rid, "result": node.call(req["method"], req.get("params") or [])}
    except RPCError as e:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": e.code, "message": e.message}}
    except Exception as e:
        log(f"{req.get('method')} failed: {e!r}")
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32603, "message": str(e)}}


def handle_body(node, body):
    try:
        req = json.loads(body)
    except ValueError:
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
    if isinstance(req, list):
        return [answer(node, r) for r in req]
    return answer(node, req)


# ---------------------------------------------------------------------------------------------
# HTTP (hand-written HTTP/1.1 with keep-alive: the standard library's server is thread-based).

async def http_session(node, reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            headers = {}
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length", "0"))
            body = await reader.readexactly(n) if n else b""
            method = line.split(b" ")[0]
            if method != b"POST":
                payload, status = b'{"error":"POST JSON-RPC here"}', b"405 Method Not Allowed"
            else:
                payload, status = json.dumps(handle_body(node, body)).encode(), b"200 OK"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


# ---------------------------------------------------------------------------------------------
# WebSocket.

class WSSession:
    def __init__(self, node, ws):
        self.node, self.ws = node, ws
        self.subs = {}  # id -> ("newHeads", None) | ("logs", filter)
        self.next_id = 1

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))

    async def notify_head(self, header):
        for sid, (kind, _) in list(self.subs.items()):
            if kind == "newHeads":
                await self.send({"jsonrpc": "2.0", "method": "eth_subscription",
                                 "params": {"subscription": sid, "result": header}})

    async def notify_log(self, lg):
        for sid, (kind, flt) in list(self.subs.items()):
            if kind == "logs" and self.node.logs_matching([{"logs": [lg]}], flt):
                await self.send({"jsonrpc": "2.0", "method": "eth_subscription",
                                 "params": {"subscription": sid, "result": lg}})

    def one(self, req):
        if isinstance(req, dict) and req.get("method") == "eth_subscribe":
            params = req.get("params") or []
            kind = params[0] if params else None
            if kind not in ("newHeads", "logs"):
                return {"jsonrpc": "2.0", "id": req.get("id"), "error": {"code": -32602, "message": f"no subscription {kind}"}}
            sid = hex(0x1000 + self.next_id)
            self.next_id += 1
            self.subs[sid] = (kind, params[1] if len(params) > 1 else {})
            return {"jsonrpc": "2.0", "id": req.get("id"), "result": sid}
        if isinstance(req, dict) and req.get("method") == "eth_unsubscribe":
            sid = (req.get("params") or [None])[0]
            return {"jsonrpc": "2.0", "id": req.get("id"), "result": self.subs.pop(sid, None) is not None}
        return answer(self.node, req)

    async def run(self):
        self.node.subscribers.append(self)
        try:
            async for message in self.ws:
                try:
                    req = json.loads(message)
                except ValueError:
                    await self.send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
                    continue
                await self.send([self.one(r) for r in req] if isinstance(req, list) else self.one(req))
        except Exception as exc:
            log(f"websocket closed: {exc!r}")
        finally:
            self.node.subscribers.remove(self)


# ---------------------------------------------------------------------------------------------
# Control channel.

async def control(node, ws_url, http_url):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"ready": {"ws": ws_url, "http": http_url, "chainId": node.chain_id, "accounts": node.accounts}})
    while True:
        line = await reader.readline()
        if not line:
            return
        try:
            cmd = json.loads(line)
            name = cmd.get("cmd")
            if name == "deploy":
                addr, entry = node.deploy(cmd.get("sender", 0))
                await node.announce([], [entry])
                reply({"ok": {"contract": addr, "block": entry["number"], "deployer": node.accounts[cmd.get("sender", 0)]}})
            elif name == "mine":
                mined = node.mine(cmd["blocks"], cmd.get("contract"), cmd.get("sender"))
                if cmd.get("notify", True):
                    await node.announce([], mined)
                reply({"ok": {"blocks": [{"number": e["number"], "hash": e["header"]["hash"], "logs": len(e["logs"])} for e in mined]}})
            elif name == "snapshot":
                sid = node.tester.take_snapshot()
                node.snapshots[sid] = node.head_number()
                reply({"ok": {"snapshot": sid, "block": node.head_number()}})
            elif name == "reorg":
                args = {"snapshot": cmd["snapshot"], "blocks": cmd["blocks"], "contract": cmd.get("contract"),
                        "sender": cmd.get("sender")}
                if "afterRangeQueries" in cmd:
                    # Armed: happens right after the node answers that many more range eth_getLogs.
                    node.armed = {"after": node.range_queries + cmd["afterRangeQueries"], "args": args}
                    reply({"ok": {"armed": True}})
                    continue
                dropped, mined = await node.run_reorg(**args)
                reply({"ok": {"dropped": [{"number": e["number"], "hash": e["header"]["hash"]} for e in dropped],
                              "blocks": [{"number": e["number"], "hash": e["header"]["hash"], "logs": len(e["logs"])} for e in mined]}})
            elif name == "head":
                n = node.head_number()
                reply({"ok": {"number": n, "hash": data_hex(node.canonical_hash(n))}})
            elif name == "rpc":
                reply({"ok": node.call(cmd["method"], cmd.get("params") or [])})
            elif name == "stats":
                reply({"ok": node.stats})
            else:
                reply({"error": f"unknown command {name!r}"})
        except Exception as exc:
            log(f"control command failed: {exc!r}")
            reply({"error": f"{type(exc).__name__}: {exc}"})


async def main():
    import websockets
    node = Node()
    host = "127.0.0.1"
    ws_server = await websockets.serve(lambda ws: WSSession(node, ws).run(), host, 0, max_size=64 * 1024 * 1024)
    http_server = await asyncio.start_server(lambda r, w: http_session(node, r, w), host, 0)
    ws_port = ws_server.sockets[0].getsockname()[1]
    http_port = http_server.sockets[0].getsockname()[1]
    await control(node, f"ws://{host}:{ws_port}", f"http://{host}:{http_port}")
    ws_server.close()
    http_server.close()


if __name__ == "__main__":
    asyncio.run(main())
