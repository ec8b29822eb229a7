// Renders the OpenAPI document as one Markdown page (docs/api.md): readable anywhere, offline.
// biome-ignore lint/suspicious/noExplicitAny: walks arbitrary JSON Schema and OpenAPI objects by key
type Schema = Record<string, any>;
// biome-ignore lint/suspicious/noExplicitAny: as above
type Doc = Record<string, any>;

const METHODS = ['get', 'put', 'post', 'delete'] as const;
const anchor = (name: string) => `schema-${name.toLowerCase()}`;
const refName = (ref: string) => ref.split('/').pop()!;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
const fmt = (n: number) => n.toLocaleString('en-US');

/** A short type: `string`, `integer`, `"A" | "B"`, `[Batch](#schema-batch)[]`. */
function typeOf(s: Schema | undefined): string {
  if (!s || Object.keys(s).length === 0) return 'any';
  if (s.$ref) return `[${refName(s.$ref)}](#${anchor(refName(s.$ref))})`;
  if (s.allOf) return s.allOf.map(typeOf).join(' & ');
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map(typeOf).join(' or ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v: unknown) => `\`${String(v)}\``).join(', ');
  if (s.type === 'array') return `${typeOf(s.items)}[]`;
  if (s.type === 'object' && !s.properties && s.additionalProperties) return `map of ${typeOf(s.additionalProperties)}`;
  if (Array.isArray(s.type)) return s.type.join(' or ');
  return s.type ?? 'any';
}

/** The limits and defaults a schema states, in words. */
function rulesOf(s: Schema): string {
  const rules: string[] = [];
  if (s.description) rules.push(s.description);
  if (s.minLength !== undefined && s.maxLength !== undefined)
    rules.push(`${fmt(s.minLength)}-${fmt(s.maxLength)} characters`);
  else if (s.maxLength !== undefined) rules.push(`at most ${fmt(s.maxLength)} characters`);
  else if (s.minLength !== undefined && s.minLength > 0) rules.push(`at least ${fmt(s.minLength)} characters`);
  if (s.minItems !== undefined && s.minItems > 0)
    rules.push(`at least ${fmt(s.minItems)} item${s.minItems === 1 ? '' : 's'}`);
  if (s.maxItems !== undefined) rules.push(`at most ${fmt(s.maxItems)} items`);
  if (s.minimum !== undefined) rules.push(`≥ ${fmt(s.minimum)}`);
  if (s.maximum !== undefined) rules.push(`≤ ${fmt(s.maximum)}`);
  // A format (uuid) says it better than the pattern zod derives from it.
  if (s.pattern && !s.format) rules.push(`matches \`${s.pattern}\``);
  if (s.format) rules.push(s.format);
  if (s.default !== undefined) rules.push(`default \`${JSON.stringify(s.default)}\``);
  if (s.example !== undefined) rules.push(`e.g. \`${JSON.stringify(s.example)}\``);
  const [first, ...rest] = rules;
  if (first !== undefined && s.description && /[.!?]$/.test(first))
    return [first, rest.join('; ')].filter(Boolean).join(' ');
  return rules.join('; ');
}

/** Rows of a field table: nested objects flattened with dotted names, arrays of objects with `[]`. */
function fieldRows(s: Schema, prefix = ''): string[] {
  const rows: string[] = [];
  const required = new Set<string>(s.required ?? []);
  for (const [name, raw] of Object.entries<Schema>(s.properties ?? {})) {
    const field = `${prefix}${name}`;
    rows.push(`| \`${field}\` | ${cell(typeOf(raw))} | ${required.has(name) ? 'yes' : ''} | ${cell(rulesOf(raw))} |`);
    if (raw.type === 'object' && raw.properties) rows.push(...fieldRows(raw, `${field}.`));
    if (raw.type === 'array' && raw.items?.type === 'object' && raw.items.properties)
      rows.push(...fieldRows(raw.items, `${field}[].`));
  }
  if (prefix === '' && s.additionalProperties === false && rows.length > 0) rows.push('| *(no other fields)* | | | |');
  return rows;
}

function schemaBlock(s: Schema | undefined): string[] {
  if (!s) return [];
  if (s.$ref) return [`${typeOf(s)}`, ''];
  const union = s.anyOf ?? s.oneOf;
  if (union) {
    const out = ['One of:', ''];
    union.forEach((alt: Schema, i: number) => {
      out.push(`*${i + 1}.* ${alt.$ref ? typeOf(alt) : ''}`, '');
      if (!alt.$ref) out.push(...schemaBlock(alt));
    });
    return out;
  }
  if (s.type === 'object' && s.properties)
    return ['| field | type | required | rules |', '| --- | --- | --- | --- |', ...fieldRows(s), ''];
  return [`${typeOf(s)}${rulesOf(s) ? ` (${rulesOf(s)})` : ''}`, ''];
}

export function renderMarkdown(doc: Doc): string {
  const out: string[] = [
    `# ${doc.info.title} reference`,
    '',
    '<!-- Generated from the code by `npm run openapi`; do not edit. -->',
    '',
    `Generated from the code (\`npm run openapi\`) with [openapi.json](openapi.json), the OpenAPI ${doc.openapi} document the API also serves at \`GET /v1/openapi.json\`.`,
    '',
    doc.info.description,
    '',
    '## Routes',
    '',
  ];
  const byTag = new Map<string, { method: string; path: string; op: Doc }[]>();
  for (const [path, item] of Object.entries<Doc>(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) byTag.set(op.tags[0], [...(byTag.get(op.tags[0]) ?? []), { method: method.toUpperCase(), path, op }]);
    }
  }
  for (const tag of doc.tags) {
    for (const { method, path, op } of byTag.get(tag.name) ?? [])
      out.push(`- [\`${method} ${path}\`](#${op.operationId.toLowerCase()}): ${op.summary}`);
  }
  out.push('');
  for (const tag of doc.tags) {
    out.push(`## ${tag.name}`, '', tag.description, '');
    for (const { method, path, op } of byTag.get(tag.name) ?? []) {
      out.push(
        `<a id="${op.operationId.toLowerCase()}"></a>`,
        '',
        `### \`${method} ${path}\``,
        '',
        `${op.summary}.`,
        '',
      );
      if (op.description) out.push(op.description, '');
      const params: Schema[] = op.parameters ?? [];
      if (params.length > 0) {
        out.push('| parameter | in | type | required | rules |', '| --- | --- | --- | --- | --- |');
        for (const p of params)
          out.push(
            `| \`${p.name}\` | ${p.in} | ${cell(typeOf(p.schema))} | ${p.required ? 'yes' : ''} | ${cell(rulesOf({ ...p.schema, description: p.description ?? p.schema?.description }))} |`,
          );
        out.push('');
      }
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) out.push('**Body** (`application/json`):', '', ...schemaBlock(body));
      for (const [status, res] of Object.entries<Doc>(op.responses)) {
        const json = res.content?.['application/json']?.schema;
        if (json) out.push(`**${status} ${res.description}**:`, '', ...schemaBlock(json));
      }
      const refusals = Object.entries<Doc>(op.responses).filter(([, res]) => res.content?.['application/problem+json']);
      out.push(
        '**Refusals** (`application/problem+json`, see [Problem](#schema-problem)):',
        '',
        '| status | codes |',
        '| --- | --- |',
      );
      for (const [status, res] of refusals) {
        const codes: string[] = res.content['application/problem+json'].schema.allOf[1].properties.code.enum;
        out.push(`| ${status} | ${codes.map((c) => `\`${c}\``).join(', ')} |`);
      }
      out.push('');
    }
  }
  out.push('## Schemas', '');
  for (const [name, s] of Object.entries<Schema>(doc.components.schemas).sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`<a id="${anchor(name)}"></a>`, '', `### ${name}`, '');
    if (s.description) out.push(s.description, '');
    out.push(...schemaBlock({ ...s, description: undefined }));
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
