// `npm run openapi`: writes docs/openapi.json and its readable rendering docs/api.md from the code.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../constructs/functions';
import { buildDocument } from './document';
import { renderMarkdown } from './markdown';

export const documentPath = join(projectRoot, 'docs/openapi.json');
export const referencePath = join(projectRoot, 'docs/api.md');

/** The files as the code generates them now. */
export async function generatedFiles(): Promise<{ json: string; markdown: string }> {
  const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  const document = await buildDocument(undefined, version);
  return { json: `${JSON.stringify(document, null, 2)}\n`, markdown: renderMarkdown(document) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { json, markdown } = await generatedFiles();
  writeFileSync(documentPath, json);
  writeFileSync(referencePath, markdown);
  console.log(`wrote docs/openapi.json and docs/api.md (${Object.keys(JSON.parse(json).paths).length} paths)`);
}
