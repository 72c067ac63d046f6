#!/usr/bin/env python3
# Test driver: one slixmpp (Debian python3-slixmpp) client session, the second independent client
# implementation of the interop tests (RFC 6120 STARTTLS / XEP-0368 direct TLS, SASL SCRAM and
# PLAIN, RFC 6121 roster and presence).
#
# Protocol: one JSON object per line on stdin, one per line on stdout.
#   command  {"id": 1, "cmd": "connect", "jid": ..., "password": ..., "host": ..., "port": ...,
#             "direct_tls": false, "mechanism": null}
#   reply    {"id": 1, "ok": true, ...} or {"id": 1, "ok": false, "error": "..."}
#   event    {"event": "stanza", "xml": "...", "name": "message", ...} (no "id")
# Commands: connect, send_message, send_presence, send_raw, iq, roster_get, roster_set,
#           subscribe, enable_carbons, adhoc_list, adhoc_run, upload_file, muc_join, muc_message,
#           muc_configure, muc_nick, muc_leave, disconnect, quit;
#           disco_info_forms, last_activity (issue 12, discovery extras).
#           PEP: pep_setup, pep_nick, pep_private_store, pep_private_retrieve, pep_avatar_publish,
#           pep_avatar_retrieve, pep_get_items;
#           pubsub_* (XEP-0060), avatar_* and vcard_photo (XEP-0084/0153), bookmarks_* (XEP-0048).
import asyncio
import json
import logging
import sys

from slixmpp import ClientXMPP
from slixmpp.xmlstream import ET as SET
from slixmpp.xmlstream.tostring import tostring

logging.basicConfig(level=logging.CRITICAL, stream=sys.stderr)

def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def element_info(stanza):
    xml = stanza.xml
    tag = xml.tag
    ns, _, name = tag[1:].partition('}') if tag.startswith('{') else ('', '', tag)
    body = xml.find('{jabber:client}body')
    return {
        'event': 'stanza',
        'name': name,
        'ns': ns,
        'type': xml.get('type'),
        'from': xml.get('from'),
        'to': xml.get('to'),
        'id': xml.get('id'),
        'body': body.text if body is not None else None,
        'xml': tostring(xml),
    }


class Driver:
    def __init__(self, loop):
        self.loop = loop
        self.xmpp = None
        self.session_future = None

    async def handle(self, msg):
        cmd = msg.get('cmd')
        fn = getattr(self, 'cmd_' + str(cmd), None)
        if fn is None:
            raise ValueError('unknown command %r' % cmd)
        return await fn(msg)

    async def cmd_connect(self, m):
        jid = m['jid']
        if m.get('resource'):
            jid = jid + '/' + m['resource']
        xmpp = ClientXMPP(jid, m['password'], sasl_mech=m.get('mechanism'))
        self.xmpp = xmpp
        # Stock slixmpp: it verifies the certificate against the system's trust store (the
        # harness points SSL_CERT_FILE at the test CA) and picks its SASL mechanism itself unless
        # the test names one through its own sasl_mech setting.
        host, port = m.get('host', '127.0.0.1'), int(m['port'])

        async def dns(domain, port_=None):
            return [(domain, host, port)]
        # Stands in for DNS: test domains (example.org, one.test) have no records here. It only
        # decides which address to dial; the protocol code is untouched.
        xmpp.get_dns_records = dns
        mech_plugin = xmpp['feature_mechanisms']

        fut = self.loop.create_future()

        def settle(value):
            if not fut.done():
                fut.set_result(value)

        def on_session(_):
            settle({'ok': True, 'jid': str(xmpp.boundjid), 'mechanism': mech_plugin.mech.name if mech_plugin.mech else None,
                    'tls_version': xmpp.socket.version() if hasattr(xmpp.socket, 'version') else None})

        def on_failed_auth(stanza):
            emit({'event': 'failed_auth', 'mechanism': mech_plugin.mech.name if mech_plugin.mech else None,
                  'condition': stanza['condition']})

        def on_failed_all_auth(_):
            settle({'ok': False, 'error': 'failed_auth'})

        def on_stream_error(err):
            emit({'event': 'stream_error', 'condition': err['condition'], 'text': err['text']})
            settle({'ok': False, 'error': 'stream_error:' + str(err['condition'])})

        def on_disconnected(reason):
            emit({'event': 'disconnected', 'reason': str(reason) if reason else None})
            settle({'ok': False, 'error': 'disconnected: %s' % reason})

        def on_connection_failed(reason):
            emit({'event': 'connection_failed', 'reason': str(reason)})
            settle({'ok': False, 'error': 'connection_failed: %s' % reason})
            xmpp.cancel_connection_attempt()

        def on_ssl_invalid_chain(e):
            settle({'ok': False, 'error': 'tls: %s' % e})

        def in_filter(stanza):
            try:
                emit(element_info(stanza))
            except Exception as e:  # never break the stream over a report
                emit({'event': 'driver_error', 'error': repr(e)})
            return stanza

        xmpp.add_event_handler('session_start', on_session)
        xmpp.add_event_handler('failed_auth', on_failed_auth)
        xmpp.add_event_handler('failed_all_auth', on_failed_all_auth)
        xmpp.add_event_handler('stream_error', on_stream_error)
        xmpp.add_event_handler('disconnected', on_disconnected)
        xmpp.add_event_handler('connection_failed', on_connection_failed)
        xmpp.add_event_handler('ssl_invalid_chain', on_ssl_invalid_chain)
        xmpp.add_filter('in', in_filter)

        xmpp.connect((host, port), use_ssl=bool(m.get('direct_tls')))
        try:
            result = await asyncio.wait_for(fut, timeout=float(m.get('timeout', 20)))
        except asyncio.TimeoutError:
            result = {'ok': False, 'error': 'timeout'}
        if not result.get('ok'):
            xmpp.cancel_connection_attempt()
            xmpp.abort()
        return result

    async def cmd_send_message(self, m):
        self.xmpp.send_message(mto=m['to'], mbody=m.get('body'), mtype=m.get('type', 'chat'))
        return {'ok': True}

    async def cmd_send_presence(self, m):
        kwargs = {}
        for key, arg in (('to', 'pto'), ('type', 'ptype'), ('show', 'pshow'), ('status', 'pstatus'), ('priority', 'ppriority')):
            if m.get(key) is not None:
                kwargs[arg] = m[key]
        self.xmpp.send_presence(**kwargs)
        return {'ok': True}

    async def cmd_subscribe(self, m):
        self.xmpp.send_presence(pto=m['jid'], ptype=m.get('type', 'subscribe'))
        return {'ok': True}

    async def cmd_send_raw(self, m):
        self.xmpp.send_raw(m['xml'])
        return {'ok': True}

    async def cmd_iq(self, m):
        """Sends an iq given as XML and returns the reply's XML (result or error)."""
        # Stanzas written without a namespace get jabber:client, as on the wire.
        xml = SET.fromstring("<w xmlns='jabber:client'>" + m['xml'] + '</w>')[0]
        iq = self.xmpp.Iq(xml=xml)
        if not iq['id']:
            iq['id'] = self.xmpp.new_id()
        try:
            reply = await iq.send(timeout=float(m.get('timeout', 10)))
            return {'ok': True, 'xml': tostring(reply.xml), 'type': reply['type']}
        except Exception as e:  # IqError carries the error reply
            stanza = getattr(e, 'iq', None)
            if stanza is not None:
                return {'ok': True, 'xml': tostring(stanza.xml), 'type': stanza['type']}
            return {'ok': False, 'error': repr(e)}

    async def cmd_roster_get(self, m):
        reply = await self.xmpp.get_roster(timeout=float(m.get('timeout', 10)))
        items = []
        for jid, item in reply['roster']['items'].items():
            items.append({'jid': str(jid), 'name': item.get('name'), 'subscription': item.get('subscription'),
                          'ask': item.get('ask') or None, 'groups': list(item.get('groups', []))})
        return {'ok': True, 'items': items, 'ver': reply['roster']['ver'] or None}

    async def cmd_roster_set(self, m):
        iq = self.xmpp.Iq()
        iq['type'] = 'set'
        entry = {'name': m.get('name') or '', 'groups': m.get('groups') or []}
        if m.get('remove'):
            entry = {'subscription': 'remove'}
        iq['roster']['items'] = {m['jid']: entry}
        reply = await iq.send(timeout=float(m.get('timeout', 10)))
        return {'ok': True, 'type': reply['type']}

    async def cmd_enable_carbons(self, m):
        """XEP-0280 with slixmpp's own plugin: its enable(), and its carbon_received / carbon_sent
        events (which it raises only for copies from the account's bare JID) reported as events."""
        xmpp = self.xmpp
        if 'xep_0280' not in xmpp.plugin:
            xmpp.register_plugin('xep_0280')

            def report(kind):
                def handler(msg):
                    inner = msg['carbon_' + kind]
                    emit({'event': 'carbon_' + kind, 'from': str(msg['from']), 'to': str(msg['to']),
                          'inner_from': str(inner['from']), 'inner_to': str(inner['to']), 'body': inner['body']})
                return handler
            xmpp.add_event_handler('carbon_received', report('received'))
            xmpp.add_event_handler('carbon_sent', report('sent'))
        reply = await xmpp.plugin['xep_0280'].enable(timeout=float(m.get('timeout', 10)))
        return {'ok': True, 'type': reply['type']}

    def _adhoc_plugins(self):
        for name in ('xep_0004', 'xep_0050', 'xep_0133'):
            if name not in self.xmpp.plugin:
                self.xmpp.register_plugin(name)

    async def cmd_adhoc_list(self, m):
        """XEP-0050 §2.2 with slixmpp's xep_0050 get_commands: the (node, name) pairs listed."""
        self._adhoc_plugins()
        try:
            reply = await self.xmpp['xep_0050'].get_commands(m.get('jid') or self.xmpp.boundjid.server, timeout=float(m.get('timeout', 10)))
        except Exception as e:
            stanza = getattr(e, 'iq', None)
            if stanza is None:
                raise
            return {'ok': True, 'error': stanza['error']['condition'], 'commands': []}
        return {'ok': True, 'commands': [{'node': node, 'name': name} for (_jid, node, name) in reply['disco_items']['items']]}

    async def cmd_adhoc_run(self, m):
        """Runs a command through slixmpp's own workflow: xep_0133's method for an admin command
        ("admin": "add-user"), else xep_0050 start_command ("node"). "steps" answer each form in
        turn: {"action": "complete"|"next"|"prev"|"cancel", "fields": {var: value or [values]},
        "delay": seconds to wait first}. Returns every response as seen by slixmpp."""
        self._adhoc_plugins()
        xmpp = self.xmpp
        fut = self.loop.create_future()
        responses = []
        steps = list(m.get('steps') or [])

        def describe(iq):
            cmd = iq['command']
            actions = cmd.xml.find('{http://jabber.org/protocol/commands}actions')
            info = {'type': iq['type'], 'status': cmd['status'] or None, 'sessionid': cmd['sessionid'] or None,
                    'node': cmd['node'] or None, 'actions': sorted(cmd['actions']), 'execute': actions.get('execute') if actions is not None else None,
                    'notes': [[t, text] for (t, text) in cmd['notes']], 'xml': tostring(iq.xml)}
            form = cmd.xml.find('{jabber:x:data}x')
            if form is not None:
                f = cmd['form']
                info['form'] = {'type': f['type'], 'fields': {var: {'type': fld['type'], 'label': fld['label'], 'value': fld['value']} for var, fld in f.get_fields().items()}}
            if iq['type'] == 'error':
                info['error'] = iq['error']['condition']
                info['error_type'] = iq['error']['type']
                info['error_app'] = [child.tag for child in iq['error'].xml if child.tag.startswith('{http://jabber.org/protocol/commands}')]
            return info

        def settle():
            if not fut.done():
                fut.set_result({'ok': True, 'responses': responses})

        async def answer(iq, session):
            responses.append(describe(iq))
            if iq['command']['status'] != 'executing' or not steps:
                settle()
                return
            step = steps.pop(0)
            if step.get('delay'):
                await asyncio.sleep(float(step['delay']))
            action = step.get('action', 'complete')
            session['next'] = on_next
            session['error'] = on_error
            if action == 'cancel':
                xmpp['xep_0050'].cancel_command(session)
                return
            received = iq['command']['form']
            form = xmpp['xep_0004'].make_form(ftype='submit')
            for var, field in received.get_fields().items():
                if field['type'] == 'hidden':
                    form.add_field(var=var, ftype='hidden', value=field['value'])
            for var, value in (step.get('fields') or {}).items():
                form.add_field(var=var, value=value)
            session['payload'] = form
            if action == 'complete':
                xmpp['xep_0050'].complete_command(session)
            else:
                xmpp['xep_0050'].continue_command(session, direction=action)

        def on_next(iq, session):
            asyncio.ensure_future(answer(iq, session))

        def on_error(iq, session):
            responses.append(describe(iq))
            settle()

        session = {'next': on_next, 'error': on_error}
        if m.get('admin'):
            getattr(xmpp['xep_0133'], m['admin'].replace('-', '_'))(jid=m.get('jid'), session=session)
        else:
            xmpp['xep_0050'].start_command(jid=m.get('jid') or xmpp.boundjid.server, node=m['node'], session=session)
        try:
            return await asyncio.wait_for(fut, timeout=float(m.get('timeout', 20)))
        except asyncio.TimeoutError:
            return {'ok': False, 'error': 'timeout', 'responses': responses}

    async def _find_upload_service(self, timeout):
        for name in ('xep_0030', 'xep_0004', 'xep_0128'):
            if name not in self.xmpp.plugin:
                self.xmpp.register_plugin(name)
        disco = self.xmpp['xep_0030']
        items = await disco.get_items(jid=self.xmpp.boundjid.server, timeout=timeout)
        for (jid, _node, _name) in items['disco_items']['items']:
            info = await disco.get_info(jid=jid, timeout=timeout)
            identities = info['disco_info']['identities']
            if not any(i[0] == 'store' and i[1] == 'file' for i in identities):
                continue
            if 'urn:xmpp:http:upload:0' not in info['disco_info']['features']:
                continue
            max_size = float('+inf')
            for form in info['disco_info'].iterables:
                values = form['values']
                if values.get('FORM_TYPE') == ['urn:xmpp:http:upload:0'] and values.get('max-file-size'):
                    max_size = int(values['max-file-size'])
            return jid, max_size
        return None, None

    async def cmd_upload_file(self, m):
        """XEP-0363 with slixmpp's xep_0363 upload_file: it finds the service through disco on
        the account's domain, asks for a slot and PUTs the file with aiohttp; the GET URL, or the
        plugin's error (e.g. FileTooBig, HTTPError, an IQ error's condition)."""
        xmpp = self.xmpp
        if 'xep_0363' not in xmpp.plugin:
            # Debian's slixmpp finds the service with xep_0030 get_info_from_domain, which hands
            # coroutines to asyncio.wait (refused since Python 3.11). So the same discovery (items
            # of the domain, the one with identity store/file and the feature, its max-file-size
            # from the XEP-0128 form) is done here with xep_0030's own calls, and given to the
            # plugin through its documented configuration.
            service, max_size = await self._find_upload_service(float(m.get('timeout', 20)))
            if service is None:
                return {'ok': True, 'error': 'UploadServiceNotFound', 'condition': None, 'detail': ''}
            xmpp.register_plugin('xep_0363', {'upload_service': service, 'max_file_size': max_size})
        try:
            url = await self.xmpp['xep_0363'].upload_file(m['path'], content_type=m.get('content_type'), timeout=float(m.get('timeout', 20)))
        except Exception as e:
            stanza = getattr(e, 'iq', None)
            condition = stanza['error']['condition'] if stanza is not None else None
            return {'ok': True, 'error': type(e).__name__, 'condition': condition, 'detail': str(e)}
        return {'ok': True, 'url': url}

    def _muc(self):
        for name in ('xep_0004', 'xep_0045'):
            if name not in self.xmpp.plugin:
                self.xmpp.register_plugin(name)
        return self.xmpp.plugin['xep_0045']

    async def cmd_muc_join(self, m):
        """XEP-0045 §7.2 with slixmpp's join_muc_wait: self-presence, subject, occupants, history."""
        from slixmpp.exceptions import PresenceError
        muc = self._muc()
        try:
            pres, subject, occupants, history = await muc.join_muc_wait(
                m['room'], m['nick'], password=m.get('password'), maxstanzas=m.get('maxstanzas'),
                timeout=float(m.get('timeout', 10)))
        except PresenceError as e:
            return {'ok': True, 'error_condition': e.condition, 'xml': tostring(e.presence.xml)}
        return {
            'ok': True,
            'xml': tostring(pres.xml),
            'status_codes': sorted(int(c) for c in pres['muc']['status_codes']),
            'affiliation': pres['muc']['affiliation'],
            'role': pres['muc']['role'],
            'subject': subject['subject'],
            'occupants': [p['from'].resource for p in occupants],
            'history': [msg['body'] for msg in history],
        }

    async def cmd_muc_message(self, m):
        self.xmpp.send_message(mto=m['room'], mbody=m['body'], mtype='groupchat')
        return {'ok': True}

    async def cmd_muc_configure(self, m):
        """XEP-0045 §10.2 with get_room_config / set_room_config: the form's fields, then submits."""
        muc = self._muc()
        form = await muc.get_room_config(m['room'], timeout=float(m.get('timeout', 10)))
        fields = sorted(form.get_fields().keys())
        for var, value in (m.get('fields') or {}).items():
            form.set_values({var: value})
        await muc.set_room_config(m['room'], form, timeout=float(m.get('timeout', 10)))
        return {'ok': True, 'fields': fields}

    async def cmd_muc_nick(self, m):
        """XEP-0045 §7.6: presence to the new occupant JID (slixmpp has no call for it)."""
        self.xmpp.send_presence(pto='%s/%s' % (m['room'], m['nick']))
        return {'ok': True}

    async def cmd_muc_leave(self, m):
        self._muc().leave_muc(m['room'], m['nick'], m.get('status', ''))
        return {'ok': True}

    # ---- XEP-0313 / XEP-0441 (mam module tests): stock xep_0313 and xep_0441 plugins ----

    def _mam(self):
        for name in ('xep_0004', 'xep_0059', 'xep_0297', 'xep_0313', 'xep_0441'):
            if name not in self.xmpp.plugin:
                self.xmpp.register_plugin(name)
        return self.xmpp.plugin['xep_0313'], self.xmpp.plugin['xep_0441']

    async def cmd_mam_prefs_get(self, m):
        _, prefs = self._mam()
        default, always, never = await prefs.get_preferences(timeout=float(m.get('timeout', 10)))
        return {'ok': True, 'default': default, 'always': sorted(str(j) for j in always), 'never': sorted(str(j) for j in never)}

    async def cmd_mam_prefs_set(self, m):
        _, prefs = self._mam()
        from slixmpp import JID
        result = await prefs.set_preferences(
            default=m['default'], always=[JID(j) for j in m.get('always', [])], never=[JID(j) for j in m.get('never', [])],
            timeout=float(m.get('timeout', 10)))
        return {'ok': True, 'xml': tostring(result.xml)}

    async def cmd_mam_iterate(self, m):
        """Every archived message through slixmpp's RSM iterator (pages of `max`), in the order it yields."""
        from slixmpp import JID
        mam, _ = self._mam()
        bodies = []
        ids = []
        with_jid = JID(m['with']) if m.get('with') else None
        async for msg in mam.iterate(jid=JID(m['archive']), with_jid=with_jid, reverse=bool(m.get('reverse')), rsm={'max': int(m.get('max', 10))}):
            bodies.append(msg['mam_result']['forwarded']['stanza']['body'])
            ids.append(msg['mam_result']['id'])
        return {'ok': True, 'bodies': bodies, 'ids': ids}

    async def cmd_mam_metadata(self, m):
        from slixmpp import JID
        mam, _ = self._mam()
        result = await mam.get_archive_metadata(jid=JID(m['archive']), timeout=float(m.get('timeout', 10)))
        meta = result['mam_metadata']
        return {'ok': True, 'start': meta['start']['id'] or None, 'end': meta['end']['id'] or None, 'xml': tostring(result.xml)}

    # ---- end of the mam block ----
    # ---- PubSub (XEP-0060), avatars (XEP-0084, XEP-0153/0054), bookmarks (XEP-0048) ----------
    # Stock plugins only; an IQ error comes back as ok with 'error' (condition) and 'app'
    # (the pubsub#errors condition, if any). Item ids are 'item' ('id' is the command's).

    def _plugins(self, *names):
        for name in names:
            if name not in self.xmpp.plugin:
                self.xmpp.register_plugin(name)
        return self.xmpp.plugin

    async def _answer(self, fut, describe=None):
        from slixmpp.exceptions import IqError
        try:
            reply = await fut
        except IqError as e:
            err = e.iq['error']
            app = [c.tag.split('}')[-1] for c in err.xml if c.tag.startswith('{http://jabber.org/protocol/pubsub#errors}')]
            return {'ok': True, 'error': err['condition'], 'app': app[0] if app else None, 'xml': tostring(e.iq.xml)}
        out = {'ok': True, 'xml': tostring(reply.xml) if reply is not None else ''}
        if describe is not None:
            out.update(describe(reply))
        return out

    def _form(self, values):
        form = self._plugins('xep_0004')['xep_0004'].make_form(ftype='submit')
        form.add_field(var='FORM_TYPE', ftype='hidden', value=values.pop('FORM_TYPE', 'http://jabber.org/protocol/pubsub#node_config'))
        for var, value in values.items():
            form.add_field(var=var, value=value)
        return form

    async def cmd_pubsub_create(self, m):
        ps = self._plugins('xep_0004', 'xep_0060')['xep_0060']
        config = self._form(dict(m['config'])) if m.get('config') else None
        return await self._answer(ps.create_node(m['service'], m.get('node'), config=config, timeout=10),
                                  lambda r: {'node': r['pubsub']['create']['node'] or m.get('node')})

    async def cmd_pubsub_publish(self, m):
        ps = self._plugins('xep_0004', 'xep_0060')['xep_0060']
        payload = SET.fromstring(m['payload'])
        options = self._form(dict(m['options'], FORM_TYPE='http://jabber.org/protocol/pubsub#publish-options')) if m.get('options') else None
        return await self._answer(ps.publish(m['service'], m['node'], id=m.get('item'), payload=payload, options=options, timeout=10),
                                  lambda r: {'item': r['pubsub']['publish']['item']['id']})

    async def cmd_pubsub_subscribe(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        return await self._answer(ps.subscribe(m['service'], m['node'], bare=m.get('bare', True), timeout=10),
                                  lambda r: {'subscription': r['pubsub']['subscription']['subscription'], 'subid': r['pubsub']['subscription']['subid']})

    async def cmd_pubsub_unsubscribe(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        return await self._answer(ps.unsubscribe(m['service'], m['node'], bare=m.get('bare', True), timeout=10))

    async def cmd_pubsub_items(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        def describe(r):
            return {'items': [{'id': i['id'], 'xml': tostring(i.xml)} for i in r['pubsub']['items']]}
        return await self._answer(ps.get_items(m['service'], m['node'], item_ids=m.get('ids'), max_items=m.get('max_items'), timeout=10), describe)

    async def cmd_pubsub_retract(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        return await self._answer(ps.retract(m['service'], m['node'], m['item'], notify=m.get('notify'), timeout=10))

    async def cmd_pubsub_delete(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        return await self._answer(ps.delete_node(m['service'], m['node'], timeout=10))

    async def cmd_pubsub_purge(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        return await self._answer(ps.purge(m['service'], m['node'], timeout=10))

    async def cmd_pubsub_set_affiliations(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        return await self._answer(ps.modify_affiliations(m['service'], m['node'], affiliations=[tuple(a) for a in m['affiliations']], timeout=10))

    async def cmd_pubsub_affiliations(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        def describe(r):
            return {'affiliations': [[str(a['jid']), a['affiliation']] for a in r['pubsub_owner']['affiliations']]}
        return await self._answer(ps.get_node_affiliations(m['service'], m['node'], timeout=10), describe)

    async def cmd_pubsub_set_subscriptions(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        return await self._answer(ps.modify_subscriptions(m['service'], m['node'], subscriptions=[tuple(s) for s in m['subscriptions']], timeout=10))

    async def cmd_pubsub_subscriptions(self, m):
        ps = self._plugins('xep_0060')['xep_0060']
        def describe(r):
            return {'subscriptions': [[str(s['jid']), s['subscription']] for s in r['pubsub_owner']['subscriptions']]}
        return await self._answer(ps.get_node_subscriptions(m['service'], m['node'], timeout=10), describe)

    async def cmd_pubsub_configure(self, m):
        ps = self._plugins('xep_0004', 'xep_0060')['xep_0060']
        return await self._answer(ps.set_node_config(m['service'], m['node'], self._form(dict(m['config'])), timeout=10))

    async def cmd_avatar_publish_pep(self, m):
        """XEP-0084 with xep_0084: the data item, then the metadata pointing to it."""
        import base64
        av = self._plugins('xep_0060', 'xep_0163', 'xep_0084')['xep_0084']
        data = base64.b64decode(m['data'])
        first = await self._answer(av.publish_avatar(data, timeout=10))
        if first.get('error'):
            return first
        info = {'id': av.generate_id(data), 'type': m['type'], 'bytes': len(data)}
        return await self._answer(av.publish_avatar_metadata(info, timeout=10), lambda r: {'avatar': info['id']})

    async def cmd_avatar_stop_pep(self, m):
        av = self._plugins('xep_0060', 'xep_0163', 'xep_0084')['xep_0084']
        return await self._answer(av.stop(timeout=10))

    async def cmd_avatar_get_pep(self, m):
        """The avatar of a JID as a XEP-0084 client reads it: the metadata's id, then that data item."""
        import base64, hashlib
        plugins = self._plugins('xep_0060', 'xep_0163', 'xep_0084')
        meta = await self._answer(plugins['xep_0060'].get_items(m['jid'], 'urn:xmpp:avatar:metadata', max_items=1, timeout=10),
                                  lambda r: {'infos': [dict(i.attrib) for i in r.xml.iter('{urn:xmpp:avatar:metadata}info')]})
        if meta.get('error') or not meta['infos']:
            return meta
        item_id = meta['infos'][0]['id']
        data = await self._answer(plugins['xep_0084'].retrieve_avatar(m['jid'], item_id, timeout=10),
                                  lambda r: {'sha1': hashlib.sha1(base64.b64decode(''.join(d.text or '' for d in r.xml.iter('{urn:xmpp:avatar:data}data')))).hexdigest()})
        data['infos'] = meta['infos']
        return data

    async def cmd_avatar_set_vcard(self, m):
        """XEP-0153 with xep_0153's set_avatar (it reads the vCard, sets PHOTO, publishes it)."""
        import base64
        av = self._plugins('xep_0054', 'xep_0153')['xep_0153']
        return await self._answer(av.set_avatar(avatar=base64.b64decode(m['data']), mtype=m['type'], timeout=10))

    async def cmd_vcard_photo(self, m):
        """A JID's vCard PHOTO as xep_0054 reads it: the SHA-1 of BINVAL and TYPE ('' when none)."""
        import hashlib
        vc = self._plugins('xep_0054')['xep_0054']
        def describe(r):
            photo = r['vcard_temp']['PHOTO']
            data = photo['BINVAL']
            return {'sha1': hashlib.sha1(data).hexdigest() if data else '', 'type': photo['TYPE'] or ''}
        return await self._answer(vc.get_vcard(m['jid'], cached=False, timeout=10), describe)

    async def cmd_bookmarks_set_private(self, m):
        """XEP-0048 through XEP-0049 private storage with xep_0048's set_bookmarks."""
        plugins = self._plugins('xep_0045', 'xep_0049', 'xep_0060', 'xep_0163', 'xep_0223', 'xep_0048')
        from slixmpp.plugins.xep_0048 import Bookmarks
        bookmarks = Bookmarks()
        for c in m.get('conferences', []):
            bookmarks.add_conference(c['jid'], c.get('nick'), name=c.get('name'), autojoin=c.get('autojoin'), password=c.get('password'))
        for u in m.get('urls', []):
            bookmarks.add_url(u['url'], name=u.get('name'))
        return await self._answer(plugins['xep_0048'].set_bookmarks(bookmarks, method='xep_0049', timeout=10))

    async def cmd_bookmarks_get_private(self, m):
        plugins = self._plugins('xep_0045', 'xep_0049', 'xep_0060', 'xep_0163', 'xep_0223', 'xep_0048')
        def describe(r):
            b = r['private']['bookmarks']
            return {
                'conferences': [{'jid': str(c['jid']), 'name': c['name'], 'nick': c['nick'], 'autojoin': bool(c['autojoin']), 'password': c['password']} for c in b['conferences']],
                'urls': [{'url': u['url'], 'name': u['name']} for u in b['urls']],
            }
        return await self._answer(plugins['xep_0048'].get_bookmarks(method='xep_0049', timeout=10), describe)
    # ---- end of PubSub, avatars, bookmarks ----------------------------------------------------

    async def cmd_disconnect(self, m):
        if self.xmpp is None:
            return {'ok': True}
        if self.xmpp.transport is None:
            return {'ok': True, 'already': True}
        done = self.xmpp.disconnected
        self.xmpp.disconnect(wait=float(m.get('wait', 2)))
        try:
            await asyncio.wait_for(done, timeout=float(m.get('wait', 2)) + 3)
        except asyncio.TimeoutError:
            self.xmpp.abort()
        return {'ok': True}

    async def cmd_quit(self, m):
        await self.cmd_disconnect(m)
        return {'ok': True, 'quit': True}

    # ---- Issue 12, discovery extras: XEP-0030 with XEP-0128 forms, XEP-0012, through slixmpp's
    # own plugins (commands: disco_info_forms, last_activity) ----
    def _register(self, *names):
        for name in names:
            if name not in self.xmpp.plugin:
                self.xmpp.register_plugin(name)

    async def cmd_disco_info_forms(self, m):
        """xep_0030 get_info (uncached) with xep_0128: features and each form as {var: [values]}."""
        self._register('xep_0004', 'xep_0030', 'xep_0128')
        from slixmpp.plugins.xep_0004 import Form
        info = await self.xmpp['xep_0030'].get_info(jid=m.get('jid') or self.xmpp.boundjid.server, node=m.get('node'),
                                                    cached=False, timeout=float(m.get('timeout', 10)))
        forms = []
        for form in info['disco_info'].iterables:
            if not isinstance(form, Form):
                continue
            fields = {}
            for var, field in form.get_fields().items():
                value = field.get_value(convert=False)
                fields[var] = value if isinstance(value, list) else [value]
            forms.append({'type': form['type'], 'fields': fields})
        return {'ok': True, 'features': list(info['disco_info']['features']), 'forms': forms}

    async def cmd_last_activity(self, m):
        """xep_0012 get_last_activity: the seconds, or the error condition and text."""
        self._register('xep_0012')
        try:
            reply = await self.xmpp['xep_0012'].get_last_activity(m['jid'], timeout=float(m.get('timeout', 10)))
        except Exception as e:
            stanza = getattr(e, 'iq', None)
            if stanza is None:
                raise
            return {'ok': True, 'error': stanza['error']['condition'], 'text': stanza['error']['text']}
        return {'ok': True, 'seconds': reply['last_activity']['seconds']}

    # ---- PEP (XEP-0060, XEP-0163, XEP-0084, XEP-0172, XEP-0223): issue 12 ----------------------
    # Stock plugins only: they build every stanza; the commands only call them and report.

    def _pep(self):
        for name in ('xep_0004', 'xep_0030', 'xep_0060', 'xep_0115', 'xep_0163', 'xep_0084', 'xep_0172', 'xep_0223'):
            if name not in self.xmpp.plugin:
                self.xmpp.register_plugin(name)
        return self.xmpp

    async def _pep_call(self, coro):
        from slixmpp.exceptions import IqError, IqTimeout
        try:
            iq = await coro
        except IqError as e:
            return {'ok': True, 'error': e.iq['error']['condition'], 'xml': tostring(e.iq.xml)}
        except IqTimeout:
            return {'ok': False, 'error': 'timeout'}
        return {'ok': True, 'xml': tostring(iq.xml) if iq is not None else None}

    async def cmd_pep_setup(self, m):
        """Registers the PEP plugins (xep_0084 and xep_0172 add their +notify interests to the
        XEP-0115 caps) and sends available presence carrying those caps."""
        xmpp = self._pep()
        await xmpp['xep_0115'].update_caps(broadcast=False)
        xmpp.send_presence()
        return {'ok': True, 'ver': str(xmpp['xep_0115'].get_verstring(xmpp.boundjid) or '')}

    async def cmd_pep_nick(self, m):
        """XEP-0172 §4.5: publish_nick."""
        return await self._pep_call(self._pep()['xep_0172'].publish_nick(m['nick']))

    async def cmd_pep_private_store(self, m):
        """XEP-0223 with xep_0223.store: publish-options persist_items and access_model whitelist."""
        from slixmpp.xmlstream import ElementBase
        payload = ElementBase(xml=SET.fromstring(m['xml']))
        return await self._pep_call(self._pep()['xep_0223'].store(payload, node=m['node'], id=m.get('item_id')))

    async def cmd_pep_private_retrieve(self, m):
        """XEP-0223 with xep_0223.retrieve (items of the own node)."""
        return await self._pep_call(self._pep()['xep_0223'].retrieve(m['node'], item_ids=m.get('item_ids')))

    async def cmd_pep_avatar_publish(self, m):
        """XEP-0084 §4.1-4.2: publish_avatar (data node, id = SHA-1), then publish_avatar_metadata."""
        import base64
        xep84 = self._pep()['xep_0084']
        data = base64.b64decode(m['data_b64'])
        first = await self._pep_call(xep84.publish_avatar(data))
        if first.get('error'):
            return first
        info = {'id': xep84.generate_id(data), 'type': m.get('type', 'image/png'), 'bytes': len(data),
                'width': str(m.get('width', '')), 'height': str(m.get('height', ''))}
        second = await self._pep_call(xep84.publish_avatar_metadata(items=[info]))
        second['avatar_id'] = info['id']
        return second

    async def cmd_pep_avatar_retrieve(self, m):
        """XEP-0084 §4.3: retrieve_avatar(jid, id) from the data node."""
        return await self._pep_call(self._pep()['xep_0084'].retrieve_avatar(m['jid'], m['avatar_id']))

    async def cmd_pep_get_items(self, m):
        """XEP-0060 §6.5 with xep_0060.get_items."""
        return await self._pep_call(self._pep()['xep_0060'].get_items(m['jid'], m['node'], item_ids=m.get('item_ids'), max_items=m.get('max_items')))

    # ---- end of PEP commands ---------------------------------------------------------------------

async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    driver = Driver(loop)
    tasks = set()

    async def run(msg):
        mid = msg.get('id')
        try:
            result = await driver.handle(msg)
        except Exception as e:
            result = {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}
        result['id'] = mid
        emit(result)
        if result.get('quit'):
            quit_event.set()

    quit_event = asyncio.Event()
    quit_wait = asyncio.ensure_future(quit_event.wait())
    while True:
        read = asyncio.ensure_future(reader.readline())
        await asyncio.wait({read, quit_wait}, return_when=asyncio.FIRST_COMPLETED)
        if quit_event.is_set():
            read.cancel()
            return
        line = read.result()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError as e:
            emit({'event': 'driver_error', 'error': 'bad json: %s' % e})
            continue
        task = asyncio.ensure_future(run(msg))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    quit_wait.cancel()
    if driver.xmpp is not None and driver.xmpp.transport is not None:
        await driver.cmd_disconnect({})


if __name__ == '__main__':
    asyncio.run(main())
