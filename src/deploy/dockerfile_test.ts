import assert from "node:assert/strict";
import { dockerfile, dockerignore } from "./dockerfile.ts";
import { testProject } from "./testdata/project.ts";

const OPTS = { binaryName: "shop", denoVersion: "2.9.6", grpc: false };

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

Deno.test("dockerfile() builds with deno and runs on distroless as nonroot", () => {
  assert.deepEqual(lines(dockerfile(testProject(), OPTS)), [
    "FROM denoland/deno:2.9.6 AS build",
    "WORKDIR /cortex",
    "COPY . /cortex",
    "COPY --from=project . /project",
    "RUN deno task cortex compile /project -o /out/shop",
    "FROM gcr.io/distroless/cc-debian12:nonroot",
    "COPY --from=build /out/shop /app/shop",
    "USER nonroot",
    "EXPOSE 8888",
    'HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/app/shop", "--healthcheck"]',
    'ENTRYPOINT ["/app/shop"]',
  ]);
});

Deno.test("dockerfile() exposes 9000 too when gRPC is served", () => {
  const text = dockerfile(testProject(), { ...OPTS, grpc: true });
  assert.deepEqual(lines(text).filter((l) => l.startsWith("EXPOSE")), [
    "EXPOSE 8888",
    "EXPOSE 9000",
  ]);
});

Deno.test("dockerfile() starts with the syntax line and says how to build", () => {
  const text = dockerfile(testProject(), OPTS);
  assert.ok(text.startsWith("# syntax=docker/dockerfile:1\n"));
  assert.match(text, /--build-context project=<project dir>/);
  assert.match(text, /\/srv\/shop/);
  assert.ok(text.endsWith("\n"));
});

Deno.test("dockerfile() rejects names that do not belong in a path or tag", () => {
  for (
    const bad of [{ binaryName: "../x" }, { binaryName: "a b" }, {
      denoVersion: "2.9.6\nRUN x",
    }]
  ) {
    assert.throws(
      () => dockerfile(testProject(), { ...OPTS, ...bad }),
      RangeError,
    );
  }
});

Deno.test("dockerignore() excludes VCS, dependencies and the pinned Deno", () => {
  const entries = lines(dockerignore());
  for (const entry of [".git", "**/node_modules", "tools"]) {
    assert.ok(entries.includes(entry), entry);
  }
  assert.equal(entries.some((e) => e.includes(".env")), false);
});
