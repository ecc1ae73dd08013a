/**
 * The cue for a new alarm: a two-tone signal through Web Audio (created on the sign-in click,
 * so browsers allow it to sound), repeated until the officer has seen the alarm. The count of
 * cues played is kept on <body data-cues> for tests and for the operator's own check.
 */
let ctx: AudioContext | undefined

/** Call from a user gesture (the sign-in button) so the page may play sound later. */
export function unlockSound(): void {
  try {
    ctx ??= new AudioContext()
    void ctx.resume()
  } catch {
    ctx = undefined
  }
}

export function playAlarmCue(): void {
  document.body.dataset['cues'] = String(Number(document.body.dataset['cues'] ?? '0') + 1)
  if (ctx === undefined) return
  const start = ctx.currentTime
  for (let i = 0; i < 3; i++) {
    for (const [j, freq] of [960, 770].entries()) {
      const osc = ctx.createOscillator()
      const gain = ctx.createGain()
      osc.type = 'square'
      osc.frequency.value = freq
      gain.gain.value = 0.08
      osc.connect(gain).connect(ctx.destination)
      const t = start + i * 0.5 + j * 0.25
      osc.start(t)
      osc.stop(t + 0.22)
    }
  }
}
