#!/usr/bin/python3
"""A slixmpp 1.8.3 file-transfer peer driven by the XmppTransfer test fixtures.

Logs in (STARTTLS by default), then either receives SI file transfers (XEP-0095/0096 over IBB or
S5B) or sends one file. Machine-readable progress goes to stdout as one JSON object per line
({"event": "ready" | "received" | "sent" | "error", ...}); diagnostics go to stderr.

The password comes from the SLIXMPP_PEER_PASSWORD environment variable, never from argv.

Works around slixmpp 1.8.3 bugs (see docs INTEROP.md):
- xep_0095's incoming-offer handler is a coroutine registered as a plain Callback, so offers are
  dropped; it is re-registered here as a CoroutineCallback.
- xep_0095.offer() wants stream methods as [{'value': ns}], not plain strings.
- Incoming S5B data arrives on a global 'socks5_data' event without the sid, so this peer receives
  one S5B transfer at a time.
"""

import argparse
import asyncio
import hashlib
import json
import logging
import os
import signal
import ssl
import stat
import sys
import threading
import time
import urllib.request
import uuid

from slixmpp import JID, ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout, XMPPError
from slixmpp.plugins.xep_0047 import IBBytestream
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath

IBB_NS = 'http://jabber.org/protocol/ibb'
S5B_NS = 'http://jabber.org/protocol/bytestreams'
FT_NS = 'http://jabber.org/protocol/si/profile/file-transfer'
PASSWORD_ENV = 'SLIXMPP_PEER_PASSWORD'
S5B_WRITE_CHUNK = 64 * 1024

log = logging.getLogger('slixmpp_peer')


def emit(event, **fields):
    """Writes one JSON line to stdout and flushes it, so the fixture sees it at once."""
    sys.stdout.write(json.dumps({'event': event, **fields}, separators=(',', ':')) + '\n')
    sys.stdout.flush()


def describe(exc):
    if isinstance(exc, IqError):
        err = exc.iq['error']
        text = err['text']
        return 'iq error %s/%s%s' % (err['type'], err['condition'], (': ' + text) if text else '')
    if isinstance(exc, IqTimeout):
        return 'iq timeout'
    return '%s: %s' % (type(exc).__name__, exc)


class Incoming:
    """One file being received."""

    def __init__(self, sid, name, size, path):
        self.sid = sid
        self.name = name
        self.size = size
        self.path = path
        self.handle = open(path, 'wb')
        self.hasher = hashlib.sha256()
        self.bytes = 0
        self.method = None
        self.started = time.monotonic()
        self.done = False

    def write(self, data):
        self.handle.write(data)
        self.hasher.update(data)
        self.bytes += len(data)

    def finish(self):
        if self.done:
            return False
        self.done = True
        self.handle.close()
        return True


class Peer(ClientXMPP):
    def __init__(self, args, password):
        super().__init__(args.jid, password)
        self.args = args
        self.finished = asyncio.get_event_loop().create_future()
        self.exit_code = 0
        self.received = 0
        self.incoming_by_sid = {}
        self.ibb_streams = {}  # IBBytestream -> Incoming
        self.s5b_current = None  # the one S5B transfer in progress (slixmpp has no sid on data)
        self.s5b_closed = None  # sender: future set when our SOCKS5 connection is closed

        self.register_plugin('xep_0030')
        ibb_config = {}
        if args.max_block_size:
            ibb_config['max_block_size'] = args.max_block_size
        self.register_plugin('xep_0047', ibb_config)
        self.register_plugin('xep_0065')
        self.register_plugin('xep_0095')
        self.register_plugin('xep_0096')
        self.register_plugin('xep_0066')
        # XEP-0066 as recipient: slixmpp calls a synchronous URL handler, then answers result (or our error).
        self['xep_0066'].register_url_handler(handler=self.on_oob_url)

        # Bug: 'SI Request' is a plain Callback around a coroutine; the coroutine is never awaited.
        self.remove_handler('SI Request')
        self.register_handler(CoroutineCallback(
            'SI Request', StanzaPath('iq@type=set/si'), self['xep_0095']._handle_request))

        if args.ca_file:
            self.ca_certs = args.ca_file
        else:
            self.ssl_context.check_hostname = False
            self.ssl_context.verify_mode = ssl.CERT_NONE

        self.add_event_handler('session_start', self.on_session_start)
        self.add_event_handler('failed_auth', lambda _: self.fail('authentication failed'))
        self.add_event_handler('connection_failed', lambda e: self.fail('connection failed: %s' % e))
        self.add_event_handler('disconnected', self.on_disconnected)
        self.add_event_handler('si_request', self.on_si_request)
        self.add_event_handler('ibb_stream_data', self.on_ibb_data)
        self.add_event_handler('ibb_stream_end', self.on_ibb_end)
        self.add_event_handler('socks5_data', self.on_socks5_data)
        self.add_event_handler('socks5_closed', self.on_socks5_closed)

    # ---- lifecycle -------------------------------------------------------------------------

    def fail(self, message):
        emit('error', error=message)
        self.exit_code = 1
        self.stop()

    def stop(self):
        if self.finished.done():
            return
        if self.is_connected():
            self.disconnect(wait=2.0)
        else:
            self.finished.set_result(None)

    def on_disconnected(self, _reason):
        if not self.finished.done():
            self.finished.set_result(None)

    async def on_session_start(self, _event):
        self.send_presence()
        emit('ready', jid=self.boundjid.full)
        if self.args.mode == 'send':
            await self.send_file()
            self.stop()
        elif self.args.mode == 'send-url':
            await self.send_url()
            self.stop()

    # ---- receiving -------------------------------------------------------------------------

    async def on_si_request(self, iq):
        sid = iq['si']['id']
        sender = iq['from']
        if iq['si']['profile'] != FT_NS:
            await self['xep_0095'].decline(sender, sid)
            return
        info = iq['si']['file']
        name = os.path.basename(info['name'] or '') or sid
        if name in ('.', '..'):
            name = sid
        try:
            size = int(info['size'] or 0)
        except ValueError:
            size = 0
        path = os.path.join(self.args.out, name)
        if os.path.exists(path):
            path = os.path.join(self.args.out, '%s-%s' % (sid, name))
        incoming = Incoming(sid, name, size, path)
        self.incoming_by_sid[sid] = incoming
        log.info('accepting %s (%d bytes) from %s, sid %s', name, size, sender, sid)

        def on_stream(stream):
            if isinstance(stream, IBBytestream):
                incoming.method = 'ibb'
                self.ibb_streams[stream] = incoming
            else:
                incoming.method = 's5b'
                self.s5b_current = incoming

        await self['xep_0095'].accept(sender, sid, stream_handler=on_stream)

    def on_ibb_data(self, stream):
        incoming = self.ibb_streams.get(stream)
        if incoming is None:
            return
        while not stream.recv_queue.empty():
            incoming.write(stream.recv_queue.get_nowait())

    def on_ibb_end(self, stream):
        if stream not in self.ibb_streams:
            return
        self.on_ibb_data(stream)
        self.complete(self.ibb_streams.pop(stream))

    def on_socks5_data(self, data):
        if self.s5b_current is not None:
            self.s5b_current.write(data)

    def on_socks5_closed(self, _exc):
        if self.s5b_closed is not None and not self.s5b_closed.done():
            self.s5b_closed.set_result(None)
        incoming, self.s5b_current = self.s5b_current, None
        if incoming is not None:
            self.complete(incoming)

    def complete(self, incoming):
        if not incoming.finish():
            return
        self.incoming_by_sid.pop(incoming.sid, None)
        emit('received', file=incoming.path, name=incoming.name, bytes=incoming.bytes,
             expected_bytes=incoming.size, sha256=incoming.hasher.hexdigest(),
             method=incoming.method, sid=incoming.sid,
             seconds=round(time.monotonic() - incoming.started, 6))
        self.received += 1
        if self.args.count and self.received >= self.args.count:
            self.stop()

    def on_oob_url(self, iq):
        url = iq['oob_transfer']['url']
        if self.args.mode != 'receive' or not (url.startswith('http://') or url.startswith('https://')):
            raise XMPPError('not-acceptable', etype='modify')
        name = os.path.basename(url.split('?', 1)[0]) or 'download'
        path = os.path.join(self.args.out, name)
        digest = hashlib.sha256()
        size = 0
        try:
            with urllib.request.urlopen(url, timeout=self.args.timeout) as response, open(path, 'wb') as out:
                while True:
                    chunk = response.read(1024 * 1024)
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
        except Exception as exc:
            emit('error', error='oob download failed: %s' % describe(exc))
            raise XMPPError('item-not-found')
        self.received += 1
        emit('received', file=path, bytes=size, sha256=digest.hexdigest(), method='oob', sid=iq['id'])
        if self.args.count and self.received >= self.args.count:
            asyncio.get_event_loop().call_later(0.5, self.stop)

    async def send_url(self):
        try:
            started = time.monotonic()
            await self['xep_0066'].send_oob(JID(self.args.to), self.args.url, desc='from slixmpp', timeout=self.args.timeout)
            emit('sent', bytes=0, seconds=round(time.monotonic() - started, 6), method='oob', sid=None)
        except IqError as exc:
            emit('error', error='oob refused: %s' % exc.iq['error']['condition'], condition=exc.iq['error']['condition'])
            self.exit_code = 1
        except Exception as exc:
            emit('error', error=describe(exc))
            self.exit_code = 1

    # ---- sending ---------------------------------------------------------------------------

    async def send_file(self):
        args = self.args
        to = JID(args.to)
        size = os.path.getsize(args.file)
        sid = uuid.uuid4().hex
        method_ns = IBB_NS if args.method == 'ibb' else S5B_NS
        timeout = args.timeout
        try:
            if args.method == 's5b':
                proxies = await self['xep_0065'].discover_proxies(timeout=timeout)
                if not proxies:
                    emit('error', error='no SOCKS5 proxy found on the server (slixmpp offers only proxies)')
                    self.exit_code = 1
                    return
            started = time.monotonic()
            result = await self['xep_0096'].request_file_transfer(
                to, sid=sid, name=os.path.basename(args.file), size=size,
                methods=[{'value': method_ns}], timeout=timeout)
            chosen = result['si']['feature_neg']['form'].get_values().get('stream-method')
            if chosen != method_ns:
                emit('error', error='peer chose stream method %r' % chosen)
                self.exit_code = 1
                return
            with open(args.file, 'rb') as handle:
                if args.method == 'ibb':
                    await self.send_ibb(to, sid, handle, timeout)
                else:
                    await self.send_s5b(to, sid, handle, timeout)
            seconds = time.monotonic() - started
            emit('sent', bytes=size, seconds=round(seconds, 6), method=args.method, sid=sid,
                 block_size=args.block_size if args.method == 'ibb' else None,
                 window=args.window if args.method == 'ibb' else None)
        except Exception as exc:  # reported to the fixture, which decides
            log.exception('send failed')
            emit('error', error=describe(exc), sid=sid)
            self.exit_code = 1

    async def send_ibb(self, to, sid, handle, timeout):
        stream = await self['xep_0047'].open_stream(to, block_size=self.args.block_size, sid=sid,
                                                    timeout=timeout)
        window = max(1, self.args.window)
        if window == 1:
            while True:
                block = handle.read(self.args.block_size)
                if not block:
                    break
                await stream.send(block, timeout=timeout)
        else:
            # Blocks are sent in order: each task takes its seq and queues its IQ before yielding.
            slots = asyncio.Semaphore(window)
            in_flight = set()
            failure = None

            def on_done(task):
                nonlocal failure
                in_flight.discard(task)
                slots.release()
                if not task.cancelled() and task.exception() is not None and failure is None:
                    failure = task.exception()

            while failure is None:
                block = handle.read(self.args.block_size)
                if not block:
                    break
                await slots.acquire()
                task = asyncio.ensure_future(stream.send(block, timeout=timeout))
                in_flight.add(task)
                task.add_done_callback(on_done)
            if in_flight:
                await asyncio.gather(*list(in_flight), return_exceptions=True)
            if failure is not None:
                raise failure
        await stream.close(timeout=timeout)

    async def send_s5b(self, to, sid, handle, timeout):
        self.s5b_closed = asyncio.get_event_loop().create_future()
        conn = await self['xep_0065'].handshake(to, sid=sid, timeout=timeout)
        if conn is None:
            raise RuntimeError('SOCKS5 bytestream could not be established')
        while True:
            block = handle.read(S5B_WRITE_CHUNK)
            if not block:
                break
            await conn.write(block)
        # close() flushes what is buffered before closing; connection_lost signals the end.
        conn.transport.close()
        await asyncio.wait_for(self.s5b_closed, timeout)


def watch_stdin(loop, on_eof):
    """The fixture closes our stdin to ask for a clean exit; only a pipe is watched (not /dev/null)."""
    try:
        if not stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
            return
    except (OSError, ValueError):
        return

    def reader():
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except OSError:
            pass
        loop.call_soon_threadsafe(on_eof)

    threading.Thread(target=reader, name='stdin-watch', daemon=True).start()


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('mode', choices=['receive', 'send', 'send-url'])
    parser.add_argument('--jid', required=True, help='account JID (bare, or full with resource)')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=5222)
    parser.add_argument('--no-tls', action='store_true', help='plaintext, no STARTTLS')
    parser.add_argument('--ca-file', help='verify the server certificate against this PEM file '
                                          '(default: accept any certificate)')
    parser.add_argument('--timeout', type=float, default=60.0, help='per-IQ timeout, seconds')
    parser.add_argument('--login-timeout', type=float, default=30.0)
    parser.add_argument('--verbose', action='store_true')
    # receive
    parser.add_argument('--out', help='receive: folder for received files')
    parser.add_argument('--count', type=int, default=0, help='receive: exit after N files (0: never)')
    parser.add_argument('--max-block-size', type=int, default=0,
                        help='receive: largest IBB block-size accepted (slixmpp default 8192)')
    # send
    parser.add_argument('--to', help='send: full JID of the receiver')
    parser.add_argument('--file', help='send: path of the file to send')
    parser.add_argument('--url', help='send-url: the http(s) URL to offer with jabber:iq:oob')
    parser.add_argument('--method', choices=['ibb', 's5b'], default='ibb')
    parser.add_argument('--block-size', type=int, default=4096, help='send: IBB block-size')
    parser.add_argument('--window', type=int, default=1, help='send: IBB blocks in flight')
    args = parser.parse_args(argv)
    if args.mode == 'receive' and not args.out:
        parser.error('receive needs --out')
    if args.mode == 'send' and (not args.to or not args.file):
        parser.error('send needs --to and --file')
    return args


def main(argv):
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        emit('error', error='%s is not set' % PASSWORD_ENV)
        return 2

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    peer = Peer(args, password)

    loop.add_signal_handler(signal.SIGTERM, peer.stop)
    loop.add_signal_handler(signal.SIGINT, peer.stop)

    watch_stdin(loop, peer.stop)

    def login_deadline():
        if not peer.sessionstarted and not peer.finished.done():
            peer.fail('no session within %.0f s' % args.login_timeout)

    loop.call_later(args.login_timeout, login_deadline)

    peer.connect((args.host, args.port), use_ssl=False, force_starttls=not args.no_tls,
                 disable_starttls=args.no_tls)
    loop.run_until_complete(peer.finished)
    return peer.exit_code


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
