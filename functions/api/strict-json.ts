// What JSON.parse lets through and the API refuses: a key given twice in one object (JSON.parse
// keeps the last silently, so the request would mean something its sender may not have read),
// and control characters in text (NUL and the like are never data; tab, CR and LF are allowed).

/** The path (`body.a.b`) of the first key repeated in one object of a valid JSON text, if any. */
export function repeatedKeyPath(text: string): string | undefined {
  type Frame =
    | { keys: Set<string>; expectKey: boolean; path: string[]; last?: string }
    | { index: number; path: string[] };
  const stack: Frame[] = [];
  const pathOf = (f: Frame | undefined) =>
    f ? ('keys' in f ? [...f.path, f.last ?? ''] : [...f.path, String(f.index)]) : [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack.at(-1);
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top && 'keys' in top && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return ['body', ...top.path, key].join('.');
        top.keys.add(key);
        top.last = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push({ keys: new Set(), expectKey: true, path: pathOf(top) });
    } else if (c === '[') {
      stack.push({ index: 0, path: pathOf(top) });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',' && top) {
      if ('keys' in top) top.expectKey = true;
      else top.index++;
    }
  }
  return undefined;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters refused.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** The path and code point of the first control character in any string (key or value), if any. */
export function controlCharacterAt(value: unknown, path = 'body'): { path: string; codePoint: string } | undefined {
  if (typeof value === 'string') {
    const m = CONTROL.exec(value);
    return m ? { path, codePoint: `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` } : undefined;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = controlCharacterAt(v, `${path}.${i}`);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = controlCharacterAt(k, `${path}.${k}`) ?? controlCharacterAt(v, `${path}.${k}`);
      if (found) return found;
    }
  }
  return undefined;
}
