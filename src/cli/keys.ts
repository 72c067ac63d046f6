// `jabberx keygen`, `rotate-key`: master and data keys of the encryption at rest.
import { generateKey, loadMasterKey, writeNewKeyFile } from '../storage/encryption/key-providers.ts';
import type { KeyRotation } from '../operations/keys.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { withOperations } from './operate.ts';

/** `keygen [--out FILE]`: a new random master key, printed or written with mode 0600. */
export const keygen: Command = async ({ values, config }) => {
  if (values.out) {
    const cfg = config();
    writeNewKeyFile(values.out, { dataDir: cfg.data_dir });
    process.stdout.write(`wrote a new master key to ${values.out} (mode 0600)\n`);
  } else {
    process.stdout.write(`${generateKey()}\n`);
  }
  return 0;
};

/** `rotate-key --new-key-file F | --new-key-env VAR | --new-key-command CMD`, or `rotate-key --data-key`. */
export const rotateKey: Command = async ({ values, config }) => {
  const cfg = config();
  const sources = [values['new-key-file'], values['new-key-env'], values['new-key-command']].filter((v) => v !== undefined);
  if (values['data-key'] ? sources.length > 0 : sources.length !== 1) {
    throw new UsageError('usage: jabberx rotate-key (--new-key-file F | --new-key-env VAR | --new-key-command CMD) | --data-key');
  }
  let rotation: KeyRotation;
  if (values['data-key']) {
    rotation = { dataKey: true };
  } else {
    const spec = values['new-key-file'] !== undefined
      ? { provider: 'file' as const, file: values['new-key-file'] }
      : values['new-key-env'] !== undefined
        ? { provider: 'env' as const, env: values['new-key-env'] }
        : { provider: 'command' as const, command: values['new-key-command'] };
    // The new key travels to a running server only over the 0600 control socket.
    rotation = { newKey: (await loadMasterKey(spec, { dataDir: cfg.data_dir })).toString('base64') };
  }
  await withOperations(cfg, (run) => run('rotate-key', rotation));
  process.stdout.write(
    'dataKey' in rotation
      ? 'new data key active for new writes; older data keys are kept for reading\n'
      : 'master key rotated: point storage.key_* at the new key before the next restart, and keep the old key for older backups\n',
  );
  return 0;
};
