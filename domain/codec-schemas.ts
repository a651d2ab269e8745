/**
 * Bodies of the codec endpoint (`POST /codec/encode`, `POST /codec/decode`): Temporal's remote
 * codec protocol, a `Payloads` message in protobuf JSON, the same shape in and out. The API
 * validates with these and /openapi.json is generated from them.
 */
import { z } from 'zod';

/** Protobuf JSON `bytes`: base64, standard or URL-safe, padding optional. */
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');

/** One `temporal.api.common.v1.Payload`: metadata values and data are base64 bytes; null means empty. */
export const codecPayloadSchema = z.object({
  metadata: z.record(z.string(), base64).nullable().optional(),
  data: base64.nullable().optional(),
});
export type CodecPayload = z.infer<typeof codecPayloadSchema>;

/** `POST /codec/encode` and `/codec/decode`, body and answer: `{ payloads: [...] }`. */
export const codecPayloadsSchema = z.object({ payloads: z.array(codecPayloadSchema) });
export type CodecPayloads = z.infer<typeof codecPayloadsSchema>;
