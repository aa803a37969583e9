/**
 * Child processes with an IPC channel, for the accept-model study: spawn pinned to a CPU *set*, ask
 * and answer typed messages, stop by pid.
 *
 * Contract:
 * - `spawnIpc()` starts `node script args…` (this process's Node) with an IPC channel, optionally
 *   wrapped as `prlimit --nofile=N:N taskset -c LIST node …`. Both wrappers `exec` and keep the
 *   channel's fd, so the pid is Node's own. stdout/stderr go to a log file.
 * - `nextMessage(child, type)` resolves with the next message whose `type` matches, and rejects
 *   when the child exits first or the timeout passes (with the log tail in the error).
 * - `stopIpc(child, msg)` sends a farewell message, waits for the exit, then SIGKILLs that pid.
 * - `installIpcCleanup()` SIGKILLs every live child by pid on SIGINT/SIGTERM/exit/uncaught error.
 *
 * Why not bench/lib/children.ts `spawnChild`: it pins to one CPU and has no IPC channel; this study
 * pins the proxy to a CPU range and asks it for counters mid-run. The pure helpers (`hasTaskset`,
 * `achievableNofile`, `logTail`, `isAlive`) are reused from bench/lib.
 *
 * Limits: one outstanding question per message type per child (replies carry no id); the study
 * asks sequentially, so that is enough.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { achievableNofile, hasCommand, hasTaskset, logTail, nofileLimits } from '../lib/children.ts'
import { isAlive } from '../lib/proc.ts'

/** Default wait for a reply: a child answers from its event loop in well under a second. */
export const REPLY_TIMEOUT_MS = 10_000
/** Wait for a child to exit after its farewell message before SIGKILL. */
const EXIT_GRACE_MS = 5_000

export interface IpcMessage {
  readonly type: string
}

export interface IpcChild {
  name: string
  pid: number
  log: string
  proc: ChildProcess
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>
  /** Set once the process has exited. */
  exitCode: number | string | undefined
}

export interface IpcSpawnOptions {
  /** `taskset -c` CPU list (e.g. `0-7`); ignored when taskset is missing. */
  cpus?: string | undefined
  /** RLIMIT_NOFILE for the child (soft and hard), via prlimit, capped by what we may grant. */
  nofile?: number | undefined
  /** Log file for stdout+stderr (appended). */
  log: string
  /** Node/V8 options before the script (e.g. `--max-semi-space-size=64`): process-wide, so the proxy's workers run with them too. */
  nodeArgs?: readonly string[] | undefined
}

const live = new Set<IpcChild>()

/** Start `node script args` with an IPC channel, registered for cleanup. */
export function spawnIpc (name: string, script: string, args: readonly string[], opts: IpcSpawnOptions): IpcChild {
  let argv = [process.execPath, ...(opts.nodeArgs ?? []), script, ...args]
  if (opts.cpus !== undefined && hasTaskset()) argv = ['taskset', '-c', opts.cpus, ...argv]
  if (opts.nofile !== undefined && hasCommand('prlimit')) {
    const n = achievableNofile(opts.nofile)
    if (n !== nofileLimits().soft) argv = ['prlimit', `--nofile=${n}:${n}`, ...argv]
  }
  const fd = openSync(opts.log, 'a')
  const proc = spawn(argv[0] ?? process.execPath, argv.slice(1), { stdio: ['ignore', fd, fd, 'ipc'] })
  closeSync(fd)
  const pid = proc.pid
  if (pid === undefined) throw new Error(`${name}: spawn failed for ${argv.join(' ')}`)
  const child: IpcChild = {
    name,
    pid,
    log: opts.log,
    proc,
    exitCode: undefined,
    exited: new Promise((resolve) => {
      proc.once('exit', (code, signal) => { resolve(code ?? signal ?? 'unknown') })
      proc.once('error', (err) => { resolve(`spawn error: ${err.message}`) })
    }),
  }
  live.add(child)
  const gone = (c: number | string): void => { child.exitCode = c; live.delete(child) }
  child.exited.then(gone, () => { gone('unknown') })
  return child
}

/** Send a message; false when the channel is already closed. */
export function send<M extends IpcMessage> (child: IpcChild, msg: M): boolean {
  if (!child.proc.connected) return false
  child.proc.send(msg)
  return true
}

/** Next message of `type` from the child; rejects on exit or timeout. */
export function nextMessage<T extends IpcMessage> (child: IpcChild, type: T['type'], timeoutMs = REPLY_TIMEOUT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer)
      child.proc.removeListener('message', onMessage)
      child.proc.removeListener('exit', onExit)
    }
    const onMessage = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && (m as IpcMessage).type === type) {
        cleanup()
        resolve(m as T)
      }
    }
    const onExit = (): void => {
      cleanup()
      reject(new Error(`${child.name} (pid ${child.pid}) exited while we waited for '${type}'; log ${child.log}:\n${logTail(child)}`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`${child.name} (pid ${child.pid}) sent no '${type}' within ${timeoutMs} ms; log ${child.log}:\n${logTail(child)}`))
    }, timeoutMs)
    if (child.exitCode !== undefined) { onExit(); return }
    child.proc.on('message', onMessage)
    child.proc.once('exit', onExit)
  })
}

/** Send `msg` and wait for the reply of `replyType`. */
export function ask<T extends IpcMessage> (child: IpcChild, msg: IpcMessage, replyType: T['type'], timeoutMs = REPLY_TIMEOUT_MS): Promise<T> {
  const reply = nextMessage<T>(child, replyType, timeoutMs)
  if (!send(child, msg)) return Promise.reject(new Error(`${child.name}: IPC channel closed`))
  return reply
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Send the farewell message (if any), wait up to EXIT_GRACE_MS, then SIGKILL the pid. Idempotent. */
export async function stopIpc (child: IpcChild, farewell?: IpcMessage): Promise<void> {
  if (child.exitCode !== undefined) return
  if (farewell !== undefined) send(child, farewell)
  else if (isAlive(child.pid)) process.kill(child.pid, 'SIGTERM')
  const exited = await Promise.race([child.exited.then(() => true), sleep(EXIT_GRACE_MS).then(() => false)])
  if (!exited && isAlive(child.pid)) {
    try { process.kill(child.pid, 'SIGKILL') } catch { /* already gone */ }
    await Promise.race([child.exited, sleep(EXIT_GRACE_MS)])
  }
  live.delete(child)
}

let installed = false
/** SIGKILL every live child by pid when this process is interrupted, crashes or exits. */
export function installIpcCleanup (): void {
  if (installed) return
  installed = true
  const killAll = (): void => {
    for (const c of live) {
      try { process.kill(c.pid, 'SIGKILL') } catch { /* gone */ }
    }
  }
  process.once('SIGINT', () => { killAll(); process.exit(130) })
  process.once('SIGTERM', () => { killAll(); process.exit(143) })
  process.on('uncaughtException', (err) => {
    process.stderr.write(`uncaught: ${err.stack ?? String(err)}\n`)
    killAll()
    process.exit(1)
  })
  process.on('exit', killAll)
}
