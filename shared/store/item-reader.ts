// Items read from the table are checked, not cast: a reader asserts each attribute's type as a
// mapper takes it, and names the item and attribute when one is not what the store wrote.

type Item = Record<string, unknown>;

export class ItemReader {
  constructor(
    private readonly item: Item,
    /** What the item is, for the message: `account acc-1`. */
    private readonly what: string,
  ) {}

  private fail(name: string, expected: string): never {
    throw new Error(`${this.what}: attribute ${name} is not ${expected} (${typeof this.item[name]})`);
  }

  has(name: string): boolean {
    return this.item[name] !== undefined;
  }

  string(name: string): string {
    const v = this.item[name];
    return typeof v === 'string' ? v : this.fail(name, 'a string');
  }

  optionalString(name: string): string | undefined {
    return this.item[name] === undefined ? undefined : this.string(name);
  }

  /** One of `values` (a status, a kind). */
  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const v = this.item[name];
    return values.includes(v as T) ? (v as T) : this.fail(name, `one of ${values.join(', ')}`);
  }

  /** An integer as the table keeps it (numbers are read as bigints). */
  bigint(name: string): bigint {
    const v = this.item[name];
    return typeof v === 'bigint' ? v : this.fail(name, 'an integer');
  }

  optionalBigint(name: string): bigint | undefined {
    return this.item[name] === undefined ? undefined : this.bigint(name);
  }

  /** A small integer (a version, a count). */
  integer(name: string): number {
    const v = this.item[name];
    return typeof v === 'bigint' || typeof v === 'number' ? Number(v) : this.fail(name, 'a number');
  }

  /** A counter: a small integer, 0 when absent. */
  count(name: string): number {
    const v = this.item[name];
    if (v === undefined) return 0;
    return typeof v === 'bigint' || typeof v === 'number' ? Number(v) : this.fail(name, 'a number');
  }

  /** A flag: true only when stored true; absent is false. */
  flag(name: string): boolean {
    const v = this.item[name];
    if (v === undefined) return false;
    return typeof v === 'boolean' ? v : this.fail(name, 'a boolean');
  }

  /** A list of strings; empty when absent. */
  stringList(name: string): string[] {
    const v = this.item[name];
    if (v === undefined) return [];
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : this.fail(name, 'a list of strings');
  }

  /** A string set, sorted (a set has no order); empty when absent. */
  stringSet(name: string): string[] {
    const v = this.item[name];
    if (v === undefined) return [];
    if (!(v instanceof Set) || [...v].some((s) => typeof s !== 'string')) return this.fail(name, 'a string set');
    return [...(v as Set<string>)].sort();
  }

  /** A map of strings to strings; empty when absent. */
  stringMap(name: string): Record<string, string> {
    const v = this.map(name);
    return Object.values(v).every((s) => typeof s === 'string')
      ? (v as Record<string, string>)
      : this.fail(name, 'a map of strings');
  }

  /** A map of strings to integers; empty when absent. */
  bigintMap(name: string): Record<string, bigint> {
    const v = this.map(name);
    return Object.values(v).every((s) => typeof s === 'bigint')
      ? (v as Record<string, bigint>)
      : this.fail(name, 'a map of integers');
  }

  /** A nested map, read with its own reader; undefined when absent. */
  optionalNested(name: string): ItemReader | undefined {
    return this.item[name] === undefined ? undefined : new ItemReader(this.map(name), `${this.what} ${name}`);
  }

  /** A list of maps, each read with its own reader; empty when absent. */
  nestedList(name: string): ItemReader[] {
    const v = this.item[name];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((e) => typeof e !== 'object' || e === null))
      return this.fail(name, 'a list of maps');
    return v.map((e: Item, i) => new ItemReader(e, `${this.what} ${name}[${i}]`));
  }

  private map(name: string): Item {
    const v = this.item[name];
    if (v === undefined) return {};
    return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Set)
      ? (v as Item)
      : this.fail(name, 'a map');
  }
}

/** A reader of an item, named for messages by its type and id attribute. */
export const readItem = (item: Item, type: string, idAttribute: string): ItemReader =>
  new ItemReader(item, `${type} ${String(item[idAttribute] ?? '?')}`);
