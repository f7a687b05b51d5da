#!/usr/bin/env python3
"""A loopback stand-in for the model APIs, for tests.

Usage: llm_server.py DIR

Listens on 127.0.0.1 (an ephemeral port, written to DIR/port) and answers
each request with the first line of DIR/queue (JSON), removing that line.
Every request is appended to DIR/requests as one JSON line: method, path,
lowercased headers and the body text, and, when LLM_SERVER_WATCH is a glob,
"watch": what the files it matches held when the request arrived. A
response line is an object:

  status, headers, ctype   the status (200), extra headers, Content-Type
  body                     a raw body (string)
  anthropic                a whole Messages API message; with "stream": true
                           it is sent as the SSE events the API streams
                           (text, thinking with signature_delta, tool_use
                           with input_json_delta, pings between events)
  openai                   {content, tool_calls: [{id, name, arguments}],
                           finish_reason, usage}; with "stream": true it is
                           sent as chat.completion.chunk events, tool call
                           arguments split and interleaved by index, then
                           data: [DONE]
  split                    piece size for streamed text and JSON (default 3)
  chunk                    chunked transfer encoding, this many bytes a
                           chunk (default 7, so chunks cut lines and UTF-8)
  drop_tail                leave out this many events at the end, ending the
                           response cleanly (a stream that stops early)
  cut                      send only this many body bytes, then drop the
                           connection without ending the chunked body
  plain                    send the body with Content-Length, not chunked
  stall                    after the first chunk, wait this many seconds

The server runs until killed. An empty queue answers 599.
"""
import glob
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
LOCK = threading.Lock()


def pieces(s, n):
    return [s[i:i + n] for i in range(0, len(s), n)] or [""]


def sse(name, obj):
    head = "event: %s\n" % name if name else ""
    return head + "data: " + json.dumps(obj) + "\n\n"


def anthropic_events(msg, n):
    ev = []
    start = dict(msg, content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = dict(msg.get("usage", {}), output_tokens=1)
    ev.append(sse("message_start", {"type": "message_start",
                                    "message": start}))
    ev.append(sse("ping", {"type": "ping"}))
    for i, b in enumerate(msg["content"]):
        t = b["type"]
        if t == "text":
            first, deltas = {"type": "text", "text": ""}, [
                {"type": "text_delta", "text": p} for p in pieces(b["text"], n)]
        elif t == "thinking":
            first = {"type": "thinking", "thinking": ""}
            deltas = [{"type": "thinking_delta", "thinking": p}
                      for p in pieces(b["thinking"], n)]
            deltas.append({"type": "signature_delta",
                           "signature": b["signature"]})
        elif t == "tool_use":
            first = dict(b, input={})
            deltas = [{"type": "input_json_delta", "partial_json": p}
                      for p in pieces(json.dumps(b["input"]), n)]
        else:
            first, deltas = b, []
        ev.append(sse("content_block_start", {"type": "content_block_start",
                                              "index": i,
                                              "content_block": first}))
        for k, d in enumerate(deltas):
            ev.append(sse("content_block_delta", {
                "type": "content_block_delta", "index": i, "delta": d}))
            if k == 1:
                ev.append(sse("ping", {"type": "ping"}))
        ev.append(sse("content_block_stop", {"type": "content_block_stop",
                                             "index": i}))
    ev.append(sse("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": msg.get("stop_reason"),
                  "stop_sequence": None},
        "usage": {"output_tokens": msg.get("usage", {}).get("output_tokens",
                                                            0)}}))
    ev.append(sse("message_stop", {"type": "message_stop"}))
    return ev


def openai_whole(o):
    m = {"role": "assistant", "content": o.get("content")}
    if o.get("tool_calls"):
        m["tool_calls"] = [{"id": c["id"], "type": "function",
                            "function": {"name": c["name"],
                                         "arguments": c["arguments"]}}
                           for c in o["tool_calls"]]
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
            "model": "m", "choices": [{"index": 0, "message": m,
                                       "finish_reason": o["finish_reason"]}],
            "usage": o.get("usage", {})}


def openai_events(o, n):
    def chunk(delta, finish=None):
        return sse(None, {"id": "chatcmpl-1",
                          "object": "chat.completion.chunk", "created": 1,
                          "model": "m",
                          "choices": [{"index": 0, "delta": delta,
                                       "finish_reason": finish}]})
    ev = [chunk({"role": "assistant", "content": ""})]
    for p in pieces(o.get("content") or "", n):
        ev.append(chunk({"content": p}))
    calls = o.get("tool_calls") or []
    for i, c in enumerate(calls):
        ev.append(chunk({"tool_calls": [{
            "index": i, "id": c["id"], "type": "function",
            "function": {"name": c["name"], "arguments": ""}}]}))
    # Arguments arrive split and interleaved: only the index ties them.
    split = [pieces(c["arguments"], n) for c in calls]
    for k in range(max([len(s) for s in split] or [0])):
        for i, s in enumerate(split):
            if k < len(s):
                ev.append(chunk({"tool_calls": [{
                    "index": i, "function": {"arguments": s[k]}}]}))
    ev.append(chunk({}, o["finish_reason"]))
    if "usage" in o:
        ev.append(sse(None, {"id": "chatcmpl-1",
                             "object": "chat.completion.chunk",
                             "choices": [], "usage": o["usage"]}))
    ev.append("data: [DONE]\n\n")
    return ev


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        watch = ""
        for w in sorted(glob.glob(os.environ.get("LLM_SERVER_WATCH", ""))):
            with open(w, errors="replace") as f:
                watch += f.read().rstrip("\0")  # a live log's reserve
        with LOCK:
            with open(os.path.join(DIR, "requests"), "a") as f:
                f.write(json.dumps({
                    "method": "POST", "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body, "watch": watch}) + "\n")
            q = os.path.join(DIR, "queue")
            lines = open(q).read().splitlines() if os.path.exists(q) else []
            lines = [l for l in lines if l.strip()]
            spec = json.loads(lines[0]) if lines else {"status": 599}
            with open(q, "w") as f:
                f.write("".join(l + "\n" for l in lines[1:]))
        self.answer(spec)

    def answer(self, spec):
        n = spec.get("split", 3)
        ctype = spec.get("ctype")
        if "anthropic" in spec and spec.get("stream"):
            events = anthropic_events(spec["anthropic"], n)
            ctype = ctype or "text/event-stream; charset=utf-8"
        elif "anthropic" in spec:
            events = [json.dumps(spec["anthropic"])]
            ctype = ctype or "application/json"
        elif "openai" in spec and spec.get("stream"):
            events = openai_events(spec["openai"], n)
            ctype = ctype or "text/event-stream"
        elif "openai" in spec:
            events = [json.dumps(openai_whole(spec["openai"]))]
            ctype = ctype or "application/json"
        else:
            events = [spec.get("body", "")]
            ctype = ctype or "application/json"
        if spec.get("drop_tail"):
            events = events[:-spec["drop_tail"]]
        data = "".join(events).encode()
        self.send_response(spec.get("status", 200))
        self.send_header("Content-Type", ctype)
        for k, v in spec.get("headers", {}).items():
            self.send_header(k, v)
        if spec.get("plain"):
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        size = spec.get("chunk", 7)
        if "cut" in spec:
            data = data[:spec["cut"]]
        for i in range(0, len(data), size):
            c = data[i:i + size]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.flush()
            if i == 0 and spec.get("stall"):
                time.sleep(spec["stall"])
        if "cut" in spec:
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass    # clients drop connections on purpose (size caps)


srv = Server(("127.0.0.1", 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
srv.serve_forever()
