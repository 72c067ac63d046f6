// Scales and switches of the benchmark: defaults for the full run, a --quick preset, and
// overrides from flags or BENCH_* environment variables (flags win).
import { parseArgs } from 'node:util';

export const ALL_SERVERS = ['jabberx', 'prosody', 'ejabberd'] as const;
export const ALL_SCENARIOS = ['idle', 'chat', 'login', 'presence', 'register', 'password', 'room', 'pep'] as const;

export interface BenchOptions {
  quick: boolean;
  servers: string[];
  scenarios: string[];
  domain: string;
  /** SCRAM iteration count for every server's stored credentials. */
  iterations: number;
  /** Load generator processes (the machine has two cores; one or two). */
  workers: number;
  /** Idle-session levels, ramped in order without disconnecting. */
  idleLevels: number[];
  rosterSize: number;
  /** Logins in flight per worker while ramping idle sessions. */
  idleConcurrency: number;
  chatPairs: number[];
  /** Fixed message rate (messages/s, all pairs together) for the latency figures. */
  chatRate: number;
  warmupMs: number;
  durationMs: number;
  loginUsers: number;
  loginConcurrency: number;
  /** Presence fan-out group: every member has all the others (group - 1) as "both" contacts. */
  fanGroup: number;
  fanDrivers: number;
  fanSeedTimeoutMs: number;
  /** Clients in flight in the registration scenario, and logged-in users in the password one. */
  registerConcurrency: number;
  /** Spread client connections over this many 127.0.0.x source addresses (0 = the default one). */
  sourceAddrs: number;
  /** Every client enables XEP-0198 stream management (with resumption) after binding. */
  streamManagement: boolean;
  /** Parent of the run's temporary folder (tmpfs by default: no disk noise). */
  tmpDir: string;
  keep: boolean;
  /** apt-get install the missing Debian packages (as root) instead of skipping that server. */
  install: boolean;
  /** Seconds of idle-CPU measurement with all idle sessions connected. */
  idleCpuSeconds: number;
  /** Users in the one MUC room (XEP-0045) of the room scenario. */
  roomOccupants: number;
  /** Occupants that send groupchat messages. */
  roomSenders: number;
  /** Fixed total rate of groupchat messages (messages/s, all senders together) for the latency figures. */
  roomRate: number;
  /** Users on the PEP ring (XEP-0163), each online with devicelist+notify in its caps. */
  pepUsers: number;
  /** "Both" contacts of each PEP user: its nearest neighbours on the ring, half on each side (even). */
  pepContacts: number;
  /** Fixed total rate of devicelist publishes (publishes/s, all users together) for the latency figures. */
  pepRate: number;
}

const FULL: BenchOptions = {
  quick: false,
  servers: [...ALL_SERVERS],
  scenarios: [...ALL_SCENARIOS],
  domain: 'bench.test',
  iterations: 4096,
  workers: 2,
  idleLevels: [5000, 19000],
  rosterSize: 20,
  idleConcurrency: 50,
  chatPairs: [100, 1000],
  chatRate: 1000,
  warmupMs: 3000,
  durationMs: 10000,
  loginUsers: 400,
  loginConcurrency: 32,
  fanGroup: 201,
  fanDrivers: 4,
  fanSeedTimeoutMs: 600000,
  registerConcurrency: 50,
  sourceAddrs: 0,
  streamManagement: false,
  tmpDir: '/dev/shm',
  keep: false,
  install: false,
  idleCpuSeconds: 10,
  roomOccupants: 200,
  roomSenders: 10,
  roomRate: 20,
  pepUsers: 200,
  pepContacts: 20,
  pepRate: 50,
};

const QUICK: Partial<BenchOptions> = {
  quick: true,
  idleLevels: [500],
  chatPairs: [100],
  warmupMs: 2000,
  durationMs: 5000,
  loginUsers: 100,
  fanGroup: 51,
  fanSeedTimeoutMs: 120000,
  idleCpuSeconds: 3,
  pepUsers: 100,
};

const USAGE = `npm run bench [-- options]     (npm run bench:quick for the small preset)

  --quick                 small scales (500 idle sessions, 100 pairs, 5 s windows, group of 51)
  --servers LIST          jabberx,prosody,ejabberd (default: all three)
  --scenarios LIST        idle,chat,login,presence,register,password,room,pep (default: all eight;
                          password runs last: it leaves its users with random passwords)
  --stream-management     every client enables XEP-0198 (resumable) after binding, on every server
  --idle LIST             idle-session levels, e.g. 5000,19000
  --pairs LIST            chat pair counts, e.g. 100,1000
  --rate N                fixed chat rate for latency (messages/s)
  --duration S            measurement window per figure (seconds)
  --warmup S              warm-up before each window (seconds)
  --group N               presence fan-out group size (contacts = N - 1)
  --drivers N             users toggling presence at once in the fan-out
  --login-concurrency N   logins in flight in the login-rate scenario
  --login-users N         accounts the login-rate scenario cycles through
  --register-concurrency N  registrations in flight (register), users changing passwords (password)
  --room-occupants N      users in the MUC room of the room scenario (default 200, quick too)
  --room-senders N        occupants sending groupchat messages (default 10)
  --room-rate N           fixed total groupchat rate for latency (messages/s, default 20)
  --pep-users N           users on the PEP ring of the pep scenario (default 200, quick 100)
  --pep-contacts N        "both" contacts of each, its ring neighbours (even, default 20)
  --pep-rate N            fixed total devicelist publish rate for latency (publishes/s, default 50)
  --workers N             load generator processes (1 or 2)
  --iterations N          SCRAM iteration count (default 4096)
  --source-addrs N        spread connections over 127.0.0.2..(N+1)
  --tmp DIR               parent of the temporary server folders (default /dev/shm)
  --keep                  keep the temporary folders (configs, logs, databases)
  --install               apt-get install prosody/ejabberd (and their SQLite drivers) when missing

Every option also reads from BENCH_<NAME> (e.g. BENCH_IDLE=5000, BENCH_SERVERS=jabberx).`;

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const nums = (s: string) => list(s).map((x) => {
  const n = Number(x);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${x}`);
  return n;
});
const num = (s: string) => nums(s)[0] as number;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      'stream-management': { type: 'boolean' },
      servers: { type: 'string' },
      scenarios: { type: 'string' },
      idle: { type: 'string' },
      pairs: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      group: { type: 'string' },
      drivers: { type: 'string' },
      'login-concurrency': { type: 'string' },
      'login-users': { type: 'string' },
      'register-concurrency': { type: 'string' },
      'room-occupants': { type: 'string' },
      'room-senders': { type: 'string' },
      'room-rate': { type: 'string' },
      'pep-users': { type: 'string' },
      'pep-contacts': { type: 'string' },
      'pep-rate': { type: 'string' },
      workers: { type: 'string' },
      iterations: { type: 'string' },
      'source-addrs': { type: 'string' },
      tmp: { type: 'string' },
      keep: { type: 'boolean' },
      install: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const get = (flag: string | undefined, name: string): string | undefined => flag ?? env[`BENCH_${name}`];
  const quick = values.quick ?? ['1', 'true', 'yes'].includes(env['BENCH_QUICK'] ?? '');
  const o: BenchOptions = { ...FULL, ...(quick ? QUICK : {}) };
  const v = (flag: string | undefined, name: string, apply: (s: string) => void) => {
    const s = get(flag, name);
    if (s !== undefined && s !== '') apply(s);
  };
  v(values.servers, 'SERVERS', (s) => (o.servers = list(s)));
  v(values.scenarios, 'SCENARIOS', (s) => (o.scenarios = list(s)));
  v(values.idle, 'IDLE', (s) => (o.idleLevels = nums(s)));
  v(values.pairs, 'PAIRS', (s) => (o.chatPairs = nums(s)));
  v(values.rate, 'RATE', (s) => (o.chatRate = num(s)));
  v(values.duration, 'DURATION', (s) => (o.durationMs = num(s) * 1000));
  v(values.warmup, 'WARMUP', (s) => (o.warmupMs = num(s) * 1000));
  v(values.group, 'GROUP', (s) => (o.fanGroup = num(s)));
  v(values.drivers, 'DRIVERS', (s) => (o.fanDrivers = num(s)));
  v(values['login-concurrency'], 'LOGIN_CONCURRENCY', (s) => (o.loginConcurrency = num(s)));
  v(values['login-users'], 'LOGIN_USERS', (s) => (o.loginUsers = num(s)));
  v(values['register-concurrency'], 'REGISTER_CONCURRENCY', (s) => (o.registerConcurrency = num(s)));
  v(values['room-occupants'], 'ROOM_OCCUPANTS', (s) => (o.roomOccupants = num(s)));
  v(values['room-senders'], 'ROOM_SENDERS', (s) => (o.roomSenders = num(s)));
  v(values['room-rate'], 'ROOM_RATE', (s) => (o.roomRate = num(s)));
  v(values['pep-users'], 'PEP_USERS', (s) => (o.pepUsers = num(s)));
  v(values['pep-contacts'], 'PEP_CONTACTS', (s) => (o.pepContacts = num(s)));
  v(values['pep-rate'], 'PEP_RATE', (s) => (o.pepRate = num(s)));
  v(values.workers, 'WORKERS', (s) => (o.workers = Math.min(2, num(s))));
  v(values.iterations, 'ITERATIONS', (s) => (o.iterations = num(s)));
  v(values['source-addrs'], 'SOURCE_ADDRS', (s) => (o.sourceAddrs = num(s)));
  if (values['stream-management']) o.streamManagement = true;
  v(values.tmp, 'TMP', (s) => (o.tmpDir = s));
  if (values.keep || ['1', 'true', 'yes'].includes(env['BENCH_KEEP'] ?? '')) o.keep = true;
  if (values.install || ['1', 'true', 'yes'].includes(env['BENCH_INSTALL'] ?? '')) o.install = true;
  for (const s of o.servers) if (!(ALL_SERVERS as readonly string[]).includes(s)) throw new Error(`unknown server ${s}`);
  for (const s of o.scenarios) if (!(ALL_SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}`);
  if (o.roomSenders > o.roomOccupants) throw new Error('--room-senders is larger than --room-occupants');
  // Half the contacts on each side of the ring: an odd count would make a one-way contact.
  if (o.pepContacts % 2 !== 0 || !Number.isInteger(o.pepContacts)) throw new Error('--pep-contacts must be an even whole number');
  if (o.pepContacts >= o.pepUsers) throw new Error('--pep-contacts must be smaller than --pep-users');
  o.idleLevels.sort((a, b) => a - b);
  return o;
}

export { USAGE };
