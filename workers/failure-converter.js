// The failure converter of every Countersign client, worker and workflow bundle (see
// runtime/payload-codec.ts): failure messages and stack traces go into an encoded payload, which
// the payload codec encrypts, instead of plain history fields (a Postgres error or an executor's
// answer may quote params). Plain CommonJS, because the SDK loads it by path: with require() in
// clients and workers (under any loader, tests included) and with webpack in the workflow bundle.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
