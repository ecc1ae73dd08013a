/**
 * `npm run uitd -- --address 000000123456 --fire 42@0x105`: a small UITD for device makers and
 * installers. It connects to firecircle's GB/T 26875.3 listener, sends what it is told (a
 * heartbeat, a component's fire, fault or restore), confirms the centre's commands (the clock
 * sync on connect) and prints every frame the centre sends, decoded.
 *
 *   --host 127.0.0.1 --port 9000          where the listener is (FC_GB26875_PORT)
 *   --address 000000123456                this UITD's address (as registered)
 *   --centre 000000000001                 the centre's address (FC_GB26875_ADDRESS)
 *   --fire 42@0x105 [--fire …]            component type @ address: status fire (b0 + b1)
 *   --fault 42@0x105 / --restore 42@0x105 fault (b0 + b2) / normal (b0)
 *   --description "3层走廊烟感"            the components' description (GB18030 on the wire)
 *   --heartbeat 30                        then keep beating every N s (default: exit after the replies)
 *   --time-zone Asia/Shanghai             the time labels' zone (FC_TIME_ZONE)
 */
import { parseArgs } from 'node:util'
import { adu, componentStatus, connectUitd, timeLabel, type UitdFrame, uitdFrame } from '../devices/uitd.ts'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: process.env['FC_GB26875_PORT'] ?? '9000' },
    address: { type: 'string' },
    centre: { type: 'string', default: process.env['FC_GB26875_ADDRESS'] ?? '000000000001' },
    fire: { type: 'string', multiple: true, default: [] },
    fault: { type: 'string', multiple: true, default: [] },
    restore: { type: 'string', multiple: true, default: [] },
    description: { type: 'string', default: '' },
    heartbeat: { type: 'string' },
    'time-zone': { type: 'string', default: process.env['FC_TIME_ZONE'] ?? 'Asia/Shanghai' },
  },
})

function fail(message: string): never {
  process.stderr.write(`uitd: ${message}\n`)
  process.exit(2)
}

const address =
  values.address ?? fail('--address <12 hex digits> is required (the address the UITD is registered with)')
if (!/^[0-9a-fA-F]{12}$/.test(address)) fail(`--address ${address} is not 12 hex digits`)
if (!/^[0-9a-fA-F]{12}$/.test(values.centre)) fail(`--centre ${values.centre} is not 12 hex digits`)
const zone = values['time-zone']
const gb18030 = (s: string): Buffer => {
  // Node decodes GB18030 but does not encode it: the common case, ASCII, needs no table.
  if (/^[\x20-\x7e]*$/.test(s)) return Buffer.from(s, 'latin1')
  fail(
    '--description: only ASCII can be encoded here (Node has no GB18030 encoder); the service decodes GB18030',
  )
}

/** `42@0x105` → component type 42 at address 0x105. */
function component(spec: string): { component: number; address: number } {
  const m = /^(\d{1,3})@(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.exec(spec)
  if (!m) fail(`"${spec}" is not <component type>@<address>, e.g. 42@0x105`)
  return { component: Number(m[1]), address: Number(m[2]) >>> 0 }
}

const COMMANDS: Record<number, string> = {
  1: 'control',
  2: 'send data',
  3: 'confirm',
  4: 'request',
  5: 'answer',
  6: 'deny',
}
const two = (n: number | undefined) => String(n ?? 0).padStart(2, '0')
/** A time label (second, minute, hour, day, month, year − 2000) as 2026-12-01 10:20:30. */
const labelText = (t: number[]) =>
  `20${two(t[5])}-${two(t[4])}-${two(t[3])} ${two(t[2])}:${two(t[1])}:${two(t[0])}`
function describe(f: UitdFrame): string {
  const at = labelText(f.time)
  let what = `${COMMANDS[f.command] ?? `command ${f.command}`} serial ${f.serial} from ${f.source} at ${at}`
  if (f.command === 1 && f.adu[0] === 90) {
    what += ` — clock sync to ${labelText([...f.adu.subarray(2, 8)])}`
  } else if (f.adu.length > 0) what += ` — ADU ${f.adu.toString('hex')}`
  return `${what}\n  ${f.bytes.toString('hex').replace(/(..)/g, '$1 ').trim()}`
}

let serial = 0
const next = () => {
  serial = (serial + 1) & 0xffff
  return serial
}
const uitd = await connectUitd(values.host, Number(values.port), (f) => {
  process.stdout.write(`centre → ${describe(f)}\n`)
  // A UITD confirms the centre's control commands (the clock sync) with the serial echoed.
  if (f.command === 1)
    uitd.send(
      uitdFrame({
        serial: f.serial,
        command: 3,
        source: address,
        destination: values.centre,
        time: timeLabel(Date.now(), zone),
      }),
    )
}).catch((err: Error) => fail(`cannot connect to ${values.host}:${values.port}: ${err.message}`))

function send(frame: Buffer, what: string): number {
  const s = frame.readUInt16LE(2)
  process.stdout.write(
    `uitd → ${what} serial ${s}\n  ${frame.toString('hex').replace(/(..)/g, '$1 ').trim()}\n`,
  )
  uitd.send(frame)
  return s
}

const time = () => timeLabel(Date.now(), zone)
const description = gb18030(values.description)
const sent: number[] = []
sent.push(
  send(
    uitdFrame({ serial: next(), command: 2, source: address, destination: values.centre, time: time() }),
    'heartbeat',
  ),
)
const statuses: [string[], number, string][] = [
  [values.fire, 0x0003, 'fire'],
  [values.fault, 0x0005, 'fault'],
  [values.restore, 0x0001, 'restore'],
]
for (const [specs, status, name] of statuses)
  for (const spec of specs) {
    const c = component(spec)
    const obj = componentStatus({ ...c, status, description, time: time() })
    const frame = uitdFrame({
      serial: next(),
      command: 2,
      source: address,
      destination: values.centre,
      time: time(),
      adu: adu(2, [obj]),
    })
    sent.push(send(frame, `${name} of ${spec}`))
  }

// Wait for the centre's answer to every frame sent (GB26875.md: a sender retransmits after 10 s).
const answered = (s: number) =>
  uitd.next((f) => (f.command === 3 || f.command === 6) && f.serial === s, 10_000)
const closed = uitd.closed.then(() => {
  throw new Error('closed')
})
try {
  for (const s of sent) await Promise.race([answered(s), closed])
} catch (err) {
  process.stderr.write(
    (err as Error).message === 'closed'
      ? 'uitd: the centre closed the connection (is the address registered as a uitd?)\n'
      : 'uitd: the centre did not answer every frame within 10 s\n',
  )
  uitd.close()
  process.exit(1)
}
if (values.heartbeat === undefined) {
  uitd.close()
  process.exit(uitd.received.some((f) => f.command === 6) ? 1 : 0)
}
const everyMs = Number(values.heartbeat) * 1000
if (!(everyMs >= 1000)) fail('--heartbeat must be at least 1 (seconds)')
setInterval(
  () =>
    send(
      uitdFrame({ serial: next(), command: 2, source: address, destination: values.centre, time: time() }),
      'heartbeat',
    ),
  everyMs,
)
await uitd.closed
process.stdout.write('the centre closed the connection\n')
process.exit(1)
