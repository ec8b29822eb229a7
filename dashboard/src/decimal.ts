// Money and quantities arrive as decimal strings; the one sum the dashboard makes is exact.

/** `a − b` of two decimal strings, signed (`+1.00`, `-0.50`, `0.00`), as scaled bigints: never a float. */
export function decimalDelta(a: string, b: string): string {
  const scale = Math.max(decimals(a), decimals(b));
  const diff = scaled(a, scale) - scaled(b, scale);
  const sign = diff < 0n ? '-' : diff > 0n ? '+' : '';
  const digits = (diff < 0n ? -diff : diff).toString().padStart(scale + 1, '0');
  return scale === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

const decimals = (v: string) => (v.includes('.') ? v.length - v.indexOf('.') - 1 : 0);

function scaled(v: string, scale: number): bigint {
  const negative = v.startsWith('-');
  const [whole = '0', fraction = ''] = v.replace(/^[-+]/, '').split('.');
  const n = BigInt(whole + fraction.padEnd(scale, '0'));
  return negative ? -n : n;
}
