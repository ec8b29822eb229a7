import { describe, expect, it } from 'vitest';
import { billPosting, signedAmount } from '../../shared/domain/adjustment';
import type { BillStatus } from '../../shared/domain/bill-line';

const lines = (spec: Record<string, BillStatus>) =>
  Object.entries(spec).map(([period, status]) => ({ period, status }));

describe('billPosting', () => {
  it.each(['BALANCE_FORWARD', 'OPEN_ITEM'] as const)(
    'puts an adjustment of a period not billed yet on that period (%s)',
    (method) => {
      expect(billPosting('2026-03', method, lines({ '2026-03': 'OPEN' }))).toEqual({
        treatment: 'ON_BILL',
        period: '2026-03',
        field: 'adjustments',
      });
      expect(billPosting('2026-02', method, lines({ '2026-03': 'BILLED' }))).toEqual({
        treatment: 'ON_BILL',
        period: '2026-02',
        field: 'adjustments',
      });
    },
  );

  it('carries a balance-forward adjustment of a billed period into the next unbilled bill, skipping billed ones', () => {
    const billed = lines({ '2026-03': 'INTERFACED', '2026-04': 'BILLED', '2026-06': 'OPEN' });
    expect(billPosting('2026-03', 'BALANCE_FORWARD', billed)).toEqual({
      treatment: 'PREVIOUS_BALANCE',
      period: '2026-05',
      field: 'previousBalanceAdjustments',
    });
    expect(billPosting('2026-12', 'BALANCE_FORWARD', lines({ '2026-12': 'BILLED' }))).toMatchObject({
      period: '2027-01',
    });
  });

  it('settles an open-item adjustment of a billed period against that bill, off the current one', () => {
    expect(billPosting('2026-03', 'OPEN_ITEM', lines({ '2026-03': 'BILLED', '2026-04': 'OPEN' }))).toEqual({
      treatment: 'AGAINST_BILLED_ITEM',
      period: '2026-03',
    });
  });
});

describe('signedAmount', () => {
  it('credits add allowance to a register and take money off a bill', () => {
    expect(signedAmount({ target: 'REGISTER', direction: 'CREDIT', amount: 5n })).toBe(5n);
    expect(signedAmount({ target: 'REGISTER', direction: 'DEBIT', amount: 5n })).toBe(-5n);
    expect(signedAmount({ target: 'BILL', direction: 'CREDIT', amount: 5n })).toBe(-5n);
    expect(signedAmount({ target: 'BILL', direction: 'DEBIT', amount: 5n })).toBe(5n);
  });
});
