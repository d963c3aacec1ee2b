#!/usr/bin/env python3
"""web3.py side of the backfill comparison in `make bench` (issue 3).

Fetches the grid logs of blocks FROM..TO from a node with eth_getLogs over WebSocket, as
web3.py users do, and decodes every one with web3.py's event ABI decoding
(`contract.events.<Event>().process_log`): the same logs, from the same simulator node,
that GridtopBench's Swift client has just backfilled. The ABI is schema v1
(docs/ledger-events.md). Prints one JSON line: logs, blocks, seconds (fetch + decode),
and the two phases apart.

Run by GridtopBench with the venv that scripts/bench-web3-setup.sh makes:
    .build/bench-venv/bin/python scripts/bench_web3.py --url ws://127.0.0.1:PORT --from 0 --to HEAD
"""
import argparse
import asyncio
import json
import sys
import time

try:
    import web3
    from web3 import AsyncWeb3
except ImportError as e:  # the caller reports this, and still reports the Swift numbers
    print(json.dumps({"error": f"web3.py is not installed: {e}"}))
    sys.exit(2)

try:
    from web3 import WebSocketProvider  # web3.py >= 7
except ImportError:
    from web3.providers.persistent import WebSocketProvider

B32 = "bytes32"
ABI = [
    {"type": "event", "name": "AssetRegistered", "anonymous": False, "inputs": [
        {"name": "asset", "type": B32, "indexed": True},
        {"name": "parent", "type": B32, "indexed": True},
        {"name": "stage", "type": "uint8", "indexed": False},
        {"name": "ratedKw", "type": "uint32", "indexed": False},
        {"name": "name", "type": "string", "indexed": False}]},
    {"type": "event", "name": "MeterReading", "anonymous": False, "inputs": [
        {"name": "asset", "type": B32, "indexed": True},
        {"name": "intervalStart", "type": "uint64", "indexed": True},
        {"name": "intervalSeconds", "type": "uint32", "indexed": False},
        {"name": "importWh", "type": "uint64", "indexed": False},
        {"name": "exportWh", "type": "uint64", "indexed": False}]},
    {"type": "event", "name": "EnergyTransfer", "anonymous": False, "inputs": [
        {"name": "from", "type": B32, "indexed": True},
        {"name": "to", "type": B32, "indexed": True},
        {"name": "intervalStart", "type": "uint64", "indexed": False},
        {"name": "wh", "type": "uint64", "indexed": False},
        {"name": "priceMicrosPerKwh", "type": "uint64", "indexed": False}]},
]
# topic0 of each event (docs/ledger-events.md); checked against web3.py's own keccak below.
TOPICS = {
    "AssetRegistered": "0xd2adfd2ce1b41ca1a96e13fe9c952cd0bea7bd595f08bc56c2e5a2b71148e8b7",
    "MeterReading": "0x965ed4b4030440543f1d34f3ae4a2ea7b7e65954789641167d4e4cf4a1883a21",
    "EnergyTransfer": "0x86af18689511a478a2cb61bf2e3c6d60f27aa438872b0156a96ef9569468c3b1",
}


async def run(url, first, last, span, address):
    # No message size cap: one eth_getLogs answer can be many MiB (the Swift client allows 64 MiB here).
    provider = WebSocketProvider(url, websocket_kwargs={"max_size": None}, request_timeout=600)
    async with AsyncWeb3(provider) as w3:
        contract = w3.eth.contract(abi=ABI)
        events = {}
        for name, topic in TOPICS.items():
            signature = f"{name}({','.join(i['type'] for i in next(e for e in ABI if e['name'] == name)['inputs'])})"
            assert w3.to_hex(w3.keccak(text=signature)) == topic, f"topic0 of {name}"
            events[bytes.fromhex(topic[2:])] = contract.events[name]()
        flt = {"topics": [list(TOPICS.values())]}
        if address:
            flt["address"] = w3.to_checksum_address(address)
        fetch = decode = 0.0
        logs = 0
        meter = 0
        blocks = set()
        start = first
        t_all = time.perf_counter()
        while start <= last:
            end = min(last, start + span - 1)
            t0 = time.perf_counter()
            raw = await w3.eth.get_logs({**flt, "fromBlock": start, "toBlock": end})
            t1 = time.perf_counter()
            for log in raw:
                ev = events[bytes(log["topics"][0])].process_log(log)
                logs += 1
                blocks.add(ev["blockNumber"])
                if ev["event"] == "MeterReading":
                    meter += 1
            t2 = time.perf_counter()
            fetch += t1 - t0
            decode += t2 - t1
            start = end + 1
        total = time.perf_counter() - t_all
    return {"web3": web3.__version__, "logs": logs, "meterReadings": meter, "blocks": len(blocks),
            "seconds": total, "fetchSeconds": fetch, "decodeSeconds": decode}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="ws:// URL of the node")
    ap.add_argument("--from", dest="first", type=int, default=0)
    ap.add_argument("--to", dest="last", type=int, required=True)
    ap.add_argument("--range", dest="span", type=int, default=2000, help="blocks per eth_getLogs (the client's default)")
    ap.add_argument("--address", default=None, help="contract address filter")
    a = ap.parse_args()
    try:
        result = asyncio.run(run(a.url, a.first, a.last, max(1, a.span), a.address))
    except Exception as e:  # a clear one-line reason for the bench's report
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
