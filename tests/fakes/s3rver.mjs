// s3rver.mjs — fake S3 for the integration tests: `node tests/fakes/s3rver.mjs PORT DIR` serves the npm
// s3rver (access key S3RVER / secret S3RVER; SigV4 signatures are accepted, not verified) on 127.0.0.1:PORT
// with its data under DIR, prints "s3rver listening on PORT" once ready and stops on SIGTERM/SIGINT.
import S3rver from "s3rver";

const [port, directory] = process.argv.slice(2);
if (!port || !directory) {
  console.error("usage: node tests/fakes/s3rver.mjs PORT DIR");
  process.exit(2);
}

const server = new S3rver({ address: "127.0.0.1", port: Number(port), directory, silent: true });
await server.run();
console.log(`s3rver listening on ${port}`);

const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
