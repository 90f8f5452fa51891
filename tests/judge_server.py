"""A small OpenAI-compatible judge on 127.0.0.1 with fixed, known verdicts, for tests that must assert exact counts.

Preference: an answer scores +1 for containing a `better` marker (GOOD) and -1 for a `worse` one (BAD); the higher
score wins, in either position. Position bias: on equal scores it always picks the first answer, [[A]]. A question containing SAME gets
[[C]]; an answer containing GARBLE gets a reply with no verdict. Every request is recorded.

`trouble` makes the first `times` requests fail the way real endpoints do: "500" (an internal error), "garbage" (an
HTML page with status 200), "slow" (no answer within `delay` seconds) or "drop" (the connection closed unanswered)."""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_ANSWERS = re.compile(r"\[User Question\]\n(.*?)\n\n\[The Start of Assistant A's Answer\]\n(.*?)\n\[The End of Assistant "
                      r"A's Answer\]\n\n\[The Start of Assistant B's Answer\]\n(.*?)\n\[The End of Assistant B's Answer\]", re.S)


def verdict(question: str, a: str, b: str, better: tuple, worse: tuple) -> str:
    if "GARBLE" in a + b:
        return "Both answers are interesting. I cannot decide."
    if "SAME" in question:
        return "They are equally good. [[C]]"
    score_a, score_b = (any(m in x for m in better) - any(m in x for m in worse) for x in (a, b))
    if score_b > score_a:
        return "Assistant B is correct. [[B]]"
    return "Assistant A is correct. [[A]]"  # better, or equal: the known position bias


class JudgeServer:
    def __init__(self, better: tuple = ("GOOD",), worse: tuple = ("BAD",), trouble: str = None, times: int = 0,
                 delay: float = 3.0):
        self.requests = []  # (question, a, b, authorization header)
        self.troubled = 0  # requests that got the trouble
        owner, lock = self, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def misbehave(self) -> bool:
                with lock:
                    if not trouble or owner.troubled >= times:
                        return False
                    owner.troubled += 1
                if trouble == "drop":
                    self.connection.shutdown(2)
                elif trouble == "slow":
                    time.sleep(delay)
                else:
                    status, page = (500, b'{"error": "internal"}') if trouble == "500" else (200, b"<html>Bad Gateway</html>")
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json" if trouble == "500" else "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                return True

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.misbehave():
                    return
                question, a, b = _ANSWERS.search(body["messages"][-1]["content"]).groups()
                owner.requests.append((question, a, b, self.headers.get("Authorization")))
                reply = json.dumps({"id": "judge-1", "object": "chat.completion", "created": 0, "model": body["model"],
                                    "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant", "content": verdict(question, a, b, better, worse)}}],
                                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
