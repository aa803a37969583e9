/**
 * What a worker thread receives: `value` posted through a real MessagePort (structured clone, with
 * SharedArrayBuffers shared rather than copied), as the supervisor's postMessage delivers it.
 */
import { MessageChannel } from 'node:worker_threads'

export async function throughPort<T> (value: T): Promise<T> {
  const { port1, port2 } = new MessageChannel()
  try {
    return await new Promise<T>((resolve) => {
      port2.once('message', (m: T) => { resolve(m) })
      port1.postMessage(value)
    })
  } finally {
    port1.close()
    port2.close()
  }
}
