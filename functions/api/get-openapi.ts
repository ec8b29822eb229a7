// The OpenAPI document, as `npm run openapi` wrote it to docs/openapi.json (bundled into the function).
import document from '../../docs/openapi.json' with { type: 'json' };
import { httpHandler, ok } from './http-handler';
import { OpenApiDocumentView } from './views';

export const handler = httpHandler(
  { summary: "Read this API's OpenAPI 3.1 document", responses: { 200: OpenApiDocumentView } },
  async () => ok(document),
);
