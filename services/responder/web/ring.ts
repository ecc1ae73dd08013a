/**
 * An offer rings and vibrates: a three-tone signal through Web Audio (no sound file), repeated
 * until the responder answers, and navigator.vibrate where the phone has it. The count of rings
 * is kept on <body data-rings> for tests.
 */
let ctx: AudioContext | undefined
let timer: ReturnType<typeof setInterval> | undefined

/** Call from a user gesture (sign-in, duty) so that the page may sound later. */
export function unlockSound(): void {
  try {
    ctx ??= new AudioContext()
    void ctx.resume()
  } catch {
    ctx = undefined
  }
}

function ringOnce(): void {
  document.body.dataset['rings'] = String(Number(document.body.dataset['rings'] ?? '0') + 1)
  navigator.vibrate?.([400, 200, 400, 200, 400])
  if (ctx === undefined) return
  const start = ctx.currentTime
  for (let i = 0; i < 3; i++) {
    for (const [j, freq] of [1050, 880, 700].entries()) {
      const osc = ctx.createOscillator()
      const gain = ctx.createGain()
      osc.type = 'square'
      osc.frequency.value = freq
      gain.gain.value = 0.1
      osc.connect(gain).connect(ctx.destination)
      const t = start + i * 0.6 + j * 0.18
      osc.start(t)
      osc.stop(t + 0.16)
    }
  }
}

export function startRinging(): void {
  stopRinging()
  ringOnce()
  timer = setInterval(ringOnce, 4000)
}

export function stopRinging(): void {
  if (timer !== undefined) clearInterval(timer)
  timer = undefined
  navigator.vibrate?.(0)
}
