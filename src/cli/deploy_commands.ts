/**
 * The deployment commands: `cortex compile`, `cortex dockerfile` and
 * `cortex export`. Each returns its exit code; errors they expect are
 * printed as one short message (exit 1 for a failed build, 2 for bad usage
 * or a project that cannot be deployed as written).
 *
 * @module
 */

import { EXIT } from "../wire/exit_codes.ts";
import { parseArgs } from "node:util";
import { basename, dirname, resolve } from "node:path";
import { loadProject } from "../config/load_project.ts";
import type { Project } from "../config/resolved_config.ts";
import { compileProject } from "../compile/compile.ts";
import {
  DenoCompileError,
  DenortUnavailableError,
} from "../compile/deno_compile.ts";
import { CompileError } from "../compile/plan.ts";
import { dockerfile, dockerignore } from "../deploy/dockerfile.ts";
import { knativeManifests } from "../deploy/knative.ts";
import { kubernetesManifests } from "../deploy/kubernetes.ts";
import {
  type KubeObject,
  renderManifests,
  writeManifests,
} from "../deploy/manifests.ts";
import { edgeNotes } from "../deploy/edge_settings.ts";
import { UsageError } from "../wire/serve_options.ts";

const COMPILE_HELP = `Usage: cortex compile <project> [options]

Compiles the project into one self-contained executable (deno compile): the
runtime, the handlers and their imports, the project files left after
.cortexignore and the compiled protobuf descriptors. Run it as
"./<binary> [--port N] [--grpc-port N] [--host H]".

Options:
  -o, --output FILE     The executable to write (default: ./<project dir name>)
  --target T            Target triple, e.g. aarch64-unknown-linux-gnu (default: this machine)
  --host H              Default address to listen on, allowed in the binary's
                        permissions besides 127.0.0.1 (default 0.0.0.0)
  --scratch-root DIR    The only directory the binary reads and writes on disk
                        (default /tmp/cortex-<binary name>)
  --build-dir DIR       Where to write the generated build (default: a temporary directory)
  --keep-build          Keep the build directory
  --no-check            Do not type-check (by default handlers are checked as
                        cortex serve checks them: with the "compilerOptions"
                        of the project's deno.json)

deno compile needs its base binary (denort) for this Deno version; it is
downloaded on first use. Where that is not possible, set
DENORT_BIN=/path/to/denort.`;

const DOCKERFILE_HELP = `Usage: cortex dockerfile <project> [options]

Writes a two-stage Dockerfile that compiles the project and runs the binary
in a distroless image, and its ignore file beside it (<file>.dockerignore).
Build from the Cortex repository with the project as a named context:
  docker build -f Dockerfile --build-context project=<project dir> <cortex repo>

Options:
  -o, --output FILE   Where to write the Dockerfile (default ./Dockerfile; "-" for stdout)
  --name NAME         File name of the binary in the image (default: the project dir name)`;

const EXPORT_HELP =
  `Usage: cortex export <project> --format knative|kubernetes [options]

Writes cluster manifests for the project's APIs, one container per API that
runs the compiled binary with CORTEX_API=<name>.

Options:
  --format F          knative (Knative Serving Services) or kubernetes
                      (Deployment, Service, HorizontalPodAutoscaler per API)
  --image IMG         Image holding the compiled binary (default: <project dir name>:latest)
  --namespace NS      Namespace of every object (default: none)
  -o, --output DIR    Write one file per object into DIR (default: YAML to stdout)`;

function write(
  text: string,
  stream: { writeSync(p: Uint8Array): number } = Deno.stdout,
): void {
  stream.writeSync(new TextEncoder().encode(text + "\n"));
}

/** Runs an argument parser; its errors become UsageErrors (exit code 2). */
type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

/** Parses a command's flags (plus --help) and positionals; bad flags are usage errors. */
function parseCommand<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...options, help: { type: "boolean", short: "h" } } as
        & T
        & { help: { type: "boolean"; short: "h" } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function projectArg(
  positionals: string[],
  command: string,
): Promise<Project> {
  const [dir, extra] = positionals;
  if (!dir) {
    throw new UsageError(
      `Missing project directory: usage: cortex ${command} <project>`,
    );
  }
  if (extra !== undefined) {
    throw new UsageError(
      `Unexpected argument "${extra}": usage: cortex ${command} <project>`,
    );
  }
  return await loadProject(dir);
}

/** A name fit for a file in an image and an image name: the project directory's. */
export function defaultName(project: Project): string {
  const name = basename(project.dir).toLowerCase().replace(
    /[^a-z0-9._-]+/g,
    "-",
  ).replace(/^[^a-z0-9]+/, "");
  return name || "api";
}

/** Runs a deploy command, printing expected errors as one line. */
async function guarded(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (
      error instanceof DenortUnavailableError ||
      error instanceof CompileError ||
      error instanceof DenoCompileError
    ) {
      write(error.message, Deno.stderr);
      return EXIT.failure;
    }
    if (error instanceof RangeError || error instanceof TypeError) {
      write(`Error: ${error.message}`, Deno.stderr);
      return EXIT.usage;
    }
    throw error;
  }
}

/** `cortex compile <project> [-o file] [--target T] ...` */
async function compile(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    output: { type: "string", short: "o" },
    target: { type: "string" },
    host: { type: "string" },
    "scratch-root": { type: "string" },
    "build-dir": { type: "string" },
    "keep-build": { type: "boolean" },
    "no-check": { type: "boolean" },
  });
  if (values.help) {
    write(COMPILE_HELP);
    return EXIT.ok;
  }
  const project = await projectArg(positionals, "compile");
  const output = resolve(values.output ?? defaultName(project));
  return await guarded(async () => {
    const plan = await compileProject(project, {
      output,
      target: values.target,
      hostname: values.host,
      scratchRoot: values["scratch-root"],
      buildDir: values["build-dir"],
      keepBuild: values["keep-build"] || values["build-dir"] !== undefined,
      noCheck: values["no-check"] ?? false,
    });
    write(`Compiled ${project.dir} to ${plan.output}`);
    write(`Run it as: ${plan.output} [--port N] [--grpc-port N] [--host H]`);
    write(
      `Permissions: ${
        plan.flags.filter((f) => f.startsWith("--allow")).join(" ")
      }`,
    );
    return EXIT.ok;
  });
}

/** `cortex dockerfile <project> [-o file] [--name NAME]` */
async function dockerfileCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    output: { type: "string", short: "o" },
    name: { type: "string" },
  });
  if (values.help) {
    write(DOCKERFILE_HELP);
    return EXIT.ok;
  }
  const project = await projectArg(positionals, "dockerfile");
  return await guarded(async () => {
    const text = dockerfile(project, {
      binaryName: values.name ?? defaultName(project),
      denoVersion: Deno.version.deno,
      grpc: project.apis.some((a) => a.handler.protobufPath !== null),
    });
    const out = values.output ?? "Dockerfile";
    if (out === "-") {
      Deno.stdout.writeSync(new TextEncoder().encode(text));
      return EXIT.ok;
    }
    const path = resolve(out);
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(path, text);
    // BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile first,
    // whatever the build context is.
    await Deno.writeTextFile(`${path}.dockerignore`, dockerignore());
    write(`Wrote ${path} and ${path}.dockerignore`);
    return EXIT.ok;
  });
}

/** `cortex export <project> --format knative|kubernetes [--image IMG] [-o dir]` */
async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    format: { type: "string" },
    image: { type: "string" },
    namespace: { type: "string" },
    output: { type: "string", short: "o" },
  });
  if (values.help) {
    write(EXPORT_HELP);
    return EXIT.ok;
  }
  const format = values.format;
  if (format !== "knative" && format !== "kubernetes") {
    throw new UsageError(
      format === undefined
        ? 'Missing option --format: expected "knative" or "kubernetes"'
        : `Option --format is "${format}": expected "knative" or "kubernetes"`,
    );
  }
  const project = await projectArg(positionals, "export");
  return await guarded(async () => {
    const opts = {
      image: values.image ?? `${defaultName(project)}:latest`,
      ...(values.namespace !== undefined
        ? { namespace: values.namespace }
        : {}),
    };
    const objs = format === "knative"
      ? knativeManifests(project, opts)
      : kubernetesManifests(project, opts);
    // Edge settings without a cluster equivalent: said above the API's
    // Deployment (Knative: Service), and on stderr.
    const notes = new Map(
      project.apis.map((api) => [`api-${api.name}`, edgeNotes(api, format)]),
    );
    for (const [name, lines] of notes) {
      for (const line of lines) {
        write(`Warning: ${name}: ${line}`, Deno.stderr);
      }
    }
    const anchor = format === "knative" ? "Service" : "Deployment";
    const comments = (obj: object) => {
      const o = obj as KubeObject;
      return o.kind === anchor ? notes.get(o.metadata.name) ?? [] : [];
    };
    if (values.output === undefined) {
      Deno.stdout.writeSync(
        new TextEncoder().encode(renderManifests(objs, comments)),
      );
      return EXIT.ok;
    }
    const paths = await writeManifests(objs, values.output, comments);
    for (const path of paths) write(`Wrote ${path}`);
    return EXIT.ok;
  });
}

/** The deployment commands, merged into the CLI's command table. */
export const DEPLOY_COMMANDS: Record<
  string,
  (args: string[]) => Promise<number>
> = {
  compile,
  dockerfile: dockerfileCommand,
  export: exportCommand,
};

/** One help line per deployment command, for the CLI's overview. */
export const DEPLOY_HELP = [
  "  compile <project>    Compile a project into one self-contained executable",
  "  dockerfile <project> Write a Dockerfile that ships the compiled project (distroless)",
  "  export <project>     Write Knative or Kubernetes manifests (--format knative|kubernetes)",
].join("\n");
