/** The travel model is an operator's setting: FC_CIRCUITY and FC_<MODE>_SPEED_MPS / _TURNOUT_S. */
import { describe, expect, it } from 'vitest'
import { haversineM } from '../../services/dispatch/eta.ts'
import { registerDistrict, registerResponder, startTestService } from '../support/service.ts'

describe('travel model settings', () => {
  it('changes the ETA the service computes', async () => {
    const svc = await startTestService({
      env: { FC_CIRCUITY: '1.5', FC_FOOT_SPEED_MPS: '1', FC_FOOT_TURNOUT_S: '10' },
    })
    try {
      await registerDistrict(svc.api)
      const at: [number, number] = [113.866, 22.575]
      await registerResponder(svc.api, {
        id: 'walker',
        name: 'Walker',
        type: 'grid_staff',
        mode: 'foot',
        onDuty: true,
        location: at,
      })
      const r = await svc.api.get('/api/responders/nearby?lon=113.865&lat=22.575&within=300')
      expect(r.status).toBe(200)
      const d = haversineM(113.865, 22.575, at[0], at[1])
      expect(r.body.items[0].eta_s).toBeCloseTo(10 + (d * 1.5) / 1, 0)
    } finally {
      await svc.stop()
    }
  })
})
