#!/usr/bin/env python3
# Test driver: stock slixmpp (Debian python3-slixmpp) registering in-band with its XEP-0077
# plugin's stanzas and stream feature, then logging in on the same stream (XEP-0077 §3.1); once
# logged in, the plugin's own change_password and cancel_registration.
#
# Debian's slixmpp 1.8.3 holds back every stanza but bind/session until the session starts (its
# send() queue), so the plugin's own pre-login get_registration never leaves; upstream later let
# register IQs through. Here, through public API only: the plugin's 'register' feature handler is
# replaced (unregister_feature/register_feature) by one that writes the plugin's Register IQs with
# send_raw and matches their replies by id. Nothing of slixmpp is modified.
#
# Config: one JSON object as argv[1]: {"jid", "password", "host", "port"}.
# stdout: one JSON event per line; stdin: one JSON command per line.
#   during registration (after the 'form' event):
#     {"cmd": "submit", "fields": {var: value}}   a XEP-0004 form submission
#     {"cmd": "submit_legacy"}                       <username/> and <password/> (from the config unless given)
#     {"cmd": "get"}                                  asks for the form again
#     {"cmd": "continue"}                             goes on to authentication
#   once logged in ('session' event):
#     {"cmd": "change_password", "password": ...}, {"cmd": "remove"}, {"cmd": "message", "to", "body"},
#     {"cmd": "quit"}
import asyncio
import json
import logging
import os
import sys

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.tostring import tostring
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatcherId

logging.basicConfig(level=logging.DEBUG if os.environ.get("SLIX_DEBUG") else logging.CRITICAL, stream=sys.stderr)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def iq_error(e):
    return {'condition': e.iq['error']['condition'], 'text': e.iq['error']['text'], 'type': e.iq['error']['type']}


async def main():
    cfg = json.loads(sys.argv[1])
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def command():
        line = await reader.readline()
        if not line:
            return {'cmd': 'quit'}
        return json.loads(line)

    xmpp = ClientXMPP(cfg['jid'], cfg['password'])
    xmpp.register_plugin('xep_0030')
    xmpp.register_plugin('xep_0004')
    xmpp.register_plugin('xep_0066')
    xmpp.register_plugin('xep_0077')
    host, port = cfg.get('host', '127.0.0.1'), int(cfg['port'])

    async def dns(domain, port_=None):
        return [(domain, host, port)]
    # Stands in for DNS: the test domain has no records here; the protocol code is untouched.
    xmpp.get_dns_records = dns
    done = loop.create_future()

    async def exchange(iq):
        """Writes an IQ before login and returns the reply."""
        reply = loop.create_future()
        name = 'preauth-' + iq['id']
        xmpp.register_handler(Callback(name, MatcherId(iq['id']), lambda r: reply.done() or reply.set_result(r)))
        xmpp.send_raw(str(iq))
        try:
            return await asyncio.wait_for(reply, 15)
        finally:
            xmpp.remove_handler(name)

    async def submit(iq):
        try:
            r = await exchange(iq)
        except asyncio.TimeoutError:
            emit({'event': 'register_error', 'condition': 'timeout', 'text': ''})
            return
        if r['type'] == 'result':
            emit({'event': 'registered'})
        else:
            emit({'event': 'register_error', 'condition': r['error']['condition'], 'text': r['error']['text'], 'xml': tostring(r.xml)})

    async def get_form():
        iq = xmpp.Iq()
        iq['type'] = 'get'
        iq.enable('register')
        r = await exchange(iq)
        if r['type'] == 'result':
            emit({'event': 'form', 'xml': tostring(r.xml)})
        else:
            emit({'event': 'register_error', 'condition': r['error']['condition'], 'text': r['error']['text']})

    async def on_register_feature(features):
        if 'mechanisms' in xmpp.features:
            return False
        await get_form()
        while True:
            cmd = await command()
            c = cmd.get('cmd')
            if c == 'continue':
                return False
            if c == 'quit':
                xmpp.disconnect()
                return True
            if c == 'get':
                await get_form()
                continue
            resp = xmpp.Iq()
            resp['type'] = 'set'
            if c == 'submit':
                form = xmpp['xep_0004'].make_form(ftype='submit')
                for var, value in cmd['fields'].items():
                    form.add_field(var=var, value=value)
                resp['register'].append(form)
            else:
                resp['register']['username'] = cmd.get('username', xmpp.boundjid.user)
                resp['register']['password'] = cmd.get('password', xmpp.password)
            await submit(resp)

    async def on_session(_):
        emit({'event': 'session', 'jid': str(xmpp.boundjid)})
        xmpp.send_presence()
        while True:
            cmd = await command()
            c = cmd.get('cmd')
            try:
                if c == 'change_password':
                    await xmpp['xep_0077'].change_password(cmd['password'])
                    emit({'event': 'ok', 'cmd': c})
                elif c == 'remove':
                    await xmpp['xep_0077'].cancel_registration()
                    emit({'event': 'ok', 'cmd': c})
                elif c == 'message':
                    xmpp.send_message(mto=cmd['to'], mbody=cmd['body'], mtype='chat')
                    emit({'event': 'ok', 'cmd': c})
                elif c == 'quit':
                    xmpp.disconnect()
                    return
            except IqError as e:
                emit({'event': 'iq_error', 'cmd': c, **iq_error(e)})
            except IqTimeout:
                emit({'event': 'iq_error', 'cmd': c, 'condition': 'timeout'})

    def on_message(msg):
        emit({'event': 'message', 'from': str(msg['from']), 'body': msg['body']})

    def on_stream_error(err):
        emit({'event': 'stream_error', 'condition': err['condition'], 'text': err['text']})

    def on_features(features):
        emit({'event': 'features', 'xml': tostring(features.xml)})

    def on_disconnected(reason):
        emit({'event': 'disconnected'})
        if not done.done():
            done.set_result(None)

    xmpp.unregister_feature('register', xmpp['xep_0077'].order)
    xmpp.register_feature('register', on_register_feature, restart=False, order=xmpp['xep_0077'].order)
    xmpp.add_event_handler('session_start', on_session)
    xmpp.add_event_handler('message', on_message)
    xmpp.add_event_handler('stream_error', on_stream_error)
    xmpp.add_event_handler('failed_all_auth', lambda _: emit({'event': 'failed_auth'}))
    xmpp.add_filter('in', lambda s: (on_features(s) if s.xml.tag.endswith('}features') else None) or s)
    xmpp.add_event_handler('disconnected', on_disconnected)
    xmpp.connect()
    await done


asyncio.run(main())
