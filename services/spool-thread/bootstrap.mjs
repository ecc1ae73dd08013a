// The spool thread's entry: the service runs its TypeScript through tsx, and a worker thread
// does not inherit the loader of the thread that started it (Node 20), so it registers tsx
// itself before it imports the thread's module.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
await import(workerData.entry)
