/**
 * The heartbeats a slice counts as recorded are those the SDK sends as it throttles them (one at
 * once, then at most one per 0.8 x the heartbeat timeout, a call in between waiting for the
 * interval's end and dropped should the attempt end first): the batch's orchestration cost
 * counts them, and test/integration/orchestration-cost.test.ts checks them against the server.
 */
import { RecordedHeartbeats } from '../../src/activities/recorded-heartbeats';

describe('recorded heartbeats', () => {
  it('counts the first call at once and then one per throttle interval, however often it is called', () => {
    const beats = new RecordedHeartbeats(10_000); // throttle 8 s
    for (let t = 0; t <= 20_000; t += 250) beats.called(t);
    // Sent at 0, 8 s and 16 s; the calls after 16 s wait for 24 s, which the attempt never reaches.
    expect(beats.settle(20_000)).toBe(3);
    expect(beats.settle(24_000)).toBe(4);
  });

  it('sends a call after a quiet interval at once, and drops one still waiting when the attempt ends', () => {
    const beats = new RecordedHeartbeats(10_000);
    beats.called(0);
    beats.called(30_000);
    expect(beats.count).toBe(2);
    beats.called(31_000);
    expect(beats.settle(35_000)).toBe(2);
  });

  it("throttles at most 60 s, the worker's longest interval, whatever the timeout", () => {
    const beats = new RecordedHeartbeats(600_000);
    beats.called(0);
    beats.called(59_000);
    expect(beats.settle(60_000)).toBe(2);
  });
});
