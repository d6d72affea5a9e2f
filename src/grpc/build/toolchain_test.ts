import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  BUF_VERSION,
  bufBinary,
  bufPackage,
  PROTOC_GEN_ES_VERSION,
  protocGenEsCommand,
  TOOLCHAIN_DIR,
} from "./toolchain.ts";

/** A toolchain directory that does not exist: the plain-Deno path. */
const NO_TOOLCHAIN = new URL(
  "./no-such-toolchain/node_modules/",
  import.meta.url,
);
const EXAMPLE = fileURLToPath(
  new URL("../../../examples/grpc/", import.meta.url),
);

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

Deno.test("toolchain: the pinned versions are tools/deno/package.json's", async () => {
  const pkg = JSON.parse(
    await Deno.readTextFile(
      new URL("../../../tools/deno/package.json", import.meta.url),
    ),
  );
  assert.equal(pkg.dependencies["@bufbuild/buf"], BUF_VERSION);
  assert.equal(
    pkg.dependencies["@bufbuild/protoc-gen-es"],
    PROTOC_GEN_ES_VERSION,
  );
});

Deno.test("bufPackage(): @bufbuild/buf's platform package names", () => {
  assert.deepEqual(bufPackage("linux", "x86_64"), {
    name: "@bufbuild/buf-linux-x64",
    bin: "bin/buf",
  });
  assert.equal(
    bufPackage("linux", "aarch64")?.name,
    "@bufbuild/buf-linux-aarch64",
  );
  assert.equal(
    bufPackage("darwin", "aarch64")?.name,
    "@bufbuild/buf-darwin-arm64",
  );
  assert.deepEqual(bufPackage("windows", "x86_64"), {
    name: "@bufbuild/buf-win32-x64",
    bin: "bin/buf.exe",
  });
  assert.equal(bufPackage("freebsd", "x86_64"), null);
});

Deno.test("bufBinary(): $CORTEX_BUF_BIN first, then the toolchain when it holds buf", async () => {
  assert.equal(
    await bufBinary({
      env: (n) => n === "CORTEX_BUF_BIN" ? "/x/buf" : undefined,
    }),
    "/x/buf",
  );
  const local = fileURLToPath(
    new URL(`${bufPackage()!.name}/${bufPackage()!.bin}`, TOOLCHAIN_DIR),
  );
  if (await isFile(local)) assert.equal(await bufBinary(), local);
});

Deno.test("bufBinary(): without the toolchain, buf from Deno's npm cache runs", async () => {
  const bin = await bufBinary({
    toolchainDir: NO_TOOLCHAIN,
    env: () => undefined,
  });
  assert.match(
    bin,
    new RegExp(`/${bufPackage()!.name}/${BUF_VERSION}/bin/buf$`),
  );
  const out = await new Deno.Command(bin, { args: ["--version"] }).output();
  assert.equal(new TextDecoder().decode(out.stdout).trim(), BUF_VERSION);
});

Deno.test("protocGenEsCommand(): without the toolchain, deno run of the npm package generates the example's types", async () => {
  const command = await protocGenEsCommand({
    toolchainDir: NO_TOOLCHAIN,
    env: () => undefined,
  });
  assert.equal(command[0], Deno.execPath());
  assert.equal(
    command.at(-1),
    `npm:@bufbuild/protoc-gen-es@${PROTOC_GEN_ES_VERSION}`,
  );
  const out = await Deno.makeTempDir({ prefix: "cortex-toolchain-test-" });
  try {
    const buf = await bufBinary({
      toolchainDir: NO_TOOLCHAIN,
      env: () => undefined,
    });
    const template = JSON.stringify({
      version: "v2",
      plugins: [{
        local: command,
        out: "gen",
        opt: ["target=ts", "import_extension=ts"],
      }],
    });
    const run = await new Deno.Command(buf, {
      args: [
        "generate",
        ".",
        "--path",
        "echo.proto",
        "--template",
        template,
        "-o",
        out,
      ],
      cwd: EXAMPLE,
      env: { BUF_CACHE_DIR: `${out}/cache`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(run.success, new TextDecoder().decode(run.stderr));
    assert.equal(
      await Deno.readTextFile(`${out}/gen/echo_pb.ts`),
      await Deno.readTextFile(`${EXAMPLE}gen/echo_pb.ts`),
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("bufBinary(): when Deno cannot fetch buf, the error says what is missing and the ways out", async () => {
  const script = `
    import { bufBinary } from ${
    JSON.stringify(new URL("./toolchain.ts", import.meta.url).href)
  };
    try {
      await bufBinary({ toolchainDir: new URL(${
    JSON.stringify(NO_TOOLCHAIN.href)
  }), env: () => undefined });
    } catch (err) {
      Deno.stdout.writeSync(new TextEncoder().encode(err.message));
    }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", script],
    // Nothing listens on port 1: the registry is unreachable, and the
    // cache for it is empty.
    env: { NPM_CONFIG_REGISTRY: "http://127.0.0.1:1/", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const message = new TextDecoder().decode(out.stdout);
  assert.match(
    message,
    new RegExp(
      `^Cannot run buf ${BUF_VERSION}: the toolchain ".*no-such-toolchain/node_modules" is not installed and Deno could not fetch npm:${
        bufPackage()!.name
      }@${BUF_VERSION}: Failed loading http://127\\.0\\.0\\.1:1/`,
    ),
  );
  assert.match(message, /install the toolchain with \.\/deno/);
  assert.match(message, /set CORTEX_BUF_BIN/);
});
