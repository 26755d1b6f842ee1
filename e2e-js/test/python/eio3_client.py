"""python-socketio 4.x (python-engineio 3.x, engine.io v3) against sio-conformance with
ALLOW_EIO3=1, driven by test/eio3-python.test.mjs.

    eio3_client.py <server url> <transports, comma-separated>

Connects to / and /custom, then checks what the contract promises: "auth" on each namespace,
"message" answered by "message-back" with the same arguments (binary included), and
"message-with-ack" acknowledged with them. Prints one JSON line of what it saw and exits 0, or
prints what went wrong and exits 1. Every wait is bounded.
"""
import json
import sys
import threading

import socketio

WAIT = 5
BYTES = bytes([0, 1, 2, 253, 254, 255])


class Seen:
    """Events received, each waited for with a bound."""

    def __init__(self):
        self.events = {}
        self.cond = threading.Condition()

    def add(self, name, args):
        with self.cond:
            self.events.setdefault(name, []).append(list(args))
            self.cond.notify_all()

    def wait(self, name):
        with self.cond:
            if not self.cond.wait_for(lambda: name in self.events, timeout=WAIT):
                raise AssertionError(f"no {name} within {WAIT} s; seen {sorted(self.events)}")
            return self.events[name][0]


def main():
    url, transports = sys.argv[1], sys.argv[2].split(",")
    seen = Seen()
    sio = socketio.Client(reconnection=False)
    sio.on("auth", lambda *args: seen.add("auth", args))
    sio.on("auth", lambda *args: seen.add("custom auth", args), namespace="/custom")
    sio.on("message-back", lambda *args: seen.add("message-back", args))
    sio.on("disconnect", lambda: seen.add("disconnect", []))
    sio.connect(url, transports=transports, namespaces=["/", "/custom"], socketio_path="socket.io")
    try:
        result = {"sid": sio.sid, "auth": seen.wait("auth")}
        result["custom auth"] = seen.wait("custom auth")
        sio.emit("message", ("hi", 42, BYTES))
        back = seen.wait("message-back")
        if back != ["hi", 42, BYTES]:
            raise AssertionError(f"message-back carried {back!r}")
        answer = sio.call("message-with-ack", ("a", BYTES), timeout=WAIT)
        if list(answer) != ["a", BYTES]:
            raise AssertionError(f"the ack carried {answer!r}")
        # The client pings every 300 ms: stay over several intervals, then a last round trip.
        threading.Event().wait(1.5)
        if "disconnect" in seen.events:
            raise AssertionError("disconnected while idle")
        again = sio.call("message-with-ack", "still here", timeout=WAIT)
        if again != "still here":
            raise AssertionError(f"the last ack carried {again!r}")
        result["transport"] = sio.transport()
        print(json.dumps(result))
    finally:
        sio.disconnect()


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # report any failure as the test's message
        print(f"eio3_client: {type(error).__name__}: {error}")
        sys.exit(1)
