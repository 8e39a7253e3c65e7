// The API's OpenAPI document as a client would use it: valid against the OpenAPI 3.1
// schema, and the JSON schemas of its responses applied to what the server answers.
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

export type OpenApiDocument = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };

/** The errors of the document against the OpenAPI 3.1 schema; empty when it is valid. */
export async function documentErrors(document: unknown): Promise<unknown[]> {
  const result = await new Validator().validate(document as Parameters<Validator["validate"]>[0]);
  return result.valid ? [] : ((result.errors as unknown[]) ?? ["invalid"]);
}

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

/** Checks answers against the document's response schemas, by route, method, status and media type. */
export function responseChecker(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // The references of the document are to its own root: it is added whole under one id.
  ajv.addSchema(JSON.parse(JSON.stringify(document).replaceAll('"#/components/', '"https://placement.invalid/openapi.json#/components/')), "https://placement.invalid/openapi.json");
  return (path: string, method: string, status: number, mediaType: string, body: unknown): string[] => {
    const declared = document.paths[path]?.[method]?.responses[String(status)]?.content?.[mediaType];
    if (!declared) return [`${method.toUpperCase()} ${path} does not declare ${status} ${mediaType}`];
    const validate = ajv.compile({ $ref: `https://placement.invalid/openapi.json#/${pointer("paths", path, method, "responses", String(status), "content", mediaType, "schema")}` });
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}
