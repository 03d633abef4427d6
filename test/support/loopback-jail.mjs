// Runs a command under `strace -f -e trace=connect` inside the network namespace this process is
// in, which must be a fresh one with only loopback (start it with `unshare -n`): whatever a command
// tries to reach fails locally, and strace records the attempt. The scripted model server (a unix
// socket on the host) is forwarded to 127.0.0.1:PORT inside, from this process, outside the trace.
//
//   unshare -n -- node loopback-jail.mjs SOCKET PORT TRACE_FILE -- COMMAND [ARG...]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const [socketPath, port, traceFile, separator, ...command] = process.argv.slice(2);
if (!socketPath || !port || !traceFile || separator !== '--' || command.length === 0) {
  console.error('usage: loopback-jail.mjs SOCKET PORT TRACE_FILE -- COMMAND [ARG...]');
  process.exit(2);
}

// Refuse to run in a namespace that can reach anything but itself. /proc/self/net is this process's
// namespace (/sys/class/net would show the one sysfs was mounted in).
const interfaces = readFileSync('/proc/self/net/dev', 'utf8')
  .split('\n')
  .slice(2)
  .map((line) => line.split(':')[0].trim())
  .filter((name) => name !== '');
if (interfaces.some((name) => name !== 'lo')) {
  console.error(`loopback-jail: refusing to run with network interfaces ${interfaces.join(', ')}: start it with unshare -n`);
  process.exit(97);
}
execFileSync('ip', ['link', 'set', 'lo', 'up']);

const forwarder = createServer((client) => {
  const upstream = connect(socketPath);
  client.pipe(upstream).pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
});
await new Promise((resolve, reject) => forwarder.once('error', reject).listen(Number(port), '127.0.0.1', resolve));

// --seccomp-bpf stops the tracees at connect only (not at every syscall: several times faster);
// -qq and signal=none: the trace holds the connect calls and nothing else.
const child = spawn('strace', ['-f', '--seccomp-bpf', '-qq', '-e', 'trace=connect', '-e', 'signal=none', '-o', traceFile, '--', ...command], { stdio: 'inherit' });
child.on('error', (error) => {
  console.error(`loopback-jail: could not start strace: ${error.message}`);
  process.exit(98);
});
// strace does not kill its tracees when it dies, so a stop kills the whole process group: the jail
// leads it when started by a sandbox (which also kills the group on timeout), else only strace.
const processGroup = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[2]);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    if (processGroup === process.pid) process.kill(-process.pid, 'SIGKILL');
    child.kill('SIGKILL');
    process.exit(128 + 9);
  });
}
child.on('exit', (code, signal) => {
  forwarder.close();
  process.exit(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
});
