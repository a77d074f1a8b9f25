#!/usr/bin/python3
"""A real SMTP server for the mail tests (aiosmtpd, Debian's
python3-aiosmtpd): STARTTLS required before AUTH, AUTH (PLAIN or LOGIN)
required before MAIL, one JSON line per accepted message appended to --out
(flushed before the 250 reply, so a test that saw the 250 side effects can
read it). Prints "READY <port>" once listening; runs until SIGTERM.

usage: smtp_server.py --port N --cert C --key K --user U --password P --out FILE
"""
import argparse
import asyncio
import json
import signal
import ssl
import sys
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        parts = {}
        for part in msg.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                parts[part.get_content_type()] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": session.authenticated,
            "tls": session.ssl is not None,
            "subject": str(msg.get("Subject", "")),
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "date": str(msg.get("Date", "")),
            "content_type": msg.get_content_type(),
            "text": parts.get("text/plain", ""),
            "html": parts.get("text/html", ""),
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == a.user.encode()
              and auth_data.password == a.password.encode())
        return AuthResult(success=ok, handled=False)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    controller = Controller(Handler(a.out), hostname="127.0.0.1", port=a.port, tls_context=ctx,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=authenticator)
    controller.start()
    print(f"READY {a.port}", flush=True)
    stop = asyncio.new_event_loop()
    done = asyncio.Event()

    def on_term(*_):
        stop.call_soon_threadsafe(done.set)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    stop.run_until_complete(done.wait())
    controller.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
