import { describe, expect, it } from 'vitest';
import { approvalNeed, approvalRefusal, mayOfferSubmit, thresholdInMinor } from '../../shared/domain/approval';

const facts = (events: number, usd = 0n, requested = false) => ({
  requested,
  events,
  chargeChange: new Map([['USD', usd]]),
});

describe('approvalNeed', () => {
  it('is not required when the deployment setting is off and the batch does not ask', () => {
    expect(approvalNeed({ enabled: false, minEvents: 1 }, facts(1000, 10_000_00n)).required).toBe(false);
  });
  it('is required for every batch when on without thresholds', () => {
    expect(approvalNeed({ enabled: true }, facts(0)).required).toBe(true);
  });
  it('counts members at or above minEvents, and not below', () => {
    expect(approvalNeed({ enabled: true, minEvents: 3 }, facts(2)).required).toBe(false);
    expect(approvalNeed({ enabled: true, minEvents: 3 }, facts(3)).required).toBe(true);
  });
  it('compares the absolute charge change per currency in its minor units, either threshold sufficing', () => {
    const setting = { enabled: true, minEvents: 100, minChargeChange: '1.50' };
    expect(approvalNeed(setting, facts(1, 149n)).required).toBe(false);
    expect(approvalNeed(setting, facts(1, 150n)).required).toBe(true);
    expect(approvalNeed(setting, { requested: false, events: 1, chargeChange: new Map([['JPY', 2n]]) }).required).toBe(
      true,
    );
    expect(approvalNeed(setting, { requested: false, events: 1, chargeChange: new Map([['JPY', 1n]]) }).required).toBe(
      false,
    );
  });
  it('a batch asking for approval needs it whatever the setting; one not asking cannot lower it', () => {
    expect(approvalNeed({ enabled: false }, facts(0, 0n, true)).required).toBe(true);
    expect(approvalNeed({ enabled: true, minEvents: 100 }, facts(1, 0n, true)).required).toBe(true);
    expect(approvalNeed({ enabled: true }, facts(1, 0n, false)).required).toBe(true);
  });
});

describe('thresholdInMinor', () => {
  it('rounds an amount finer than the minor unit up, never lowering the threshold', () => {
    expect(thresholdInMinor('1.50', 'USD')).toBe(150n);
    expect(thresholdInMinor('1.001', 'USD')).toBe(101n);
    expect(thresholdInMinor('1.5', 'JPY')).toBe(2n);
  });
});

describe('approvalRefusal', () => {
  const need = { required: true, reason: 'on' };
  it('refuses the locker SAME_ACTOR even with the preview tag', () => {
    expect(approvalRefusal(need, { actor: 'a', lockedBy: 'a', ifMatch: '"t"' })?.code).toBe('SAME_ACTOR');
  });
  it('asks another actor for If-Match (a wildcard approves nothing in particular)', () => {
    expect(approvalRefusal(need, { actor: 'b', lockedBy: 'a', ifMatch: undefined })?.code).toBe('APPROVAL_REQUIRED');
    expect(approvalRefusal(need, { actor: 'b', lockedBy: 'a', ifMatch: '*' })?.code).toBe('APPROVAL_REQUIRED');
    expect(approvalRefusal(need, { actor: 'b', lockedBy: 'a', ifMatch: '"t"' })).toBeUndefined();
  });
  it('asks for a new lock when who locked is not known', () => {
    expect(approvalRefusal(need, { actor: 'b', lockedBy: undefined, ifMatch: '"t"' })?.code).toBe('APPROVAL_REQUIRED');
  });
  it('refuses nothing when approval does not apply', () => {
    expect(
      approvalRefusal({ required: false, reason: 'off' }, { actor: 'a', lockedBy: 'a', ifMatch: undefined }),
    ).toBeUndefined();
  });
  it('offers SUBMIT to everyone but the locker', () => {
    expect(mayOfferSubmit(need, 'a', 'a')).toBe(false);
    expect(mayOfferSubmit(need, 'b', 'a')).toBe(true);
    expect(mayOfferSubmit({ required: false, reason: '' }, 'a', 'a')).toBe(true);
  });
});
