/**
 * `ssh://` engines the way the docker CLI reaches them (DESIGN.md "Engines"; issue #16): each
 * connection is `ssh [-l USER] [-p PORT] HOST -- docker system dial-stdio`, run by the system's OpenSSH,
 * and HTTP to the engine flows over that process's stdin and stdout. So the launcher and the anvil's
 * docker CLI authenticate the same way (`~/.ssh/config`, its keys and agent) and verify the same host
 * key in `known_hosts`; a host key ssh does not know fails the launch instead of being trusted.
 *
 * Why not docker-modem's own ssh support: it opens a new ssh2 handshake for every API call, accepts
 * any host key, and uses only an agent (SSH_AUTH_SOCK), never `~/.ssh/config` or its identity files.
 *
 * `BatchMode=yes`: the launcher never waits on a password or passphrase prompt it cannot show; the
 * user's agent or an unencrypted key must do. Connections are kept alive and reused (one ssh process
 * each); an idle one does not hold the launcher's exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, type AgentOptions } from 'node:http';
import { Duplex } from 'node:stream';

/** The `ssh` argv for one connection to `endpoint` (without the leading `ssh`). Pure. */
export function sshDialArgs(endpoint: { host: string; port: number | null; username: string | null }): string[] {
  return [
    '-o', 'BatchMode=yes',
    ...(endpoint.username ? ['-l', endpoint.username] : []),
    ...(endpoint.port ? ['-p', String(endpoint.port)] : []),
    '--', endpoint.host, 'docker', 'system', 'dial-stdio',
  ];
}

/** The error of a connection whose ssh process ended before the engine answered. */
export interface SshDialError extends Error {
  code: 'ESSHDIAL';
  /** ssh's exit status. */
  status: number | null;
  /** ssh's last stderr line, e.g. `Host key verification failed.` */
  detail: string;
}

/** One dial-stdio connection: a Duplex over the ssh process's stdio, with the socket methods http needs. */
class SshDialSocket extends Duplex {
  private stderr = '';
  private answered = false;

  constructor(private readonly child: ChildProcess) {
    super({ allowHalfOpen: false });
    child.stdout!.on('data', (chunk: Buffer) => {
      this.answered = true;
      if (!this.push(chunk)) child.stdout!.pause();
    });
    // Before any answer, ssh's end is judged at its exit (with its stderr), not seen as a hang-up.
    child.stdout!.on('end', () => {
      if (this.answered) this.push(null);
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4096)));
    child.once('error', (err) => this.destroy(err));
    child.once('close', (status) => {
      if (this.destroyed) return;
      if (this.answered) return void this.push(null);
      const detail = this.stderr.trim().split('\n').pop()?.trim() || `ssh exited with status ${status}`;
      this.destroy(Object.assign(new Error(detail), { code: 'ESSHDIAL', status, detail }) as SshDialError);
    });
    child.stdin!.on('error', () => {}); // see _write
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  // A write to an ssh that has died (EPIPE) is not the error to report: its exit, with its stderr, is.
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.child.stdin!.write(chunk, () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.child.stdin!.end(() => callback());
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    callback(err);
  }

  // What http.ClientRequest and a keep-alive http.Agent call on a socket.
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout && ms > 0) setTimeout(onTimeout, ms).unref();
    return this;
  }
  /** An idle kept-alive connection must not keep the launcher running: ssh and its pipes are unref'd. */
  unref(): this {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    return this;
  }
  ref(): this {
    this.child.ref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { ref?: () => void } | null)?.ref?.();
    return this;
  }
}

/**
 * An http.Agent whose connections are `ssh … docker system dial-stdio` processes (see the module
 * comment). Give it to the engine client with any host name: ssh, not the URL, decides where it goes.
 * A failed ssh surfaces as a request error with `code: 'ESSHDIAL'` ({@link SshDialError}).
 */
export function sshDialAgent(
  endpoint: { host: string; port: number | null; username: string | null },
  options: { ssh?: string; env?: NodeJS.ProcessEnv } & AgentOptions = {},
): Agent {
  const { ssh = 'ssh', env = process.env, ...agentOptions } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ...agentOptions });
  const args = sshDialArgs(endpoint);
  (agent as unknown as { createConnection: () => Duplex }).createConnection = () =>
    new SshDialSocket(spawn(ssh, args, { stdio: ['pipe', 'pipe', 'pipe'], env }));
  return agent;
}
