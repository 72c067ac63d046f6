// A real server in the test process, for tests that add a module of their own (a fault to
// inject, a service domain to claim): real sockets and real clients, only the module is the test's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/core/config.ts';
import type { AnyModule } from '../../src/core/modules.ts';
import { builtinModuleNames, moduleRegistry } from '../../src/modules/registry.ts';
import { Server } from '../../src/server.ts';
import { connectClient, type TestClient } from './client.ts';
import { issueTestCertificate } from './test-ca.ts';

export interface InProcessServer {
  readonly server: Server;
  /** Logs in with @xmpp/client over STARTTLS (the account is created on first use). */
  login(user: string): Promise<TestClient>;
  stop(): Promise<void>;
}

export async function startInProcess(extra: AnyModule[]): Promise<InProcessServer> {
  const dir = mkdtempSync(join(tmpdir(), 'jabberx-inproc-'));
  const cert = await issueTestCertificate('localhost', join(dir, 'certs'));
  const registry = new Map<string, AnyModule>([...moduleRegistry, ...extra.map((m) => [m.name, m] as const)]);
  // Every built-in module but the encryption policy, which refuses the plain messages tests send.
  const builtins = builtinModuleNames.filter((m) => m !== 'e2e-policy');
  const names = [...builtins, ...extra.map((m) => m.name)];
  const config = parseConfigText(
    [
      'data_dir: data',
      'log: { level: silent }',
      'auth: { scram_iterations: 4096 }',
      'listeners: [{ type: c2s_starttls, port: 0, address: 127.0.0.1 }]',
      `hosts: { localhost: { certificate: ${cert.certificate}, key: ${cert.key} } }`,
      `modules: { ${names.map((m) => `${m}: {}`).join(', ')} }`,
    ].join('\n'),
    dir,
    { knownModules: names, defaultModules: builtins },
  );
  const server = new Server(config, undefined, registry);
  await server.start();
  const port = server.ports['c2s_starttls'] ?? 0;
  const clients: TestClient[] = [];
  return {
    server,
    async login(user) {
      const password = `${user}-password`;
      if (!(await server.accounts.exists('localhost', user))) await server.accounts.create('localhost', user, password);
      const c = await connectClient({ port, domain: 'localhost', username: user, password });
      clients.push(c);
      return c;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
