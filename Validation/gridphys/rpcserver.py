"""A small Ethereum JSON-RPC server over HTTP (loopback only) serving a `Chain`:
what gridtop's LedgerClient asks of a node for `gridtop alerts --from-block 0
--to-block head` (chain id, head, blocks by number or hash, eth_getLogs by range
or block hash, batches). Subscriptions are not offered (HTTP), so the client polls."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .chain import Chain


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    chain: Chain

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        try:
            req = json.loads(body)
        except ValueError:
            out = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}'
        else:
            if isinstance(req, list):
                out = "[" + ",".join(self._one(r) for r in req) + "]"
            else:
                out = self._one(req)
        data = out.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _one(self, r) -> str:
        rid = json.dumps(r.get("id"))
        try:
            result = self._call(r.get("method"), r.get("params") or [])
        except _RPCError as e:
            return '{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%s}}' % (rid, e.code, json.dumps(e.message))
        return '{"jsonrpc":"2.0","id":%s,"result":%s}' % (rid, result)

    def _block(self, number, full) -> str:
        c = self.chain
        if number is None or number < 0 or number > c.head:
            return "null"
        return json.dumps(c.headers[number])

    def _number(self, tag) -> int:
        if tag in (None, "latest", "pending", "safe", "finalized"):
            return self.chain.head
        if tag == "earliest":
            return 0
        return int(tag, 16)

    def _call(self, method, params) -> str:
        c = self.chain
        if method == "eth_chainId":
            return json.dumps(hex(c.chain_id))
        if method == "net_version":
            return json.dumps(str(c.chain_id))
        if method == "web3_clientVersion":
            return json.dumps("gridtop-physical-validation/1.0")
        if method == "net_peerCount":
            return json.dumps("0x3")
        if method == "net_listening":
            return "true"
        if method == "eth_syncing":
            return "false"
        if method == "eth_blockNumber":
            return json.dumps(hex(c.head))
        if method == "eth_getBlockByNumber":
            return self._block(self._number(params[0]), params[1] if len(params) > 1 else False)
        if method == "eth_getBlockByHash":
            return self._block(c.by_hash.get(str(params[0]).lower()), params[1] if len(params) > 1 else False)
        if method == "eth_getLogs":
            f = params[0] if params else {}
            if "blockHash" in f:
                n = c.by_hash.get(str(f["blockHash"]).lower())
                if n is None:
                    raise _RPCError(-32000, "unknown block")
                blocks = range(n, n + 1)
            else:
                lo, hi = self._number(f.get("fromBlock", "latest")), self._number(f.get("toBlock", "latest"))
                if hi - lo > 10_000:
                    raise _RPCError(-32005, "query exceeds max block range 10000")
                blocks = range(max(lo, 0), min(hi, c.head) + 1)
            parts = []
            for b in blocks:
                parts.extend(c.logs[b])
            return "[" + ",".join(parts) + "]"
        raise _RPCError(-32601, f"the method {method} does not exist/is not available")


class _RPCError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def serve(chain: Chain) -> tuple[ThreadingHTTPServer, int]:
    """Starts a server on 127.0.0.1 (ephemeral port) in a daemon thread; returns it and its port."""
    handler = type("Handler", (_Handler,), {"chain": chain})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]
