"""An OpenAI-compatible chat server on 127.0.0.1 that streams fixed words, for the app's --backend-url failures: the
model named "dies" sends its first `before_death` words and then closes the connection mid-stream, as an engine that
crashes or is restarted does; any other model streams all of `words` (default WORDS)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ["Ciao", " e", " benvenuto", " alla", " lezione."]


class StreamServer:
    def __init__(self, before_death: int = 2, words: list = WORDS):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for index, word in enumerate(words):
                    if body["model"] == "dies" and index == before_death:
                        self.connection.shutdown(2)  # gone: no last chunk, no [DONE]
                        self.close_connection = True
                        return
                    event = {"id": "s", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                             "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                    self.chunk(f"data: {json.dumps(event)}\n\n".encode())
                self.chunk(b"data: [DONE]\n\n")
                self.chunk(b"")

            def do_GET(self):  # /v1/models
                data = json.dumps({"object": "list", "data": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
